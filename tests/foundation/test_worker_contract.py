"""The worker's contract where mutation testing found it loose (docs/mutation.md): every malformed job
dies at once with the reason recorded; what the org itself removed dies without an alert; tasks get their
arguments and the worker's session; a dead job alerts only this org's active admins, once, saying which
job and why; the watchdog and the claim take the oldest first, in bounded batches; drain runs until
nothing is left (the alerts included); the loop runs until stopped. Time is frozen; mail goes to a real
SMTP sink on loopback."""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from signalfire.access.models import Organization, OrgKind, Role
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.core.settings import JobSettings, MailSettings
from signalfire.notify import wakeup
from signalfire.notify.models import JobKind, JobStatus, OutboxJob, SchedulerState, WebhookEndpoint
from signalfire.notify.outbox import enqueue_email, enqueue_task
from signalfire.notify.registry import PERIODIC, PeriodicJob, staged_task, task
from signalfire.notify.transports import LogMailer, SmtpMailer
from signalfire.notify.worker import ALERT_TOPIC, Worker
from tests import factories
from tests.conftest import SmtpSink

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _worker(factory: sessionmaker[Session], port: int = 1, **job: Any) -> Worker:
    settings = JobSettings(**{"backoff_base_seconds": 10, "max_attempts": 4, "lease_seconds": 60, **job})
    mailer = SmtpMailer(MailSettings(host="127.0.0.1", port=port, enabled=True)) if port != 1 else LogMailer()
    return Worker(factory, settings=settings, mailer=mailer, worker_id="w")


def _jobs(factory: sessionmaker[Session]) -> list[OutboxJob]:
    with unit_of_work(factory) as s:
        return list(s.execute(select(OutboxJob).order_by(OutboxJob.created_at, OutboxJob.id)).scalars())


def _raw(s: Session, kind: JobKind, payload: dict[str, Any], *, org_id: uuid.UUID | None = None, **kw: Any) -> None:
    s.add(OutboxJob(kind=kind, topic=kw.pop("topic", "tests.raw"), org_id=org_id, payload=payload, **kw))
    s.flush()


def test_malformed_emails_die_at_once_with_the_reason(fresh_db: str) -> None:
    factory = session_factory(make_engine(fresh_db))
    ok = {"to": ["a@example.test"], "subject": "s", "body": "b"}
    cases: dict[str, tuple[dict[str, Any], str]] = {
        "no-subject": ({"to": ["a@example.test"], "body": "b"}, "the job has no 'subject' to build the message from"),
        "to-text": ({**ok, "to": "a@example.test"}, "the job's recipients are not a list of addresses"),
        "to-empty": ({**ok, "to": []}, "the job's recipients are not a list of addresses"),
        "to-number": ({**ok, "to": ["a@example.test", 7]}, "the job's recipients are not a list of addresses"),
        "subject-number": ({**ok, "subject": 3}, "the job's subject and body must be text"),
        "body-none": ({**ok, "body": None}, "the job's subject and body must be text"),
    }
    with time_machine.travel(T0, tick=False):
        with unit_of_work(factory) as s:
            for topic, (payload, _) in cases.items():
                _raw(s, JobKind.email, payload, topic=topic)
        assert _worker(factory).drain() == len(cases)
    got = {j.topic: (j.status, j.attempts, j.last_error) for j in _jobs(factory)}
    assert got == {topic: (JobStatus.dead, 1, reason) for topic, (_, reason) in cases.items()}


def test_what_the_org_removed_dies_without_alerting_its_admins(fresh_db: str) -> None:
    factory = session_factory(make_engine(fresh_db))
    with time_machine.travel(T0, tick=False):
        with unit_of_work(factory) as s:
            admin = factories.actor(s)
            ep = WebhookEndpoint(
                org_id=admin.org_id, url="http://127.0.0.1:9/x", secret="s", events=["*"], active=False
            )
            s.add(ep)
            s.flush()
            for topic, endpoint in (("disabled", ep.id), ("removed", uuid.uuid4())):
                payload = {"endpoint_id": str(endpoint), "event": "e", "data": {}}
                _raw(s, JobKind.webhook, payload, org_id=admin.org_id, topic=topic)
            chat = {"user_id": str(admin.user_id), "org_id": str(admin.org_id), "text": "t"}
            _raw(s, JobKind.chat, chat, org_id=admin.org_id, topic="chat")
        _worker(factory).drain()
    by_topic = {j.topic: j for j in _jobs(factory)}
    assert {t: (j.status, j.attempts, j.last_error) for t, j in by_topic.items() if t != ALERT_TOPIC} == {
        "disabled": (JobStatus.dead, 1, "webhook endpoint removed or disabled"),
        "removed": (JobStatus.dead, 1, "webhook endpoint removed or disabled"),
        "chat": (JobStatus.dead, 1, "chat webhook removed"),
    }
    # The webhook endpoints were the org's own doing: no alert. The chat webhook is a person's: the
    # admins hear of it (once).
    alerts = [j for j in _jobs(factory) if j.topic == ALERT_TOPIC]
    assert len(alerts) == 1 and str(by_topic["chat"].id) in alerts[0].payload["body"]


_SEEN: list[Any] = []


@task("tests.contract.args")
def _record_args(session: Session, args: dict[str, Any]) -> None:
    _SEEN.append(("plain", isinstance(session, Session), args))


@staged_task("tests.contract.staged")
def _staged(factory: sessionmaker[Session], args: dict[str, Any]) -> Any:
    _SEEN.append(("outside", callable(factory), args))

    def store(session: Session) -> None:
        _SEEN.append(("store", isinstance(session, Session), args))

    return store


@task("tests.contract.boom")
def _boom(session: Session, args: dict[str, Any]) -> None:
    raise RuntimeError(args.get("message", "boom"))


def test_tasks_get_their_arguments_and_the_workers_session(fresh_db: str, caplog: pytest.LogCaptureFixture) -> None:
    _SEEN.clear()
    factory = session_factory(make_engine(fresh_db))
    with time_machine.travel(T0, tick=False):
        with unit_of_work(factory) as s:
            enqueue_task(s, "tests.contract.args", {"n": 1})
            _raw(s, JobKind.task, {"task": "tests.contract.args"}, topic="no-args")  # args default to {}
            enqueue_task(s, "tests.contract.staged", {"n": 2})
            _raw(s, JobKind.task, {"args": {}}, topic="no-name")
            enqueue_task(s, "tests.contract.nope", {})
            enqueue_task(s, "tests.contract.boom", {"message": "it broke"})
        with caplog.at_level(logging.ERROR, logger="signalfire.worker"):
            _worker(factory).drain()
    assert sorted(_SEEN, key=repr) == sorted(
        [("plain", True, {"n": 1}), ("plain", True, {}), ("outside", True, {"n": 2}), ("store", True, {"n": 2})],
        key=repr,
    )
    assert _SEEN.index(("outside", True, {"n": 2})) + 1 == _SEEN.index(("store", True, {"n": 2}))
    jobs = {j.topic: j for j in _jobs(factory)}
    assert {t: (j.status, j.last_error) for t, j in jobs.items()} == {
        "tests.contract.args": (JobStatus.done, None),
        "no-args": (JobStatus.done, None),
        "tests.contract.staged": (JobStatus.done, None),
        "no-name": (JobStatus.dead, "no task registered as None"),
        "tests.contract.nope": (JobStatus.dead, "no task registered as 'tests.contract.nope'"),
        "tests.contract.boom": (JobStatus.pending, "RuntimeError: it broke"),  # a task bug is retried with backoff
    }
    assert jobs["tests.contract.boom"].run_after == T0 + timedelta(seconds=10)
    assert f"task job {jobs['tests.contract.boom'].id} failed" in caplog.messages


def test_a_dead_job_alerts_this_orgs_active_admins_once_with_the_job_and_the_error(
    fresh_db: str, smtp: tuple[SmtpSink, int], caplog: pytest.LogCaptureFixture
) -> None:
    sink, port = smtp
    factory = session_factory(make_engine(fresh_db))
    long_message = "x" * 1500
    with time_machine.travel(T0, tick=False):
        with unit_of_work(factory) as s:
            admin = factories.actor(s)
            org = s.get_one(Organization, admin.org_id)
            gone = factories.member(s, org, Role.admin)
            gone.is_active = False
            other = factories.actor(s, organization=factories.org(s, OrgKind.frontier_developer))  # another org's admin
            enqueue_task(s, "tests.contract.boom", {"message": long_message}, org_id=admin.org_id)
            lonely = factories.org(s, OrgKind.frontier_developer)  # an org with no admin at all
            enqueue_task(s, "tests.contract.boom", {"message": "nobody"}, org_id=lonely.id)
        with caplog.at_level(logging.ERROR, logger="signalfire.worker"):
            assert _worker(factory, port, max_attempts=1).drain() == 3  # two tasks, then the alert
    jobs = _jobs(factory)
    (failed,) = (j for j in jobs if j.kind is JobKind.task and j.org_id == admin.org_id)
    (lonely_job,) = (j for j in jobs if j.kind is JobKind.task and j.org_id == lonely.id)
    (alert,) = (j for j in jobs if j.topic == ALERT_TOPIC)
    assert (alert.status, alert.org_id, alert.dedupe_key) == (
        JobStatus.done,
        admin.org_id,
        f"{ALERT_TOPIC}:{failed.id}",
    )
    assert alert.payload["to"] == [admin.email] and other.email not in alert.payload["to"]
    assert alert.payload["subject"] == "Signalfire could not deliver a notification (tests.contract.boom)"
    error = "RuntimeError: " + long_message
    assert alert.payload["body"] == (
        "A background job of your organisation failed for good and will not be retried.\n\n"
        f"Job: {failed.id}\nKind of notification: tests.contract.boom\nError: {error[:1000]}"
        "\n\nWhoever it was meant for has not been told. Check the cause (for example an address or a webhook "
        "endpoint) and send the information another way if it is still needed."
    )
    assert [(m["To"], m["X-Signalfire-Delivery"]) for m in sink.messages] == [(admin.email, str(alert.id))]
    assert (
        f"job {lonely_job.id} (tests.contract.boom) is dead and org {lonely.id} has no active admin to tell"
        in caplog.messages
    )
    # The same job dying again (e.g. recorded twice) does not alert twice: the alert is deduplicated.
    with unit_of_work(factory) as s:
        enqueue_email(s, to=["x@example.test"], subject="s", body="b", topic=ALERT_TOPIC, dedupe_key=alert.dedupe_key)
    assert len([j for j in _jobs(factory) if j.topic == ALERT_TOPIC]) == 1


def test_the_watchdog_takes_the_oldest_leases_first_in_batches_of_100(
    fresh_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    factory = session_factory(make_engine(fresh_db))
    with time_machine.travel(T0, tick=False):
        with unit_of_work(factory) as s:
            admin = factories.actor(s)
            for i in range(101):  # leases ending one second apart, the last one first in insertion order
                _raw(
                    s,
                    JobKind.email,
                    {"to": ["a@example.test"], "subject": "s", "body": "b"},
                    topic=f"t{i}",
                    org_id=admin.org_id,
                    status=JobStatus.running,
                    attempts=4,
                    locked_by="gone",
                    locked_until=T0 - timedelta(seconds=200 - i) if i else T0 - timedelta(seconds=1),
                )
        worker = _worker(factory)
        with caplog.at_level(logging.WARNING, logger="signalfire.worker"):
            assert worker.recover_stalled() == 100
        still = [j for j in _jobs(factory) if j.status is JobStatus.running]
        assert [j.topic for j in still] == ["t0"]  # the lease that ran out last waits for the next round
        assert worker.recover_stalled() == 1
    dead = [j for j in _jobs(factory) if j.topic.startswith("t")]
    assert {j.status for j in dead} == {JobStatus.dead}
    first = next(j for j in dead if j.topic == "t1")
    assert any(m.startswith(f"job {first.id} (t1): attempt 4 did not finish") for m in caplog.messages)
    alerts = [j for j in _jobs(factory) if j.topic == ALERT_TOPIC]
    assert len(alerts) == 101 and any(
        str(first.id) in a.payload["body"] and "(t1)" in a.payload["subject"] for a in alerts
    )


def test_claims_take_the_earliest_due_first_ten_at_a_time(fresh_db: str) -> None:
    factory = session_factory(make_engine(fresh_db))
    with time_machine.travel(T0, tick=False):
        with unit_of_work(factory) as s:
            for i in range(12):  # inserted latest-due first
                _raw(s, JobKind.email, {"to": ["a@example.test"]}, topic=f"t{i}", run_after=T0 - timedelta(minutes=i))
        worker = _worker(factory)
        assert worker.run_once() == 10
        assert sorted(j.topic for j in _jobs(factory) if j.status is JobStatus.pending) == ["t0", "t1"]


def test_drain_keeps_going_while_rounds_find_work(fresh_db: str) -> None:
    factory = session_factory(make_engine(fresh_db))
    with time_machine.travel(T0, tick=False):
        with unit_of_work(factory) as s:
            admin = factories.actor(s)
            _raw(s, JobKind.email, {"to": []}, org_id=admin.org_id)  # dies in round 1; its alert goes in round 2
        assert _worker(factory).drain() == 2
    assert {j.topic: j.status for j in _jobs(factory)} == {"tests.raw": JobStatus.dead, ALERT_TOPIC: JobStatus.done}


def test_the_loop_runs_until_stopped(fresh_db: str, caplog: pytest.LogCaptureFixture) -> None:
    factory = session_factory(make_engine(fresh_db))
    with unit_of_work(factory) as s:
        enqueue_email(s, to=["a@example.test"], subject="s", body="b", topic="t")
    worker = _worker(factory, poll_interval_seconds=0.05)
    stop = threading.Event()
    with caplog.at_level(logging.INFO, logger="signalfire.worker"):
        thread = threading.Thread(target=worker.run_forever, args=(stop,), daemon=True)
        thread.start()
        for _ in range(200):
            if _jobs(factory)[0].status is JobStatus.done:
                break
            stop.wait(0.05)
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert _jobs(factory)[0].status is JobStatus.done
    assert caplog.messages[0] == "worker w started" and caplog.messages[-1] == "worker w stopped"


def test_periodic_jobs_record_success_and_failure_each_on_its_own_row(
    fresh_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    factory = session_factory(make_engine(fresh_db))
    calls: list[tuple[bool, datetime]] = []

    def ok(session: Session, now: datetime) -> None:
        calls.append((isinstance(session, Session), now))

    def broken(session: Session, now: datetime) -> None:
        raise RuntimeError("tick failed")

    PERIODIC["tests.contract.ok"] = PeriodicJob("tests.contract.ok", timedelta(minutes=5), ok)
    PERIODIC["tests.contract.broken"] = PeriodicJob("tests.contract.broken", timedelta(minutes=5), broken)
    try:
        with unit_of_work(factory) as s:  # both have run before
            for name in ("tests.contract.ok", "tests.contract.broken"):
                s.add(SchedulerState(name=name, next_run_at=T0 - timedelta(minutes=1)))
        worker = _worker(factory)
        with time_machine.travel(T0, tick=False), caplog.at_level(logging.ERROR, logger="signalfire.worker"):
            ran = worker.run_due_periodic()
        assert "tests.contract.ok" in ran and "tests.contract.broken" not in ran
        assert calls == [(True, T0)]
        assert "periodic job tests.contract.broken failed" in caplog.messages
        with unit_of_work(factory) as s:
            good = s.get_one(SchedulerState, "tests.contract.ok")
            bad = s.get_one(SchedulerState, "tests.contract.broken")
            assert (good.last_run_at, good.next_run_at, good.last_error) == (T0, T0 + timedelta(minutes=5), None)
            assert bad.last_error == "RuntimeError: tick failed" and bad.last_run_at is None
            good.last_error = "an old failure"
        # Five minutes on, a run that succeeds clears the old error.
        with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
            worker.run_due_periodic()
        with unit_of_work(factory) as s:
            assert s.get_one(SchedulerState, "tests.contract.ok").last_error is None
    finally:
        PERIODIC.pop("tests.contract.ok", None)
        PERIODIC.pop("tests.contract.broken", None)


def test_a_worker_that_lost_its_lease_says_so_and_records_nothing(
    fresh_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    _SEEN.clear()
    factory = session_factory(make_engine(fresh_db))
    with time_machine.travel(T0, tick=False):
        with unit_of_work(factory) as s:
            enqueue_email(s, to=["a@example.test"], subject="s", body="b", topic="mail")
            enqueue_task(s, "tests.contract.args", {"n": 3})
        worker = _worker(factory)
        jobs = worker.claim()
        with unit_of_work(factory) as s:  # another worker took both over
            for row in s.execute(select(OutboxJob)).scalars():
                row.locked_by = "other"
        with caplog.at_level(logging.ERROR, logger="signalfire.worker"):
            for job in jobs:
                worker.process(job)
    by_topic = {j.topic: j for j in jobs}
    assert f"job {by_topic['mail'].id} delivered but our lease was taken over" in caplog.messages
    assert f"task job {by_topic['tests.contract.args'].id}: lease lost, rolled back" in caplog.messages
    assert {(j.status, j.locked_by) for j in _jobs(factory)} == {(JobStatus.running, "other")}


def test_the_last_attempt_dies_and_long_errors_are_cut(fresh_db: str, caplog: pytest.LogCaptureFixture) -> None:
    factory = session_factory(make_engine(fresh_db))
    with time_machine.travel(T0, tick=False) as clock:
        with unit_of_work(factory) as s:
            enqueue_task(s, "tests.contract.boom", {"message": "y" * 2500})
            _raw(s, JobKind.email, {"to": [], "subject": "s", "body": "b"}, topic="unbuildable")
        worker = _worker(factory, max_attempts=2)
        with caplog.at_level(logging.WARNING, logger="signalfire.worker"):
            worker.run_once()
        jobs = {j.topic: j for j in _jobs(factory)}
        task_job = jobs["tests.contract.boom"]
        assert (task_job.status, task_job.attempts) == (JobStatus.pending, 1)
        assert task_job.last_error == ("RuntimeError: " + "y" * 2500)[:2000]
        unbuildable = jobs["unbuildable"]
        assert f"job {unbuildable.id} (unbuildable) failed: the job's recipients are not a list of addresses" in (
            caplog.messages
        )
        assert not [m for m in caplog.messages if "lease was taken over" in m]
        clock.shift(timedelta(seconds=10))
        worker.run_once()  # attempt 2 of 2: dead
    task_job = next(j for j in _jobs(factory) if j.topic == "tests.contract.boom")
    assert (task_job.status, task_job.attempts) == (JobStatus.dead, 2)
    assert task_job.last_error == ("RuntimeError: " + "y" * 2500)[:2000]


def test_an_unexpected_error_and_a_failed_round_are_logged_and_the_loop_goes_on(
    fresh_db: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory = session_factory(make_engine(fresh_db))

    class Broken:
        def send(self, *, job_id: str, to: list[str], subject: str, body: str) -> None:
            raise RuntimeError("mailer bug")

    with unit_of_work(factory) as s:
        for i in range(11):
            enqueue_email(s, to=["a@example.test"], subject="s", body="b", topic=f"t{i}")
    worker = Worker(factory, settings=JobSettings(poll_interval_seconds=0.05), mailer=Broken(), worker_id="w")
    assert len(worker.claim()) == 10  # ten at a time by default
    job = next(j for j in _jobs(factory) if j.status is JobStatus.running)
    rounds: list[int] = []
    events: list[str] = []
    real_run_once = worker.run_once

    def flaky(limit: int = 10) -> int:  # the database is away for the first round
        rounds.append(1)
        events.append("round")
        if len(rounds) == 1:
            raise RuntimeError("database away")
        return real_run_once(limit)

    def wait(timeout: float) -> None:
        events.append(f"wait {timeout}")
        stop.wait(0.01)

    monkeypatch.setattr(wakeup, "wait", wait)

    monkeypatch.setattr(worker, "run_once", flaky)
    stop = threading.Event()
    with caplog.at_level(logging.ERROR, logger="signalfire.worker"):
        thread = threading.Thread(target=worker.run_forever, args=(stop,), daemon=True)
        thread.start()
        for _ in range(200):
            if len(rounds) >= 3:
                break
            stop.wait(0.05)
        stop.set()
        thread.join(timeout=10)
    assert len(rounds) >= 3 and "worker loop error" in caplog.messages
    # A failed round waits like an idle one; a busy round (the eleventh job) goes straight on.
    assert events[:5] == ["round", "wait 0.05", "round", "round", "wait 0.05"]
    with caplog.at_level(logging.ERROR, logger="signalfire.worker"):
        worker.process(_claimed(job))
    assert f"job {job.id} ({job.topic}) failed unexpectedly" in caplog.messages


def _claimed(job: OutboxJob) -> Any:
    from signalfire.notify.worker import Claimed

    return Claimed(job.id, job.kind, job.topic, job.payload, job.attempts, job.org_id)


def test_a_periodic_job_failing_on_its_first_run_keeps_its_error_cut_at_2000(fresh_db: str) -> None:
    """Its scheduler row was inserted in the transaction that rolled back; the failure must still be on
    record, and the job due again at once."""
    factory = session_factory(make_engine(fresh_db))
    name = "tests.contract.first-run"

    def broken(session: Session, now: datetime) -> None:
        raise RuntimeError("x" * 3000)

    PERIODIC[name] = PeriodicJob(name, timedelta(minutes=5), broken)
    try:
        with time_machine.travel(T0, tick=False):
            assert name not in _worker(factory).run_due_periodic()
        with unit_of_work(factory) as s:
            row = s.get_one(SchedulerState, name)
            assert row.last_error == "RuntimeError: " + "x" * (2000 - len("RuntimeError: "))
            assert (row.next_run_at, row.last_run_at) == (T0, None)
    finally:
        PERIODIC.pop(name, None)


def test_the_default_http_client_and_worker_id(fresh_db: str) -> None:
    """Webhooks time out after the configured seconds and never follow a redirect (a redirect could send a
    signed body elsewhere); the default worker id names the host and process."""
    factory = session_factory(make_engine(fresh_db))
    worker = Worker(factory, settings=JobSettings(webhook_timeout_seconds=7), mailer=LogMailer())
    assert worker.http.timeout == httpx.Timeout(7)
    assert worker.http.follow_redirects is False
    assert re.fullmatch(rf"{re.escape(socket.gethostname())}:{os.getpid()}:[0-9a-f]{{6}}", worker.worker_id)


def test_drain_stops_after_100_rounds_by_default(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    worker = _worker(session_factory(make_engine(fresh_db)))
    rounds: list[int] = []

    def always_busy() -> int:
        rounds.append(1)
        return 1

    monkeypatch.setattr(worker, "run_once", always_busy)
    assert worker.drain() == 100 and len(rounds) == 100


# -- two workers at once: row locks exist only on PostgreSQL ------------------------------------------------

pg_only = pytest.mark.skipif(
    not os.environ.get("SIGNALFIRE_TEST_DATABASE_URL"),
    reason="row locks and SKIP LOCKED are PostgreSQL's; SQLite serialises writers instead",
)


def _in_thread(fn: Any) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    thread.start()
    return thread, out


@pg_only
def test_claim_skips_rows_another_worker_holds_and_takes_the_earliest_due(fresh_db: str) -> None:
    factory = session_factory(make_engine(fresh_db))
    with time_machine.travel(T0, tick=False):
        with unit_of_work(factory) as s:
            # Inserted latest-due first: a claim without its ORDER BY would take them in table order.
            for minutes in (1, 2, 3):
                _raw(s, JobKind.email, {}, topic=f"due-{minutes}", run_after=T0 - timedelta(minutes=minutes))
        holder = factory()
        holder.execute(select(OutboxJob.id).where(OutboxJob.topic == "due-3").with_for_update()).scalar_one()
        try:
            thread, out = _in_thread(lambda: _worker(factory).claim(limit=1))
            thread.join(timeout=15)
            blocked = thread.is_alive()
        finally:
            holder.rollback()  # lets a blocked claim finish either way
            holder.close()
            thread.join(timeout=15)
    assert not blocked, "the claim waited for a row another worker holds instead of skipping it"
    assert [c.topic for c in out[0]] == ["due-2"]  # the earliest due that nobody holds


@pg_only
def test_the_watchdog_skips_rows_another_worker_holds(fresh_db: str) -> None:
    factory = session_factory(make_engine(fresh_db))
    with time_machine.travel(T0, tick=False):
        with unit_of_work(factory) as s:
            for name in ("held", "free"):
                _raw(
                    s,
                    JobKind.email,
                    {},
                    topic=name,
                    status=JobStatus.running,
                    attempts=1,
                    locked_by="gone",
                    locked_until=T0 - timedelta(minutes=1),
                )
        holder = factory()
        holder.execute(select(OutboxJob.id).where(OutboxJob.topic == "held").with_for_update()).scalar_one()
        try:
            thread, out = _in_thread(lambda: _worker(factory).recover_stalled())
            thread.join(timeout=15)
            blocked = thread.is_alive()
        finally:
            holder.rollback()
            holder.close()
            thread.join(timeout=15)
    assert not blocked, "the watchdog waited for a row another worker holds instead of skipping it"
    assert out == [1]
    assert {j.topic: j.status for j in _jobs(factory)} == {"held": JobStatus.running, "free": JobStatus.pending}
