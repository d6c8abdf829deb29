"""Sanitisation of promoted text: record the preview, let a second person sign it off, gate publishing.

Services never commit; every change and every read of the preview (which shows the original
identifiers) is audited.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import User
from signalfire.access.permissions import Permission
from signalfire.access.policy import first_or_404, readable_member_users, require
from signalfire.access.policy.exchange import readable_items
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import Conflict, Forbidden, ValidationFailed
from signalfire.exchange.models import ExchangeItem, ItemAttachment, ItemStatus
from signalfire.exchange.sanitise.engine import (
    ENTITY_LABELS,
    Detection,
    SanitiseContext,
    Sanitised,
    SanitiseInputTooLarge,
    detect,
    sanitise_fields,
)
from signalfire.exchange.sanitise.models import Sanitisation
from signalfire.exchange.screening import Finding

# Free mail providers are nobody's internal domain.
_PUBLIC_MAIL = frozenset({"gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "yahoo.com", "proton.me"})
_PROMOTED_FIELDS = ("title", "summary", "details", "indicators")
_FILE = "attachment:"  # how screening names a text attachment's field (authoring.screening_fields)


def item_fields(item: ExchangeItem) -> dict[str, str]:
    fields = {name: getattr(item, name) or "" for name in _PROMOTED_FIELDS}
    for i, mitigation in enumerate(item.mitigations):
        fields[f"mitigations[{i}]"] = mitigation
    return fields


def content_hash(item: ExchangeItem) -> str:
    """The item's texts, hashed: editing any of them changes it. Sign-offs are bound to ``signoff_hash``."""
    canonical = json.dumps(item_fields(item), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# The order a sign-off takes an item's files in (upload order): the hash and the list the signer sees share it.
_FILE_ORDER = (ItemAttachment.created_at, ItemAttachment.id)


def attachment_digests(session: Session, item_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[tuple[str, str]]]:
    """Each item's attachments as (file name, SHA-256), in upload order; the files' bytes are not read."""
    out: dict[uuid.UUID, list[tuple[str, str]]] = {item_id: [] for item_id in item_ids}
    if item_ids:
        for item_id, filename, sha256 in session.execute(
            select(ItemAttachment.item_id, ItemAttachment.filename, ItemAttachment.sha256)
            .where(ItemAttachment.item_id.in_(item_ids))
            .order_by(*_FILE_ORDER)
        ):
            out[item_id].append((filename, sha256))
    return out


@dataclass(frozen=True, slots=True)
class SignedFile:
    """A file a sign-off covers, as the signer sees it."""

    filename: str
    content_type: str
    size_bytes: int
    sha256: str


def signed_files(session: Session, item: ExchangeItem) -> list[SignedFile]:
    """Every file attached to the item, in the order ``signoff_hash`` takes them; the files' bytes are not read.

    For an item the caller has already cleared (the sanitisation view, counsel's form on the item page)."""
    rows = session.execute(
        select(ItemAttachment.filename, ItemAttachment.content_type, ItemAttachment.size_bytes, ItemAttachment.sha256)
        .where(ItemAttachment.item_id == item.id)
        .order_by(*_FILE_ORDER)
    )
    return [SignedFile(*row) for row in rows]


def files_hash(item: ExchangeItem, files: Sequence[SignedFile]) -> str:
    """``signoff_hash`` of the item with these files: what the signer sees is what the hash covers."""
    return signoff_hash(item, [(f.filename, f.sha256) for f in files])


def signoff_hash(item: ExchangeItem, attachments: list[tuple[str, str]]) -> str:
    """What a sign-off (the sanitisation's, counsel's) is bound to: the item's texts and every file attached.

    Every attachment is published with the item, images and other binary files included, so a file added after
    the sign-off (or one replaced) voids it; without that, a file the signer never saw would be published under
    their sign-off. ``attachments`` as ``attachment_digests`` gives them. An item without attachments keeps
    ``content_hash`` as it is, so sign-offs given before files counted stay valid where nothing was attached.
    """
    base = content_hash(item)
    if not attachments:
        return base
    canonical = json.dumps([base, [list(pair) for pair in attachments]], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", errors="surrogatepass")).hexdigest()


def current_hash(session: Session, item: ExchangeItem) -> str:
    """``signoff_hash`` of the item as it is now, its attachments read from the database."""
    return signoff_hash(item, attachment_digests(session, [item.id])[item.id])


def org_context(session: Session, actor: Actor, extra: Sequence[str] = ()) -> SanitiseContext:
    """The org's people (names from its memberships) and domains (from their e-mail addresses)."""
    names: set[str] = set()
    domains: set[str] = set()
    for _membership, user in session.execute(readable_member_users(actor)).all():
        if isinstance(user, User):
            if user.display_name.strip():
                names.add(user.display_name.strip())
            domain = user.email.rsplit("@", 1)[-1].lower()
            if domain not in _PUBLIC_MAIL and not domain.endswith((".test", ".example", ".invalid")):
                domains.add(domain)
    return SanitiseContext(
        names=tuple(sorted(names)),
        domains=tuple(sorted(domains)),
        identifiers=tuple(term.strip() for term in extra if term.strip()),
    )


def sanitise_texts(session: Session, actor: Actor, fields: Mapping[str, str], extra: Sequence[str] = ()) -> Sanitised:
    try:
        return sanitise_fields(fields, org_context(session, actor, extra))
    except SanitiseInputTooLarge as exc:
        raise ValidationFailed.single("details", str(exc)) from None


def record_sanitisation(session: Session, actor: Actor, item: ExchangeItem, source: str, result: Sanitised) -> None:
    """Keep the preview of a freshly promoted draft; publishing waits for a second person's sign-off."""
    session.add(
        Sanitisation(
            id=uuid.uuid4(),
            item_id=item.id,
            org_id=item.org_id,
            source=source,
            changes=[change.as_json() for change in result.changes],
            drafted_by_id=actor.user_id,
            created_at=utcnow(),
        )
    )
    counts: dict[str, int] = {}
    for change in result.changes:
        counts[change.entity] = counts.get(change.entity, 0) + 1
    record(
        session,
        action="exchange.item.sanitised",
        target_type="exchange_item",
        target_id=item.id,
        actor=actor,
        summary={"source": source, "changes": len(result.changes), "by_class": counts},
    )


def sanitise_promoted_draft(session: Session, actor: Actor, item: ExchangeItem, source: str) -> Sanitised:
    """Sanitise a draft just created from another channel (intake), in place, and keep the preview."""
    result = sanitise_texts(session, actor, item_fields(item))
    for name in _PROMOTED_FIELDS:
        setattr(item, name, result.fields[name])
    record_sanitisation(session, actor, item, source, result)
    return result


def sanitisation_of(session: Session, item_id: uuid.UUID) -> Sanitisation | None:
    return session.execute(select(Sanitisation).where(Sanitisation.item_id == item_id)).scalar_one_or_none()


def _context(session: Session, actor: Actor | None, item: ExchangeItem) -> SanitiseContext:
    """The owning org's people and domains when the actor belongs to it; otherwise the generic recognizers."""
    if actor is not None and actor.org_id == item.org_id:
        return org_context(session, actor)
    return SanitiseContext()


def _scan(fields: Mapping[str, str], context: SanitiseContext) -> tuple[list[tuple[str, Detection]], dict[str, str]]:
    """Identifiers in each field, and the fields too large for the sanitiser (name -> why), which are never
    passed as clean: the caller refuses them."""
    found: list[tuple[str, Detection]] = []
    too_large: dict[str, str] = {}
    for name, text in fields.items():
        try:
            found.extend((name, detection) for detection in detect(text, context))
        except SanitiseInputTooLarge as exc:
            too_large[name] = f"too large for the identifier check: {exc}"
    return found, too_large


def _refuse_too_large(too_large: Mapping[str, str]) -> None:
    for name, why in too_large.items():  # the first is enough: split the file or remove it
        raise ValidationFailed.single(name, why)


def remaining_identifiers(session: Session, actor: Actor | None, item: ExchangeItem) -> list[tuple[str, Detection]]:
    """Identifiers still in the item's current text (after edits), by field."""
    found, too_large = _scan(item_fields(item), _context(session, actor, item))
    _refuse_too_large(too_large)
    return found


def text_attachment_fields(session: Session, item: ExchangeItem) -> dict[str, str]:
    """The item's text attachments as screening reads them (``attachment:<file name>``, in upload order)."""
    from signalfire.exchange.authoring import screening_fields  # authoring imports this module: import late

    return {name: text for name, text in screening_fields(session, item).items() if name.startswith(_FILE)}


def file_identifiers(
    session: Session, actor: Actor | None, item: ExchangeItem
) -> tuple[list[tuple[str, Detection]], dict[str, str]]:
    """Identifiers in the item's text attachments, checked as its texts are, and the files too large to check."""
    return _scan(text_attachment_fields(session, item), _context(session, actor, item))


def identifier_findings(session: Session, item: ExchangeItem, fields: Mapping[str, str] | None = None) -> list[Finding]:
    """Screening findings for promoted drafts: identifiers the sanitiser still sees in the text.

    ``fields``: every text the item would publish, as screening reads them (its text attachments too), when
    the caller has them; a file attached after the sign-off is published with the lesson, so an internal
    reference pasted into it must stop publishing as it would in the details. Without them, the item's own
    texts."""
    if sanitisation_of(session, item.id) is None:
        return []
    if fields is None:
        found = remaining_identifiers(session, None, item)
    else:
        found, too_large = _scan(fields, SanitiseContext())
        _refuse_too_large(too_large)  # never published unchecked: split the file or remove it
    findings = []
    for name, detection in found:
        label = ENTITY_LABELS[detection.entity][1]
        findings.append(
            Finding(
                rule_id=f"sanitise.{detection.entity.lower()}",
                kind="personal_data",
                field=name,
                start=detection.start,
                end=detection.end,
                excerpt=detection.text[:120],
                message=f"{label} still in {_where(name)} promoted from an incident or intake; sanitise it again.",
            )
        )
    return findings


def _where(field: str) -> str:
    return "a file attached to a text" if field.startswith(_FILE) else "a text"


def _place(field: str) -> str:
    """Where an identifier is, for people: the field's name, or the file's."""
    return f"a file attached to a text: {field.removeprefix(_FILE)}" if field.startswith(_FILE) else field


@dataclass(frozen=True, slots=True)
class SanitisationView:
    item: ExchangeItem
    record: Sanitisation
    files: list[SignedFile]  # what the sign-off covers besides the texts, in signoff_hash's order
    remaining: list[tuple[str, Detection]]  # in the texts, then in the text files ("attachment:<name>")
    too_large: dict[str, str]  # text files the sanitiser cannot check: they stop the sign-off
    signed_off_current: bool
    can_sign_off: bool


def _own_draft(session: Session, actor: Actor, item_id: uuid.UUID) -> ExchangeItem:
    return first_or_404(
        session,
        readable_items(actor).where(ExchangeItem.id == item_id, ExchangeItem.org_id == actor.org_id),
        "No such item.",
    )


def view(session: Session, actor: Actor, item_id: uuid.UUID) -> SanitisationView:
    """The preview of every change, for the owning org only (it shows the original identifiers)."""
    require(actor, Permission.exchange_item_write)
    item = _own_draft(session, actor, item_id)
    sanitisation = sanitisation_of(session, item.id)
    if sanitisation is None:
        raise Conflict(
            "This item was not promoted from an incident or intake; nothing to preview.", slug="no-sanitisation"
        )
    in_files, too_large = file_identifiers(session, actor, item)
    remaining = remaining_identifiers(session, actor, item) + in_files
    files = signed_files(session, item)
    current = sanitisation.signed_off_hash is not None and sanitisation.signed_off_hash == files_hash(item, files)
    record(
        session,
        action="exchange.item.sanitisation_viewed",
        target_type="exchange_item",
        target_id=item.id,
        actor=actor,
        summary={"changes": len(sanitisation.changes)},
    )
    can = (
        actor.user_id != sanitisation.drafted_by_id
        and actor.user_id != item.created_by_id
        and item.status == ItemStatus.DRAFT
    )
    return SanitisationView(item, sanitisation, files, remaining, too_large, current, can)


def sign_off(session: Session, actor: Actor, item_id: uuid.UUID) -> Sanitisation:
    """A second person (anyone of the org who may write exchange items, other than the drafter) confirms
    the sanitised text; bound to the texts and the attached files as they are now (``signoff_hash``)."""
    require(actor, Permission.exchange_item_write)
    item = _own_draft(session, actor, item_id)
    sanitisation = sanitisation_of(session, item.id)
    if sanitisation is None:
        raise Conflict("This item has no sanitisation to sign off.", slug="no-sanitisation")
    if item.status != ItemStatus.DRAFT:
        raise Conflict("Only a draft's sanitisation can be signed off.", slug="not-a-draft")
    if sanitisation.drafted_by_id == actor.user_id or item.created_by_id == actor.user_id:
        raise Forbidden("A second person must sign off the sanitisation, not the one who drafted it.")
    # The sign-off covers every file too (signoff_hash), so its text files are checked as the texts are; a file
    # too large for the sanitiser is refused (422 naming it), never signed off unchecked.
    in_files, too_large = file_identifiers(session, actor, item)
    _refuse_too_large(too_large)
    remaining = remaining_identifiers(session, actor, item) + in_files
    if remaining:
        raise Conflict(
            f"The text or its files still have {len(remaining)} identifier(s) ("
            + ", ".join(sorted({f"{ENTITY_LABELS[d.entity][1]} in {_place(name)}" for name, d in remaining}))
            + "); sanitise the text again or edit the draft, and leave identifiers out of attached files, "
            "before signing off.",
            slug="identifiers-remain",
        )
    sanitisation.signed_off_by_id = actor.user_id
    sanitisation.signed_off_at = utcnow()
    sanitisation.signed_off_hash = current_hash(session, item)
    record(
        session,
        action="exchange.item.sanitisation_signed_off",
        target_type="exchange_item",
        target_id=item.id,
        actor=actor,
        summary={"content_hash": sanitisation.signed_off_hash, "changes": len(sanitisation.changes)},
    )
    return sanitisation


def resanitise(session: Session, actor: Actor, item_id: uuid.UUID) -> Sanitisation:
    """Run the sanitiser over the draft's current text (after edits); the new changes join the preview
    and any earlier sign-off is void."""
    require(actor, Permission.exchange_item_write)
    item = _own_draft(session, actor, item_id)
    sanitisation = sanitisation_of(session, item.id)
    if sanitisation is None:
        raise Conflict("This item has no sanitisation.", slug="no-sanitisation")
    if item.status != ItemStatus.DRAFT:
        raise Conflict("Only a draft can be sanitised again.", slug="not-a-draft")
    result = sanitise_texts(session, actor, item_fields(item))
    for name in _PROMOTED_FIELDS:
        setattr(item, name, result.fields[name])
    item.mitigations = [result.fields[f"mitigations[{i}]"] for i in range(len(item.mitigations))]
    sanitisation.changes = [*sanitisation.changes, *(change.as_json() for change in result.changes)]
    sanitisation.drafted_by_id = actor.user_id
    sanitisation.signed_off_by_id = None
    sanitisation.signed_off_at = None
    sanitisation.signed_off_hash = None
    record(
        session,
        action="exchange.item.sanitised",
        target_type="exchange_item",
        target_id=item.id,
        actor=actor,
        summary={"source": "again", "changes": len(result.changes)},
    )
    return sanitisation


def require_signed_off(session: Session, item: ExchangeItem) -> None:
    """Publishing gate: a promoted draft needs a current sign-off (no text or file has changed since)."""
    if item.status != ItemStatus.DRAFT:
        return  # revisions of a published item are screened (identifier_findings), not signed off again
    sanitisation = sanitisation_of(session, item.id)
    if sanitisation is None:
        return
    if sanitisation.signed_off_hash is None or sanitisation.signed_off_hash != current_hash(session, item):
        raise Conflict(
            "This text came from an incident or intake: a second person must review the sanitisation "
            "preview and sign it off before it can be published.",
            slug="sanitisation-not-signed-off",
        )
