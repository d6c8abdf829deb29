"""Prompts to assess: a serious incident nobody has assessed for reportability yet.

A clock that nobody starts is the quiet way to miss a legal deadline. A SEV1 or SEV2 incident, or one in
a risk domain the regimes single out (CBRN, cyber offence, loss of control, model weights), with no
reportability assessment is flagged on the incident page and the deadline board at once, and after the
org's delay (default one hour from awareness) its admins and reporters are reminded through the outbox,
once per incident (``reporting_prompt``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Role
from signalfire.access.permissions import Permission
from signalfire.access.policy.response import readable_incidents
from signalfire.audit.chain import record
from signalfire.notify.outbox import enqueue_email, publish_event
from signalfire.reporting.models import Assessment, OrgReportingSettings, Prompt
from signalfire.reporting.obligations import recipients_of
from signalfire.reporting.org_settings import DEFAULT_PROMPT_MINUTES
from signalfire.response.models import Incident
from signalfire.response.vocab import IncidentStatus, RiskDomain, Severity

DEFAULT_DELAY = timedelta(minutes=DEFAULT_PROMPT_MINUTES)
KIND = "unassessed"
SERIOUS = (Severity.SEV1, Severity.SEV2)
# Domains where the Code, SB 53 and RAISE name the harm itself (CBRN help, cyberattacks, loss of
# control, weight exfiltration): any severity may be reportable.
RELEVANT_DOMAINS = (RiskDomain.CBRN, RiskDomain.CYBER_OFFENCE, RiskDomain.AUTONOMY, RiskDomain.MODEL_WEIGHTS)
BATCH = 200


def _unassessed() -> tuple[ColumnElement[bool], ...]:
    return (
        Incident.is_drill.is_(False),
        Incident.status != IncidentStatus.CLOSED,
        or_(Incident.severity.in_(SERIOUS), Incident.risk_domain.in_(RELEVANT_DOMAINS)),
        ~exists(select(Assessment.id).where(Assessment.incident_id == Incident.id)),
    )


def needs_assessment(session: Session, actor: Actor, *, limit: int = 50) -> list[Incident]:
    """The actor's org's incidents that call for a reportability assessment and have none (policy applied)."""
    if not actor.can(Permission.reporting_obligation_read):
        return []
    stmt = (
        readable_incidents(actor)
        .where(Incident.org_id == actor.org_id, *_unassessed())
        .order_by(Incident.severity, Incident.aware_at)
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


def is_unassessed(session: Session, incident: Incident) -> bool:
    stmt = select(Incident.id).where(Incident.id == incident.id, *_unassessed())
    return session.execute(stmt).first() is not None


def delay_for(minutes: int | None) -> timedelta:
    return DEFAULT_DELAY if minutes is None else timedelta(minutes=minutes)


@dataclass(frozen=True)
class Sent:
    incident_id: object
    reference: str


def sweep(session: Session, now: datetime) -> list[Sent]:
    """Remind each org of its serious incidents still unassessed after its delay (once per incident)."""
    delay_minutes = (
        select(OrgReportingSettings.assessment_prompt_minutes)
        .where(OrgReportingSettings.org_id == Incident.org_id)
        .scalar_subquery()
    )
    candidates = session.execute(
        select(Incident, delay_minutes)
        .where(
            *_unassessed(),
            Incident.aware_at <= now - timedelta(minutes=1),
            ~exists(select(Prompt.incident_id).where(Prompt.incident_id == Incident.id, Prompt.kind == KIND)),
        )
        .order_by(Incident.aware_at)
        .limit(BATCH)
    ).all()
    sent: list[Sent] = []
    for incident, minutes in candidates:
        if incident.aware_at + delay_for(minutes) > now:
            continue
        session.add(Prompt(incident_id=incident.id, kind=KIND, org_id=incident.org_id, sent_at=now))
        _notify(session, incident, now)
        sent.append(Sent(incident.id, incident.reference))
    if sent:
        session.flush()
        record(
            session,
            action="reporting.prompt.unassessed",
            target_type="response_incident",
            summary={"incidents": [s.reference for s in sent], "at": now},
        )
    return sent


def _notify(session: Session, incident: Incident, now: datetime) -> None:
    waited = int((now - incident.aware_at).total_seconds() // 60)
    to = recipients_of(session, incident.org_id, (Role.admin, Role.reporter))
    dedupe = f"reporting.prompt.unassessed:{incident.id}"
    if to:
        enqueue_email(
            session,
            to=to,
            topic="reporting.assessment.needed",
            org_id=incident.org_id,
            dedupe_key=dedupe,
            subject=f"[{incident.reference}] {incident.severity.label}: not yet assessed for reportability",
            body=(
                f"{incident.title}\n\nThe org became aware {waited} minutes ago and no reportability assessment "
                "has been recorded. Legal clocks (e.g. 2 days under the Code of Practice, 72 hours under RAISE, "
                "24 hours for an imminent risk under SB 53) may already be running.\n\n"
                f"Assess it: /reporting/incidents/{incident.id}"
            ),
        )
    publish_event(
        session,
        org_id=incident.org_id,
        event="reporting.assessment.needed",
        data={"incident_id": incident.id, "reference": incident.reference, "severity": incident.severity.value},
        dedupe_key=dedupe,
    )
