"""The notice sweep (``notices.reminder_sweep``, every minute): a notice not yet sent is reminded once
when its due time is near, and escalated once when the due time has passed.

Who hears: the org's admins and reporters (the people who may approve and send a notice), by their
notification preferences for ``notices.*``. Each step is stamped on the notice in the same transaction
as its e-mail and event go to the outbox, so a missed run catches up and a re-run never repeats one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from signalfire.access.models import Role
from signalfire.audit.chain import record
from signalfire.notices.models import Notice
from signalfire.notify.outbox import enqueue_email, publish_event
from signalfire.reporting.obligations import recipients_of

# How long before the due time the reminder goes out (at once when the notice opens with less left).
REMIND_BEFORE = timedelta(hours=6)
BATCH = 200
REMINDER_TOPIC = "notices.reminder"
OVERDUE_TOPIC = "notices.overdue"


@dataclass(frozen=True)
class Swept:
    reminded: int
    escalated: int


def sweep(session: Session, now: datetime) -> Swept:
    due_soon = Notice.due_at <= now + REMIND_BEFORE
    rows = (
        session.execute(
            select(Notice)
            .where(
                Notice.sent_at.is_(None),
                or_(
                    Notice.reminded_at.is_(None) & due_soon,
                    Notice.escalated_at.is_(None) & (Notice.due_at < now),
                ),
            )
            .order_by(Notice.due_at, Notice.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    # The query picked each row for exactly one step: an overdue one was not escalated yet, any other
    # was not reminded yet (escalating stamps both, so a reminder never follows an escalation).
    reminded = escalated = 0
    for notice in rows:
        overdue = notice.due_at < now
        if overdue:
            notice.escalated_at = now
            notice.reminded_at = notice.reminded_at or now  # the escalation covers a reminder never sent
            escalated += 1
        else:
            notice.reminded_at = now
            reminded += 1
        _tell(session, notice, now, overdue=overdue)
    return Swept(reminded, escalated)


def _tell(session: Session, notice: Notice, now: datetime, *, overdue: bool) -> None:
    due = f"{notice.due_at:%Y-%m-%d %H:%M} UTC"
    if overdue:
        subject = f"[{notice.reference}] Capability-threshold notice overdue since {due}"
        lead = "The notice below was due and has not been sent."
    else:
        left = max(notice.due_at - now, timedelta(0))
        hours, minutes = divmod(int(left.total_seconds()) // 60, 60)
        subject = f"[{notice.reference}] Capability-threshold notice due {due} ({hours} h {minutes:02d} min left)"
        lead = "The notice below is not yet sent and its due time is near."
    to = recipients_of(session, notice.org_id, (Role.admin, Role.reporter))
    if to:
        enqueue_email(
            session,
            to=to,
            topic=OVERDUE_TOPIC if overdue else REMINDER_TOPIC,
            org_id=notice.org_id,
            subject=subject,
            body=(
                f"{lead}\n\n{notice.subject}\nDue: {due}\nStatus: {notice.status.label}\n\n"
                f"Open it: /notices/{notice.id}\n"
            ),
            dedupe_key=f"notice-{'overdue' if overdue else 'reminder'}:{notice.id}",
        )
    event = "notices.notice.overdue" if overdue else "notices.notice.reminder"
    publish_event(
        session,
        org_id=notice.org_id,
        event=event,
        data={"id": notice.id, "reference": notice.reference, "due_at": notice.due_at},
    )
    record(
        session,
        action=event,
        target_type="notice_notice",
        target_id=notice.id,
        org_id=notice.org_id,
        summary={"reference": notice.reference, "due_at": notice.due_at, "recipients": len(to)},
    )
