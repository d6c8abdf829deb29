"""Rate-limit hits counted outside the request's transaction (core.web.ratelimit.hit_outside): on
PostgreSQL one autocommit upsert per hit, on SQLite a short transaction of its own. Either way the count
is committed at once, refused hits count too, and windows are separate."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete, select

from signalfire.core.db.session import session_factory
from signalfire.core.errors import RateLimited
from signalfire.core.web.ratelimit import RateLimitWindow, hit_outside

NOW = datetime(2026, 12, 6, 12, 0, 30, tzinfo=UTC)


def test_hits_are_committed_at_once_and_refused_past_the_limit(engine: Engine) -> None:
    factory = session_factory(engine)
    key = f"test-outside:{uuid.uuid4().hex}"
    try:
        for _ in range(3):
            hit_outside(factory, key, limit=3, now=NOW)
        with pytest.raises(RateLimited) as refused:
            hit_outside(factory, key, limit=3, now=NOW)
        assert refused.value.headers == {"Retry-After": "30"}  # the window of 60 s started at 12:00:00
        hit_outside(factory, key, limit=3, now=NOW + timedelta(minutes=1))  # a new window
        with engine.connect() as conn:  # another connection sees the committed counts
            counts = dict(
                conn.execute(
                    select(RateLimitWindow.window_start, RateLimitWindow.hits).where(RateLimitWindow.key == key)
                ).all()
            )
        assert sorted(counts.values()) == [1, 4]  # the refused hit counted too
    finally:
        with engine.begin() as conn:
            conn.execute(delete(RateLimitWindow).where(RateLimitWindow.key == key))
