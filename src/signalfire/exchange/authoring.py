"""Writing items: drafts, screening before publish, publish, revisions, withdrawal, attachments.

Publishing screens the title, summary, details, indicators, mitigations and text attachments for
personal data, secrets and commercially sensitive content. A finding stops the publish unless the
person gives an override reason, which is stored with the revision it allowed.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Membership, Organization, OrgKind, User
from signalfire.access.permissions import Permission
from signalfire.access.policy import first_or_404, require
from signalfire.access.policy.exchange import addressable_people, can_edit, readable_items
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import Conflict, FieldError, NotFound, PayloadTooLarge, ValidationFailed
from signalfire.exchange import queries, routing
from signalfire.exchange.antitrust.counsel import require_counsel
from signalfire.exchange.correlation import service as correlation
from signalfire.exchange.errors import ScreeningBlocked
from signalfire.exchange.models import (
    Attribution,
    ExchangeItem,
    ItemAttachment,
    ItemAudienceOrg,
    ItemAudiencePerson,
    ItemRevision,
    ItemStatus,
    ScreeningOverride,
)
from signalfire.exchange.moderation import gate as moderation_gate
from signalfire.exchange.pseudonyms import ensure_pseudonym
from signalfire.exchange.sanitise.service import identifier_findings, require_signed_off
from signalfire.exchange.schemas import ItemIn
from signalfire.exchange.screening import Finding, ScreeningInputTooLarge, screen
from signalfire.exchange.service import build_snapshot, hub_identity, public_contributor
from signalfire.exchange.vocab import AudienceKind, audience_allowed
from signalfire.federation import push as federation_push
from signalfire.notify.outbox import publish_event

ATTACHMENT_MAX_BYTES = 2 * 1024 * 1024
ATTACHMENTS_MAX_PER_ITEM = 5
ATTACHMENT_TYPES = frozenset(
    {
        "text/plain",
        "text/markdown",
        "text/csv",
        "application/json",
        "application/pdf",
        "image/png",
        "image/jpeg",
        "application/zip",
    }
)
_TEXT_TYPES = frozenset({"text/plain", "text/markdown", "text/csv", "application/json"})


# -- validation ----------------------------------------------------------------------------------------


def check_audience(session: Session, data: ItemIn, actor: Actor | None = None) -> None:
    """TLP against audience (vocab rules), and that named orgs and people exist and may be addressed at all;
    with an actor, named people must be ones the actor may see (the policy's addressable people)."""
    violations = audience_allowed(data.tlp, data.audience)
    if violations:
        raise ValidationFailed([FieldError("audience", v.message) for v in violations])
    kinds = set(data.audience)
    if (AudienceKind.NAMED_ORGS in kinds) != bool(data.audience_org_ids):
        raise ValidationFailed.single(
            "audience_org_ids", "name at least one org for 'named orgs', and name orgs only with that audience"
        )
    if (AudienceKind.NAMED_PEOPLE in kinds) != bool(data.audience_people):
        raise ValidationFailed.single(
            "audience_people", "name at least one person for 'named people', and name people only with that audience"
        )
    if data.audience_org_ids:
        found = dict(
            session.execute(
                select(Organization.id, Organization.kind).where(Organization.id.in_(data.audience_org_ids))
            ).all()
        )
        for i, org_id in enumerate(data.audience_org_ids):
            if org_id not in found:
                raise ValidationFailed.single(f"audience_org_ids[{i}]", "no such organisation")
            if found[org_id] == OrgKind.authority:
                raise ValidationFailed.single(
                    f"audience_org_ids[{i}]",
                    "an authority receives exchange items only as a government partner; use that audience instead",
                )
    for i, person in enumerate(data.audience_people):
        row = session.execute(
            select(Organization.kind)
            .join(Membership, Membership.org_id == Organization.id)
            .where(Membership.user_id == person.user_id, Membership.org_id == person.org_id)
        ).first()
        visible = (
            actor is None
            or session.execute(
                addressable_people(actor).where(User.id == person.user_id, Organization.id == person.org_id).limit(1)
            ).first()
        )
        if row is None or (row[0] != OrgKind.authority and not visible):  # not addressable looks like missing
            raise ValidationFailed.single(f"audience_people[{i}]", "this person is not a member of that org")
        if row[0] == OrgKind.authority:
            raise ValidationFailed.single(
                f"audience_people[{i}]",
                "people of an authority cannot be named; "
                "authorities receive items only as government partners, never RED",
            )


def _apply(item: ExchangeItem, data: ItemIn) -> None:
    item.category = data.category
    item.title = data.title.strip()
    item.summary = data.summary
    item.details = data.details
    item.indicators = data.indicators
    item.severity = data.severity
    item.priority = data.priority
    item.confidence = data.confidence
    item.model_families = list(data.model_families)
    item.modalities = [m.value for m in data.modalities]
    item.technique_refs = list(data.technique_refs)
    item.tags = list(data.tags)
    item.mitigations = list(data.mitigations)
    item.valid_until = data.valid_until
    item.tlp = data.tlp
    item.permitted_uses = list(data.permitted_uses)
    kinds = set(data.audience)
    item.audience_all_members = AudienceKind.ALL_MEMBERS in kinds
    item.audience_named_orgs = AudienceKind.NAMED_ORGS in kinds
    item.audience_named_people = AudienceKind.NAMED_PEOPLE in kinds
    item.audience_government = AudienceKind.GOVERNMENT_PARTNERS in kinds
    item.audience_researchers = AudienceKind.RESEARCHERS in kinds
    item.attribution = data.attribution


def _replace_audience(session: Session, item: ExchangeItem, data: ItemIn) -> None:
    session.query(ItemAudienceOrg).filter(ItemAudienceOrg.item_id == item.id).delete()
    session.query(ItemAudiencePerson).filter(ItemAudiencePerson.item_id == item.id).delete()
    for org_id in dict.fromkeys(data.audience_org_ids):
        session.add(ItemAudienceOrg(item_id=item.id, org_id=org_id))
    seen: set[uuid.UUID] = set()
    for person in data.audience_people:
        if person.user_id not in seen:
            seen.add(person.user_id)
            session.add(ItemAudiencePerson(item_id=item.id, user_id=person.user_id, org_id=person.org_id))


def audience_of(session: Session, item: ExchangeItem) -> dict[str, Any]:
    """The audience as addressed (contributor org only: readers never learn who else received an item)."""
    orgs = session.execute(select(ItemAudienceOrg.org_id).where(ItemAudienceOrg.item_id == item.id)).scalars()
    people = session.execute(
        select(ItemAudiencePerson.user_id, ItemAudiencePerson.org_id).where(ItemAudiencePerson.item_id == item.id)
    ).all()
    return {
        "kinds": [k.value for k in item.audience_kinds],
        "org_ids": [str(o) for o in orgs],
        "people": [{"user_id": str(u), "org_id": str(o)} for u, o in people],
    }


def _own_item(session: Session, actor: Actor, item_id: uuid.UUID) -> ExchangeItem:
    """An item of the actor's org, read through the policy (others' items are 404 here too)."""
    return first_or_404(
        session,
        readable_items(actor).where(ExchangeItem.id == item_id, ExchangeItem.org_id == actor.org_id),
        "No such item in your organisation.",
    )


# -- drafts --------------------------------------------------------------------------------------------


def create_draft(
    session: Session,
    actor: Actor,
    data: ItemIn,
    *,
    source_incident_id: uuid.UUID | None = None,
    item_id: uuid.UUID | None = None,
) -> ExchangeItem:
    """A new draft of the actor's org; ``item_id`` lets an importer choose a deterministic id (idempotent imports)."""
    require(actor, Permission.exchange_item_write)
    check_audience(session, data, actor)
    item = ExchangeItem(
        id=item_id or uuid.uuid4(),
        org_id=actor.org_id,
        created_by_id=actor.user_id,
        status=ItemStatus.DRAFT,
        version=0,
        source_incident_id=source_incident_id,
    )
    _apply(item, data)
    if item.attribution == Attribution.PSEUDONYMOUS:
        item.pseudonym_id = ensure_pseudonym(session, actor.org_id).id
    session.add(item)
    session.flush()
    _replace_audience(session, item, data)
    record(
        session,
        action="exchange.item.draft_created",
        target_type="exchange_item",
        target_id=item.id,
        actor=actor,
        summary={
            "category": item.category,
            "tlp": item.tlp,
            "title": item.title,
            "from_incident": source_incident_id is not None,
        },
    )
    return item


def update_draft(session: Session, actor: Actor, item_id: uuid.UUID, data: ItemIn) -> ExchangeItem:
    require(actor, Permission.exchange_item_write)
    item = _own_item(session, actor, item_id)
    if item.status != ItemStatus.DRAFT:
        raise Conflict(
            "Only a draft can be edited in place; a published item is changed by a new revision.", slug="not-a-draft"
        )
    check_audience(session, data, actor)
    _apply(item, data)
    if item.attribution == Attribution.PSEUDONYMOUS:
        item.pseudonym_id = ensure_pseudonym(session, actor.org_id).id
    else:
        item.pseudonym_id = None
    _replace_audience(session, item, data)
    _record_content(session, actor, item, "exchange.item.draft_updated")
    return item


def _record_content(session: Session, actor: Actor, item: ExchangeItem, action: str) -> None:
    """The audit entry of an in-place change of an unpublished item's content."""
    record(
        session,
        action=action,
        target_type="exchange_item",
        target_id=item.id,
        actor=actor,
        summary={"tlp": item.tlp, "title": item.title},
    )


# -- screening -----------------------------------------------------------------------------------------


def screening_fields(
    session: Session, item: ExchangeItem, attachments: Sequence[ItemAttachment] | None = None
) -> dict[str, str]:
    """Every text the item would publish, by field name, as screening reads it (text attachments included).

    ``attachments``: the item's, in upload order, when already loaded (see screening_fields_of).
    """
    fields = {"title": item.title, "summary": item.summary, "details": item.details, "indicators": item.indicators}
    for i, mitigation in enumerate(item.mitigations):
        fields[f"mitigations[{i}]"] = mitigation
    if attachments is None:
        attachments = session.scalars(
            select(ItemAttachment)
            .where(ItemAttachment.item_id == item.id)
            .order_by(ItemAttachment.created_at, ItemAttachment.id)
        ).all()
    for att in attachments:
        if att.content_type in _TEXT_TYPES:
            # Two files may share a name; each keeps its own field, or the later one would hide the earlier
            # from screening while both are published.
            name, n = f"attachment:{att.filename}", 2
            while name in fields:
                name, n = f"attachment:{att.filename} ({n})", n + 1
            fields[name] = att.data.decode("utf-8", errors="replace")
    return fields


def screening_fields_of(session: Session, items: Sequence[ExchangeItem]) -> dict[uuid.UUID, dict[str, str]]:
    """screening_fields of several items, with one query for all their text attachments."""
    attachments: dict[uuid.UUID, list[ItemAttachment]] = {item.id: [] for item in items}
    if attachments:
        for att in session.execute(
            select(ItemAttachment)
            .where(ItemAttachment.item_id.in_(list(attachments)), ItemAttachment.content_type.in_(_TEXT_TYPES))
            .order_by(ItemAttachment.created_at, ItemAttachment.id)
        ).scalars():
            attachments[att.item_id].append(att)
    return {item.id: screening_fields(session, item, attachments[item.id]) for item in items}


def screen_item(session: Session, item: ExchangeItem) -> list[Finding]:
    """Screen every text the item would publish, including text attachments."""
    fields = screening_fields(session, item)
    try:
        findings = screen(fields)
    except ScreeningInputTooLarge as exc:
        raise ValidationFailed.single("details", str(exc)) from None
    # Text promoted from an incident or intake is also checked by the sanitiser's recognizers, so
    # screening never says "nothing found" while an identifier is still there (in a file attached to it too).
    return findings + identifier_findings(session, item, fields)


def findings_as_dicts(findings: list[Finding]) -> list[dict[str, Any]]:
    return [asdict(f) for f in findings]


def _gate(
    session: Session, actor: Actor, item: ExchangeItem, override_reason: str | None, version: int
) -> list[Finding]:
    """Stop on findings unless overridden; record the override with the version it lets through."""
    require_signed_off(session, item)
    findings = screen_item(session, item)
    if not findings:
        return findings
    reason = (override_reason or "").strip()
    if not reason:
        raise ScreeningBlocked(findings_as_dicts(findings))
    if len(reason) < 10:
        raise ValidationFailed.single("screening_override_reason", "say why in at least 10 characters")
    require_counsel(session, actor, item, findings)
    session.add(
        ScreeningOverride(
            id=uuid.uuid4(),
            item_id=item.id,
            version=version,
            user_id=actor.user_id,
            org_id=actor.org_id,
            reason=reason,
            findings=findings_as_dicts(findings),
            created_at=utcnow(),
        )
    )
    record(
        session,
        action="exchange.item.screening_overridden",
        target_type="exchange_item",
        target_id=item.id,
        actor=actor,
        summary={
            "version": version,
            "reason": reason,
            "findings": [f"{f.kind}:{f.rule_id}@{f.field}" for f in findings],
        },
    )
    return findings


# -- publish, revise, withdraw -------------------------------------------------------------------------


def _carried_by(session: Session, item: ExchangeItem) -> str | None:
    """The posted STIX report that stands for an item received over TAXII (see ``ItemSnapshot.carried_by``)."""
    from signalfire.exchange.taxii.models import ObjectOrigin, TaxiiObject

    return session.execute(
        select(TaxiiObject.stix_id)
        .where(
            TaxiiObject.item_id == item.id,
            TaxiiObject.origin == ObjectOrigin.POSTED,
            TaxiiObject.stix_type == "report",
        )
        .order_by(TaxiiObject.date_added.desc())
        .limit(1)
    ).scalar_one_or_none()


def _add_revision(session: Session, actor: Actor, item: ExchangeItem, change_note: str) -> ItemRevision:
    snapshot = build_snapshot(item, public_contributor(session, item), hub_identity(session))
    # A later version of an item received as a posted report (approved after review, withdrawn) is still that
    # report's: no report of this instance's own is made for it. (An add marks the versions it makes itself.)
    carried = _carried_by(session, item)
    if carried is not None:
        snapshot = snapshot.model_copy(update={"carried_by": carried})
    assert item.published_at is not None
    revision = ItemRevision(
        id=uuid.uuid4(),
        item_id=item.id,
        version=item.version,
        modified=item.published_at,
        tlp=item.tlp,
        revoked=item.status == ItemStatus.WITHDRAWN,
        snapshot=snapshot.model_dump(mode="json"),
        indicators=item.indicators,
        audience=audience_of(session, item),
        change_note=change_note,
        published_by_id=actor.user_id,
    )
    session.add(revision)
    correlation.reindex(session, item)
    # Peers follow in this transaction: each version is queued (outbox) for every peer collection it may go to.
    change = "withdrawn" if revision.revoked else ("published" if revision.version == 1 else "revised")
    federation_push.queue_revision(session, item, revision, change)
    return revision


def _next_time(item: ExchangeItem) -> datetime:
    # Each version's `modified` must be strictly later than the last (STIX versioning, TAXII date_added).
    now = utcnow()
    if item.published_at is not None and now <= item.published_at:
        now = item.published_at + timedelta(milliseconds=1)
    return now


def publish(
    session: Session, actor: Actor, item_id: uuid.UUID, *, override_reason: str | None = None, change_note: str = ""
) -> ExchangeItem:
    """Publish a draft as version 1 (after screening), then notify the designated recipients."""
    require(actor, Permission.exchange_item_publish)
    item = _own_item(session, actor, item_id)
    if item.status != ItemStatus.DRAFT:
        raise Conflict("This item is already published; change it with a new revision.", slug="not-a-draft")
    moderation_gate.check_may_publish(session, actor)
    _gate(session, actor, item, override_reason, 1)
    if moderation_gate.hold_for_review(session, actor, item, change_note):
        return item  # published by a hub moderator's approval (exchange/moderation/service.approve)
    now = _next_time(item)
    item.status = ItemStatus.PUBLISHED
    item.version = 1
    item.first_published_at = now
    item.published_at = now
    _add_revision(session, actor, item, change_note or "First publication")
    record(
        session,
        action="exchange.item.published",
        target_type="exchange_item",
        target_id=item.id,
        actor=actor,
        summary={
            "version": 1,
            "tlp": item.tlp,
            "category": item.category,
            "attribution": item.attribution,
            "audience": item.audience_kinds,
        },
    )
    routing.notify_recipients(session, item)
    publish_event(
        session,
        org_id=actor.org_id,
        event="exchange.item.published",
        data={"item_id": item.id, "version": 1, "tlp": item.tlp, "category": item.category},
    )
    return item


def revise(
    session: Session,
    actor: Actor,
    item_id: uuid.UUID,
    data: ItemIn,
    *,
    change_note: str,
    override_reason: str | None = None,
) -> ExchangeItem:
    """A new published version with the changed content; the previous versions stay as they were."""
    require(actor, Permission.exchange_item_publish)
    item = _own_item(session, actor, item_id)
    if item.status != ItemStatus.PUBLISHED:
        raise Conflict(
            "Only a published item can be revised; edit a draft, and a withdrawn item stays withdrawn.",
            slug="not-published",
        )
    if not change_note.strip():
        raise ValidationFailed.single("change_note", "say what changed in this revision")
    moderation_gate.check_may_publish(session, actor)
    check_audience(session, data, actor)
    if data.attribution != item.attribution:
        raise ValidationFailed.single(
            "attribution", "cannot change once published: the item is already known under its current attribution"
        )
    _apply(item, data)
    _replace_audience(session, item, data)
    session.flush()
    _gate(session, actor, item, override_reason, item.version + 1)
    item.published_at = _next_time(item)
    item.version += 1
    _add_revision(session, actor, item, change_note.strip())
    record(
        session,
        action="exchange.item.revised",
        target_type="exchange_item",
        target_id=item.id,
        actor=actor,
        summary={"version": item.version, "change_note": change_note.strip(), "tlp": item.tlp},
    )
    publish_event(
        session, org_id=actor.org_id, event="exchange.item.revised", data={"item_id": item.id, "version": item.version}
    )
    return item


def update_held(
    session: Session, actor: Actor, item_id: uuid.UUID, data: ItemIn | None, *, reason: str = ""
) -> ExchangeItem:
    """A new version of an item that still waits for the hub's review (a TAXII add of its next version):
    the moderator then reviews the latest content. ``data`` None: the contributor revoked it, so it leaves
    the queue as withdrawn (it was never published, so nothing of it was ever read)."""
    require(actor, Permission.exchange_item_publish)
    item = _own_item(session, actor, item_id)
    if item.status != ItemStatus.PENDING_REVIEW:
        raise Conflict("Only an item waiting for review is updated in place.", slug="not-pending-review")
    if data is None:
        item.status = ItemStatus.WITHDRAWN
        item.withdrawn_at = utcnow()
        item.withdrawn_reason = reason.strip() or "withdrawn while waiting for review"
        record(
            session,
            action="exchange.item.withdrawn",
            target_type="exchange_item",
            target_id=item.id,
            actor=actor,
            summary={"version": item.version, "reason": item.withdrawn_reason, "while": "pending_review"},
        )
        return item
    check_audience(session, data, actor)
    if data.attribution != item.attribution:
        raise ValidationFailed.single(
            "attribution", "cannot change: the item waits for review under its current attribution"
        )
    _apply(item, data)
    _replace_audience(session, item, data)
    _record_content(session, actor, item, "exchange.item.held_updated")
    return item


def withdraw(session: Session, actor: Actor, item_id: uuid.UUID, reason: str) -> ExchangeItem:
    """Stop sharing an item: it disappears for readers, and a revoked version is kept for exports."""
    require(actor, Permission.exchange_item_publish)
    item = _own_item(session, actor, item_id)
    if item.status != ItemStatus.PUBLISHED:
        raise Conflict("Only a published item can be withdrawn.", slug="not-published")
    if len(reason.strip()) < 3:
        raise ValidationFailed.single("reason", "give a reason")
    now = _next_time(item)
    item.status = ItemStatus.WITHDRAWN
    item.withdrawn_at = now
    item.withdrawn_reason = reason.strip()
    item.published_at = now
    item.version += 1
    _add_revision(session, actor, item, f"Withdrawn: {reason.strip()}")
    record(
        session,
        action="exchange.item.withdrawn",
        target_type="exchange_item",
        target_id=item.id,
        actor=actor,
        summary={"version": item.version, "reason": reason.strip()},
    )
    publish_event(
        session,
        org_id=actor.org_id,
        event="exchange.item.withdrawn",
        data={"item_id": item.id, "version": item.version},
    )
    return item


# -- attachments ---------------------------------------------------------------------------------------


def add_attachment(
    session: Session, actor: Actor, item_id: uuid.UUID, *, filename: str, content_type: str, data: bytes
) -> ItemAttachment:
    """Attach reproduction material to a draft; size and type are limited, text is screened at publish."""
    require(actor, Permission.exchange_item_write)
    item = _own_item(session, actor, item_id)
    if item.status != ItemStatus.DRAFT:
        raise Conflict("Attach files to a draft, before it is published.", slug="not-a-draft")
    name = filename.strip().replace("/", "_").replace("\\", "_")[:200]
    if not name:
        raise ValidationFailed.single("file", "the file needs a name")
    ctype = content_type.split(";")[0].strip().lower()
    if ctype not in ATTACHMENT_TYPES:
        raise ValidationFailed.single(
            "file", f"type {ctype or 'unknown'} is not accepted; use one of {', '.join(sorted(ATTACHMENT_TYPES))}"
        )
    if len(data) > ATTACHMENT_MAX_BYTES:
        raise PayloadTooLarge(ATTACHMENT_MAX_BYTES)
    if not data:
        raise ValidationFailed.single("file", "the file is empty")
    count = session.execute(
        select(func.count()).select_from(ItemAttachment).where(ItemAttachment.item_id == item.id)
    ).scalar_one()
    if count >= ATTACHMENTS_MAX_PER_ITEM:
        raise ValidationFailed.single("file", f"an item holds at most {ATTACHMENTS_MAX_PER_ITEM} attachments")
    if ctype in _TEXT_TYPES:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed.single("file", "text attachments must be UTF-8") from None
    att = ItemAttachment(
        id=uuid.uuid4(),
        item_id=item.id,
        filename=name,
        content_type=ctype,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        uploaded_by_id=actor.user_id,
        created_at=utcnow(),
    )
    session.add(att)
    record(
        session,
        action="exchange.item.attachment_added",
        target_type="exchange_item",
        target_id=item.id,
        actor=actor,
        summary={"filename": name, "size": len(data), "sha256": att.sha256},
    )
    return att


def remove_attachment(session: Session, actor: Actor, item_id: uuid.UUID, attachment_id: uuid.UUID) -> ItemAttachment:
    """Remove a file attached to a draft by mistake. Only someone who may edit the draft may: anyone else, in the
    org or not, finds no such item (404). The bytes live in the row, so deleting it removes the file; sign-offs
    are bound to a hash over the texts and every file, so one given with the file in place no longer holds, and
    one given before it was attached holds again."""
    item = _own_item(session, actor, item_id)
    if not can_edit(actor, item):  # forbidden looks like missing, as on the edit page
        raise NotFound("No such item in your organisation.")
    att = queries.attachment(session, item.id, attachment_id)
    if item.status != ItemStatus.DRAFT:
        raise Conflict(
            "Files are removed from a draft only; a published item keeps the files it was published with.",
            slug="not-a-draft",
        )
    session.delete(att)
    record(
        session,
        action="exchange.item.attachment_removed",
        target_type="exchange_item",
        target_id=item.id,
        actor=actor,
        summary={"filename": att.filename, "size": att.size_bytes, "sha256": att.sha256},
    )
    return att


def attachments_of(session: Session, item: ExchangeItem) -> list[ItemAttachment]:
    """Attachments of an item the caller has already cleared for details, in upload order (the order the
    sign-offs hash them in: files uploaded in the same instant fall back to their id)."""
    stmt = (
        select(ItemAttachment)
        .where(ItemAttachment.item_id == item.id)
        .order_by(ItemAttachment.created_at, ItemAttachment.id)
    )
    return list(session.execute(stmt).scalars())
