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
