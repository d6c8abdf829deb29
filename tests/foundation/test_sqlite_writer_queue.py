"""SQLite's one writer is handed on in arrival order among a process's threads (core.db.sqlite_queue).

Before the queue, waiters slept in SQLite's busy handler and retried; under load an early arrival kept
missing the gaps and could time out (503) while later ones went through."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from signalfire.core.db import sqlite_queue
from signalfire.core.db.session import make_engine
from signalfire.core.db.sqlite_queue import WriterQueue, queue_for


def _wait_until(cond: object, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not cond():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.002)


# -- the queue itself -------------------------------------------------------------------------------------------


def test_waiters_get_the_lock_in_the_order_they_arrived() -> None:
    q = WriterQueue()
    assert q.acquire(owner=0, timeout=1)
    order: list[int] = []

    def waiter(n: int) -> None:
        assert q.acquire(owner=n, timeout=5)
        order.append(n)
        q.release(owner=n)

    threads = []
    for n in (1, 2, 3, 4, 5):
        t = threading.Thread(target=waiter, args=(n,))
        t.start()
        threads.append(t)
        _wait_until(lambda n=n: q.waiting == n)  # n is queued before n + 1 arrives
    q.release(owner=0)
    for t in threads:
        t.join(5)
    assert order == [1, 2, 3, 4, 5]
    assert q.acquire(owner=9, timeout=0.1)  # and free again afterwards


def test_any_thread_may_release_and_only_the_owner_counts() -> None:
    q = WriterQueue()
    assert q.acquire(owner=1, timeout=1)
    q.release(owner=2)  # not the owner: nothing happens
    assert not q.acquire(owner=3, timeout=0.05)
    released = threading.Thread(target=q.release, args=(1,))  # another thread than the acquirer
    released.start()
    released.join()
    assert q.acquire(owner=3, timeout=0.5)


def test_a_waiter_that_gives_up_leaves_the_line() -> None:
    q = WriterQueue()
    assert q.acquire(owner=1, timeout=1)
    assert not q.acquire(owner=2, timeout=0.05)
    assert q.waiting == 0
    q.release(owner=1)
    # The lock is free, not handed to the waiter that left.
    assert q.acquire(owner=3, timeout=0.05)


# -- engines on a database file ---------------------------------------------------------------------------------


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    path = tmp_path / "queue.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    engine.dispose()
    return path


def test_transactions_of_a_process_take_turns_in_arrival_order(db_file: Path) -> None:
    engine = make_engine(f"sqlite:///{db_file}")
    writers = queue_for(str(db_file))
    holder = Session(engine)
    holder.execute(text("INSERT INTO t VALUES (0)"))  # begins: holds the writer

    def write(n: int) -> None:
        with Session(engine) as s, s.begin():
            s.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})

    threads = []
    for n in range(1, 7):
        t = threading.Thread(target=write, args=(n,))
        t.start()
        threads.append(t)
        _wait_until(lambda n=n: writers.waiting == n)
    holder.commit()
    holder.close()
    for t in threads:
        t.join(10)
    with engine.connect() as conn:
        rows = [r[0] for r in conn.execute(text("SELECT n FROM t ORDER BY rowid"))]
    engine.dispose()
    assert rows == [0, 1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("end", ["commit", "rollback", "close"])
def test_the_writer_is_handed_on_however_a_transaction_ends(db_file: Path, end: str) -> None:
    engine = make_engine(f"sqlite:///{db_file}")
    first = Session(engine)
    first.execute(text("INSERT INTO t VALUES (1)"))
    got_it = threading.Event()

    def second() -> None:
        with Session(engine) as s, s.begin():
            s.execute(text("INSERT INTO t VALUES (2)"))
            got_it.set()

    t = threading.Thread(target=second)
    t.start()
    assert not got_it.wait(0.2)  # queued behind the first transaction
    getattr(first, end)()
    assert got_it.wait(5)
    t.join(5)
    first.close()
    with engine.connect() as conn:
        rows = sorted(r[0] for r in conn.execute(text("SELECT n FROM t")))
    engine.dispose()
    assert rows == ([1, 2] if end == "commit" else [2])


def test_a_transaction_begun_in_one_thread_may_end_in_another(db_file: Path) -> None:
    # FastAPI runs a request's dependency and its route in different worker threads.
    engine = make_engine(f"sqlite:///{db_file}")
    s = Session(engine)
    begun = threading.Thread(target=lambda: s.execute(text("INSERT INTO t VALUES (1)")))
    begun.start()
    begun.join()
    ended = threading.Thread(target=s.commit)
    ended.start()
    ended.join()
    s.close()
    with Session(engine) as other, other.begin():  # would wait and fail if the commit had not handed on
        other.execute(text("INSERT INTO t VALUES (2)"))
    engine.dispose()


def test_waiting_past_the_busy_timeout_is_sqlites_own_busy_error(
    db_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_queue, "BUSY_TIMEOUT_SECONDS", 0.1)
    engine = make_engine(f"sqlite:///{db_file}")
    holder = Session(engine)
    holder.execute(text("INSERT INTO t VALUES (1)"))
    failed: list[OperationalError] = []

    def late() -> None:
        try:
            with Session(engine) as s, s.begin():
                s.execute(text("INSERT INTO t VALUES (2)"))
        except OperationalError as exc:
            failed.append(exc)

    t = threading.Thread(target=late)
    t.start()
    t.join(5)
    assert len(failed) == 1 and "database is locked" in str(failed[0].orig)  # the 503 handler's sign
    assert queue_for(str(db_file)).waiting == 0
    holder.commit()
    holder.close()
    with Session(engine) as s, s.begin():  # nothing left held by the one that gave up
        s.execute(text("INSERT INTO t VALUES (3)"))
    with engine.connect() as conn:
        assert sorted(r[0] for r in conn.execute(text("SELECT n FROM t"))) == [1, 3]
    engine.dispose()


def test_engines_on_the_same_file_share_one_line(db_file: Path) -> None:
    a = make_engine(f"sqlite:///{db_file}")
    b = make_engine(f"sqlite:///{db_file.parent}/./{db_file.name}")
    holder = Session(a)
    holder.execute(text("INSERT INTO t VALUES (1)"))
    assert queue_for(str(db_file)).waiting == 0

    def write() -> None:
        with Session(b) as s, s.begin():
            s.execute(text("INSERT INTO t VALUES (2)"))

    t = threading.Thread(target=write)
    t.start()
    _wait_until(lambda: queue_for(str(db_file)).waiting == 1)  # b queued in-process, not in SQLite's poll
    holder.commit()
    holder.close()
    t.join(5)
    a.dispose()
    b.dispose()


def test_a_connection_invalidated_mid_transaction_hands_on(db_file: Path) -> None:
    # e.g. a disk error: the pool closes the connection without a ROLLBACK through SQLAlchemy.
    engine = make_engine(f"sqlite:///{db_file}")
    broken = Session(engine)
    broken.execute(text("INSERT INTO t VALUES (1)"))
    broken.connection().invalidate()
    with Session(engine) as s, s.begin():
        s.execute(text("INSERT INTO t VALUES (2)"))
    broken.close()
    with engine.connect() as conn:
        assert [r[0] for r in conn.execute(text("SELECT n FROM t"))] == [2]
    engine.dispose()
