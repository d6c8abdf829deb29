"""What TAXII collections hold, and reading it through the exchange access policy.

Writing: :func:`sync` indexes every published item revision not yet in the collections (its STIX
objects from ``exchange.stix.convert.taxii_objects`` go to every collection its audience names, plus the
contributor org's "shared by" collection); :func:`insert_rows` appends rows to one collection with
strictly increasing ``date_added`` values handed out under the collection clock's row lock, so
rows become visible in ``date_added`` order and ``added_after`` paging never skips one.

Reading: :func:`read_objects` (object pages), :func:`read_page` (manifest) and :func:`read_versions`
run one SQL statement per page, keyset-paged on ``date_added`` (unique within a collection); object
pages keep each row's stored JSON text as served, so an envelope is the bodies joined, never parsed,
and :func:`log_reads` writes a page's read log in one multi-row insert. Item-owned rows
are kept only if their item is in ``readable_items(actor)`` (the same policy as the UI, the API and
exports), is currently addressed to the collection, and permits the declared purpose (the
contributor's own items excepted). Reference rows (markings, extension definitions, identities,
ATLAS stubs) belong to no item and are read by anyone who may read the collection.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Dialect,
    Select,
    String,
    and_,
    case,
    cast,
    delete,
    exists,
    insert,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.permissions import Permission
from signalfire.access.policy import nothing
from signalfire.access.policy.exchange import permits_use, readable_items, revocation_visible_to
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.db.base import UTCDateTime
from signalfire.exchange.models import ExchangeItem, ItemRevision, ReadChannel, ReadLog
from signalfire.exchange.service import acknowledge_many, hub_identity, with_current_identities
from signalfire.exchange.snapshot import HubIdentity, ItemSnapshot
from signalfire.exchange.stix.convert import taxii_objects
from signalfire.exchange.taxii import cursor as taxii_cursor
from signalfire.exchange.taxii.collections import TaxiiCollection, fan_out
from signalfire.exchange.taxii.models import (
    ObjectOrigin,
    TaxiiClock,
    TaxiiIndexed,
    TaxiiObject,
    TaxiiSyncState,
)
from signalfire.exchange.taxii.protocol import (
    ONE_MICROSECOND,
    Query,
    TaxiiError,
    VersionFilter,
    not_found,
    parse_timestamp,
)
from signalfire.exchange.vocab import CoveredUse

T = TaxiiObject
_CHUNK = 500
SYNC_NAME = "revisions"
# A revision committed later than one with a newer `modified` is still found if it lags by less than this.
SYNC_SLACK = timedelta(minutes=10)
SYNC_BATCH = 200


def canonical_digest(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def compact(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# --- writing ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewRow:
    """A row to add; ``version`` None means the object has no timestamps (it takes its date_added)."""

    stix_id: str
    stix_type: str
    spec_version: str
    version: datetime | None
    origin: ObjectOrigin
    item_id: uuid.UUID | None
    item_version: int | None
    org_id: uuid.UUID | None
    body: str
    body_sha256: str


def allocate(session: Session, collection_id: uuid.UUID, count: int) -> datetime:
    """Reserve ``count`` consecutive microseconds of date_added in a collection; returns the first.

    The clock row stays locked until the transaction ends, so writers to one collection commit in
    date_added order (PostgreSQL); SQLite serialises writers anyway (BEGIN IMMEDIATE).
    """
    stmt = select(TaxiiClock).where(TaxiiClock.collection_id == collection_id).with_for_update()
    clock = session.execute(stmt.execution_options(populate_existing=True)).scalar_one_or_none()
    now = utcnow()
    if clock is None:
        try:
            with session.begin_nested():
                session.add(TaxiiClock(collection_id=collection_id, last_added=now - ONE_MICROSECOND))
        except IntegrityError:  # another writer created it first
            pass
        clock = session.execute(stmt.execution_options(populate_existing=True)).scalar_one()
    start = max(now, clock.last_added + ONE_MICROSECOND)
    clock.last_added = start + ONE_MICROSECOND * (count - 1)
    return start


def existing_versions(
    session: Session, collection_id: uuid.UUID, stix_ids: Sequence[str]
) -> dict[str, list[tuple[datetime, str]]]:
    """(version, body digest) of every row already in the collection for these ids."""
    found: dict[str, list[tuple[datetime, str]]] = {}
    for chunk in _chunks(list(dict.fromkeys(stix_ids))):
        rows = session.execute(
            select(T.stix_id, T.version, T.body_sha256).where(T.collection_id == collection_id, T.stix_id.in_(chunk))
        )
        for stix_id, version, digest in rows:
            found.setdefault(stix_id, []).append((version, digest))
    return found


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """One stored row of an id, in any collection: what admission checks of a new add need to know."""

    collection_id: uuid.UUID
    version: datetime
    org_id: uuid.UUID | None
    origin: ObjectOrigin
    digest: str
    revoked: bool
    item_id: uuid.UUID | None = None  # the exchange item that holds this version (posted and item rows)


_REVOKED = '"revoked":true'


def stored_versions(session: Session, stix_ids: Sequence[str]) -> dict[str, list[StoredVersion]]:
    """Every stored row of these ids in every collection, one query per chunk of ids.

    Bodies are stored compact, so a top-level revocation reads '"revoked":true'; only rows whose body
    contains that are fetched with their body and parsed (a nested property of that name must not count).
    """
    found: dict[str, list[StoredVersion]] = {}
    maybe_revoked = T.body.contains(_REVOKED, autoescape=True)
    for chunk in _chunks(list(dict.fromkeys(stix_ids))):
        rows = session.execute(
            select(
                T.stix_id,
                T.collection_id,
                T.version,
                T.org_id,
                T.origin,
                T.body_sha256,
                case((maybe_revoked, T.body), else_=None),
                T.item_id,
            ).where(T.stix_id.in_(chunk))
        )
        for stix_id, collection_id, version, org_id, origin, digest, body, item_id in rows:
            revoked = body is not None and json.loads(body).get("revoked") is True
            found.setdefault(stix_id, []).append(
                StoredVersion(collection_id, version, org_id, origin, digest, revoked, item_id)
            )
    return found


def in_collection(
    stored: dict[str, list[StoredVersion]], collection_id: uuid.UUID
) -> dict[str, list[tuple[datetime, str]]]:
    """The (version, digest) pairs of one collection, as :func:`existing_versions` returns them."""
    here: dict[str, list[tuple[datetime, str]]] = {}
    for stix_id, versions in stored.items():
        pairs = [(v.version, v.digest) for v in versions if v.collection_id == collection_id]
        if pairs:
            here[stix_id] = pairs
    return here


def insert_rows(
    session: Session,
    collection_id: uuid.UUID,
    rows: Sequence[NewRow],
    *,
    present: dict[str, list[tuple[datetime, str]]] | None = None,
    timeless: dict[tuple[str, str], datetime] | None = None,
) -> int:
    """Append the rows the collection does not hold yet (same id and version, or a timeless object with
    the same content), keeping the newest/oldest-version flags right; returns how many were added.

    ``present`` is what the collection already holds of these ids, when the caller has looked it up
    (see :func:`stored_versions`); ``timeless`` receives the version (date_added) each timeless row
    has in the collection, keyed by (id, body digest), whether added now or found.
    """
    if not rows:
        return 0
    if present is None:
        present = existing_versions(session, collection_id, [r.stix_id for r in rows])
    fresh = []
    seen: set[tuple[str, datetime | str]] = set()
    for row in rows:
        known = present.get(row.stix_id, [])
        key: tuple[str, datetime | str] = (row.stix_id, row.version if row.version is not None else row.body_sha256)
        if key in seen:
            continue
        if row.version is not None and any(version == row.version for version, _ in known):
            continue
        if row.version is None:
            same = [version for version, digest in known if digest == row.body_sha256]
            if same:
                if timeless is not None:
                    timeless[(row.stix_id, row.body_sha256)] = same[0]
                continue
        seen.add(key)
        fresh.append(row)
    if not fresh:
        return 0
    start = allocate(session, collection_id, len(fresh))
    versions: dict[str, list[datetime]] = {stix_id: [v for v, _ in known] for stix_id, known in present.items()}
    values: list[dict[str, Any]] = []
    for offset, row in enumerate(fresh):
        added = start + ONE_MICROSECOND * offset
        version = row.version if row.version is not None else added
        if row.version is None and timeless is not None:
            timeless[(row.stix_id, row.body_sha256)] = added
        versions.setdefault(row.stix_id, []).append(version)
        values.append(
            {
                "id": uuid.uuid4(),
                "collection_id": collection_id,
                "date_added": added,
                "stix_id": row.stix_id,
                "stix_type": row.stix_type,
                "spec_version": row.spec_version,
                "version": version,
                "origin": row.origin,
                "item_id": row.item_id,
                "item_version": row.item_version,
                "org_id": row.org_id,
                "body": row.body,
                "body_sha256": row.body_sha256,
            }
        )
    newest = {stix_id: max(found) for stix_id, found in versions.items()}
    oldest = {stix_id: min(found) for stix_id, found in versions.items()}
    for value in values:
        value["is_latest"] = value["version"] == newest[value["stix_id"]]
        value["is_first"] = value["version"] == oldest[value["stix_id"]]
    # Rows already stored lose a flag when a new row takes it over.
    _clear_flag(
        session,
        collection_id,
        "is_latest",
        [i for i, known in present.items() if i in newest and newest[i] > max(v for v, _ in known)],
    )
    _clear_flag(
        session,
        collection_id,
        "is_first",
        [i for i, known in present.items() if i in oldest and oldest[i] < min(v for v, _ in known)],
    )
    _write(session, values)
    return len(fresh)


_COPY_COLUMNS = (
    "id",
    "collection_id",
    "date_added",
    "stix_id",
    "stix_type",
    "spec_version",
    "version",
    "is_latest",
    "is_first",
    "origin",
    "item_id",
    "item_version",
    "org_id",
    "body",
    "body_sha256",
)
# Below this many rows a COPY's setup costs more than the multi-row INSERT it replaces.
COPY_MIN_ROWS = 200


def _write(session: Session, values: list[dict[str, Any]]) -> None:
    """Insert the rows: COPY on PostgreSQL (in the session's transaction), else Core executemany."""
    connection = session.connection()
    if connection.dialect.name == "postgresql" and len(values) >= COPY_MIN_ROWS:
        raw: Any = connection.connection.dbapi_connection  # psycopg's connection, in this transaction
        statement = f"COPY {TaxiiObject.__tablename__} ({', '.join(_COPY_COLUMNS)}) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for value in values:
                # Enums as their stored value (the column is VARCHAR), everything else as psycopg adapts it.
                copy.write_row([str(value[c]) if c == "origin" else value[c] for c in _COPY_COLUMNS])
        return
    # Core executemany, not the ORM's bulk path: these rows never become ORM objects in this session.
    for chunk in _chunks(values, 2000):
        connection.execute(insert(TaxiiObject), list(chunk))


def _clear_flag(session: Session, collection_id: uuid.UUID, flag: str, stix_ids: Sequence[str]) -> None:
    column = getattr(TaxiiObject, flag)
    for chunk in _chunks(list(stix_ids)):
        session.execute(
            update(TaxiiObject)
            .where(T.collection_id == collection_id, T.stix_id.in_(chunk), column.is_(True))
            .values({flag: False})
            .execution_options(synchronize_session=False)
        )


def refresh_flags(session: Session, collection_id: uuid.UUID, stix_id: str) -> None:
    """Recompute the newest/oldest flags of one id in one collection (after versions were deleted)."""
    versions = list(
        session.execute(select(T.version).where(T.collection_id == collection_id, T.stix_id == stix_id)).scalars()
    )
    if not versions:
        return
    where = (T.collection_id == collection_id, T.stix_id == stix_id)
    session.execute(
        update(TaxiiObject)
        .where(*where)
        .values(is_latest=T.version == max(versions), is_first=T.version == min(versions))
        .execution_options(synchronize_session=False)
    )


def revision_rows(session: Session, revision: ItemRevision, org_id: uuid.UUID, hub: HubIdentity) -> list[NewRow]:
    """The STIX objects of one published version, as rows (reference objects own no item).

    Identities are built from today's rows, as exports build them, so each has one object everywhere.
    """
    stored = ItemSnapshot.model_validate(revision.snapshot)
    (snapshot,) = with_current_identities(session, [(stored, org_id)], hub)
    rows = []
    for obj in taxii_objects([snapshot]):
        owned = obj.item_id is not None
        if owned and stored.carried_by is not None:
            continue  # the posted objects stand for the item; its reference objects (identities) still go
        rows.append(
            NewRow(
                stix_id=obj.id,
                stix_type=obj.type,
                spec_version=obj.spec_version,
                version=parse_timestamp(obj.version),
                origin=ObjectOrigin.ITEM if owned else ObjectOrigin.REFERENCE,
                item_id=revision.item_id if owned else None,
                item_version=revision.version if owned else None,
                org_id=org_id if owned else None,
                body=compact(obj.body),
                body_sha256=canonical_digest(obj.body),
            )
        )
    if stored.carried_by is not None:
        rows.extend(carried_rows(session, revision))
    return rows


def carried_rows(session: Session, revision: ItemRevision) -> list[NewRow]:
    """The posted objects of a version received over TAXII (see ``ItemSnapshot.carried_by``), once each."""
    rows = session.execute(
        select(T.stix_id, T.stix_type, T.spec_version, T.version, T.org_id, T.body, T.body_sha256)
        .where(T.item_id == revision.item_id, T.item_version == revision.version, T.origin == ObjectOrigin.POSTED)
        .order_by(T.date_added)
    ).all()
    seen: set[tuple[str, datetime]] = set()
    out = []
    for stix_id, stix_type, spec_version, version, org_id, body, digest in rows:
        if (stix_id, version) in seen:
            continue  # the same version in the audience's collection and in the poster's "shared by" one
        seen.add((stix_id, version))
        out.append(
            NewRow(
                stix_id,
                stix_type,
                spec_version,
                version,
                ObjectOrigin.POSTED,
                revision.item_id,
                revision.version,
                org_id,
                body,
                digest,
            )
        )
    return out


def _pending(session: Session, high_water: datetime | None, limit: int) -> list[ItemRevision]:
    stmt = select(ItemRevision).where(~exists().where(TaxiiIndexed.revision_id == ItemRevision.id))
    if high_water is not None:
        stmt = stmt.where(ItemRevision.modified > high_water - SYNC_SLACK)
    return list(session.execute(stmt.order_by(ItemRevision.modified, ItemRevision.id).limit(limit)).scalars())


def _locked_state(session: Session) -> TaxiiSyncState:
    stmt = select(TaxiiSyncState).where(TaxiiSyncState.name == SYNC_NAME).with_for_update()
    state = session.execute(stmt.execution_options(populate_existing=True)).scalar_one_or_none()
    if state is None:
        try:
            with session.begin_nested():
                session.add(TaxiiSyncState(name=SYNC_NAME, high_water=None))
        except IntegrityError:
            pass
        state = session.execute(stmt.execution_options(populate_existing=True)).scalar_one()
    return state


def sync(session: Session) -> int:
    """Index published revisions that are not in the collections yet; returns how many were indexed.

    Called before every collection read and after every add, so a newly published version shows up
    on the next TAXII request. Syncs take a row lock, so concurrent ones do not index a revision twice.
    """
    state = session.get(TaxiiSyncState, SYNC_NAME)
    if not _pending(session, state.high_water if state else None, 1):
        return 0
    state = _locked_state(session)
    indexed = 0
    while batch := _pending(session, state.high_water, SYNC_BATCH):
        orgs = dict(
            session.execute(
                select(ExchangeItem.id, ExchangeItem.org_id).where(ExchangeItem.id.in_({r.item_id for r in batch}))
            ).all()
        )
        hub = hub_identity(session)
        for revision in batch:
            org_id = orgs[revision.item_id]
            rows = revision_rows(session, revision, org_id, hub)
            for collection_id in fan_out(revision.audience, org_id):
                insert_rows(session, collection_id, rows)
            session.add(TaxiiIndexed(revision_id=revision.id, indexed_at=utcnow()))
        newest = max(r.modified for r in batch)
        state.high_water = newest if state.high_water is None else max(state.high_water, newest)
        session.flush()
        indexed += len(batch)
    return indexed


# --- reading ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    date_added: datetime
    stix_id: str
    version: datetime
    spec_version: str
    item_id: uuid.UUID | None
    item_version: int | None
    body: str | None


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    more: bool
    next: str | None


@dataclass(frozen=True)
class Reader:
    """Who reads which collection for which declared purpose: everything a read is filtered by."""

    actor: Actor
    collection: TaxiiCollection
    purpose: CoveredUse
    secret: bytes

    def readable_item_ids(self) -> Select[Any]:
        """The exchange policy, narrowed to this collection and purpose: the ids of items whose rows may be read."""
        own = ExchangeItem.org_id == self.actor.org_id
        return (
            readable_items(self.actor)
            .where(self.collection.addresses(), or_(own, permits_use(self.purpose)))
            .with_only_columns(ExchangeItem.id)
        )

    def revoked_item_ids(self) -> Select[Any]:
        """Withdrawn items once addressed to the reader: only their revoked versions are read."""
        stmt = select(ExchangeItem.id).where(
            revocation_visible_to(self.actor), self.collection.addresses(), permits_use(self.purpose)
        )
        return stmt if self.actor.can(Permission.exchange_item_read) else nothing(stmt)

    def visible(self, table: Any) -> ColumnElement[bool]:
        revocation = and_(table.item_id.in_(self.revoked_item_ids()), table.body.contains(_REVOKED, autoescape=True))
        return and_(
            table.collection_id == self.collection.id,
            or_(table.item_id.is_(None), table.item_id.in_(self.readable_item_ids()), revocation),
        )


def _version_clause(version: VersionFilter) -> ColumnElement[bool] | None:
    """match[version]: the newest or oldest version *in the collection*, or exact versions (comma = OR)."""
    if version.all:
        return None
    parts: list[ColumnElement[bool]] = []
    if version.last:
        parts.append(T.is_latest.is_(True))
    if version.first:
        parts.append(T.is_first.is_(True))
    if version.exact:
        parts.append(T.version.in_(version.exact))
    return or_(*parts)


def _filtered(reader: Reader, query: Query, stmt: Any, *, versions: bool = True) -> Any:
    stmt = stmt.where(reader.visible(T))
    if query.ids:
        stmt = stmt.where(T.stix_id.in_(query.ids))
    if query.types:
        stmt = stmt.where(T.stix_type.in_(query.types))
    if query.spec_versions:
        stmt = stmt.where(T.spec_version.in_(query.spec_versions))
    if query.added_after is not None:
        stmt = stmt.where(T.date_added > query.added_after)
    if versions:
        clause = _version_clause(query.version)
        if clause is not None:
            stmt = stmt.where(clause)
    return stmt


def _resume(reader: Reader, query: Query, scope: str, stmt: Select[Any]) -> tuple[Select[Any], str]:
    """The page's statement in date_added order, after the position of ``next`` (if any); and the query key."""
    query_key = f"{query.key()}|{reader.purpose.value}"
    if query.next:
        after = taxii_cursor.decode(
            reader.secret, query.next, collection_id=reader.collection.id, scope=scope, query_key=query_key
        )
        stmt = stmt.where(T.date_added > after)
    return stmt.order_by(T.date_added).limit(query.limit + 1), query_key


def _token(reader: Reader, scope: str, query_key: str, last_added: datetime) -> str:
    return taxii_cursor.encode(reader.secret, taxii_cursor.Position(reader.collection.id, scope, query_key, last_added))


def _page(session: Session, reader: Reader, query: Query, scope: str, stmt: Select[Any], *, with_body: bool) -> Page:
    stmt, query_key = _resume(reader, query, scope, stmt)
    raw = session.execute(stmt).all()
    more = len(raw) > query.limit
    rows = [
        Row(
            date_added=r.date_added,
            stix_id=r.stix_id,
            version=r.version,
            spec_version=r.spec_version,
            item_id=r.item_id,
            item_version=r.item_version,
            body=r.body if with_body else None,
        )
        for r in raw[: query.limit]
    ]
    token = _token(reader, scope, query_key, rows[-1].date_added) if more else None
    return Page(rows=rows, more=more, next=token)


_COLUMNS = (T.date_added, T.stix_id, T.version, T.spec_version, T.item_id, T.item_version)


def read_page(
    session: Session, reader: Reader, query: Query, *, scope: str = "objects", with_body: bool = True
) -> Page:
    """One page of objects (or manifest entries) in date_added order, filtered and through the policy."""
    columns = (*_COLUMNS, T.body) if with_body else _COLUMNS
    return _page(session, reader, query, scope, _filtered(reader, query, select(*columns)), with_body=with_body)


@dataclass(frozen=True)
class ObjectPage:
    """A page of objects as served: their stored JSON text in date_added order, and what reads log."""

    bodies: list[str]
    first_added: datetime | None
    last_added: datetime | None
    # Each item whose objects are on the page -> the highest item version among them.
    items: dict[uuid.UUID, int]
    more: bool
    next: str | None


# Per row of an object page only the body is used whole: date_added (first and last row only) comes as
# the driver returns it, without the per-row conversion to UTC, and item ids as text, which hash and
# compare in C; the few distinct ones become UUIDs (PostgreSQL gives the dashed form, SQLite the hex).
_ADDED_AS_STORED = type_coerce(T.date_added, UTCDateTime.impl)
_ITEM_AS_TEXT = cast(T.item_id, String)


def _as_utc(value: datetime, dialect: Dialect) -> datetime:
    converted = UTCDateTime().process_result_value(value, dialect)
    assert converted is not None
    return converted


def read_objects(session: Session, reader: Reader, query: Query, *, scope: str = "objects") -> ObjectPage:
    """One page of objects in date_added order, filtered and through the policy, for the envelope.

    The same statement as :func:`read_page` with only the columns the envelope and the read log need,
    executed on the connection (rows stay tuples): the stored bodies are already the compact JSON
    served, so they are joined as text, never parsed.
    """
    stmt = _filtered(reader, query, select(_ADDED_AS_STORED, _ITEM_AS_TEXT, T.item_version, T.body))
    stmt, query_key = _resume(reader, query, scope, stmt)
    connection = session.connection()
    raw = connection.execute(stmt).all()
    more = len(raw) > query.limit
    if more:
        raw = raw[: query.limit]
    items: dict[uuid.UUID, int] = {}
    for item_id, item_version in {(r[1], r[2]) for r in raw}:
        if item_id is not None:
            key = uuid.UUID(item_id)
            items[key] = max(items.get(key, 0), item_version or 0)
    first = _as_utc(raw[0][0], connection.dialect) if raw else None
    last = _as_utc(raw[-1][0], connection.dialect) if raw else None
    token = _token(reader, scope, query_key, last) if more and last is not None else None
    return ObjectPage(
        bodies=[r[3] for r in raw], first_added=first, last_added=last, items=items, more=more, next=token
    )


def read_versions(session: Session, reader: Reader, stix_id: str, query: Query) -> Page:
    """The versions of one object the reader may see, in date_added order (match[version] does not apply)."""
    stmt = _filtered(reader, query, select(*_COLUMNS).where(T.stix_id == stix_id), versions=False)
    return _page(session, reader, query, f"versions:{stix_id}", stmt, with_body=False)


def object_visible(session: Session, reader: Reader, stix_id: str) -> bool:
    stmt = select(T.id).where(T.stix_id == stix_id, reader.visible(T)).limit(1)
    return session.execute(stmt).first() is not None


def log_reads(session: Session, reader: Reader, items: Mapping[uuid.UUID, int], objects: int) -> int:
    """Record a read, with the declared purpose, of every other org's item whose objects were served.

    ``items`` maps each item on the page to the highest version served (:attr:`ObjectPage.items`),
    ``objects`` is how many objects were served. The bulk equivalent of ``service.record_read``: one
    read-log row per item (its contributor sees it in the item's access log), written in one multi-row
    insert, the recipient's acknowledgements, and one audit entry for the request.
    """
    if not items:
        return 0
    actor = reader.actor
    others = dict(
        session.execute(
            select(ExchangeItem.id, ExchangeItem.first_published_at).where(
                ExchangeItem.id.in_(items), ExchangeItem.org_id != actor.org_id
            )
        ).all()
    )
    if not others:
        return 0
    now = utcnow()
    session.connection().execute(
        insert(ReadLog),
        [
            {
                "id": uuid.uuid4(),
                "item_id": item_id,
                "item_version": items[item_id],
                "user_id": actor.user_id,
                "org_id": actor.org_id,
                "purpose": reader.purpose,
                "channel": ReadChannel.TAXII,
                "read_at": now,
            }
            for item_id in others
        ],
    )
    acknowledge_many(session, others, actor.org_id)
    record(
        session,
        action="exchange.taxii.read",
        target_type="exchange_taxii_collection",
        target_id=reader.collection.id,
        actor=actor,
        summary={
            "purpose": reader.purpose.value,
            "channel": ReadChannel.TAXII.value,
            "objects": objects,
            "items": sorted(str(item_id) for item_id in others),
        },
    )
    return len(others)


# --- deleting ---------------------------------------------------------------------------------------


def delete_object(
    session: Session, actor: Actor, collection: TaxiiCollection, stix_id: str, version: VersionFilter
) -> int:
    """Delete versions of an object the actor's org added over TAXII (from every collection it went to).

    Objects of items the org wrote in the exchange are withdrawn with the item, not deleted here; other
    orgs' objects look missing (404).
    """
    own = list(
        session.execute(
            select(T.version, T.origin, T.item_id).where(
                T.collection_id == collection.id, T.stix_id == stix_id, T.org_id == actor.org_id
            )
        ).all()
    )
    if not own:
        raise not_found(f"No object {stix_id} of your organisation in this collection.")
    posted = sorted({(v, item) for v, origin, item in own if origin == ObjectOrigin.POSTED})
    if not posted:
        raise TaxiiError(
            403,
            "Withdraw the item instead",
            f"{stix_id} belongs to an exchange item your organisation published; withdraw or revise "
            "the item, and its STIX objects follow.",
        )
    chosen = _choose_versions([v for v, _ in posted], version)
    if not chosen:
        return 0
    items = {item for v, item in posted if v in chosen}
    result = session.execute(
        delete(TaxiiObject)
        .where(
            T.stix_id == stix_id,
            T.version.in_(chosen),
            T.origin == ObjectOrigin.POSTED,
            T.org_id == actor.org_id,
            T.item_id.in_(items),
        )
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    for collection_id in set(session.execute(select(T.collection_id).where(T.stix_id == stix_id)).scalars()):
        refresh_flags(session, collection_id, stix_id)
    record(
        session,
        action="exchange.taxii.object_deleted",
        target_type="exchange_taxii_collection",
        target_id=collection.id,
        actor=actor,
        summary={"stix_id": stix_id, "versions": sorted(str(v) for v in chosen), "rows": count},
    )
    return count


def _choose_versions(versions: list[datetime], version: VersionFilter) -> set[datetime]:
    if version.all:
        return set(versions)
    chosen = {v for v in versions if v in version.exact}
    if version.first:
        chosen.add(min(versions))
    if version.last:
        chosen.add(max(versions))
    return chosen
