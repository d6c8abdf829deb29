"""The outbox worker: real SMTP (aiosmtpd on loopback), real signed webhooks (http.server on loopback),
retries with backoff, crash recovery by lease, and no double delivery with several workers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from signalfire.access.models import OrgKind
from signalfire.core.clock import utcnow
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.core.settings import JobSettings, MailSettings
from signalfire.core.signing import verify
from signalfire.notify.models import JobStatus, OutboxJob, SchedulerState, WebhookEndpoint
from signalfire.notify.outbox import enqueue_email, enqueue_task, publish_event
from signalfire.notify.registry import PERIODIC, PeriodicJob, task
from signalfire.notify.transports import LogMailer, SmtpMailer
from signalfire.notify.worker import Worker
from tests import factories
from tests.conftest import SmtpSink

ROOT = Path(__file__).resolve().parents[2]


class Receiver:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_first = 0
        self.status_override: int | None = None
        self.lock = threading.Lock()


@pytest.fixture()
def receiver() -> Iterator[tuple[Receiver, str]]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            with rec.lock:
                if rec.status_override is not None:
                    status = rec.status_override
                elif rec.fail_first > 0:
                    rec.fail_first -= 1
                    status = 500
                else:
                    status = 200
                    rec.requests.append({"headers": dict(self.headers), "body": body})
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec, f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


def _worker(url: str, smtp_port: int = 1, *, worker_id: str | None = None, **job: Any) -> Worker:
    settings = JobSettings(**{"backoff_base_seconds": 10, "max_attempts": 4, "lease_seconds": 60, **job})
    return Worker(
        session_factory(make_engine(url)),
        settings=settings,
        mailer=SmtpMailer(MailSettings(host="127.0.0.1", port=smtp_port, enabled=True)),
        worker_id=worker_id,
    )


def _setup_org_with_hook(url: str, hook_url: str) -> tuple[Any, str]:
    with unit_of_work(session_factory(make_engine(url))) as s:
        org = factories.org(s, OrgKind.frontier_developer)
        ep = WebhookEndpoint(org_id=org.id, url=hook_url, secret="s3cret-for-tests", events=["response.*"])
        s.add(ep)
        s.flush()
        return org.id, ep.secret


def test_email_and_signed_webhook_are_delivered_once(
    fresh_db: str, smtp: tuple[SmtpSink, int], receiver: tuple[Receiver, str]
) -> None:
    sink, port = smtp
    rec, hook = receiver
    org_id, secret = _setup_org_with_hook(fresh_db, hook)
    with unit_of_work(session_factory(make_engine(fresh_db))) as s:
        enqueue_email(
            s,
            to=["oncall@example.test"],
            subject="Page: SEV1",
            body="Acknowledge now.",
            topic="response.page",
            org_id=org_id,
        )
        publish_event(s, org_id=org_id, event="response.incident.created", data={"ref": "INC-1"})
        publish_event(s, org_id=org_id, event="exchange.item.published", data={})  # not subscribed
    w = _worker(fresh_db, port)
    assert w.drain() == 2
    assert w.drain() == 0
    assert len(sink.messages) == 1
    msg = sink.messages[0]
    assert msg["Subject"] == "Page: SEV1"
    assert msg["X-Signalfire-Delivery"]
    assert len(rec.requests) == 1
    req = rec.requests[0]
    verify(secret, req["body"], req["headers"]["Signalfire-Signature"], now=utcnow(), tolerance=timedelta(minutes=5))
    assert json.loads(req["body"])["data"] == {"ref": "INC-1"}
    with unit_of_work(session_factory(make_engine(fresh_db))) as s:
        statuses = {j.status for j in s.execute(select(OutboxJob)).scalars()}
    assert statuses == {JobStatus.done}


def test_failed_webhook_is_retried_with_backoff(fresh_db: str, receiver: tuple[Receiver, str]) -> None:
    rec, hook = receiver
    rec.fail_first = 2
    org_id, _ = _setup_org_with_hook(fresh_db, hook)
    with unit_of_work(session_factory(make_engine(fresh_db))) as s:
        publish_event(s, org_id=org_id, event="response.page", data={})
    w = _worker(fresh_db)
    start = utcnow()
    with time_machine.travel(start, tick=False) as clock:
        assert w.run_once() == 1  # attempt 1 fails
        assert w.run_once() == 0  # backing off: not due yet
        clock.shift(timedelta(seconds=11))
        assert w.run_once() == 1  # attempt 2 fails; backoff doubles to 20 s
        clock.shift(timedelta(seconds=11))
        assert w.run_once() == 0
        clock.shift(timedelta(seconds=10))
        assert w.run_once() == 1  # attempt 3 succeeds
    assert len(rec.requests) == 1
    with unit_of_work(session_factory(make_engine(fresh_db))) as s:
        job = s.execute(select(OutboxJob)).scalar_one()
        assert (job.status, job.attempts) == (JobStatus.done, 3)


def test_gone_endpoint_is_not_retried(fresh_db: str, receiver: tuple[Receiver, str]) -> None:
    rec, hook = receiver
    rec.status_override = 410
    org_id, _ = _setup_org_with_hook(fresh_db, hook)
    with unit_of_work(session_factory(make_engine(fresh_db))) as s:
        publish_event(s, org_id=org_id, event="response.page", data={})
    _worker(fresh_db).drain()
    with unit_of_work(session_factory(make_engine(fresh_db))) as s:
        job = s.execute(select(OutboxJob)).scalar_one()
        assert job.status == JobStatus.dead
        assert "410" in (job.last_error or "")


def test_outbox_rows_vanish_with_a_rolled_back_change(fresh_db: str) -> None:
    factory = session_factory(make_engine(fresh_db))
    with pytest.raises(RuntimeError), unit_of_work(factory) as s:
        enqueue_email(s, to=["x@example.test"], subject="s", body="b", topic="t")
        raise RuntimeError("the change failed")
    with unit_of_work(factory) as s:
        assert s.execute(select(OutboxJob)).first() is None


def test_dedupe_key_enqueues_once(fresh_db: str) -> None:
    factory = session_factory(make_engine(fresh_db))
    for _ in range(3):
        with unit_of_work(factory) as s:
            enqueue_email(s, to=["x@example.test"], subject="s", body="b", topic="t", dedupe_key="reminder:1:24h")
    with unit_of_work(factory) as s:
        assert len(s.execute(select(OutboxJob)).all()) == 1


CLAIM_AND_HANG = """
import sys, time
from signalfire.core.db.session import make_engine, session_factory
from signalfire.core.settings import JobSettings
from signalfire.notify.transports import LogMailer
from signalfire.notify.worker import Worker
w = Worker(session_factory(make_engine(sys.argv[1])), settings=JobSettings(lease_seconds=60), mailer=LogMailer(),
           worker_id="doomed")
jobs = w.claim()
print("claimed", len(jobs), flush=True)
time.sleep(600)
"""


def test_worker_killed_between_claim_and_finish_is_resumed_at_once_and_delivers_exactly_once(
    fresh_db: str, smtp: tuple[SmtpSink, int]
) -> None:
    """While the claiming process lives its job stays its own; once it is SIGKILLed, the watchdog of a
    worker on the same host sees its process gone and takes the job back at once, not after the lease."""
    sink, port = smtp
    with unit_of_work(session_factory(make_engine(fresh_db))) as s:
        enqueue_email(s, to=["oncall@example.test"], subject="Page", body="b", topic="response.page")
    proc = subprocess.Popen(
        [sys.executable, "-c", CLAIM_AND_HANG, fresh_db],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "claimed 1"
    w = _worker(fresh_db, port)
    try:
        assert w.drain() == 0  # alive (and within the heartbeat grace): the job is still its own
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert w.drain() == 1  # no time travel: the lease (60 s) still runs, the holder is provably dead
    assert w.drain() == 0
    assert len(sink.messages) == 1
    with unit_of_work(session_factory(make_engine(fresh_db))) as s:
        job = s.execute(select(OutboxJob)).scalar_one()
        assert (job.status, job.attempts) == (JobStatus.done, 2)
        assert job.last_error is None  # done clears it; the reclaim itself is in the log


def test_a_worker_whose_lease_was_taken_over_cannot_finish_the_job(fresh_db: str) -> None:
    """Completion is fenced on the lease holder: the slow worker's outcome (success or failure) is
    discarded, and the job stays with the worker that took it over."""
    with unit_of_work(session_factory(make_engine(fresh_db))) as s:
        enqueue_task(s, "tests.record_run", {"label": "slow"})
        enqueue_email(s, to=["oncall@example.test"], subject="Page", body="b", topic="response.page")
    slow = _worker(fresh_db, worker_id="slow")
    slow.mailer = LogMailer()
    start = utcnow()
    with time_machine.travel(start, tick=False) as clock:
        jobs = slow.claim()
        assert len(jobs) == 2
        clock.shift(timedelta(seconds=61))  # the 60 s lease runs out while "slow" is still busy
        fast = _worker(fresh_db, worker_id="fast")
        assert fast.recover_stalled() == 2  # the watchdog returns them to the queue (see test_worker_failures)
        assert len(fast.claim()) == 2
        for job in jobs:
            slow.process(job)
        with unit_of_work(session_factory(make_engine(fresh_db))) as s:
            rows = s.execute(select(OutboxJob)).scalars().all()
            assert [(j.status, j.locked_by, j.attempts) for j in rows] == [(JobStatus.running, "fast", 2)] * 2
        # A failure reported by the fenced-out worker is discarded too.
        with unit_of_work(session_factory(make_engine(fresh_db))) as s:
            assert slow._finish(s, jobs[0], error="boom") is False
        with unit_of_work(session_factory(make_engine(fresh_db))) as s:
            stored = s.get(OutboxJob, jobs[0].id)
            assert stored is not None
            assert (stored.status, stored.locked_by) == (JobStatus.running, "fast")
            assert stored.last_error is not None and "boom" not in stored.last_error  # the watchdog's note stays


def test_two_workers_never_deliver_the_same_job(fresh_db: str, receiver: tuple[Receiver, str]) -> None:
    rec, hook = receiver
    org_id, _ = _setup_org_with_hook(fresh_db, hook)
    with unit_of_work(session_factory(make_engine(fresh_db))) as s:
        for i in range(120):
            publish_event(s, org_id=org_id, event="response.page", data={"i": i})
    workers = [_worker(fresh_db, worker_id=None) for _ in range(2)]
    counts = [0, 0]

    def run(i: int) -> None:
        for _ in range(200):
            n = workers[i].run_once(limit=5)
            counts[i] += n
            if n == 0:
                break

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    deliveries = [r["headers"]["Signalfire-Delivery"] for r in rec.requests]
    assert len(deliveries) == 120
    assert len(set(deliveries)) == 120
    assert sum(counts) == 120
    assert all(c > 0 for c in counts), f"both workers should have taken work: {counts}"


_RUNS: list[str] = []


@task("tests.record_run")
def _record_run(session: Any, args: dict[str, Any]) -> None:
    _RUNS.append(args["label"])


def test_task_jobs_run_in_the_workers_transaction(fresh_db: str) -> None:
    _RUNS.clear()
    with unit_of_work(session_factory(make_engine(fresh_db))) as s:
        enqueue_task(s, "tests.record_run", {"label": "a"})
        enqueue_task(s, "tests.no_such_task", {})
    _worker(fresh_db).drain()
    assert _RUNS == ["a"]
    with unit_of_work(session_factory(make_engine(fresh_db))) as s:
        by_topic = {j.topic: j.status for j in s.execute(select(OutboxJob)).scalars()}
    assert by_topic == {"tests.record_run": JobStatus.done, "tests.no_such_task": JobStatus.dead}


def test_periodic_job_runs_once_per_interval_across_workers(fresh_db: str) -> None:
    runs: list[str] = []
    PERIODIC["tests.tick"] = PeriodicJob("tests.tick", timedelta(minutes=5), lambda s, now: runs.append("x"))
    try:
        a, b = _worker(fresh_db), _worker(fresh_db)
        with time_machine.travel(utcnow(), tick=False) as clock:
            a.run_due_periodic()
            b.run_due_periodic()
            assert len(runs) == 1
            clock.shift(timedelta(minutes=4))
            b.run_due_periodic()
            assert len(runs) == 1
            clock.shift(timedelta(minutes=2))
            b.run_due_periodic()
            a.run_due_periodic()
            assert len(runs) == 2
        with unit_of_work(session_factory(make_engine(fresh_db))) as s:
            state = s.get(SchedulerState, "tests.tick")
            assert state is not None and state.last_run_at is not None
    finally:
        PERIODIC.pop("tests.tick", None)
