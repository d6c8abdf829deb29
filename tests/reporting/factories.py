"""Builders for reporting tests, over the real services so tests exercise the same rules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, OrgKind, Role
from signalfire.reporting import assessments, bindings, events, obligations, reports
from signalfire.reporting.assessments import AssessOutcome
from signalfire.reporting.models import Obligation, Report, ReportVersion
from signalfire.reporting.reports import FieldValue
from signalfire.response.models import Incident
from signalfire.response.vocab import Severity
from tests import factories
from tests.response import factories as rf

COP = "eu-gpai-cop-c9"
SB53 = "us-ca-sb53"
COP_FACTS = {"gpai_systemic_risk_provider": "yes", "signed_cop_safety_security": "yes"}
SB53_FACTS = {"frontier_developer_1e26": "yes"}
COP_NO = {
    "ci_disruption": "no",
    "cyber_breach": "no",
    "death": "no",
    "health_harm": "no",
    "fundamental_rights": "no",
    "property_environment": "no",
}
SB53_NO = {
    "weights_compromise_harm": "no",
    "catastrophic_risk_materialised": "no",
    "loss_of_control_harm": "no",
    "deceptive_subversion": "no",
    "imminent_risk": "no",
}


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def cop(**yes: str) -> dict[str, str]:
    return {**COP_NO, "model_involved": "yes", **yes}


def sb53(**yes: str) -> dict[str, str]:
    return {**SB53_NO, **yes}


def developer(db: Session, role: Role = Role.admin, organization: Organization | None = None) -> Actor:
    """A frontier developer in the EU, California and New York."""
    organization = organization or factories.org(db, OrgKind.frontier_developer, jurisdictions=["EU", "US-CA", "US-NY"])
    return factories.actor(db, role=role, organization=organization)


def org_of(db: Session, actor: Actor) -> Organization:
    organization = db.get(Organization, actor.org_id)
    assert organization is not None
    return organization


def colleague(db: Session, actor: Actor, role: Role = Role.admin) -> Actor:
    """Another member of ``actor``'s org."""
    return factories.actor(db, role=role, organization=org_of(db, actor))


def authority(db: Session, name: str, role: Role = Role.admin) -> Actor:
    organization = factories.org(db, OrgKind.authority, name=name, exchange_member=False)
    return factories.actor(db, kind=OrgKind.authority, role=role, organization=organization)


def bind(db: Session, regime_id: str, recipient_id: str, authority_actor: Actor) -> None:
    bindings.bind(db, None, regime_id=regime_id, recipient_id=recipient_id, authority_org_id=authority_actor.org_id)


def incident(
    db: Session, actor: Actor, *, aware_at: datetime, severity: Severity = Severity.SEV2, **extra: Any
) -> Incident:
    return rf.incident(db, actor, aware_at=aware_at, severity=severity, **extra)


def record(db: Session, actor: Actor, inc: Incident, event: str, at: datetime, evidence: str = "log line") -> None:
    """Record a clock event and recompute, as the API and the pages do."""
    events.record_event(db, actor, inc, event=event, at=at, evidence=evidence)
    obligations.sync_incident(db, inc, actor=actor)


def assess(
    db: Session,
    actor: Actor,
    inc: Incident,
    regime_id: str,
    answers: dict[str, str],
    facts: dict[str, str] | None = None,
    rationale: str = "",
    now: datetime | None = None,
) -> AssessOutcome:
    if facts is None:
        facts = COP_FACTS if regime_id == COP else SB53_FACTS if regime_id == SB53 else {}
    return assessments.assess_incident(
        db, actor, inc, regime_id=regime_id, answers=answers, facts=facts, rationale=rationale, now=now
    )


def fill(db: Session, actor: Actor, report: Report, text: str = "Known so far.") -> Report:
    values = {
        fid: FieldValue(str(entry.get("value") or "") or text)
        for fid, entry in report.fields.items()
        if fid != reports.NOTES_FIELD
    }
    return reports.save_draft(db, actor, report.id, values)


def submit(db: Session, actor: Actor, obligation: Obligation) -> ReportVersion:
    report = reports.start_report(db, actor, obligation.id)
    fill(db, actor, report)
    return reports.submit(db, actor, report.id)
