"""Dead lease holders are found before their lease runs out (issue 17: a push interrupted by SIGKILL
resumes without waiting out the lease), and live ones never are.

The rule: a job whose holder's process is gone from this host (same boot and PID namespace), or whose
holder sent no heartbeat for longer than the grace (15 s by default), goes back to the queue at once. A
holder that is alive keeps its job however long it takes (its heartbeat thread beats meanwhile); a holder
the registry does not know, or one on another host that still beats, keeps it until the lease runs out.
Time is frozen except where real threads and processes are the point; expected figures are written out.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.core.settings import JobSettings
from signalfire.notify import liveness
from signalfire.notify.models import JobKind, JobStatus, OutboxJob, WorkerRegistration
from signalfire.notify.outbox import enqueue_task
from signalfire.notify.registry import task
from signalfire.notify.transports import LogMailer
from signalfire.notify.worker import Worker, holder_dead

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HERE = liveness.host_key()
linux_only = pytest.mark.skipif(HERE is None, reason="pids are judged only where /proc tells boot and namespace")


def _worker(factory: sessionmaker[Session], worker_id: str, **job: Any) -> Worker:
    settings = JobSettings(**{"lease_seconds": 120, "max_attempts": 4, **job})
    return Worker(factory, settings=settings, mailer=LogMailer(), worker_id=worker_id)


def _dead_pid() -> int:
    """The pid of a process that ran on this host and has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=30)
    return proc.pid


def _held_job(
    s: Session, holder: str, *, pid: int, host_key: str | None, heartbeat_at: datetime, proc_start: str | None = None
) -> None:
    """A job claimed at T0 under a 120 s lease by ``holder``, registered as given."""
    s.add(
        WorkerRegistration(
            id=holder,
            host="lab-7",
            host_key=host_key,
            pid=pid,
            proc_start=proc_start,
            started_at=T0 - timedelta(hours=1),
            heartbeat_at=heartbeat_at,
        )
    )
    s.add(
        OutboxJob(
            kind=JobKind.email,
            topic="response.page",
            payload={"to": ["a@example.test"], "subject": "s", "body": "b"},
            status=JobStatus.running,
            attempts=1,
            locked_by=holder,
            locked_until=T0 + timedelta(seconds=120),
        )
    )


def _job(factory: sessionmaker[Session]) -> OutboxJob:
    with unit_of_work(factory) as s:
        return s.execute(select(OutboxJob).where(OutboxJob.topic == "response.page")).scalar_one()


def _reg(holder: str, **kw: Any) -> WorkerRegistration:
    base: dict[str, Any] = {
        "host": "lab-7",
        "host_key": HERE,
        "pid": os.getpid(),
        "proc_start": liveness.proc_start(os.getpid()),
        "started_at": T0 - timedelta(hours=1),
        "heartbeat_at": T0,
    }
    return WorkerRegistration(id=holder, **{**base, **kw})


# -- the rule itself ---------------------------------------------------------------------------------------


def test_the_rule_on_heartbeats_hosts_and_processes() -> None:
    def never(pid: int, start: str | None) -> bool:
        return False

    def always(pid: int, start: str | None) -> bool:
        return True

    fresh = _reg("w", heartbeat_at=T0 - timedelta(seconds=15))
    assert holder_dead(fresh, now=T0, grace_seconds=15, host_key="k", gone=never) is None  # exactly the grace
    stale = _reg("w", heartbeat_at=T0 - timedelta(seconds=16))
    assert holder_dead(stale, now=T0, grace_seconds=15, host_key="k", gone=never) == (
        "sent no heartbeat since 2026-03-02T08:59:44+00:00 (16 s, over the 15 s grace)"
    )
    # Its process gone: dead on its own host only; a pid from another host or namespace proves nothing.
    mine = _reg("w", host_key="k", pid=4242)
    assert holder_dead(mine, now=T0, grace_seconds=15, host_key="k", gone=always) == (
        "is gone: its process 4242 on lab-7 no longer runs"
    )
    # Gone and silent too (a restart slower than the grace): the process seen gone is the reason named.
    gone_and_silent = _reg("w", host_key="k", pid=4242, heartbeat_at=T0 - timedelta(seconds=40))
    assert holder_dead(gone_and_silent, now=T0, grace_seconds=15, host_key="k", gone=always) == (
        "is gone: its process 4242 on lab-7 no longer runs"
    )
    assert holder_dead(mine, now=T0, grace_seconds=15, host_key="other", gone=always) is None
    assert holder_dead(mine, now=T0, grace_seconds=15, host_key=None, gone=always) is None
    assert holder_dead(_reg("w", host_key=None), now=T0, grace_seconds=15, host_key=None, gone=always) is None


@linux_only
def test_processes_alive_gone_reused_and_zombie() -> None:
    me = os.getpid()
    assert liveness.pid_gone(me, liveness.proc_start(me)) is False
    assert liveness.pid_gone(me, None) is False  # no start recorded: the pid alone says alive
    assert liveness.pid_gone(me, "1") is True  # our pid, but a process that started at another tick: reused
    assert liveness.pid_gone(_dead_pid(), None) is True
    assert liveness.pid_gone(0, None) is False and liveness.pid_gone(-1, None) is False  # groups, never judged
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    while (liveness._stat(zombie.pid) or ["?"])[0] != "Z" and time.monotonic() < deadline:
        time.sleep(0.02)  # exited, not yet reaped (we have not waited for it)
    try:
        assert liveness.pid_gone(zombie.pid, liveness.proc_start(zombie.pid)) is True
    finally:
        zombie.wait(timeout=10)


def test_grace_must_span_two_heartbeats() -> None:
    with pytest.raises(ValidationError, match="at least twice"):
        JobSettings(heartbeat_seconds=5, heartbeat_grace_seconds=9)
    assert JobSettings(heartbeat_seconds=5, heartbeat_grace_seconds=10).heartbeat_grace_seconds == 10


# -- the watchdog ------------------------------------------------------------------------------------------


@linux_only
def test_a_holder_whose_process_is_gone_from_this_host_loses_its_job_at_once(fresh_db: str) -> None:
    factory = session_factory(make_engine(fresh_db))
    pid = _dead_pid()
    with time_machine.travel(T0 + timedelta(seconds=2), tick=False):
        with unit_of_work(factory) as s:
            _held_job(s, "crashed", pid=pid, host_key=HERE, heartbeat_at=T0)
        assert _worker(factory, "healthy").recover_stalled() == 1
        job = _job(factory)
        assert (job.status, job.attempts, job.locked_by, job.run_after) == (
            JobStatus.pending,
            1,
            None,
            T0 + timedelta(seconds=2),
        )
        assert job.last_error == (
            f"attempt 1 did not finish: worker crashed is gone: its process {pid} on lab-7 no longer runs, so its "
            "lease (to 2026-03-02T09:02:00+00:00) was taken back early"
        )


def test_the_same_dead_pid_on_another_host_is_no_proof(fresh_db: str) -> None:
    factory = session_factory(make_engine(fresh_db))
    with time_machine.travel(T0 + timedelta(seconds=10), tick=False) as clock:
        with unit_of_work(factory) as s:
            _held_job(s, "remote", pid=_dead_pid(), host_key="another-host|boot|pid:[1]", heartbeat_at=T0)
        healthy = _worker(factory, "healthy")
        assert healthy.recover_stalled() == 0  # beat 10 s ago, on a host whose pids we cannot see
        assert _job(factory).status is JobStatus.running
        clock.move_to(T0 + timedelta(seconds=16))  # silent for longer than the 15 s grace
        assert healthy.recover_stalled() == 1
        assert "sent no heartbeat since 2026-03-02T09:00:00+00:00 (16 s" in (_job(factory).last_error or "")


def test_a_live_holder_keeps_its_job_until_the_lease_runs_out(fresh_db: str) -> None:
    """Alive (our own process) and beating: no early reclaim; the lease stays the last resort."""
    factory = session_factory(make_engine(fresh_db))
    with time_machine.travel(T0, tick=False) as clock:
        with unit_of_work(factory) as s:
            me = os.getpid()
            _held_job(s, "busy", pid=me, host_key=HERE, heartbeat_at=T0, proc_start=liveness.proc_start(me))
        healthy = _worker(factory, "healthy")
        for second in (0, 14, 15, 100, 115, 120):
            clock.move_to(T0 + timedelta(seconds=second))
            with unit_of_work(factory) as s:  # what the holder's heartbeat thread does every 5 s
                s.get_one(WorkerRegistration, "busy").heartbeat_at = T0 + timedelta(seconds=max(second - 5, 0))
            assert healthy.recover_stalled() == 0, second
        clock.move_to(T0 + timedelta(seconds=121))
        assert healthy.recover_stalled() == 1
        assert "the lease of worker busy ran out" in (_job(factory).last_error or "")


def test_an_unregistered_holder_waits_for_its_lease(fresh_db: str) -> None:
    """Leases taken before the registry existed (or by a worker whose row was pruned) are left to the lease."""
    factory = session_factory(make_engine(fresh_db))
    with time_machine.travel(T0 + timedelta(seconds=119), tick=False) as clock:
        with unit_of_work(factory) as s:
            _held_job(s, "old", pid=_dead_pid(), host_key=HERE, heartbeat_at=T0)
            s.flush()
            s.delete(s.get_one(WorkerRegistration, "old"))
        healthy = _worker(factory, "healthy")
        assert healthy.recover_stalled() == 0
        clock.move_to(T0 + timedelta(seconds=121))
        assert healthy.recover_stalled() == 1


def test_a_claim_registers_the_worker_and_it_never_reclaims_its_own_jobs(fresh_db: str) -> None:
    factory = session_factory(make_engine(fresh_db))
    with time_machine.travel(T0, tick=False) as clock:
        with unit_of_work(factory) as s:
            enqueue_task(s, "tests.registry.noop", {})
        w = _worker(factory, "w1")
        assert [c.topic for c in w.claim()] == ["tests.registry.noop"]
        with unit_of_work(factory) as s:
            row = s.get_one(WorkerRegistration, "w1")
            assert (row.host_key, row.pid, row.started_at, row.heartbeat_at) == (HERE, os.getpid(), T0, T0)
            assert row.proc_start == liveness.proc_start(os.getpid())
        clock.move_to(T0 + timedelta(seconds=60))  # silent for 60 s, but it is us: we know we are alive
        assert w.recover_stalled() == 0
        assert _worker(factory, "w2").recover_stalled() == 1  # anyone else sees a silent holder


def test_register_prunes_long_silent_workers_and_a_clean_stop_unregisters(fresh_db: str) -> None:
    factory = session_factory(make_engine(fresh_db))
    with time_machine.travel(T0, tick=False):
        with unit_of_work(factory) as s:
            s.add(_reg("gone-long-ago", heartbeat_at=T0 - timedelta(seconds=3601)))
            s.add(_reg("gone-recently", heartbeat_at=T0 - timedelta(seconds=3599)))
        w = _worker(factory, "fresh")
        w.register()
        with unit_of_work(factory) as s:
            assert sorted(s.execute(select(WorkerRegistration.id)).scalars()) == ["fresh", "gone-recently"]
        stop = threading.Event()
        stop.set()
        w.run_forever(stop)  # registers, then stops at once and unregisters
        with unit_of_work(factory) as s:
            assert sorted(s.execute(select(WorkerRegistration.id)).scalars()) == ["gone-recently"]


# -- real threads: a long job on a live worker is never taken from it ------------------------------------

_SLOW: list[str] = []


@task("tests.registry.noop")
def _noop(session: Session, args: dict[str, Any]) -> None:
    pass


@task("tests.registry.slow")
def _slow(session: Session, args: dict[str, Any]) -> None:
    _SLOW.append("start")
    time.sleep(float(args["seconds"]))
    _SLOW.append("end")


def test_the_heartbeat_thread_keeps_a_long_job_with_its_worker(fresh_db: str) -> None:
    """A job that runs 4 times the grace is not taken back by a watchdog running all along."""
    factory = session_factory(make_engine(fresh_db))
    quick = {"heartbeat_seconds": 0.2, "heartbeat_grace_seconds": 1.0}  # wide enough for a loaded CI machine
    with unit_of_work(factory) as s:
        enqueue_task(s, "tests.registry.slow", {"seconds": 4.0})
    _SLOW.clear()
    busy, watchdog = _worker(factory, "busy", **quick), _worker(factory, "watchdog", **quick)
    done = threading.Event()

    def run() -> None:
        busy.run_once()
        done.set()

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    reclaimed = 0
    deadline = time.monotonic() + 60
    while not done.wait(0.05):
        assert time.monotonic() < deadline, "the worker never finished its job"
        reclaimed += watchdog.recover_stalled()
    runner.join(timeout=10)
    assert reclaimed == 0 and _SLOW == ["start", "end"]
    with unit_of_work(factory) as s:
        job = s.execute(select(OutboxJob)).scalar_one()
        assert (job.status, job.attempts, job.last_error) == (JobStatus.done, 1, None)


def test_a_worker_that_cannot_beat_starts_no_further_job(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Others may already see it dead and take its jobs back: it must not start one of them as well."""
    factory = session_factory(make_engine(fresh_db))
    with unit_of_work(factory) as s:
        # Due first, so run first: the claim returns jobs in due order whatever order the database gives.
        enqueue_task(s, "tests.registry.slow", {"seconds": 1.5}, run_after=T0)
        enqueue_task(s, "tests.registry.noop", {}, run_after=T0 + timedelta(seconds=1))
    _SLOW.clear()
    w = _worker(factory, "cut-off", heartbeat_seconds=0.1, heartbeat_grace_seconds=1.0)

    def unreachable() -> None:
        raise OSError("database unreachable")

    monkeypatch.setattr(w, "heartbeat", unreachable)
    assert w.run_once() == 2  # both claimed (the claim itself beat); only the first was started
    assert _SLOW == ["start", "end"]
    with unit_of_work(factory) as s:
        jobs = {j.topic: (j.status, j.locked_by) for j in s.execute(select(OutboxJob)).scalars()}
    assert jobs == {
        "tests.registry.slow": (JobStatus.done, None),
        "tests.registry.noop": (JobStatus.running, "cut-off"),  # left for a healthy worker's watchdog
    }


def test_a_claim_hands_out_jobs_in_due_order(fresh_db: str) -> None:
    """Twenty jobs inserted out of order come back earliest due first (PostgreSQL's RETURNING has no order)."""
    factory = session_factory(make_engine(fresh_db))
    offsets = [7, 3, 19, 0, 11, 5, 16, 2, 9, 14, 1, 18, 6, 12, 4, 17, 8, 13, 10, 15]
    with unit_of_work(factory) as s:
        for k in offsets:
            enqueue_task(s, "tests.registry.noop", {"k": k}, run_after=T0 + timedelta(seconds=k))
    claimed = _worker(factory, "orderly").claim(limit=20)
    assert [c.payload["args"]["k"] for c in claimed] == list(range(20))
