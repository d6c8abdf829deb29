"""The reporting part of the demo story.

Recipient bindings (EU regimes to the EU AI Office demo org, SB 53 to California OES), then, on the
demo jailbreak incident opened by the response seed: the clock events, an assessment under the Code of
Practice (reportable, serious-harm class) and under SB 53 (not reportable, with the rationale), the
obligations, an initial report submitted to the AI Office, acknowledged, with a question answered, and
the final report's clock running on the board; and the open privacy incident possibly reportable
(one fact unknown), its initial report's clock running provisionally.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

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

COP = "eu-gpai-cop-c9"
SB53 = "us-ca-sb53"
BINDINGS = (
    (COP, "eu_ai_office", "ai-office"),
    ("eu-ai-act-art55", "eu_ai_office", "ai-office"),
    (SB53, "ca_oes", "cal-oes"),
)


def _actor(session: Session, ctx: DemoContext, email: str, org_slug: str) -> Actor:
    actor = build_actor(session, ctx.users[email], ctx.orgs[org_slug].id, via="demo")
    assert actor is not None
    return actor


def seed(session: Session, ctx: DemoContext) -> None:
    for regime_id, recipient_id, slug in BINDINGS:
        if slug in ctx.orgs:
            bindings.bind(session, None, regime_id=regime_id, recipient_id=recipient_id,
                          authority_org_id=ctx.orgs[slug].id)
    incident_id = ctx.extra.get("jailbreak_incident_id")
    if incident_id is None:
        return
    incident = session.get(Incident, incident_id)
    if incident is None:
        return
    rhea = _actor(session, ctx, "rhea@aurora.example", "aurora")
    erin = _actor(session, ctx, "erin@aioffice.example", "ai-office")
    now = utcnow()
    involvement = min(incident.aware_at + timedelta(minutes=20), now)
    events.record_event(session, rhea, incident, event="aware_of_model_involvement", at=involvement,
                        evidence="Red-team replay confirmed the jailbreak ran against the production model.")
    events.record_event(session, rhea, incident, event="discovered", at=incident.aware_at,
                        evidence="Abuse-monitoring alert that opened the incident.")
    assessments.assess_incident(
        session, rhea, incident, regime_id=COP,
        answers={"model_involved": "yes", "ci_disruption": "no", "cyber_breach": "no", "death": "no",
                 "health_harm": "yes", "fundamental_rights": "unknown", "property_environment": "no"},
        facts={"gpai_systemic_risk_provider": "yes", "signed_cop_safety_security": "yes"},
        rationale="Instructions obtained through the jailbreak contributed to serious harm to a person's health; "
                  "the model's involvement is established. Reportable in the serious-harm class (15 days).")
    assessments.assess_incident(
        session, rhea, incident, regime_id=SB53,
        answers={"weights_compromise_harm": "no", "catastrophic_risk_materialised": "no",
                 "loss_of_control_harm": "no", "deceptive_subversion": "no", "imminent_risk": "no"},
        facts={"frontier_developer_1e26": "yes"},
        rationale="Not a critical safety incident under Bus. & Prof. Code 22757.11(d): no weights compromise, "
                  "no materialised catastrophic risk (far below 50 casualties or $1B), no loss of control and no "
                  "deceptive subversion of our controls.")
    if incident.is_drill:
        return
    initial = session.execute(
        select(Obligation).where(Obligation.incident_id == incident.id, Obligation.regime_id == COP,
                                 Obligation.stage == "initial", Obligation.is_open.is_(True))
    ).scalars().first()
    if initial is None:
        return
    report = reports.start_report(session, rhea, initial.id)
    values = {fid: FieldValue(str(entry.get("value") or "")) for fid, entry in report.fields.items()}
    values["m2_harm"] = FieldValue("One person required hospital treatment after following instructions the "
                                   "model produced under the jailbreak. Victims outside that case: none known.",
                                   preliminary=True)
    values["m7_recommendations"] = FieldValue("Share the jailbreak pattern with other providers through the "
                                              "Frontier Safety Forum (sanitised, TLP:AMBER).")
    for fid, fv in values.items():
        if not fv.value and fid != reports.NOTES_FIELD:
            values[fid] = FieldValue("Under investigation; an update follows.", preliminary=True)
    reports.save_draft(session, rhea, report.id, values)
    # Sent two days after awareness, well inside the 15 days (and before the resolution the response seed
    # records on day three, so no four-weekly update is owed: the final report's 60 days run instead).
    reports.submit(session, rhea, report.id, now=min(involvement + timedelta(hours=46), now))
    delivery = inbox.inbox(session, erin)[0].delivery
    inbox.acknowledge(session, erin, delivery.id)
    question = inbox.ask(session, erin, delivery.id, "Which deployment surfaces served the jailbroken outputs, and "
                                                     "is the mitigation in place on all of them?")
    inbox.answer(session, rhea, report.id, question.id,
                 "The public API and the consumer app. The safeguard update has been live on both since the "
                 "rollback; internal agents never served the affected version.")
    _open_incident(session, ctx, rhea)


def _open_incident(session: Session, ctx: DemoContext, rhea: Actor) -> None:
    """The open privacy incident: possibly reportable while one fact is unknown, so its clock runs."""
    incident_id = ctx.extra.get("open_incident_id")
    incident = session.get(Incident, incident_id) if incident_id is not None else None
    if incident is None or incident.is_drill:
        return
    events.record_event(session, rhea, incident, event="aware_of_model_involvement", at=incident.aware_at,
                        evidence="The downstream app's report names aurora-small 2.0 and includes the response.")
    assessments.assess_incident(
        session, rhea, incident, regime_id=COP,
        answers={"model_involved": "yes", "ci_disruption": "no", "cyber_breach": "no", "death": "no",
                 "health_harm": "no", "fundamental_rights": "unknown", "property_environment": "no"},
        facts={"gpai_systemic_risk_provider": "yes", "signed_cop_safety_security": "yes"},
        rationale="Whether disclosing one user's address to another infringes Union-law data-protection rights "
                  "at the level Art. 3(49)(c) requires is being checked with counsel; the clock runs meanwhile.")
