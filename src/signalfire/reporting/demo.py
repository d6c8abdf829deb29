"""The reporting part of the demo story, played from ``demo_story.yaml`` through the real services.

Recipient bindings (EU regimes to the EU AI Office demo org, SB 53 to California OES); then, on the demo
jailbreak incident opened by the response seed, its clock events, an assessment under the Code of
Practice (reportable, serious-harm class) and under SB 53 (not reportable, with the rationale), the
obligations, an initial report submitted to the AI Office, acknowledged, with a question answered, and
the final report's clock running on the board; and the open privacy incident possibly reportable (one
fact unknown), its initial report's clock running provisionally. Without the jailbreak incident only
the bindings are seeded.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.service import build_actor
from signalfire.core.clock import utcnow
from signalfire.reporting import assessments, bindings, events, inbox, reports
from signalfire.reporting.models import Obligation
from signalfire.reporting.reports import FieldValue
from signalfire.response.models import Incident

if TYPE_CHECKING:
    from signalfire.demo import DemoContext

STORY = Path(__file__).resolve().parent / "demo_story.yaml"


def _story() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(STORY.read_text(encoding="utf-8"))
    return loaded


def _actor(session: Session, ctx: DemoContext, who: dict[str, str]) -> Actor:
    actor = build_actor(session, ctx.users[who["email"]], ctx.orgs[who["org"]].id, via="demo")
    assert actor is not None
    return actor


def _incident(session: Session, ctx: DemoContext, key: str) -> Incident | None:
    incident_id: uuid.UUID | None = ctx.extra.get(key)
    return session.get(Incident, incident_id) if incident_id is not None else None


def seed(session: Session, ctx: DemoContext) -> None:
    story = _story()
    for b in story["bindings"]:
        if b["authority"] in ctx.orgs:
            bindings.bind(
                session,
                None,
                regime_id=b["regime"],
                recipient_id=b["recipient"],
                authority_org_id=ctx.orgs[b["authority"]].id,
            )
    jailbreak = _incident(session, ctx, "jailbreak_incident_id")
    if jailbreak is None:
        return
    reporter = _actor(session, ctx, story["reporter"])
    _assess(session, reporter, jailbreak, story["jailbreak"])
    if not jailbreak.is_drill:
        _report(session, reporter, _actor(session, ctx, story["authority_user"]), jailbreak, story["jailbreak"])
    other = _incident(session, ctx, "open_incident_id")
    if other is not None:
        _assess(session, reporter, other, story["open_incident"])


def _assess(session: Session, reporter: Actor, incident: Incident, part: dict[str, Any]) -> None:
    now = utcnow()
    for e in part["events"]:
        at = min(incident.aware_at + timedelta(minutes=e["after_awareness_minutes"]), now)
        events.record_event(session, reporter, incident, event=e["event"], at=at, evidence=e["evidence"])
    for a in part["assessments"]:
        assessments.assess_incident(
            session,
            reporter,
            incident,
            regime_id=a["regime"],
            answers=a["answers"],
            facts=a["facts"],
            rationale=a["rationale"],
        )


def _report(session: Session, reporter: Actor, authority: Actor, incident: Incident, part: dict[str, Any]) -> None:
    spec = part["report"]
    obligation = (
        session.execute(
            select(Obligation).where(
                Obligation.incident_id == incident.id,
                Obligation.regime_id == spec["regime"],
                Obligation.stage == spec["stage"],
                Obligation.is_open.is_(True),
            )
        )
        .scalars()
        .first()
    )
    if obligation is None or obligation.start_at is None:
        return
    report = reports.start_report(session, reporter, obligation.id)
    values = {fid: FieldValue(str(entry.get("value") or "")) for fid, entry in report.fields.items()}
    for fid, given in spec["fields"].items():
        values[fid] = FieldValue(given["value"], bool(given.get("preliminary")))
    for fid, fv in values.items():
        if not fv.value and fid != reports.NOTES_FIELD:
            values[fid] = FieldValue(spec["empty_fields"], preliminary=True)
    reports.save_draft(session, reporter, report.id, values)
    sent_at = min(obligation.start_at + timedelta(hours=spec["sent_after_involvement_hours"]), utcnow())
    reports.submit(session, reporter, report.id, now=sent_at)
    delivery = inbox.inbox(session, authority)[0].delivery
    inbox.acknowledge(session, authority, delivery.id)
    question = inbox.ask(session, authority, delivery.id, spec["question"])
    inbox.answer(session, reporter, report.id, question.id, spec["answer"])
