"""The notice clock is pure: due = known + allowance in UTC; the standing is read against a given now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from signalfire.notices.clock import ClockState, due_at, standing

KNOWN = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)


def test_due_is_elapsed_time_in_utc_whatever_the_zone_given() -> None:
    paris = KNOWN.astimezone(timezone(timedelta(hours=1)))
    assert due_at(KNOWN, timedelta(hours=24)) == datetime(2026, 3, 29, 23, 30, tzinfo=UTC)
    assert due_at(paris, timedelta(hours=24)) == datetime(2026, 3, 29, 23, 30, tzinfo=UTC)
    assert due_at(KNOWN, timedelta(hours=72)).tzinfo is UTC


@pytest.mark.parametrize("allowance", [timedelta(0), timedelta(hours=-1), timedelta(days=400)])
def test_allowance_must_be_positive_and_at_most_a_year(allowance: timedelta) -> None:
    with pytest.raises(ValueError):
        due_at(KNOWN, allowance)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        due_at(KNOWN.replace(tzinfo=None), timedelta(hours=1))
    with pytest.raises(ValueError):
        standing(KNOWN, None, KNOWN.replace(tzinfo=None))


def test_standing_running_overdue_met_late() -> None:
    due = datetime(2026, 3, 29, 23, 30, tzinfo=UTC)
    s = standing(due, None, datetime(2026, 3, 29, 20, 0, tzinfo=UTC))
    assert (s.state, s.margin) == (ClockState.RUNNING, timedelta(hours=3, minutes=30))
    s = standing(due, None, due)
    assert s.state is ClockState.RUNNING  # due at that instant, not yet over
    s = standing(due, None, datetime(2026, 3, 30, 1, 30, tzinfo=UTC))
    assert (s.state, s.margin) == (ClockState.OVERDUE, timedelta(hours=2))
    s = standing(due, datetime(2026, 3, 29, 12, 0, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert (s.state, s.margin) == (ClockState.MET, timedelta(hours=11, minutes=30))
    s = standing(due, datetime(2026, 3, 30, 0, 0, tzinfo=UTC), datetime(2026, 3, 30, 0, 0, tzinfo=UTC))
    assert (s.state, s.margin) == (ClockState.LATE, timedelta(minutes=30))
