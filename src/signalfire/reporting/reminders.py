"""The deadline sweep (``reporting.deadline_sweep``, every minute).

1. Recompute obligations of incidents whose facts changed since they were last computed (the response
   channel owns the incident; reporting notices its changes here, without writing to it).
2. Mark open obligations past their due time late.
3. ONE query finds every (obligation, lead time) that is due for a reminder: its *target* (trigger + org
   SLA where the text says "immediately", else the legal due) within the lead time or past, and not yet
   reminded for that lead (``reporting_reminder``). Each hit is recorded and one
   email and one webhook event per obligation go through the outbox, with a dedupe key of the
   obligation id and its most urgent lead.

A missed run therefore never skips a reminder (every lead that has passed is found, and covered by the
message naming the most urgent one), and a re-run never repeats one (the lead is recorded, the
outbox refuses a second job with the same key).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, and_, exists, literal, or_, select, union_all, update
from sqlalchemy.orm import Session

from signalfire.access.models import Role
from signalfire.audit.chain import record
from signalfire.core.db.base import UTCDateTime
from signalfire.notify.outbox import enqueue_email, publish_event
from signalfire.reporting import prompts
from signalfire.reporting.models import Case, Obligation, ObligationStatus, Reminder, ReminderLead
from signalfire.reporting.obligations import SEEN_FACTS, recipients_of, sync_incident
from signalfire.reporting.org_settings import DEFAULT_LEADS, LEAD_CHOICES, lead_label
from signalfire.reporting.rules import catalog
from signalfire.response.models import Incident

RESYNC_BATCH = 200


@dataclass(frozen=True)
class DueReminder:
    obligation_id: uuid.UUID
    org_id: uuid.UUID
    incident_id: uuid.UUID
    due_at: datetime
    lead: int


def due_reminders_stmt(now: datetime):  # type: ignore[no-untyped-def]  # a Select of four columns
    """Every (open obligation, lead time) whose reminder moment has come and that was not yet sent."""
    # Each lead time with its threshold (due at or before it: remind), as an inline table; a UNION of
    # literal rows works on SQLite and PostgreSQL alike.
    t = union_all(
        *(
            select(
                literal(m, Integer).label("minutes"),
                literal(now + timedelta(minutes=m), UTCDateTime()).label("threshold"),
            )
            for m in LEAD_CHOICES
        )
    ).subquery("t")
    org_has_leads = exists(select(ReminderLead.org_id).where(ReminderLead.org_id == Obligation.org_id))
    org_picked = exists(
        select(ReminderLead.org_id).where(ReminderLead.org_id == Obligation.org_id, ReminderLead.minutes == t.c.minutes)
    )
    reminded = exists(
        select(Reminder.obligation_id).where(
            Reminder.obligation_id == Obligation.id, Reminder.lead_minutes == t.c.minutes
        )
    )
    return (
        select(Obligation.id, Obligation.org_id, Obligation.incident_id, Obligation.target_at, t.c.minutes)
        .join(t, Obligation.target_at <= t.c.threshold)
        .where(
            Obligation.is_open.is_(True),
            Obligation.target_at.is_not(None),
            or_(org_picked, and_(~org_has_leads, t.c.minutes.in_(DEFAULT_LEADS))),
            ~reminded,
        )
        .order_by(Obligation.target_at, Obligation.id, t.c.minutes)
    )


def due_reminders(session: Session, now: datetime) -> list[DueReminder]:
    return [DueReminder(*row) for row in session.execute(due_reminders_stmt(now)).all()]


def resync_changed(session: Session, now: datetime, limit: int = RESYNC_BATCH) -> int:
    """Recompute incidents whose facts changed after their obligations were last computed."""
    changed = or_(*(getattr(Incident, name).is_distinct_from(getattr(Case, f"seen_{name}")) for name in SEEN_FACTS))
    stale = (
        session.execute(
            select(Incident)
            .join(Case, Case.incident_id == Incident.id)
            .where(Case.purged_at.is_(None), changed)
            .limit(limit)
        )
        .scalars()
        .all()
    )
    for incident in stale:
        sync_incident(session, incident, now=now)
    return len(stale)


def mark_late(session: Session, now: datetime) -> int:
    result = session.execute(
        update(Obligation)
        .where(
            Obligation.is_open.is_(True),
            Obligation.due_at < now,  # the sweep index
            Obligation.status == ObligationStatus.due,
        )
        .values(status=ObligationStatus.late)
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        record(
            session,
            action="reporting.obligations.late",
            target_type="reporting_obligation",
            summary={"count": count, "at": now},
        )
    return count


def sweep(session: Session, now: datetime) -> list[DueReminder]:
    resync_changed(session, now)
    mark_late(session, now)
    prompts.sweep(session, now)
    found = due_reminders(session, now)
    by_obligation: dict[uuid.UUID, list[DueReminder]] = {}
    for r in found:
        by_obligation.setdefault(r.obligation_id, []).append(r)
    if not by_obligation:
        return []
    session.add_all(
        Reminder(
            obligation_id=r.obligation_id, lead_minutes=r.lead, due_at=r.due_at, sent_at=now, escalation=r.lead <= 0
        )
        for r in found
    )
    obligations = {
        o.id: o for o in session.execute(select(Obligation).where(Obligation.id.in_(list(by_obligation)))).scalars()
    }
    incidents = {
        i.id: i
        for i in session.execute(
            select(Incident).where(Incident.id.in_({o.incident_id for o in obligations.values()}))
        ).scalars()
    }
    recipients: dict[tuple[uuid.UUID, bool], list[str]] = {}
    for oid, hits in by_obligation.items():
        o = obligations[oid]
        incident = incidents[o.incident_id]
        lead = min(h.lead for h in hits)  # the most urgent lead covers the others in one message
        escalation = lead <= 0
        key = (o.org_id, escalation)
        if key not in recipients:
            roles = (Role.admin, Role.reporter, Role.responder) if escalation else (Role.admin, Role.reporter)
            recipients[key] = recipients_of(session, o.org_id, roles)
        _send(session, o, incident, lead, recipients[key], now)
    record(
        session,
        action="reporting.reminders.send",
        target_type="reporting_obligation",
        summary={"obligations": len(by_obligation), "reminders": len(found)},
    )
    return found


def _send(session: Session, o: Obligation, incident: Incident, lead: int, to: list[str], now: datetime) -> None:
    assert o.target_at is not None
    label = catalog.stage_label(catalog.get(o.regime_id, o.regime_version), o.stage)
    overdue = o.due_at is not None and o.due_at <= now
    due = f"legal due {o.due_at:%Y-%m-%d %H:%M} UTC" if o.due_at is not None else f"waiting for {o.waiting_for}"
    if overdue:
        state = f"OVERDUE since {o.due_at:%Y-%m-%d %H:%M} UTC"
    elif o.target_at != o.due_at:
        state = f"target {o.target_at:%Y-%m-%d %H:%M} UTC ({lead_label(lead)}), {due}"
    else:
        state = f"due {o.target_at:%Y-%m-%d %H:%M} UTC ({lead_label(lead)})"
    # The target is part of the key: a recomputation that moves it restarts its reminders.
    dedupe = f"reporting.reminder:{o.id}:{lead}:{int(o.target_at.timestamp())}"
    if to:
        enqueue_email(
            session,
            to=to,
            topic="reporting.obligation.reminder",
            org_id=o.org_id,
            dedupe_key=dedupe,
            subject=f"[{incident.reference}] {label} under {o.regime_id}: {state}",
            body=f"{o.basis}\n\nOpen it: /reporting/incidents/{incident.id}",
        )
    publish_event(
        session,
        org_id=o.org_id,
        event="reporting.obligation.overdue" if overdue else "reporting.obligation.reminder",
        data={
            "obligation_id": o.id,
            "incident_id": incident.id,
            "reference": incident.reference,
            "regime": o.regime_id,
            "class": o.class_id,
            "stage": o.stage,
            "due_at": o.due_at,
            "target_at": o.target_at,
            "lead_minutes": lead,
        },
        dedupe_key=dedupe,
    )
