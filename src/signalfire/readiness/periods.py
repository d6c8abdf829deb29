"""Calendar arithmetic for readiness: "the last 12 months" and month buckets, in UTC.

"In the last 12 months" means on or after the same instant twelve calendar months earlier (29 February
falls back to 28 February), up to and including the instant asked about. Evidence exactly twelve months
old counts; a day older does not.
"""

from __future__ import annotations

from calendar import monthrange
from datetime import UTC, datetime

from signalfire.core.clock import ensure_utc


def months_before(at: datetime, months: int) -> datetime:
    """The same instant ``months`` calendar months earlier, clamped to the end of a shorter month."""
    at = ensure_utc(at)
    index = at.year * 12 + (at.month - 1) - months
    year, month = divmod(index, 12)
    day = min(at.day, monthrange(year, month + 1)[1])
    return at.replace(year=year, month=month + 1, day=day)


def month_start(at: datetime) -> datetime:
    at = ensure_utc(at)
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def month_starts(at: datetime, count: int) -> list[datetime]:
    """The first instants of the ``count`` calendar months ending with the month of ``at``, oldest first."""
    current = month_start(at)
    return [months_before(current, n) for n in range(count - 1, -1, -1)]
