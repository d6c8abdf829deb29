"""Exchange test data, built through the real services so tests exercise the same rules."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.exchange import authoring
from signalfire.exchange.models import ExchangeItem
from signalfire.exchange.schemas import ItemIn, PersonRef
from signalfire.exchange.vocab import AudienceKind, Category, CoveredUse, Severity, Tlp


def item_in(**overrides: Any) -> ItemIn:
    data: dict[str, Any] = {
        "category": Category.THREAT,
        "title": f"Prompt-injection campaign {uuid.uuid4().hex[:6]}",
        "summary": "Indirect prompt injection through retrieved web pages against agentic deployments.",
        "details": "The payload hides instructions in HTML comments; the agent follows them when summarising.",
        "severity": Severity.HIGH,
        "tlp": Tlp.GREEN,
        "permitted_uses": [CoveredUse.THREAT_DETECTION, CoveredUse.SAFEGUARDS],
        "audience": [AudienceKind.ALL_MEMBERS],
        "technique_refs": ["AML.T0051"],
        "mitigations": ["Strip HTML comments before retrieval results reach the model."],
    }
    data.update(overrides)
    return ItemIn.model_validate(data)


def draft(db: Session, actor: Actor, **overrides: Any) -> ExchangeItem:
    item = authoring.create_draft(db, actor, item_in(**overrides))
    db.flush()
    return item


def published(db: Session, actor: Actor, *, override_reason: str | None = None, **overrides: Any) -> ExchangeItem:
    item = draft(db, actor, **overrides)
    authoring.publish(db, actor, item.id, override_reason=override_reason)
    db.flush()
    return item


def people(*actors: Actor) -> list[PersonRef]:
    return [PersonRef(user_id=a.user_id, org_id=a.org_id) for a in actors]


def closed_review(db: Session, actor: Actor, *, closed: bool = True, reference: str | None = None) -> Any:
    """A closed incident of the actor's org with a closed review (built directly, as the lesson flow only reads)."""
    from signalfire.core.clock import utcnow
    from signalfire.response.models import Incident, PostIncidentReview, ReviewStatus
    from signalfire.response.vocab import IncidentStatus, RiskDomain
    from signalfire.response.vocab import Severity as IncidentSeverity

    now = utcnow()
    incident = Incident(
        id=uuid.uuid4(),
        org_id=actor.org_id,
        reference=reference or f"INC-2026-{uuid.uuid4().int % 10000:04d}",
        title="Jailbreak reached production assistant",
        summary="A role-play jailbreak got past the filter on build-runner-7.internal for two hours.",
        severity=IncidentSeverity.SEV2,
        risk_domain=RiskDomain.MISUSE,
        status=IncidentStatus.CLOSED if closed else IncidentStatus.MITIGATED,
        aware_at=now,
        reported_at=now,
        status_changed_at=now,
        closed_at=now if closed else None,
        created_by=actor.user_id,
    )
    db.add(incident)
    db.flush()
    review = PostIncidentReview(
        id=uuid.uuid4(),
        incident_id=incident.id,
        org_id=actor.org_id,
        status=ReviewStatus.CLOSED,
        root_cause=f"The classifier scored single turns ({incident.reference}); build-runner-7.internal ran "
        "the old policy.",
        contributing_factors=["No multi-turn evaluation cases"],
        went_well="Rollback took ten minutes.",
        went_badly="Paging reached the wrong rota.",
        created_by=actor.user_id,
        closed_at=now if closed else None,
    )
    db.add(review)
    db.flush()
    return review
