"""Notices part of the demo: Aurora Labs declares two capability thresholds of its safety framework; an
evaluation of aurora-large 3.1 crossed the first a week ago, and the notice went to the UK AI Security
Institute and the EU AI Office on time (one receipt in). The second threshold has not been crossed, so
the walk-through can record a result that crosses it and send the notice."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.service import build_actor
from signalfire.core.clock import utcnow
from signalfire.notices import queries, service
from signalfire.notices.schemas import AcknowledgeIn, EvaluationIn, ThresholdIn
from signalfire.response.models import GovernmentContact
from signalfire.response.vocab import RiskDomain

if TYPE_CHECKING:
    from signalfire.demo import DemoContext


def seed(session: Session, ctx: DemoContext) -> None:
    aurora = ctx.orgs["aurora"]
    alice = build_actor(session, ctx.users["alice@aurora.example"], aurora.id, via="demo")
    rhea = build_actor(session, ctx.users["rhea@aurora.example"], aurora.id, via="demo")
    assert alice is not None and rhea is not None
    contacts = {
        c.agency: c.id
        for c in session.execute(select(GovernmentContact).where(GovernmentContact.org_id == aurora.id)).scalars()
    }
    bio = service.create_threshold(
        session,
        alice,
        ThresholdIn(
            name="Bio uplift: protections above the baseline standard",
            framework="Aurora Scaling Policy v2, section 4 (government notification)",
            description="The model gives meaningful uplift to a novice trying to acquire a biological agent; "
            "the policy commits us to tell the named government bodies within 24 hours of knowing.",
            risk_domain=RiskDomain.CBRN,
            evaluation="bio-uplift-v2",
            cutoff=0.6,
            notify_within_hours=24,
            contact_ids=[contacts["UK AI Security Institute"], contacts["EU AI Office, serious-incident desk"]],
        ),
    )
    service.create_threshold(
        session,
        alice,
        ThresholdIn(
            name="Autonomous replication in the sandbox",
            framework="Aurora Scaling Policy v2, section 5 (critical capability levels)",
            description="The model copies itself to a new host and keeps running without help in the sandbox.",
            risk_domain=RiskDomain.AUTONOMY,
            evaluation="autonomy-suite",
            cutoff=0.5,
            notify_within_hours=72,
            contact_ids=[contacts["EU AI Office, serious-incident desk"]],
        ),
    )
    known = utcnow() - timedelta(days=7, hours=3)
    crossing = service.record_evaluation(
        session,
        rhea,
        EvaluationIn(
            model="aurora-large 3.1",
            evaluation="bio-uplift-v2",
            score=0.64,
            completed_at=known,
            summary="Expert red-team uplift trial, 40 participants; pre-registered threshold 0.6.",
        ),
    )
    notice = queries.get_notice(session, rhea, crossing.opened[0].id)
    service.approve(session, alice, notice)
    service.send(session, rhea, notice)
    # As it happened a week ago: opened within the hour, approved and sent six hours after the result.
    crossing.evaluation.recorded_at = notice.opened_at = known + timedelta(minutes=40)
    notice.approved_at = known + timedelta(hours=5)
    notice.sent_at = known + timedelta(hours=6)
    for r in notice.recipients:
        r.sent_at = notice.sent_at
    aisi = next(r for r in notice.recipients if r.agency == "UK AI Security Institute")
    service.acknowledge(
        session,
        rhea,
        notice,
        AcknowledgeIn(recipient_id=aisi.id, receipt="AISI-2026-0412", at=known + timedelta(hours=9)),
    )
    ctx.extra["bio_notice_id"] = notice.id
    ctx.extra["bio_threshold_id"] = bio.id
