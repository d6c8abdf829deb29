"""Fixed-window rate limits kept in the database, so they hold across processes and restarts.

A hit is counted outside the request's transaction, so that a window's row is never locked for the length
of a request (all requests of one client would queue on it). On PostgreSQL it is one upsert on a
connection of its own in autocommit mode, with synchronous_commit off: the row is locked for that one
statement, and the request does not wait for a second WAL flush (a crash may forget the last few hits;
a client then gets a few more requests, which is no reason to slow every request).
"""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import Engine, Index, String, create_engine, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from signalfire.core.clock import utcnow
from signalfire.core.db.base import Base
from signalfire.core.db.prune import delete_oldest
from signalfire.core.db.session import unit_of_work
from signalfire.core.errors import RateLimited


class RateLimitWindow(Base):
    __tablename__ = "rate_limit_window"
    __table_args__ = (Index("ix_rate_limit_window_start", "window_start"),)

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True)
    hits: Mapped[int]


def hit(session: Session, key: str, *, limit: int, window_seconds: int = 60, now: datetime | None = None) -> None:
    """Count one hit for `key`; raise RateLimited past `limit` in the current window.

    Call it with a session of its own that commits at once (see core.web.deps.rate_limit), so the
    count survives when the request itself fails: failed logins and rejected submissions must count.
    """
    start, retry_after = _window(now or utcnow(), window_seconds)
    if _increment(session, key, start) > limit:
        raise RateLimited(retry_after=retry_after)


def _window(now: datetime, window_seconds: int) -> tuple[datetime, int]:
    epoch = int(now.timestamp())
    start_ts = epoch - epoch % window_seconds
    return datetime.fromtimestamp(start_ts, tz=now.tzinfo), max(1, start_ts + window_seconds - epoch)


def hit_outside(
    factory: sessionmaker[Session], key: str, *, limit: int, window_seconds: int = 60, now: datetime | None = None
) -> None:
    """Count one hit for `key` in a transaction of its own (see the module docstring); raise past `limit`."""
    bind = factory.kw.get("bind")
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        start, retry_after = _window(now or utcnow(), window_seconds)
        if _upsert(_counter_engine(bind), key, start) > limit:
            raise RateLimited(retry_after=retry_after)
        return
    # SQLite (one writer: a separate transaction costs little), or a session bound to a connection (tests).
    refused: RateLimited | None = None
    with unit_of_work(factory) as session:
        try:
            hit(session, key, limit=limit, window_seconds=window_seconds, now=now)
        except RateLimited as exc:
            refused = exc  # committed all the same: a refused hit counts, as on PostgreSQL
    if refused is not None:
        raise refused


_counters: dict[str, Engine] = {}
_counters_lock = threading.Lock()


def _counter_engine(app_engine: Engine) -> Engine:
    """A small pool of autocommit connections with synchronous_commit off, beside the app's engine."""
    url = app_engine.url.render_as_string(hide_password=False)
    with _counters_lock:
        engine = _counters.get(url)
        if engine is None:
            engine = create_engine(
                url,
                isolation_level="AUTOCOMMIT",
                connect_args={"options": "-c synchronous_commit=off"},
                pool_size=4,
                max_overflow=16,
                pool_recycle=600,
                skip_autocommit_rollback=True,  # nothing to roll back: no round trip on check-in
            )
            _counters[url] = engine
        return engine


def _upsert(engine: Engine, key: str, start: datetime) -> int:
    stmt = (
        pg_insert(RateLimitWindow)
        .values(key=key, window_start=start, hits=1)
        .on_conflict_do_update(
            index_elements=[RateLimitWindow.key, RateLimitWindow.window_start],
            set_={"hits": RateLimitWindow.hits + 1},
        )
        .returning(RateLimitWindow.hits)
    )
    for attempt in (1, 2):
        try:
            with engine.connect() as conn:
                return int(conn.execute(stmt).scalar_one())
        except DBAPIError as exc:
            # No pre-ping (a round trip per hit): a connection the server dropped fails once, then a new one.
            if attempt == 2 or not exc.connection_invalidated:
                raise
    raise AssertionError("unreachable")


def _increment(session: Session, key: str, start: datetime) -> int:
    res = session.execute(
        update(RateLimitWindow)
        .where(RateLimitWindow.key == key, RateLimitWindow.window_start == start)
        .values(hits=RateLimitWindow.hits + 1)
        .returning(RateLimitWindow.hits)
    ).scalar_one_or_none()
    if res is not None:
        return int(res)
    try:
        with session.begin_nested():
            session.add(RateLimitWindow(key=key, window_start=start, hits=1))
        return 1
    except IntegrityError:
        return _increment(session, key, start)


def prune(session: Session, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` windows that started before ``before``; returns how many went."""
    keys = (RateLimitWindow.key, RateLimitWindow.window_start)
    return delete_oldest(session, RateLimitWindow, keys, RateLimitWindow.window_start, before, limit)
