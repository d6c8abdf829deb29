"""Reading the exchange: loading items through the policy, snapshots, declared-purpose reads.

Writing lives in ``authoring`` (drafts, screening, publish, revisions), ``responses``, ``routing``,
``pseudonyms``, ``lessons`` and ``health``; every module takes ``(session, actor, ...)`` and never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import ColumnElement, Select, and_, false, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, defer

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, OrgKind
from signalfire.access.policy import first_or_404
from signalfire.access.policy.exchange import (
    can_read_details,
    candidate_count,
    candidate_ids,
    is_contributor,
    readable_items,
)
from signalfire.audit.chain import record
from signalfire.core.clock import ensure_utc, utcnow
from signalfire.core.errors import ValidationFailed
from signalfire.exchange.errors import PurposeNotPermitted
from signalfire.exchange.models import (
    Acknowledgement,
    Attribution,
    ExchangeItem,
    ItemRevision,
    ItemStatus,
    Pseudonym,
    ReadChannel,
    ReadLog,
)
from signalfire.exchange.snapshot import Contributor, HubIdentity, ItemSnapshot
from signalfire.exchange.stix.convert import SIGNALFIRE_PROJECT_EPOCH, derived_id
from signalfire.exchange.tags import TagFilter, tagged
from signalfire.exchange.vocab import Category, CoveredUse, Severity, Tlp

DEFAULT_HUB_NAME = "Signalfire exchange hub"
T = TypeVar("T")


def org_identity_id(org_id: uuid.UUID) -> str:
    """The STIX identity id of a named contributor org: stable, so every export names the org the same way."""
    return derived_id("identity", "signalfire-org", str(org_id))


def hub_identity(session: Session) -> HubIdentity:
    """The hub that runs the exchange: the oldest hub-operator org, or a fixed identity if there is none."""
    hub = (
        session.execute(
            select(Organization)
            .where(Organization.kind == OrgKind.hub_operator)
            .order_by(Organization.created_at, Organization.id)
            .limit(1)
        )
        .scalars()
        .first()
    )
    if hub is None:
        return HubIdentity(
            stix_identity_id=derived_id("identity", "signalfire-hub"),
            name=DEFAULT_HUB_NAME,
            created=SIGNALFIRE_PROJECT_EPOCH,
        )
    return HubIdentity(
        stix_identity_id=derived_id("identity", "signalfire-hub", str(hub.id)), name=hub.name, created=hub.created_at
    )


def pseudonym_contributor(pseudonym: Pseudonym) -> Contributor:
    return Contributor(
        kind="pseudonym",
        stix_identity_id=pseudonym.stix_identity_id,
        name=pseudonym.label,
        created=pseudonym.created_at,
    )


def org_contributor(org: Organization) -> Contributor:
    return Contributor(kind="org", stix_identity_id=org_identity_id(org.id), name=org.name, created=org.created_at)


def public_contributor(session: Session, item: ExchangeItem) -> Contributor:
    """Who readers outside the contributor org see: the org, or for pseudonymous items its pseudonym."""
    if item.attribution == Attribution.PSEUDONYMOUS:
        if item.pseudonym_id is None:  # authoring always sets it; a missing one must not fall back to the org
            raise ValueError(f"pseudonymous item {item.id} has no pseudonym")
        return pseudonym_contributor(session.get_one(Pseudonym, item.pseudonym_id))
    return org_contributor(session.get_one(Organization, item.org_id))


def with_current_identities(
    session: Session, snapshots: Sequence[tuple[ItemSnapshot, uuid.UUID]], hub: HubIdentity
) -> list[ItemSnapshot]:
    """Stored snapshots (each with its contributor org's id) re-signed with today's hub and contributor rows.

    A snapshot freezes a copy of its contributor's identity (name, ``created``) at publication, but the
    rows can move afterwards: the demo back-dates a pseudonym's ``created_at`` to its earliest item, and
    orgs are renamed. Items published before and after such a move would then carry two different
    identity objects under one id, which no bundle can hold. Every export and TAXII index builds the
    identity from the row instead, so each pseudonym and org has one identity object everywhere.
    """
    pseudonym_ids = {s.contributor.stix_identity_id for s, _ in snapshots if s.contributor.kind == "pseudonym"}
    pseudonyms = {
        p.stix_identity_id: pseudonym_contributor(p)
        for p in session.execute(select(Pseudonym).where(Pseudonym.stix_identity_id.in_(pseudonym_ids))).scalars()
    }
    org_ids = {org_id for s, org_id in snapshots if s.contributor.kind == "org"}
    orgs = {
        org_identity_id(org.id): org_contributor(org)
        for org in session.execute(select(Organization).where(Organization.id.in_(org_ids))).scalars()
    }
    current = pseudonyms | orgs
    result = []
    for snapshot, _org_id in snapshots:
        contributor = current.get(snapshot.contributor.stix_identity_id, snapshot.contributor)
        if contributor.kind != snapshot.contributor.kind:  # ids are never shared across kinds; keep what was stored
            contributor = snapshot.contributor
        result.append(snapshot.model_copy(update={"hub": hub, "contributor": contributor}))
    return result


def contributor_for(session: Session, item: ExchangeItem, viewer: Actor | None) -> Contributor:
    """The public contributor, except that the contributor org's own people see their org."""
    if viewer is not None and is_contributor(viewer, item):
        return org_contributor(session.get_one(Organization, item.org_id))
    return public_contributor(session, item)


def build_snapshot(
    item: ExchangeItem, contributor: Contributor, hub: HubIdentity, *, version: int | None = None
) -> ItemSnapshot:
    created = item.first_published_at or item.created_at
    modified = item.published_at or item.updated_at
    return ItemSnapshot(
        id=item.id,
        version=version if version is not None else max(item.version, 1),
        created=created,
        modified=max(modified, created),
        category=item.category,
        title=item.title,
        summary=item.summary,
        details=item.details,
        severity=item.severity,
        priority=item.priority,
        confidence=item.confidence,
        model_families=list(item.model_families),
        modalities=list(item.modalities),
        technique_refs=list(item.technique_refs),
        mitigations=list(item.mitigations),
        tags=list(item.tags or []),
        valid_until=item.valid_until,
        tlp=item.tlp,
        permitted_uses=item.permitted_uses,
        contributor=contributor,
        hub=hub,
        revoked=item.status == ItemStatus.WITHDRAWN,
    )


def snapshot_of(session: Session, item: ExchangeItem, viewer: Actor | None = None) -> ItemSnapshot:
    """The item's current version as ``viewer`` may see it (pass None for what leaves the hub).

    A pseudonymous item names its pseudonym, never the org, unless the viewer acts for the contributor org.
    The caller must have loaded ``item`` through ``readable_items``.
    """
    return build_snapshot(item, contributor_for(session, item, viewer), hub_identity(session))


def revision_snapshot(revision: ItemRevision) -> ItemSnapshot:
    """The stored, public snapshot of one published version (identical every time it is read)."""
    return ItemSnapshot.model_validate(revision.snapshot)


def get_item(session: Session, actor: Actor, item_id: uuid.UUID) -> ExchangeItem:
    """One item the actor may see; anything else (missing or not addressed to them) is a 404."""
    return first_or_404(session, readable_items(actor).where(ExchangeItem.id == item_id), "No such item.")


def record_read(
    session: Session, actor: Actor, item: ExchangeItem, purpose: CoveredUse, channel: ReadChannel = ReadChannel.UI
) -> ReadLog:
    """Log that ``actor`` opened ``item``'s details for ``purpose``; refuse a purpose the item does not permit.

    Call it for every read of details (UI, API, TAXII, export), in the request's transaction.
    """
    if not can_read_details(actor, item, purpose):
        raise PurposeNotPermitted(purpose, item.permitted_uses)
    now = utcnow()
    entry = ReadLog(
        id=uuid.uuid4(),
        item_id=item.id,
        item_version=item.version,
        user_id=actor.user_id,
        org_id=actor.org_id,
        purpose=purpose,
        channel=channel,
        read_at=now,
    )
    session.add(entry)
    record(
        session,
        action="exchange.item.read",
        target_type="exchange_item",
        target_id=item.id,
        actor=actor,
        summary={"purpose": purpose.value, "channel": channel.value, "version": item.version},
    )
    if not is_contributor(actor, item):
        acknowledge(session, item, actor.org_id)
    return entry


def acknowledge(session: Session, item: ExchangeItem, org_id: uuid.UUID) -> None:
    """Remember the first time a recipient org took note of an item (idempotent)."""
    if org_id == item.org_id:
        return
    acknowledge_many(session, {item.id: item.first_published_at}, org_id)


def acknowledge_many(session: Session, published: Mapping[uuid.UUID, datetime | None], org_id: uuid.UUID) -> None:
    """:func:`acknowledge` for several items of other orgs (item id -> first publication), idempotent.

    One statement on PostgreSQL and SQLite, however many items: a multi-row insert that skips the items
    the org acknowledged before (or a concurrent read just did), so rereading them costs no savepoint.
    The caller leaves out the org's own items.
    """
    now = utcnow()
    rows = [
        {
            "id": uuid.uuid4(),
            "item_id": item_id,
            "org_id": org_id,
            "acknowledged_at": now,
            "seconds_after_publish": max(0, int((now - at).total_seconds())),
        }
        for item_id, at in published.items()
        if at is not None
    ]
    if not rows:
        return
    # Signalfire runs on PostgreSQL or SQLite: both have INSERT ... ON CONFLICT DO NOTHING.
    # Executemany of one cached statement (sent as one multi-row INSERT), not a statement built per row count.
    connection = session.connection()
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(Acknowledgement).on_conflict_do_nothing(
        index_elements=[Acknowledgement.item_id, Acknowledgement.org_id]
    )
    connection.execute(stmt, rows)


@dataclass(frozen=True)
class OpenedItem:
    """An item whose details the actor may see now, with the read that allowed it (None for the contributor)."""

    item: ExchangeItem
    snapshot: ItemSnapshot
    read: ReadLog | None


def open_details(
    session: Session,
    actor: Actor,
    item_id: uuid.UUID,
    purpose: CoveredUse | None,
    channel: ReadChannel = ReadChannel.UI,
) -> OpenedItem:
    """Load an item for its details: contributor org freely, everyone else after declaring a permitted use."""
    item = get_item(session, actor, item_id)
    read: ReadLog | None = None
    if not is_contributor(actor, item):
        if purpose is None or not can_read_details(actor, item, purpose):
            raise PurposeNotPermitted(purpose, item.permitted_uses)
        read = record_read(session, actor, item, purpose, channel)
    return OpenedItem(item=item, snapshot=snapshot_of(session, item, actor), read=read)


# -- listing -------------------------------------------------------------------------------------------

LIST_LIMIT_MAX = 200


@dataclass(frozen=True)
class ItemFilters:
    category: Category | None = None
    tlp: Tlp | None = None
    severity: Severity | None = None
    q: str | None = None
    # Only items of the actor's own org (the contributor's view).
    mine: bool = False
    # Published (the default) or, for the actor's own items, withdrawn / draft.
    status: ItemStatus = ItemStatus.PUBLISHED
    contributor: str | None = None  # a pseudonym's or an org's STIX identity id
    tags: TagFilter = field(default_factory=TagFilter)  # any-of: free tags or catalogue ids


@dataclass(frozen=True)
class ItemPage:
    items: list[ExchangeItem]
    contributors: dict[uuid.UUID, Contributor]
    next_cursor: str | None


def _cursor(item: ExchangeItem) -> str:
    stamp = item.published_at or item.created_at
    return f"{stamp.isoformat()}|{item.id}"


def _parse_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        stamp, _, raw_id = cursor.partition("|")
        return ensure_utc(datetime.fromisoformat(stamp)), uuid.UUID(raw_id)
    except ValueError:
        raise ValidationFailed.single("cursor", "is not a cursor this listing issued") from None


def list_items(
    session: Session, actor: Actor, filters: ItemFilters | None = None, *, limit: int = 50, cursor: str | None = None
) -> ItemPage:
    """One page of items the actor may see, newest first, filtered; the policy is part of the query."""
    filters = filters or ItemFilters()
    limit = max(1, min(limit, LIST_LIMIT_MAX))
    item = ExchangeItem
    stmt = narrow_for_sparse_viewer(session, actor, readable_items(actor).where(item.status == filters.status))
    order_col = item.published_at if filters.status != ItemStatus.DRAFT else item.created_at
    if filters.status != ItemStatus.PUBLISHED or filters.mine:
        stmt = stmt.where(item.org_id == actor.org_id)
    if filters.category is not None:
        stmt = stmt.where(item.category == filters.category)
    if filters.tlp is not None:
        stmt = stmt.where(item.tlp == filters.tlp)
    if filters.severity is not None:
        stmt = stmt.where(item.severity == filters.severity)
    if filters.q:
        stmt = stmt.where(item.title.ilike(f"%{_escape_like(filters.q.strip()[:100])}%", escape="\\"))
    if filters.contributor:
        stmt = stmt.where(_contributor_is(session, actor, filters.contributor))
    if filters.tags:
        stmt = stmt.where(tagged(session, filters.tags))
    if cursor:
        stamp, last_id = _parse_cursor(cursor)
        stmt = stmt.where(or_(order_col < stamp, and_(order_col == stamp, item.id < last_id)))
    # A listing never shows the long texts (up to 100k characters each); they load only if touched. The
    # contributor's org and pseudonym come in the same query: one round trip per page, not three.
    light = (defer(item.details), defer(item.indicators))
    page = (
        stmt.options(*light)
        .add_columns(Organization, Pseudonym)
        .join(Organization, Organization.id == item.org_id)
        .outerjoin(Pseudonym, Pseudonym.id == item.pseudonym_id)
        .order_by(order_col.desc(), item.id.desc())
        .limit(limit + 1)
    )
    rows = session.execute(page).all()
    more = len(rows) > limit
    rows = rows[:limit]
    contributors = {i.id: _contributor_of(i, org, pseudonym, actor) for i, org, pseudonym in rows}
    items = [i for i, _org, _pseudonym in rows]
    return ItemPage(items=items, contributors=contributors, next_cursor=_cursor(items[-1]) if more and items else None)


def _contributor_of(
    item: ExchangeItem, org: Organization, pseudonym: Pseudonym | None, viewer: Actor | None
) -> Contributor:
    if item.attribution == Attribution.PSEUDONYMOUS and not (viewer is not None and item.org_id == viewer.org_id):
        if pseudonym is None:
            raise ValueError(f"pseudonymous item {item.id} has no pseudonym")
        return pseudonym_contributor(pseudonym)
    return org_contributor(org)


SPARSE_CANDIDATES_MAX = 5_000


def narrow_for_sparse_viewer(session: Session, actor: Actor, stmt: Select[T]) -> Select[T]:
    """Add the planning aid ``policy.candidate_ids`` for viewers that see only what names them.

    Without it, a non-member org that little is addressed to makes the database scan most items to fill
    a page (seconds at a million items); with it, the query starts from the addressed rows. When there
    are many of those (over SPARSE_CANDIDATES_MAX) they are dense enough for the plain newest-first
    scan, which then wins. Listings, feeds and exports over ``readable_items`` should pass their
    statement through here.
    """
    if actor.org_kind in (OrgKind.authority, OrgKind.researcher):
        return stmt
    member = session.execute(select(Organization.exchange_member).where(Organization.id == actor.org_id)).scalar()
    if member:
        return stmt
    if session.execute(candidate_count(actor, SPARSE_CANDIDATES_MAX)).scalar_one() > SPARSE_CANDIDATES_MAX:
        return stmt
    return stmt.where(ExchangeItem.id.in_(candidate_ids(actor)))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contributor_is(session: Session, actor: Actor, stix_identity_id: str) -> ColumnElement[bool]:
    """Filter by the contributor as readers know it. A pseudonym matches only its pseudonymous items and an
    org matches only its named items, so filtering by org can never find that org's pseudonymous items."""
    item = ExchangeItem
    pseudonym = session.execute(select(Pseudonym.id).where(Pseudonym.stix_identity_id == stix_identity_id)).first()
    if pseudonym is not None:
        return and_(item.attribution == Attribution.PSEUDONYMOUS, item.pseudonym_id == pseudonym[0])
    org_ids = [o for o in session.execute(select(Organization.id)).scalars() if org_identity_id(o) == stix_identity_id]
    if not org_ids:
        return false()
    own = item.org_id == actor.org_id
    return and_(item.org_id == org_ids[0], or_(item.attribution == Attribution.NAMED, own))


def contributors_for(session: Session, items: list[ExchangeItem], viewer: Actor | None) -> dict[uuid.UUID, Contributor]:
    """The contributor of each item as ``viewer`` may know it, in two queries for the whole page."""
    org_ids = {i.org_id for i in items}
    pseudonym_ids = {i.pseudonym_id for i in items if i.pseudonym_id is not None}
    orgs = (
        {o.id: o for o in session.execute(select(Organization).where(Organization.id.in_(org_ids))).scalars()}
        if org_ids
        else {}
    )
    pseudonyms = (
        {p.id: p for p in session.execute(select(Pseudonym).where(Pseudonym.id.in_(pseudonym_ids))).scalars()}
        if pseudonym_ids
        else {}
    )
    return {
        i.id: _contributor_of(i, orgs[i.org_id], pseudonyms.get(i.pseudonym_id) if i.pseudonym_id else None, viewer)
        for i in items
    }


READ_GRANT_TTL = timedelta(hours=1)


def granted_read(session: Session, actor: Actor, item: ExchangeItem, read_id: uuid.UUID | None) -> ReadLog | None:
    """A recent read by this person of this item, which lets a page show details without logging again.

    The UI declares a purpose once (POST, logged) and then shows the details page for an hour under that
    read; the API logs every details request instead.
    """
    if read_id is None:
        return None
    read = session.execute(
        select(ReadLog).where(
            ReadLog.id == read_id,
            ReadLog.item_id == item.id,
            ReadLog.user_id == actor.user_id,
            ReadLog.org_id == actor.org_id,
        )
    ).scalar_one_or_none()
    if read is None or read.read_at < utcnow() - READ_GRANT_TTL or not can_read_details(actor, item, read.purpose):
        return None
    return read
