"""Bookkeeping rows are pruned after their retention, in bounded batches: rate-limit windows, idempotency
records, and finished (done or dead) outbox jobs; pending and running jobs are never touched."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.core.settings import JobSettings, RetentionSettings, Settings, get_settings
from signalfire.core.web.idempotency import IdempotencyRecord
from signalfire.core.web.ratelimit import RateLimitWindow
from signalfire.notify.models import JobKind, JobStatus, OutboxJob
from signalfire.notify.registry import PERIODIC
from signalfire.notify.tasks import prune_bookkeeping
from signalfire.notify.transports import LogMailer
from signalfire.notify.worker import Worker

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _window(key: str, age: timedelta) -> RateLimitWindow:
    return RateLimitWindow(key=key, window_start=NOW - age, hits=3)


def _record(key: str, age: timedelta) -> IdempotencyRecord:
    return IdempotencyRecord(
        scope="user:x", key=key, request_hash="0" * 64, status=201, response={}, created_at=NOW - age
    )


def _job(topic: str, status: JobStatus, finished_age: timedelta | None, created_age: timedelta) -> OutboxJob:
    return OutboxJob(
        id=uuid.uuid4(),
        kind=JobKind.email,
        topic=topic,
        payload={},
        status=status,
        created_at=NOW - created_age,
        run_after=NOW - created_age,
        completed_at=NOW - finished_age if finished_age is not None else None,
    )


def _seed(db: Session) -> None:
    day = timedelta(days=1)
    db.add_all(
        [
            _window("old-1", timedelta(hours=25)),
            _window("old-2", timedelta(hours=30)),
            _window("old-3", 3 * day),
            _window("fresh", timedelta(hours=23)),
            _record("old", 8 * day),
            _record("fresh", 6 * day),
            _job("done-old", JobStatus.done, 31 * day, 40 * day),
            _job("done-fresh", JobStatus.done, 29 * day, 40 * day),
            _job("dead-old", JobStatus.dead, 91 * day, 100 * day),
            _job("dead-fresh", JobStatus.dead, 60 * day, 100 * day),  # past the done retention, not the dead one
            _job("pending-old", JobStatus.pending, None, 400 * day),
            _job("running-old", JobStatus.running, None, 400 * day),
        ]
    )
    db.flush()


def _left(db: Session) -> tuple[set[str], set[str], set[str]]:
    return (
        set(db.execute(select(RateLimitWindow.key)).scalars()),
        set(db.execute(select(IdempotencyRecord.key)).scalars()),
        set(db.execute(select(OutboxJob.topic)).scalars()),
    )


def test_rows_past_their_retention_are_pruned_and_nothing_else(db: Session) -> None:
    _seed(db)
    pruned = prune_bookkeeping(db, NOW, RetentionSettings())
    assert pruned == {"rate_limit_windows": 3, "idempotency_records": 1, "outbox_done": 1, "outbox_dead": 1}
    windows, records, jobs = _left(db)
    assert windows == {"fresh"} and records == {"fresh"}
    assert jobs == {"done-fresh", "dead-fresh", "pending-old", "running-old"}


def test_each_run_is_bounded_by_its_batches(db: Session) -> None:
    _seed(db)
    bounded = RetentionSettings(batch_size=1, max_batches=2)
    assert prune_bookkeeping(db, NOW, bounded)["rate_limit_windows"] == 2
    windows, _, _ = _left(db)
    assert windows == {"old-1", "fresh"}  # the oldest go first
    assert prune_bookkeeping(db, NOW, bounded)["rate_limit_windows"] == 1
    assert _left(db)[0] == {"fresh"}


def test_retention_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNALFIRE_RETENTION__OUTBOX_DONE_DAYS", "2")
    monkeypatch.setenv("SIGNALFIRE_RETENTION__BATCH_SIZE", "50")
    settings = Settings()
    assert settings.retention.outbox_done_days == 2 and settings.retention.batch_size == 50
    monkeypatch.setenv("SIGNALFIRE_RETENTION__OUTBOX_DONE_DAYS", "0")
    with pytest.raises(ValueError, match="outbox_done_days"):
        Settings()


def test_the_worker_prunes_on_its_schedule(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNALFIRE_RETENTION__RATE_LIMIT_WINDOW_HOURS", "48")
    get_settings.cache_clear()
    factory = session_factory(make_engine(fresh_db))
    try:
        with time_machine.travel(NOW, tick=False):
            with unit_of_work(factory) as s:
                _seed(s)
            worker = Worker(factory, settings=JobSettings(), mailer=LogMailer())
            assert "notify.prune_bookkeeping" in PERIODIC
            worker.run_due_periodic()
            with unit_of_work(factory) as s:
                windows, records, jobs = _left(s)
        assert windows == {"old-1", "old-2", "fresh"}  # 48 hours from the environment
        assert records == {"fresh"} and "done-old" not in jobs and "pending-old" in jobs
    finally:
        get_settings.cache_clear()


def test_a_worker_process_registers_the_pruning_job() -> None:
    """In a fresh process (no test imported the tasks module), loading the domains' tasks registers it."""
    code = (
        "from signalfire.notify.registry import PERIODIC, load_domain_tasks; load_domain_tasks(); "
        "print('notify.prune_bookkeeping' in PERIODIC)"
    )
    src = Path(__file__).resolve().parents[2] / "src"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(src)},
    )
    assert out.stdout.strip() == "True"
