"""The deadline sweep: reminders at each lead time, escalation when overdue, through the outbox; a missed
run never skips a reminder and a re-run never repeats one."""

from __future__ import annotations

from datetime import datetime, timedelta

import time_machine
from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Role
from signalfire.notify.models import JobKind, OutboxJob
from signalfire.notify.registry import PERIODIC, load_domain_tasks
from signalfire.notify.service import create_webhook
from signalfire.reporting import org_settings
from signalfire.reporting.models import Obligation, ObligationStatus, Reminder
from signalfire.reporting.tasks import deadline_sweep
from signalfire.response.models import Incident
from tests import factories
from tests.reporting import factories as f
from tests.reporting.factories import COP, utc

AWARE = utc(2026, 3, 2, 10)
DUE = utc(2026, 3, 12, 10)  # death: 10 days (Code of Practice M9.3)


def _jobs(db: Session) -> list[OutboxJob]:
    return list(
        db.execute(
            select(OutboxJob)
            .where(OutboxJob.topic.like("reporting.obligation.%"), OutboxJob.topic != "reporting.obligation.created")
            .order_by(OutboxJob.created_at, OutboxJob.dedupe_key)
        ).scalars()
    )


def _sweep(db: Session, at: datetime) -> None:
    with time_machine.travel(at, tick=False):
        deadline_sweep(db, at)
        db.flush()


def _world(db: Session) -> Obligation:
    with time_machine.travel(AWARE + timedelta(hours=1), tick=False):
        admin = f.developer(db)
        org = f.org_of(db, admin)
        for role in (Role.reporter, Role.responder, Role.viewer):
            factories.member(db, org, role)
        create_webhook(db, actor=admin, url="http://127.0.0.1:9/hook", events=["reporting.*"])
        inc = f.incident(db, admin, aware_at=AWARE)
        f.record(db, admin, inc, "aware_of_model_involvement", AWARE)
        f.assess(db, admin, inc, COP, f.cop(death="yes"))
        return db.execute(
            select(Obligation).where(Obligation.incident_id == inc.id, Obligation.stage == "initial")
        ).scalar_one()


def test_the_sweep_is_registered_every_minute() -> None:
    load_domain_tasks()
    job = PERIODIC["reporting.deadline_sweep"]
    assert job.every == timedelta(minutes=1)


def test_reminders_escalation_missed_runs_and_reruns(db: Session) -> None:
    ob = _world(db)
    assert ob.due_at == DUE
    _sweep(db, utc(2026, 3, 4, 12))
    assert _jobs(db) == []  # more than 7 days before the due time

    _sweep(db, utc(2026, 3, 5, 10))  # exactly 7 days before
    emails = [j for j in _jobs(db) if j.kind is JobKind.email]
    assert [j.dedupe_key for j in emails] == [f"reporting.reminder:{ob.id}:10080:{int(DUE.timestamp())}"]
    assert "(7 d before)" in emails[0].payload["subject"]
    assert sorted(emails[0].payload["to"]) == sorted(_emails(db, ob, (Role.admin, Role.reporter)))
    webhooks = [j for j in _jobs(db) if j.kind is JobKind.webhook]
    assert len(webhooks) == 1 and webhooks[0].topic == "reporting.obligation.reminder"

    _sweep(db, utc(2026, 3, 5, 10, 1))  # a re-run: nothing new
    _sweep(db, utc(2026, 3, 5, 10, 2))
    assert len(_jobs(db)) == 2

    # The runs of 10 and 11 March were missed: both leads are caught up, in one message for the closer one.
    _sweep(db, utc(2026, 3, 11, 10, 30))
    leads = sorted(
        r.lead_minutes for r in db.execute(select(Reminder).where(Reminder.obligation_id == ob.id)).scalars()
    )
    assert leads == [1440, 2880, 10080]
    emails = [j for j in _jobs(db) if j.kind is JobKind.email]
    assert len(emails) == 2 and _key(emails[-1]).endswith(f":1440:{int(DUE.timestamp())}")

    # Overdue: the obligation turns late and the escalation also reaches responders.
    _sweep(db, utc(2026, 3, 12, 10, 0, 30))
    db.refresh(ob)
    assert ob.status is ObligationStatus.late
    emails = [j for j in _jobs(db) if j.kind is JobKind.email]
    assert "OVERDUE" in emails[-1].payload["subject"]
    assert _key(emails[-1]).endswith(f":0:{int(DUE.timestamp())}")
    assert sorted(emails[-1].payload["to"]) == sorted(_emails(db, ob, (Role.admin, Role.reporter, Role.responder)))
    assert [j.topic for j in _jobs(db) if j.kind is JobKind.webhook][-1] == "reporting.obligation.overdue"

    _sweep(db, utc(2026, 3, 13, 10, 1))  # still overdue a day later: the last escalation
    _sweep(db, utc(2026, 3, 20, 10, 1))  # and nothing after that
    leads = sorted(
        r.lead_minutes for r in db.execute(select(Reminder).where(Reminder.obligation_id == ob.id)).scalars()
    )
    assert leads == [-1440, 0, 60, 240, 1440, 2880, 10080]
    # 7 d; 2 d + 1 d (caught up); 4 h + 1 h + due (the run at the due time); 1 d overdue.
    assert len([j for j in _jobs(db) if j.kind is JobKind.email]) == 4


def test_org_lead_times_and_a_submitted_report_stops_reminders(db: Session) -> None:
    ob = _world(db)
    admin = f.colleague(db, _owner(db, ob))
    with time_machine.travel(AWARE + timedelta(hours=2), tick=False):
        org_settings.update_settings(db, admin, org_sla_minutes=None, leads=[60])
    _sweep(db, utc(2026, 3, 11, 12))  # a day before: this org only wants one hour's notice
    assert _jobs(db) == []
    _sweep(db, DUE - timedelta(minutes=59))
    assert len([j for j in _jobs(db) if j.kind is JobKind.email]) == 1
    with time_machine.travel(DUE - timedelta(minutes=30), tick=False):
        f.submit(db, admin, ob)
    _sweep(db, DUE + timedelta(days=2))
    assert len([j for j in _jobs(db) if j.kind is JobKind.email]) == 1  # submitted: no escalation


def test_a_moved_deadline_is_reminded_afresh(db: Session) -> None:
    ob = _world(db)
    _sweep(db, utc(2026, 3, 5, 10))
    assert len([j for j in _jobs(db) if j.kind is JobKind.email]) == 1
    admin = f.colleague(db, _owner(db, ob))
    incident = db.get(Incident, ob.incident_id)
    assert incident is not None
    with time_machine.travel(utc(2026, 3, 5, 11), tick=False):
        # A corrected awareness time half an hour later moves the due time with it.
        f.record(db, admin, incident, "aware_of_model_involvement", AWARE + timedelta(minutes=30))
    db.refresh(ob)
    assert ob.due_at == DUE + timedelta(minutes=30)
    _sweep(db, utc(2026, 3, 5, 11, 1))
    emails = [j for j in _jobs(db) if j.kind is JobKind.email]
    assert len(emails) == 2 and _key(emails[-1]).endswith(f":10080:{int((DUE + timedelta(minutes=30)).timestamp())}")


def _owner(db: Session, ob: Obligation) -> Actor:
    from signalfire.access.models import Membership, User
    from signalfire.access.service import build_actor

    user = (
        db.execute(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.org_id == ob.org_id, Membership.role == Role.admin)
        )
        .scalars()
        .first()
    )
    assert user is not None
    actor = build_actor(db, user, ob.org_id, via="test")
    assert actor is not None
    return actor


def _key(job: OutboxJob) -> str:
    assert job.dedupe_key is not None
    return job.dedupe_key


def _emails(db: Session, ob: Obligation, roles: tuple[Role, ...]) -> list[str]:
    from signalfire.reporting.obligations import recipients_of

    return recipients_of(db, ob.org_id, roles)
