"""Portable SQL expressions over timestamps, so readiness can aggregate durations in the database.

SQLite stores the UTC timestamps as ISO text (see core.db.base.UTCDateTime); ``julianday`` reads that
format. PostgreSQL subtracts timestamps directly. Both give seconds as a float.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, cast, func, literal
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from signalfire.core.db.base import UTCDateTime


def seconds_between(session: Session, later: Any, earlier: Any) -> ColumnElement[float]:
    """``later - earlier`` in seconds (NULL when either is NULL), to the millisecond."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.extract("epoch", later - earlier), Float)
    # julianday is a float count of days: round away its error so 12 h compares equal to 43200 s.
    return cast(func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0, 3), Float)


def instant(value: datetime) -> ColumnElement[datetime]:
    """A bound timestamp typed like the stored columns (so SQLite compares text with text)."""
    return literal(value, UTCDateTime())
