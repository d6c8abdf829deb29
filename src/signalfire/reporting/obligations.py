"""Obligations: the stored result of the one deadline function (``deadlines.compute_obligations``).

``sync_incident`` recomputes an incident's obligations from its current assessments and its clock
events, and reconciles the stored rows with the result:

* a row is keyed by incident x regime x class x stage; the function's output is matched on that key;
* open rows (due, late) take the new due times; closed rows (submitted, waived) are never touched;
* a row the function no longer returns is superseded, with the reason (a reassessment's rationale, or
  "no longer owed" when events moved it away); a superseded row the function returns again reopens;
* so re-running with the same facts changes nothing and never adds a row.

Drills never create obligations. Nothing here reads the exchange: obligations arise only from an org's
own incident and its own assessment.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Membership, Role, User
from signalfire.access.permissions import Permission
from signalfire.access.policy import first_or_404, require
from signalfire.access.policy.reporting import readable_obligations
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import Conflict, ValidationFailed
from signalfire.notify.outbox import enqueue_email, publish_event
from signalfire.reporting.facts import clock_events
from signalfire.reporting.models import (
    Assessment,
    Case,
    Obligation,
    ObligationStatus,
    Reminder,
)
from signalfire.reporting.org_settings import org_sla
from signalfire.reporting.rules import catalog
from signalfire.reporting.rules.assessment_engine import AssessmentResult
from signalfire.reporting.rules.deadlines import ObligationSpec, compute_obligations
from signalfire.response.models import Incident

MAX_REASON = 5000
# The incident facts the clocks read; a change to any of them triggers a recomputation.
SEEN_FACTS = ("occurred_at", "aware_at", "resolved_at", "closed_at", "is_drill")
# The spec fields an open row follows on every recomputation.
COMPUTED = (
    "regime_version",
    "recipients",
    "start_event",
    "start_at",
    "due_at",
    "legal_due_at",
    "basis",
    "waiting_for",
    "confidence",
    "provisional",
    "required_fields",
    "due_from_reclassification_at",
    "past_due_on_reclassification",
    "target_at",
    "target_basis",
    "due_reading",
    "alt_due_at",
    "alt_due_reading",
    "projected",
)


def assessment_result(a: Assessment) -> AssessmentResult:
    """The engine's result as it was stored with the assessment."""
    return AssessmentResult(
        regime_id=a.regime_id,
        regime_version=a.regime_version,
        outcome=a.outcome.value,
        classes=tuple(a.classes),
        possible_classes=tuple(a.possible_classes),
        concurrent_reports=tuple(a.concurrent_reports),
        possible_concurrent_reports=tuple(a.possible_concurrent_reports),
        missing=tuple(a.missing),
        rationale=tuple(a.engine_rationale),
    )


def spec_values(spec: ObligationSpec) -> dict[str, Any]:
    """The columns an obligation row takes from the deadline function's output."""
    return {
        "regime_id": spec.regime_id,
        "regime_version": spec.regime_version,
        "class_id": spec.class_id,
        "stage": spec.stage,
        "recipients": list(spec.recipients),
        "start_event": spec.start_event,
        "start_at": spec.start_at,
        "due_at": spec.due_at,
        "legal_due_at": spec.legal_due_at,
        "basis": spec.basis,
        "waiting_for": spec.waiting_for,
        "confidence": spec.confidence,
        "provisional": spec.provisional,
        "required_fields": list(spec.required_fields),
        "due_from_reclassification_at": spec.due_from_reclassification_at,
        "past_due_on_reclassification": spec.past_due_on_reclassification,
        "target_at": spec.target_at,
        "target_basis": spec.target_basis,
        "due_reading": spec.due_reading,
        "alt_due_at": spec.alt_due_at,
        "alt_due_reading": spec.alt_due_reading,
        "projected": spec.projected,
    }


def open_status(due_at: datetime | None, now: datetime) -> ObligationStatus:
    return ObligationStatus.late if due_at is not None and due_at < now else ObligationStatus.due


def new_row_values(
    spec: ObligationSpec, *, org_id: uuid.UUID, incident_id: uuid.UUID, assessment_id: uuid.UUID, now: datetime
) -> dict[str, Any]:
    """A complete obligation row for ``spec`` (also used by the bulk benchmark's executemany)."""
    row = spec_values(spec)
    row.update(
        id=uuid.uuid4(),
        org_id=org_id,
        incident_id=incident_id,
        assessment_id=assessment_id,
        status=open_status(spec.due_at, now),
        is_open=True,
        computed_at=now,
        created_at=now,
    )
    return row


def reclassified_at(session: Session, current: Assessment) -> datetime | None:
    """When the current set of clocks began, if an earlier version had a different one."""
    history = list(
        session.execute(
            select(Assessment)
            .where(
                Assessment.incident_id == current.incident_id,
                Assessment.regime_id == current.regime_id,
                Assessment.version <= current.version,
            )
            .order_by(Assessment.version.desc())
        ).scalars()
    )
    clocks = set(current.classes) | set(current.possible_classes)
    since: Assessment | None = None
    for a in history:
        if set(a.classes) | set(a.possible_classes) != clocks:
            return since.assessed_at if since is not None and a.outcome.value != "not_reportable" else None
        since = a
    return None


@dataclass
class SyncResult:
    created: list[Obligation] = field(default_factory=list)
    updated: list[Obligation] = field(default_factory=list)
    closed: list[Obligation] = field(default_factory=list)
    reopened: list[Obligation] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.closed or self.reopened)

    def merge(self, other: SyncResult) -> None:
        for name in ("created", "updated", "closed", "reopened"):
            getattr(self, name).extend(getattr(other, name))


def lock_case(session: Session, incident: Incident) -> Case:
    """The incident's reporting case, locked: syncs of one incident run one after the other."""
    for _ in range(3):
        case = session.execute(
            select(Case)
            .where(Case.incident_id == incident.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one_or_none()
        if case is not None:
            return case
        try:
            with session.begin_nested():
                session.add(Case(incident_id=incident.id, org_id=incident.org_id))
        except IntegrityError:
            continue
    raise Conflict("The incident's reporting record is busy; try again.", slug="reporting-busy")


def current_assessments(session: Session, incident_id: uuid.UUID) -> list[Assessment]:
    return list(
        session.execute(
            select(Assessment)
            .where(Assessment.incident_id == incident_id, Assessment.is_current.is_(True))
            .order_by(Assessment.regime_id)
        ).scalars()
    )


def sync_incident(
    session: Session, incident: Incident, *, actor: Actor | None = None, now: datetime | None = None
) -> SyncResult:
    """Recompute and reconcile every obligation of the incident (idempotent)."""
    from signalfire.reporting.retention import refresh_retention

    now = now or utcnow()
    case = lock_case(session, incident)
    events = clock_events(session, incident)
    sla = org_sla(session, incident.org_id)
    result = SyncResult()
    for assessment in current_assessments(session, incident.id):
        result.merge(_sync_regime(session, incident, assessment, events, sla, now))
    for name in SEEN_FACTS:
        setattr(case, f"seen_{name}", getattr(incident, name))
    case.synced_at = now
    refresh_retention(session, incident, case)
    if result.changed:
        record(
            session,
            action="reporting.obligations.compute",
            target_type="response_incident",
            target_id=incident.id,
            actor=actor,
            org_id=incident.org_id,
            summary={
                "reference": incident.reference,
                "created": [_brief(o) for o in result.created],
                "updated": [_brief(o) for o in result.updated],
                "closed": [_brief(o) for o in result.closed],
                "reopened": [_brief(o) for o in result.reopened],
            },
        )
        _notify_new(session, incident, result.created + result.reopened)
    return result


def _brief(o: Obligation) -> dict[str, Any]:
    return {
        "id": o.id,
        "regime": o.regime_id,
        "class": o.class_id,
        "stage": o.stage,
        "due_at": o.due_at,
        "status": o.status,
    }


def _existing(session: Session, incident_id: uuid.UUID, regime_id: str) -> list[Obligation]:
    return list(
        session.execute(
            select(Obligation).where(Obligation.incident_id == incident_id, Obligation.regime_id == regime_id)
        ).scalars()
    )


def _specs(
    session: Session,
    incident: Incident,
    assessment: Assessment,
    existing: list[Obligation],
    events: dict[str, datetime | None],
    sla: timedelta | None,
    reclassified: datetime | None,
) -> Sequence[ObligationSpec]:
    """The one deadline function, fed with the incident's events and the reports already sent."""
    if incident.is_drill:
        return ()  # drills never create obligations
    regime = catalog.get(assessment.regime_id, assessment.regime_version)
    sent = [
        (o.stage, o.submitted_at)
        for o in existing
        if o.status is ObligationStatus.submitted and o.submitted_at is not None
    ]
    return compute_obligations(
        regime, assessment_result(assessment), events, reports_sent=sent, org_sla=sla, reclassified_at=reclassified
    )


def _sync_regime(
    session: Session,
    incident: Incident,
    assessment: Assessment,
    events: dict[str, datetime | None],
    sla: timedelta | None,
    now: datetime,
) -> SyncResult:
    result = SyncResult()
    existing = _existing(session, incident.id, assessment.regime_id)
    specs = _specs(
        session, incident, assessment, existing, events, sla, reclassified=reclassified_at(session, assessment)
    )
    by_key = {(o.class_id, o.stage): o for o in existing}
    wanted: set[tuple[str, str]] = set()
    moved: list[Obligation] = []
    for spec in specs:
        key = (spec.class_id, spec.stage)
        wanted.add(key)
        row = by_key.get(key)
        if row is None:
            row = Obligation(
                **new_row_values(
                    spec, org_id=incident.org_id, incident_id=incident.id, assessment_id=assessment.id, now=now
                )
            )
            session.add(row)
            result.created.append(row)
            continue
        if row.status is ObligationStatus.superseded:
            _reopen(row)
            result.reopened.append(row)
        elif not row.is_open:
            continue  # submitted or waived: a person's act, never recomputed
        before = (row.due_at, row.target_at)
        changed = _apply(row, spec, assessment.id, now)
        if (row.due_at, row.target_at) != before:
            moved.append(row)
        if changed and row not in result.reopened:
            result.updated.append(row)
    for key, row in by_key.items():
        if key in wanted or not row.is_open:
            continue
        reason = (
            f"Reassessment v{assessment.version} by {assessment.assessed_by_label}: {assessment.rationale}"
            if row.assessment_id != assessment.id
            else "No longer owed on the recorded facts (recomputed): the stage fell away or another class governs."
        )
        _close(row, ObligationStatus.superseded, reason, None, now)
        result.closed.append(row)
    session.flush()
    forget_reminders(session, moved)
    return result


def _apply(row: Obligation, spec: ObligationSpec, assessment_id: uuid.UUID, now: datetime) -> bool:
    changed = False
    values = spec_values(spec)
    for name in COMPUTED:
        if getattr(row, name) != values[name]:
            setattr(row, name, values[name])
            changed = True
    if row.assessment_id != assessment_id:
        row.assessment_id = assessment_id
        changed = True
    status = open_status(row.due_at, now)
    if row.status is not status:
        row.status = status
        changed = True
    if changed:
        row.computed_at = now
    return changed


def forget_reminders(session: Session, rows: list[Obligation]) -> None:
    """Reminders were for the old due times: a moved deadline is reminded afresh."""
    if rows:
        session.execute(
            delete(Reminder)
            .where(Reminder.obligation_id.in_([o.id for o in rows]))
            .execution_options(synchronize_session=False)
        )


def _reopen(row: Obligation) -> None:
    row.status = ObligationStatus.due
    row.is_open = True
    row.closed_reason = row.closed_at = row.closed_by = row.closed_by_label = None


def _close(row: Obligation, status: ObligationStatus, reason: str, actor: Actor | None, now: datetime) -> None:
    row.status = status
    row.is_open = False
    row.closed_reason = reason
    row.closed_at = now
    row.closed_by = actor.user_id if actor else None
    row.closed_by_label = actor.display_name if actor else "Signalfire"


def would_close(session: Session, incident: Incident, assessment: Assessment) -> list[Obligation]:
    """The open obligations ``assessment`` would close if it became current (a reassessment that closes
    an obligation needs a rationale)."""
    existing = _existing(session, incident.id, assessment.regime_id)
    specs = _specs(
        session,
        incident,
        assessment,
        existing,
        clock_events(session, incident),
        org_sla(session, incident.org_id),
        reclassified=None,
    )
    kept = {(s.class_id, s.stage) for s in specs}
    return [o for o in existing if o.is_open and (o.class_id, o.stage) not in kept]


def resync_org(session: Session, actor: Actor) -> int:
    """Recompute every incident of the actor's org with open obligations (after a settings change)."""
    from signalfire.reporting.facts import get_incident

    ids = (
        session.execute(
            readable_obligations(actor)
            .where(Obligation.is_open.is_(True))
            .with_only_columns(Obligation.incident_id)
            .distinct()
        )
        .scalars()
        .all()
    )
    for incident_id in ids:
        sync_incident(session, get_incident(session, actor, incident_id), actor=actor)
    return len(ids)


def mark_submitted(row: Obligation, *, at: datetime, report_id: uuid.UUID) -> None:
    row.status = ObligationStatus.submitted
    row.is_open = False
    row.submitted_at = at
    row.report_id = report_id


def get_obligation(session: Session, actor: Actor, obligation_id: uuid.UUID) -> Obligation:
    return first_or_404(
        session, readable_obligations(actor).where(Obligation.id == obligation_id), "No such obligation."
    )


def waive(session: Session, actor: Actor, obligation_id: uuid.UUID, reason: str) -> Obligation:
    """Close an open obligation without a report, on the record. The reason is required."""
    row = get_obligation(session, actor, obligation_id)
    require(actor, Permission.reporting_report_submit)
    reason = reason.strip()
    if not reason:
        raise ValidationFailed.single("reason", "Say why this report is not owed (it is kept with the record).")
    if len(reason) > MAX_REASON:
        raise ValidationFailed.single("reason", f"At most {MAX_REASON} characters.")
    if not row.is_open:
        raise Conflict(f"This obligation is already {row.status.value}.", slug="obligation-closed")
    _close(row, ObligationStatus.waived, reason, actor, utcnow())
    record(
        session,
        action="reporting.obligation.waive",
        target_type="reporting_obligation",
        target_id=row.id,
        actor=actor,
        summary={
            "regime": row.regime_id,
            "class": row.class_id,
            "stage": row.stage,
            "due_at": row.due_at,
            "reason": reason,
        },
    )
    return row


def recipients_of(session: Session, org_id: uuid.UUID, roles: Sequence[Role]) -> list[str]:
    rows = session.execute(
        select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.org_id == org_id, Membership.role.in_(roles), User.is_active.is_(True))
        .order_by(User.email)
    ).scalars()
    return list(rows)


def _notify_new(session: Session, incident: Incident, rows: list[Obligation]) -> None:
    fresh = [o for o in rows if o.is_open]
    if not fresh:
        return
    session.flush()
    to = recipients_of(session, incident.org_id, (Role.admin, Role.reporter))
    for o in fresh:
        due = f"{o.due_at:%Y-%m-%d %H:%M} UTC" if o.due_at else f"waiting for {o.waiting_for}"
        label = catalog.stage_label(catalog.get(o.regime_id, o.regime_version), o.stage)
        if to:
            enqueue_email(
                session,
                to=to,
                topic="reporting.obligation.created",
                org_id=incident.org_id,
                subject=f"[{incident.reference}] {label} owed under {o.regime_id}: due {due}",
                body=f"{o.basis}\n\nOpen the deadline board: /reporting/incidents/{incident.id}",
                dedupe_key=f"reporting.obligation.created:{o.id}:{o.class_id}:{o.stage}:{o.due_at}",
            )
        publish_event(
            session,
            org_id=incident.org_id,
            event="reporting.obligation.created",
            data={
                "id": o.id,
                "incident_id": incident.id,
                "reference": incident.reference,
                "regime": o.regime_id,
                "class": o.class_id,
                "stage": o.stage,
                "due_at": o.due_at,
            },
            dedupe_key=f"reporting.obligation.created:{o.id}:{o.due_at}",
        )


# -- the deadline board ----------------------------------------------------------------------------------

BOARD_LIMIT = 200


@dataclass(frozen=True)
class BoardRow:
    obligation: Obligation
    reference: str
    title: str
    severity: str


@dataclass(frozen=True)
class Board:
    rows: list[BoardRow]
    overdue: int
    due_24h: int
    due_7d: int
    waiting: int
    now: datetime


def board(session: Session, actor: Actor, *, limit: int = BOARD_LIMIT, now: datetime | None = None) -> Board:
    """The org's open obligations, most urgent target first (waiting ones last), with the counts the board
    shows. The rows run on the (org_id, is_open, target_at) index, the counts on (org_id, is_open, due_at).
    """
    now = now or utcnow()
    base = readable_obligations(actor).where(Obligation.is_open.is_(True))
    stmt = (
        base.add_columns(Incident.reference, Incident.title, Incident.severity)
        .join(Incident, Incident.id == Obligation.incident_id)
        # Urgency runs on the target ("immediately" + SLA), lateness on the due: most urgent first.
        .order_by(Obligation.target_at.asc().nulls_last(), Obligation.id)
        .limit(limit)
    )
    rows = [BoardRow(o, ref, title, sev.value) for o, ref, title, sev in session.execute(stmt).all()]

    # One pass over the org's open rows on the same index gives all four counts.
    day, week = now + timedelta(hours=24), now + timedelta(days=7)
    upcoming = and_(Obligation.due_at >= now, Obligation.due_at < week)
    counts = session.execute(
        base.with_only_columns(
            func.count().filter(Obligation.due_at < now),
            func.count().filter(Obligation.due_at >= now, Obligation.due_at < day),
            func.count().filter(upcoming),
            func.count().filter(Obligation.due_at.is_(None)),
        )
    ).one()
    return Board(
        rows=rows,
        overdue=int(counts[0]),
        due_24h=int(counts[1]),
        due_7d=int(counts[2]),
        waiting=int(counts[3]),
        now=now,
    )


def incident_obligations(session: Session, actor: Actor, incident_id: uuid.UUID) -> list[Obligation]:
    return list(
        session.execute(
            readable_obligations(actor)
            .where(Obligation.incident_id == incident_id)
            .order_by(
                Obligation.regime_id,
                Obligation.is_open.desc(),
                Obligation.due_at.asc().nulls_last(),
                Obligation.created_at,
            )
        ).scalars()
    )
