"""Counsel sign-off: publishing despite antitrust findings needs competition counsel's approval.

A person holding ``exchange:screening:counsel`` (the org's ``counsel`` role; admins do not hold it,
see ``access.permissions``) reviews the findings with their "why flagged" explanations and signs off,
with a reason, for the text as it is now. Four eyes, twice over: counsel never signs off an item they
drafted, and the publisher's override is accepted only with a sign-off by someone other than the
publisher; editing the text voids it. Both acts are audited.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.permissions import Permission
from signalfire.access.policy import first_or_404, require
from signalfire.access.policy.exchange import readable_items
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import Conflict, Forbidden, ValidationFailed
from signalfire.exchange.models import ExchangeItem, ItemStatus
from signalfire.exchange.sanitise.models import CounselSignoff
from signalfire.exchange.sanitise.service import content_hash
from signalfire.exchange.screening import Finding

REASON_MIN = 10
REASON_MAX = 2000


def antitrust_findings(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.kind == "antitrust"]


def sign_off(session: Session, actor: Actor, item_id: uuid.UUID, reason: str) -> CounselSignoff:
    """Counsel approves publishing this item's current text despite its antitrust findings."""
    from signalfire.exchange.authoring import screen_item  # authoring calls require_counsel: import late

    # The item first: someone who cannot see it (another org; a viewer, reporter or responder of the org
    # while it is a draft) gets the same 404 as for a missing one. Only those who can see it learn, with a
    # 403, that their role does not sign off (admins and analysts see drafts but are not counsel).
    item = first_or_404(
        session,
        readable_items(actor).where(ExchangeItem.id == item_id, ExchangeItem.org_id == actor.org_id),
        "No such item.",
    )
    require(actor, Permission.exchange_screening_counsel)
    if item.created_by_id == actor.user_id:
        raise Forbidden("Counsel's sign-off must come from someone other than the item's author.")
    reason = reason.strip()
    if not REASON_MIN <= len(reason) <= REASON_MAX:
        raise ValidationFailed.single("reason", f"say why in {REASON_MIN} to {REASON_MAX} characters")
    findings = antitrust_findings(screen_item(session, item))
    if not findings:
        raise Conflict(
            "Screening finds nothing commercially sensitive; there is nothing to sign off.", slug="no-findings"
        )
    signoff = CounselSignoff(
        id=uuid.uuid4(),
        item_id=item.id,
        org_id=actor.org_id,
        user_id=actor.user_id,
        content_hash=content_hash(item),
        reason=reason,
        findings=[asdict(finding) for finding in findings],
        created_at=utcnow(),
    )
    session.add(signoff)
    record(
        session,
        action="exchange.item.counsel_signed_off",
        target_type="exchange_item",
        target_id=item.id,
        actor=actor,
        summary={"reason": reason, "findings": [f"{f.rule_id}@{f.field}" for f in findings]},
    )
    return signoff


def require_counsel(session: Session, actor: Actor, item: ExchangeItem, findings: list[Finding]) -> None:
    """Publishing gate for an override: antitrust findings need a current sign-off by another person."""
    flagged = antitrust_findings(findings)
    if not flagged:
        return
    current = content_hash(item)
    signoffs = session.execute(
        select(CounselSignoff).where(CounselSignoff.item_id == item.id, CounselSignoff.content_hash == current)
    ).scalars()
    if any(signoff.user_id != actor.user_id for signoff in signoffs):
        return
    families = sorted({finding.rule_id.removeprefix("antitrust.") for finding in flagged})
    raise Conflict(
        "Commercially sensitive content (" + ", ".join(families) + ") can only be published with competition "
        "counsel's sign-off, given by someone other than the publisher for the text as it is now.",
        slug="counsel-sign-off-needed",
    )


def can_sign_off(actor: Actor, item: ExchangeItem) -> bool:
    """Whether the sign-off form is offered: counsel of the item's org, not its author (as in sign_off)."""
    return (
        actor.can(Permission.exchange_screening_counsel)
        and item.org_id == actor.org_id
        and item.created_by_id != actor.user_id
    )


# How many of the org's latest drafts "My work" screens for antitrust findings. Screening runs in Python (a
# few ms per draft, plus its text attachments), and the My work badge refreshes every minute, so the scan is
# bounded; an org rarely has more drafts in flight. Storing findings with the draft would move this to SQL.
AWAITING_SCAN = 50


@dataclass(frozen=True)
class AwaitingSignoff:
    item: ExchangeItem
    findings: list[Finding]


def awaiting_sign_off(session: Session, actor: Actor, *, limit: int = 50) -> list[AwaitingSignoff]:
    """The org's drafts this counsel may sign off whose antitrust findings have no sign-off for the current text.

    Starts from the readable statement (counsel see their org's drafts); the author's own drafts are left
    out, since they may not sign those off. Screening runs per draft, so only the latest drafts are read.
    """
    if not actor.can(Permission.exchange_screening_counsel):
        return []
    drafts = list(
        session.execute(
            readable_items(actor)
            .where(
                ExchangeItem.org_id == actor.org_id,
                ExchangeItem.status == ItemStatus.DRAFT,
                or_(ExchangeItem.created_by_id.is_(None), ExchangeItem.created_by_id != actor.user_id),
            )
            .order_by(ExchangeItem.updated_at.desc(), ExchangeItem.id)
            .limit(AWAITING_SCAN)
        ).scalars()
    )
    if not drafts:
        return []
    from signalfire.exchange.authoring import screen_item  # authoring calls require_counsel: import late

    signed: dict[uuid.UUID, set[str]] = {}
    for item_id, signed_hash in session.execute(
        select(CounselSignoff.item_id, CounselSignoff.content_hash).where(
            CounselSignoff.item_id.in_([d.id for d in drafts])
        )
    ):
        signed.setdefault(item_id, set()).add(signed_hash)
    out: list[AwaitingSignoff] = []
    for item in drafts:
        if content_hash(item) in signed.get(item.id, set()):
            continue
        try:
            findings = antitrust_findings(screen_item(session, item))
        except ValidationFailed:  # too large to screen: it cannot be published either way
            continue
        if findings:
            out.append(AwaitingSignoff(item, findings))
        if len(out) >= limit:
            break
    return out
