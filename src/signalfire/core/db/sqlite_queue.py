"""SQLite's one writer, handed on in arrival order among the threads of this process.

Every SQLite transaction here takes the write lock up front (BEGIN IMMEDIATE, see session.py). A
transaction that finds it taken waits in SQLite's busy handler, which sleeps and retries (1, 2, 5 ... up
to 100 ms between tries) instead of queueing. Under load the retries of an early arrival keep missing
the short gaps between later arrivals' transactions: most requests go through in milliseconds while a
few wait seconds, and some give up at the busy timeout (a 503) although the database never stopped
working. So threads of one process queue here first, and each transaction hands the database straight
to the next waiter when it commits or rolls back. SQLite's own lock still arbitrates between processes
(a separate worker, the CLI), and its busy handler still waits for them.

The waits are the same ones SQLite imposed before (a thread holding a transaction still blocks the
others, for as long as the busy timeout at most); only their order changes.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import deque
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError

# The same patience as SQLite's own busy handler (PRAGMA busy_timeout in session.py).
BUSY_TIMEOUT_SECONDS = 10.0


class WriterQueue:
    """A first-come, first-served lock that any thread may release (a request's transaction can begin in
    one worker thread and commit in another) and that knows which connection holds it."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._owner: int | None = None
        self._held = False
        self._waiting: deque[threading.Event] = deque()

    def acquire(self, owner: int, timeout: float) -> bool:
        with self._mutex:
            if not self._held:
                self._held, self._owner = True, owner
                return True
            turn = threading.Event()
            self._waiting.append(turn)
        if not turn.wait(timeout):
            with self._mutex:
                if not turn.is_set():
                    self._waiting.remove(turn)
                    return False
        # The releasing thread handed the lock over (held stays True); name the new owner.
        with self._mutex:
            self._owner = owner
        return True

    def release(self, owner: int) -> None:
        """Release if `owner` holds the lock; a call for a connection that holds nothing is a no-op."""
        with self._mutex:
            if not self._held or self._owner != owner:
                return
            self._owner = None
            if self._waiting:
                self._waiting.popleft().set()  # straight to the next in line, no gap to race for
            else:
                self._held = False

    @property
    def waiting(self) -> int:
        return len(self._waiting)


_queues: dict[str, WriterQueue] = {}
_queues_mutex = threading.Lock()


def queue_for(database: str) -> WriterQueue:
    """One queue per database file, shared by every engine of this process that opens it."""
    key = os.path.realpath(database)
    with _queues_mutex:
        found = _queues.get(key)
        if found is None:
            found = _queues[key] = WriterQueue()
        return found


def _file_of(engine: Engine) -> str | None:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:") or engine.url.query.get("mode"):
        return None  # in-memory or URI databases: each connection its own, or nothing to share
    return database


def install(engine: Engine) -> None:
    """Begin this engine's transactions with the write lock, queued per database file; call it before
    any connection is made."""
    database = _file_of(engine)
    writers = queue_for(database) if database is not None else None

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        owner = _raw_id(conn.connection)
        if writers is not None and not writers.acquire(owner, BUSY_TIMEOUT_SECONDS):
            # The wording SQLite uses, so callers treat it as the contention it is (503, retry).
            raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))
        try:
            # IMMEDIATE takes the write lock up front: a deferred transaction that reads and then writes
            # fails with SQLITE_BUSY_SNAPSHOT under concurrency instead of waiting (WAL readers are not
            # blocked). Another process may still hold it: SQLite's busy handler waits for that one.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if writers is not None:
                writers.release(owner)
            raise

    if writers is None:
        return

    # Hand on only once COMMIT or ROLLBACK has run (SQLAlchemy's commit and rollback events fire before
    # them), and when a connection is closed or reset by the pool.
    for name in ("do_commit", "do_rollback", "do_close"):
        _release_after(engine.dialect, name, writers)


def _raw_id(conn: Any) -> int:
    """The DBAPI connection's identity, whether given the pool's proxy for it or the connection itself."""
    return id(getattr(conn, "dbapi_connection", conn))


def _release_after(dialect: Any, name: str, writers: WriterQueue) -> None:
    original = getattr(dialect, name)

    def wrapped(conn: Any) -> None:
        try:
            original(conn)
        finally:
            writers.release(_raw_id(conn))

    setattr(dialect, name, wrapped)
