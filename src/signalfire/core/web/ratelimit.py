"""Fixed-window rate limits kept in the database, so they hold across processes and restarts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from signalfire.core.clock import utcnow
from signalfire.core.db.base import Base
from signalfire.core.db.prune import delete_oldest
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
    now = now or utcnow()
    epoch = int(now.timestamp())
    start_ts = epoch - epoch % window_seconds
    start = datetime.fromtimestamp(start_ts, tz=now.tzinfo)
    hits = _increment(session, key, start)
    if hits > limit:
        raise RateLimited(retry_after=max(1, start_ts + window_seconds - epoch))


def relax_durability(session: Session) -> None:
    """On PostgreSQL, let this transaction commit without waiting for its WAL flush: a crash may forget
    the last few hits (a client gets a few more requests), which is no reason to make every request
    wait for a second disk flush. Only for a transaction that writes nothing else."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit = off"))


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
