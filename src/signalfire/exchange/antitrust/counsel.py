"""Counsel sign-off: publishing despite antitrust findings needs competition counsel's approval.

A person holding ``exchange:screening:counsel`` (org admins; the role table has no legal role)
reviews the findings with their "why flagged" explanations and signs off, with a reason, for the
text as it is now. The publisher's override is accepted only with such a sign-off by someone else;
editing the text voids it. Both acts are audited.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.permissions import Permission
from signalfire.access.policy import first_or_404, require
from signalfire.access.policy.exchange import readable_items
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import Conflict, ValidationFailed
from signalfire.exchange.models import ExchangeItem
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

    require(actor, Permission.exchange_screening_counsel)
    item = first_or_404(
        session,
        readable_items(actor).where(ExchangeItem.id == item_id, ExchangeItem.org_id == actor.org_id),
        "No such item.",
    )
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
