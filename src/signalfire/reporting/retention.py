"""Retention and legal hold for everything reporting keeps about an incident.

Each incident's reporting records are kept until the latest of: what each regime it was assessed
under requires (its file's ``retention``: the Code of Practice, five years from the later of the
documentation and the incident), and the deployment's floor of five years from the same start
(design.md, "Records that last"). A legal hold stops any purge while it is active. ``run`` purges only
cases past retention and not on hold, recomputing the date first, and writes one audit entry per purge.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.permissions import Permission
from signalfire.access.policy import first_or_404, require
from signalfire.access.policy.reporting import readable_legal_holds
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import Conflict, ValidationFailed
from signalfire.reporting.models import (
    Assessment,
    Case,
    Delivery,
    LegalHold,
    Message,
    Obligation,
    RecordedClockEvent,
    Reminder,
    Report,
    ReportVersion,
)
from signalfire.reporting.rules import catalog
from signalfire.reporting.rules.clock_events import ClockEvent, LatestOf, resolve
from signalfire.reporting.rules.regime_schema import IsoDuration
from signalfire.response.models import Incident

FLOOR = IsoDuration(years=5)
FLOOR_START = LatestOf(latest_of=[ClockEvent.DOCUMENTED.value, ClockEvent.OCCURRED.value])
FLOOR_SOURCE = "Signalfire's floor for records tied to a report (design.md; Code of Practice Measure 9.4)"
MAX_REASON = 5000


def last_documented(session: Session, incident_id: uuid.UUID) -> datetime | None:
    """The latest moment anything was written to the incident's reporting record."""
    times = [
        session.execute(
            select(func.max(ReportVersion.submitted_at)).where(ReportVersion.incident_id == incident_id)
        ).scalar_one(),
        session.execute(
            select(func.max(Assessment.assessed_at)).where(Assessment.incident_id == incident_id)
        ).scalar_one(),
        session.execute(
            select(func.max(RecordedClockEvent.recorded_at)).where(RecordedClockEvent.incident_id == incident_id)
        ).scalar_one(),
        session.execute(
            select(func.max(Message.created_at))
            .join(Report, Report.id == Message.report_id)
            .where(Report.incident_id == incident_id)
        ).scalar_one(),
    ]
    known = [t for t in times if t is not None]
    return max(known) if known else None


def compute_retention(session: Session, incident: Incident) -> tuple[datetime | None, list[str]]:
    """(retain_until, basis lines); None when reporting holds nothing about the incident."""
    documented = last_documented(session, incident.id)
    if documented is None:
        return None, []
    # Conservative: an unknown occurrence time reads as the awareness time, which is later.
    events = {
        ClockEvent.DOCUMENTED.value: documented,
        ClockEvent.OCCURRED.value: incident.occurred_at or incident.aware_at,
    }
    start = resolve(FLOOR_START, events)
    assert start.at is not None
    candidates = [(FLOOR.add_minimum(start.at), f"{FLOOR} from {start.event} per {FLOOR_SOURCE}")]
    pairs = session.execute(
        select(Assessment.regime_id, Assessment.regime_version).where(Assessment.incident_id == incident.id).distinct()
    ).all()
    for regime_id, version in sorted(pairs):
        regime = catalog.get(regime_id, version)
        rule = regime.retention
        if rule.period is None or rule.start is None:
            continue
        began = resolve(rule.start, events)
        at = began.at or documented
        candidates.append(
            (
                rule.period.add_minimum(at),
                f"{rule.period} from {began.event or 'documented'} per {rule.source} ({regime.id})",
            )
        )
    until = max(c[0] for c in candidates)
    basis = [f"{when:%Y-%m-%d}: {why}" for when, why in sorted(candidates, reverse=True)]
    return until, basis


def refresh_retention(session: Session, incident: Incident, case: Case) -> None:
    until, basis = compute_retention(session, incident)
    if until is None:
        return
    case.retain_until = until
    case.retention_basis = "\n".join(basis)
    case.purged_at = None  # records exist (again): nothing is purged now


def active_holds(session: Session, incident_id: uuid.UUID) -> list[LegalHold]:
    return list(
        session.execute(
            select(LegalHold)
            .where(LegalHold.incident_id == incident_id, LegalHold.released_at.is_(None))
            .order_by(LegalHold.placed_at)
        ).scalars()
    )


def holds_for(session: Session, actor: Actor, incident_id: uuid.UUID) -> list[LegalHold]:
    return list(
        session.execute(
            readable_legal_holds(actor).where(LegalHold.incident_id == incident_id).order_by(LegalHold.placed_at.desc())
        ).scalars()
    )


def _reason(reason: str, field_name: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ValidationFailed.single(field_name, "Give the reason (a matter, a request, a regulator's letter).")
    if len(reason) > MAX_REASON:
        raise ValidationFailed.single(field_name, f"At most {MAX_REASON} characters.")
    return reason


def place_hold(session: Session, actor: Actor, incident: Incident, reason: str) -> LegalHold:
    require(actor, Permission.reporting_retention_manage)
    hold = LegalHold(
        org_id=incident.org_id,
        incident_id=incident.id,
        reason=_reason(reason, "reason"),
        placed_at=utcnow(),
        placed_by=actor.user_id,
        placed_by_label=actor.display_name,
    )
    session.add(hold)
    session.flush()
    record(
        session,
        action="reporting.hold.place",
        target_type="reporting_legal_hold",
        target_id=hold.id,
        actor=actor,
        summary={"reference": incident.reference, "reason": hold.reason[:300]},
    )
    return hold


def release_hold(session: Session, actor: Actor, hold_id: uuid.UUID, reason: str) -> LegalHold:
    hold = first_or_404(session, readable_legal_holds(actor).where(LegalHold.id == hold_id), "No such hold.")
    require(actor, Permission.reporting_retention_manage)
    if hold.released_at is not None:
        raise Conflict("This hold was already released.", slug="hold-released")
    hold.release_reason = _reason(reason, "reason")
    hold.released_at = utcnow()
    hold.released_by_label = actor.display_name
    record(
        session,
        action="reporting.hold.release",
        target_type="reporting_legal_hold",
        target_id=hold.id,
        actor=actor,
        summary={"reason": hold.release_reason[:300]},
    )
    return hold


@dataclass
class Purge:
    incident_id: uuid.UUID
    org_id: uuid.UUID
    retain_until: datetime | None
    counts: dict[str, int] = field(default_factory=dict)


def due_for_purge(session: Session, now: datetime, org_id: uuid.UUID | None = None) -> list[Case]:
    held = exists(
        select(LegalHold.id).where(LegalHold.incident_id == Case.incident_id, LegalHold.released_at.is_(None))
    )
    stmt = (
        select(Case)
        .where(Case.purged_at.is_(None), Case.retain_until.is_not(None), Case.retain_until < now, ~held)
        .order_by(Case.retain_until)
    )
    if org_id is not None:
        stmt = stmt.where(Case.org_id == org_id)
    return list(session.execute(stmt).scalars())


def run(
    session: Session,
    *,
    now: datetime | None = None,
    actor: Actor | None = None,
    org_id: uuid.UUID | None = None,
    dry_run: bool = False,
) -> list[Purge]:
    """Purge every case past retention and not on hold (``org_id``: only that org's). Returns what was
    (or, with ``dry_run``, would be) purged."""
    if actor is not None:
        require(actor, Permission.reporting_retention_manage)
        org_id = actor.org_id
    now = now or utcnow()
    out = []
    for case in due_for_purge(session, now, org_id):
        incident = session.get(Incident, case.incident_id)
        if incident is None:
            continue
        refresh_retention(session, incident, case)  # the date may have moved since it was stored
        if case.retain_until is None or case.retain_until >= now or active_holds(session, incident.id):
            continue
        purge = Purge(incident.id, case.org_id, case.retain_until)
        if not dry_run:
            purge.counts = _purge(session, incident.id)
            case.purged_at = now
            record(
                session,
                action="reporting.retention.purge",
                target_type="response_incident",
                target_id=incident.id,
                actor=actor,
                org_id=case.org_id,
                summary={
                    "reference": incident.reference,
                    "retain_until": case.retain_until,
                    "basis": case.retention_basis,
                    "deleted": purge.counts,
                },
            )
        out.append(purge)
    return out


def _purge(session: Session, incident_id: uuid.UUID) -> dict[str, int]:
    report_ids = select(Report.id).where(Report.incident_id == incident_id).scalar_subquery()
    obligation_ids = select(Obligation.id).where(Obligation.incident_id == incident_id).scalar_subquery()
    steps = [
        ("messages", delete(Message).where(Message.report_id.in_(report_ids))),
        ("deliveries", delete(Delivery).where(Delivery.report_id.in_(report_ids))),
        ("report_versions", delete(ReportVersion).where(ReportVersion.incident_id == incident_id)),
        ("reports", delete(Report).where(Report.incident_id == incident_id)),
        ("reminders", delete(Reminder).where(Reminder.obligation_id.in_(obligation_ids))),
        ("obligations", delete(Obligation).where(Obligation.incident_id == incident_id)),
        ("assessments", delete(Assessment).where(Assessment.incident_id == incident_id)),
        ("clock_events", delete(RecordedClockEvent).where(RecordedClockEvent.incident_id == incident_id)),
        (
            "released_holds",
            delete(LegalHold).where(LegalHold.incident_id == incident_id, LegalHold.released_at.is_not(None)),
        ),
    ]
    counts = {}
    for name, stmt in steps:
        result = session.execute(stmt.execution_options(synchronize_session=False))
        counts[name] = int(getattr(result, "rowcount", 0) or 0)
    session.expire_all()
    return counts
