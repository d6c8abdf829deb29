"""Calendar arithmetic behind "the last 12 months" and the dashboard's month buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from signalfire.readiness.periods import month_starts, months_before
from tests.readiness.factories import utc

# Hypothesis takes naive bounds and attaches the zone itself.
instants = st.datetimes(
    min_value=datetime(2001, 1, 1),  # noqa: DTZ001
    max_value=datetime(2098, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)


def test_leap_day_falls_back_to_the_end_of_february() -> None:
    assert months_before(utc(2028, 2, 29, 10), 12) == utc(2027, 2, 28, 10)
    assert months_before(utc(2026, 3, 31), 1) == utc(2026, 2, 28)
    assert months_before(utc(2026, 1, 15), -12) == utc(2027, 1, 15)


@given(instants)
def test_twelve_months_is_a_year_of_days_at_the_same_time_of_day(at: datetime) -> None:
    start = months_before(at, 12)
    assert timedelta(days=365) <= at - start <= timedelta(days=366)
    assert start.time() == at.time() and start.tzinfo is UTC


@given(instants, st.integers(min_value=1, max_value=36))
def test_month_starts_are_consecutive_firsts_ending_with_the_month_of_at(at: datetime, count: int) -> None:
    starts = month_starts(at, count)
    assert len(starts) == count and all(s.day == 1 and s.hour == 0 for s in starts)
    assert starts[-1] <= at < months_before(starts[-1], -1)
    assert all(months_before(b, 1) == a for a, b in pairwise(starts))
