"""The worker never leaves a job stalled: header text from users is made single-line so a page with a
newline in its incident title is sent (real SMTP on loopback); a message that truly cannot be built dies
at once with its error and alerts the org's admins (once, without looping); a job still `running` past its
lease is found by the watchdog and queued again or marked dead, with the reason recorded. Time is frozen."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from signalfire.access.models import Organization, Role
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.core.settings import JobSettings, MailSettings
from signalfire.notify.models import JobKind, JobStatus, OutboxJob
from signalfire.notify.outbox import enqueue_email
from signalfire.notify.transports import SmtpMailer, header_text
from signalfire.notify.worker import ALERT_TOPIC, Worker
from signalfire.response import paging
from signalfire.response.schemas import EscalationPolicyIn, LevelIn
from tests import factories
from tests.conftest import SmtpSink
from tests.response import factories as rf

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _worker(factory: sessionmaker[Session], port: int, worker_id: str, **job: Any) -> Worker:
    settings = JobSettings(**{"backoff_base_seconds": 10, "max_attempts": 4, "lease_seconds": 60, **job})
    mailer = SmtpMailer(MailSettings(host="127.0.0.1", port=port, enabled=True))
    return Worker(factory, settings=settings, mailer=mailer, worker_id=worker_id)


def _jobs(factory: sessionmaker[Session]) -> list[OutboxJob]:
    with unit_of_work(factory) as s:
        return list(s.execute(select(OutboxJob).order_by(OutboxJob.created_at, OutboxJob.id)).scalars())


def _org_with_admin(factory: sessionmaker[Session]) -> tuple[uuid.UUID, str]:
    with unit_of_work(factory) as s:
        admin = factories.actor(s)
        return admin.org_id, admin.email


def test_header_text_is_one_line() -> None:
    assert header_text("Weights\r\nBcc: x@evil.example\tleaked \x00 now") == "Weights Bcc: x@evil.example leaked now"
    assert header_text("plain title") == "plain title"


def test_a_page_for_an_incident_title_with_a_newline_is_delivered(fresh_db: str, smtp: tuple[SmtpSink, int]) -> None:
    sink, port = smtp
    factory = session_factory(make_engine(fresh_db))
    with time_machine.travel(T0, tick=False):
        with unit_of_work(factory) as s:
            admin = factories.actor(s)
            policy = paging.create_policy(
                s, admin, EscalationPolicyIn(name="SEV1", levels=[LevelIn(targets=[admin.email], wait_minutes=5)])
            )
            incident = rf.incident(s, admin, aware_at=T0 - timedelta(minutes=10))
            # A title stored before input was checked, or by any path that lets a newline through.
            incident.title = "Model weights exfiltrated\r\nBcc: attacker@evil.example"
            s.flush()
            paging.start_page(s, admin, policy.id, incident=incident)
        _worker(factory, port, "w1").drain()
    pages = [j for j in _jobs(factory) if j.kind is JobKind.email and j.topic == "response.page"]
    assert [(j.status, j.attempts, j.last_error) for j in pages] == [(JobStatus.done, 1, None)]
    assert len(sink.messages) == 1
    message = sink.messages[0]
    subject = str(message["Subject"]).replace("\r\n", "").replace("\n", "")  # unfold a long header
    assert subject.startswith("[Signalfire page] ")
    assert subject.endswith("Model weights exfiltrated Bcc: attacker@evil.example")
    assert message["Bcc"] is None and message["To"] == admin.email


def test_a_message_that_cannot_be_built_dies_at_once_and_alerts_the_admins_once(
    fresh_db: str, smtp: tuple[SmtpSink, int]
) -> None:
    sink, port = smtp
    factory = session_factory(make_engine(fresh_db))
    org_id, admin_email = _org_with_admin(factory)
    with time_machine.travel(T0, tick=False):
        with unit_of_work(factory) as s:
            org = s.get_one(Organization, org_id)
            other_admin = factories.member(s, org, Role.admin)
            factories.member(s, org, Role.responder)  # not an admin: not alerted
            other_email = other_admin.email
            enqueue_email(
                s, to=["oncall@example.test\nBcc: x@evil.example"], subject="Page", body="b", topic="response.page",
                org_id=org_id,
            )  # fmt: skip
            # An alert that cannot be built itself dies without alerting again.
            enqueue_email(s, to=["bad\r\n@example.test"], subject="s", body="b", topic=ALERT_TOPIC, org_id=org_id)
        _worker(factory, port, "w1").drain()
    by_topic: dict[str, list[OutboxJob]] = {}
    for job in _jobs(factory):
        by_topic.setdefault(job.topic, []).append(job)
    (page,) = by_topic["response.page"]
    assert (page.status, page.attempts) == (JobStatus.dead, 1)
    assert page.last_error is not None and "cannot be built" in page.last_error
    alerts = by_topic[ALERT_TOPIC]
    assert len(alerts) == 2
    broken_alert = next(a for a in alerts if a.payload["to"] == ["bad\r\n@example.test"])
    assert broken_alert.status is JobStatus.dead and broken_alert.last_error
    alert = next(a for a in alerts if a is not broken_alert)
    assert alert.status is JobStatus.done and alert.org_id == org_id
    assert alert.payload["to"] == sorted([admin_email, other_email])
    assert str(page.id) in alert.payload["body"]
    assert [m["To"] for m in sink.messages] == [", ".join(sorted([admin_email, other_email]))]


def test_the_watchdog_requeues_a_job_whose_worker_stalled_and_kills_it_when_out_of_attempts(
    fresh_db: str, smtp: tuple[SmtpSink, int]
) -> None:
    sink, port = smtp
    factory = session_factory(make_engine(fresh_db))
    org_id, admin_email = _org_with_admin(factory)
    with time_machine.travel(T0, tick=False) as clock:
        with unit_of_work(factory) as s:
            enqueue_email(s, to=["oncall@example.test"], subject="Page", body="b", topic="response.page", org_id=org_id)
        stalled = _worker(factory, port, "stalled", max_attempts=2)
        healthy = _worker(factory, port, "healthy", max_attempts=2)
        assert len(stalled.claim()) == 1  # ... and never finishes

        clock.move_to(T0 + timedelta(seconds=60))  # the lease ends now, it has not run out yet
        stalled.heartbeat()  # its process lives (the heartbeat thread beats): only the lease can end the job
        assert healthy.recover_stalled() == 0 and healthy.drain() == 0
        (job,) = _jobs(factory)
        assert (job.status, job.locked_by) == (JobStatus.running, "stalled")

        clock.move_to(T0 + timedelta(seconds=61))
        assert healthy.recover_stalled() == 1
        (job,) = _jobs(factory)
        assert (job.status, job.attempts, job.locked_by, job.run_after) == (
            JobStatus.pending,
            1,
            None,
            T0 + timedelta(seconds=61),
        )
        assert job.last_error is not None and "worker stalled" in job.last_error and "attempt 1" in job.last_error

        # Taken again and stalled again: the second attempt was the last one, so it is dead and alerted.
        assert len(stalled.claim()) == 1
        clock.move_to(T0 + timedelta(seconds=200))
        assert healthy.drain() == 1  # the alert
        jobs = {j.topic: j for j in _jobs(factory)}
        dead = jobs["response.page"]
        assert (dead.status, dead.attempts) == (JobStatus.dead, 2)
        assert dead.last_error is not None and "attempt 2" in dead.last_error
        assert jobs[ALERT_TOPIC].status is JobStatus.done and jobs[ALERT_TOPIC].payload["to"] == [admin_email]
        assert [m["To"] for m in sink.messages] == [admin_email]

        # A stalled worker that wakes up late cannot record an outcome any more.
        with unit_of_work(factory) as s:
            fenced = stalled._finish(s, stalled_claim(dead), error=None)
        assert fenced is False and next(j for j in _jobs(factory) if j.id == dead.id).status is JobStatus.dead


def stalled_claim(job: OutboxJob) -> Any:
    from signalfire.notify.worker import Claimed

    return Claimed(job.id, job.kind, job.topic, job.payload, job.attempts, job.org_id)


def test_an_unexpected_error_ends_the_attempt_with_the_error_recorded(fresh_db: str) -> None:
    factory = session_factory(make_engine(fresh_db))

    class Broken:
        def send(self, *, job_id: str, to: list[str], subject: str, body: str) -> None:
            raise RuntimeError("mailer bug")

    with time_machine.travel(T0, tick=False):
        with unit_of_work(factory) as s:
            enqueue_email(s, to=["oncall@example.test"], subject="Page", body="b", topic="response.page")
        worker = Worker(factory, settings=JobSettings(backoff_base_seconds=10), mailer=Broken(), worker_id="w")
        assert worker.drain() == 1
    (job,) = _jobs(factory)
    assert (job.status, job.attempts, job.locked_by) == (JobStatus.pending, 1, None)
    assert job.last_error == "RuntimeError: mailer bug" and job.run_after == T0 + timedelta(seconds=10)
