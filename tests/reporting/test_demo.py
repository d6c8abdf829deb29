"""The reporting part of the demo story, seeded on top of the foundation and response seeds."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire import demo
from signalfire.reporting import demo as reporting_demo
from signalfire.reporting.models import (
    Assessment,
    Delivery,
    Message,
    MessageKind,
    Obligation,
    ObligationStatus,
    RecipientBinding,
)


@pytest.fixture(autouse=True)
def _cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's people are irrelevant here; skip the deliberately slow password hashing."""
    monkeypatch.setattr("signalfire.access.service.hash_password", lambda password: f"test:{password}")


def test_without_the_jailbreak_incident_only_bindings_are_seeded(db: Session) -> None:
    ctx = demo.seed_foundation(db)
    reporting_demo.seed(db, ctx)
    assert {(b.regime_id, b.recipient_id) for b in db.execute(select(RecipientBinding)).scalars()} == {
        ("eu-gpai-cop-c9", "eu_ai_office"),
        ("eu-ai-act-art55", "eu_ai_office"),
        ("us-ca-sb53", "ca_oes"),
    }
    assert db.execute(select(Assessment)).first() is None


def test_the_demo_story(db: Session) -> None:
    response_demo = pytest.importorskip("signalfire.response.demo")
    ctx = demo.seed_foundation(db)
    response_demo.seed(db, ctx)
    reporting_demo.seed(db, ctx)
    jailbreak = ctx.extra["jailbreak_incident_id"]
    current = {
        a.regime_id: a
        for a in db.execute(
            select(Assessment).where(Assessment.incident_id == jailbreak, Assessment.is_current.is_(True))
        ).scalars()
    }
    assert current["eu-gpai-cop-c9"].outcome.value == "reportable"
    assert current["eu-gpai-cop-c9"].classes == ["serious_harm"]
    assert current["us-ca-sb53"].outcome.value == "not_reportable" and current["us-ca-sb53"].rationale
    obs = {o.stage: o for o in db.execute(select(Obligation).where(Obligation.incident_id == jailbreak)).scalars()}
    assert obs["initial"].status is ObligationStatus.submitted and not obs["initial"].submitted_late
    assert obs["final"].is_open and obs["final"].due_at is not None  # a running clock on the board
    delivery = db.execute(select(Delivery).where(Delivery.authority_org_id == ctx.orgs["ai-office"].id)).scalar_one()
    assert delivery.acknowledged_at is not None
    kinds = [
        m.kind
        for m in db.execute(
            select(Message).where(Message.report_id == delivery.report_id).order_by(Message.created_at)
        ).scalars()
    ]
    assert kinds == [MessageKind.acknowledgement, MessageKind.question, MessageKind.answer]
    open_obs = (
        db.execute(select(Obligation).where(Obligation.incident_id == ctx.extra["open_incident_id"])).scalars().all()
    )
    assert open_obs and all(o.provisional for o in open_obs)
