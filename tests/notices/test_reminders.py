"""The notice sweep: one reminder when a notice's due time is near, one escalation when it has passed,
to the org's admins and reporters; nothing for a sent notice; a missed run catches up without repeats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Role
from signalfire.audit.models import AuditEvent
from signalfire.notices import queries, reminders, service
from signalfire.notices.models import Notice
from signalfire.notices.schemas import EvaluationIn
from signalfire.notify.models import OutboxJob
from signalfire.notify.registry import PERIODIC, load_domain_tasks
from tests import factories
from tests.notices import factories as nf

NOW = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)


def _jobs(db: Session, topic: str) -> list[OutboxJob]:
    return list(db.execute(select(OutboxJob).where(OutboxJob.topic == topic)).scalars())


def _open_notice(db: Session, admin: Actor, model: str = "3.2", known: datetime = NOW) -> Notice:
    with time_machine.travel(known, tick=False):
        crossing = service.record_evaluation(
            db, admin, EvaluationIn(model=f"aurora-large {model}", evaluation="bio uplift eval", score=0.8)
        )
    (notice,) = crossing.opened
    return notice


def test_reminded_once_six_hours_ahead_then_escalated_once_when_overdue(db: Session) -> None:
    lab = factories.org(db)
    admin = factories.actor(db, organization=lab)
    reporter = factories.actor(db, role=Role.reporter, organization=lab)
    factories.actor(db, role=Role.responder, organization=lab)
    with time_machine.travel(NOW, tick=False):
        nf.world(db, admin)
    notice = _open_notice(db, admin)
    assert notice.due_at == NOW + timedelta(hours=24)

    # 6 h 01 min before the due time: too early.
    assert reminders.sweep(db, NOW + timedelta(hours=17, minutes=59)) == reminders.Swept(0, 0)
    # 6 h before: one reminder, to the admin and the reporter (not the responder).
    assert reminders.sweep(db, NOW + timedelta(hours=18)) == reminders.Swept(1, 0)
    (reminder,) = _jobs(db, reminders.REMINDER_TOPIC)
    assert set(reminder.payload["to"]) == {admin.email, reporter.email}
    assert "due 2026-03-11 14:00 UTC (6 h 00 min left)" in reminder.payload["subject"]
    assert notice.reference in reminder.payload["subject"]
    # Later runs before the due time, and at the due time itself, send nothing more.
    assert reminders.sweep(db, NOW + timedelta(hours=20)) == reminders.Swept(0, 0)
    assert reminders.sweep(db, NOW + timedelta(hours=24)) == reminders.Swept(0, 0)
    # A minute past the due time: escalated, once.
    assert reminders.sweep(db, NOW + timedelta(hours=24, minutes=1)) == reminders.Swept(0, 1)
    assert reminders.sweep(db, NOW + timedelta(hours=30)) == reminders.Swept(0, 0)
    (overdue,) = _jobs(db, reminders.OVERDUE_TOPIC)
    assert "overdue since 2026-03-11 14:00 UTC" in overdue.payload["subject"]
    assert len(_jobs(db, reminders.REMINDER_TOPIC)) == 1
    actions = db.execute(
        select(AuditEvent.action).where(AuditEvent.target_id == str(notice.id), AuditEvent.action.like("%.reminder"))
    ).scalars()
    assert list(actions) == ["notices.notice.reminder"]


def test_a_sent_notice_is_never_reminded_and_a_missed_run_escalates_without_a_late_reminder(db: Session) -> None:
    admin = factories.actor(db)
    with time_machine.travel(NOW, tick=False):
        nf.world(db, admin)
    sent = queries.get_notice(db, admin, _open_notice(db, admin, "3.1").id)
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        service.approve(db, admin, sent)
        service.send(db, admin, sent)
    forgotten = _open_notice(db, admin, "3.2")
    # The worker was down for two days: the first run finds the forgotten notice overdue.
    assert reminders.sweep(db, NOW + timedelta(days=2)) == reminders.Swept(0, 1)
    assert forgotten.escalated_at == NOW + timedelta(days=2) and forgotten.reminded_at is not None
    assert sent.reminded_at is None and sent.escalated_at is None
    assert len(_jobs(db, reminders.OVERDUE_TOPIC)) == 1 and _jobs(db, reminders.REMINDER_TOPIC) == []


def test_the_sweep_runs_every_minute_in_the_worker() -> None:
    load_domain_tasks()
    job = PERIODIC["notices.reminder_sweep"]
    assert job.every == timedelta(minutes=1)
