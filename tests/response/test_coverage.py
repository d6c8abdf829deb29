"""Roster resolution: who is on call, the final schedule, and every gap in it."""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signalfire.response.coverage import (
    OVERRIDE_LAYER,
    WEEKDAYS,
    Gap,
    Layer,
    Override,
    Roster,
    Shift,
    Window,
    coverage_ratio,
    gaps,
    on_call_at,
    shifts,
)

H = timedelta(hours=1)
D = timedelta(days=1)
US = timedelta(microseconds=1)
LONDON = "Europe/London"


def utc(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


# 2026-01-05 is a Monday in winter: London is on UTC.
MON = utc(2026, 1, 5)


def summary(items: list[Shift]) -> list[tuple[datetime, datetime, str, str]]:
    return [(s.start, s.end, s.user, s.layer) for s in items]


# --- hand-written cases -------------------------------------------------------------------------


def test_overlapping_rotations_higher_layer_wins_where_it_has_someone() -> None:
    base = Layer("base", ("ana", "ben"), MON, D)
    business = Layer(
        "business",
        ("cy", "dee"),
        MON,
        7 * D,
        time_zone=LONDON,
        windows=(Window(time(9), time(17), WEEKDAYS),),
    )
    roster = Roster((base, business))
    week_end = MON + 7 * D
    assert gaps(roster, MON, week_end) == []
    assert coverage_ratio(roster, MON, week_end) == 1.0
    assert on_call_at(roster, MON + D + 10 * H) == "cy"  # Tuesday 10:00
    assert on_call_at(roster, MON + D + 20 * H) == "ben"  # Tuesday 20:00: base, day 2
    assert on_call_at(roster, MON + 8 * D + 10 * H) == "dee"  # next week's business rotation
    assert on_call_at(roster, MON + 5 * D + 10 * H) == "ben"  # Saturday: business has no window
    assert summary(shifts(roster, MON, MON + 2 * D)) == [
        (MON, MON + 9 * H, "ana", "base"),
        (MON + 9 * H, MON + 17 * H, "cy", "business"),
        (MON + 17 * H, MON + D, "ana", "base"),
        (MON + D, MON + D + 9 * H, "ben", "base"),
        (MON + D + 9 * H, MON + D + 17 * H, "cy", "business"),
        (MON + D + 17 * H, MON + 2 * D, "ben", "base"),
    ]


def test_a_lower_layer_never_shows_under_a_full_higher_layer() -> None:
    roster = Roster((Layer("low", ("ana",), MON, D), Layer("high", ("ben", "cy"), MON, 12 * H)))
    result = shifts(roster, MON, MON + 7 * D)
    assert {s.layer for s in result} == {"high"}
    assert len(result) == 14
    assert all(s.duration == 12 * H for s in result)


def test_business_hours_only_layer_has_the_nights_and_weekend_as_gaps() -> None:
    roster = Roster(
        (Layer("biz", ("ana",), MON, 7 * D, time_zone=LONDON, windows=(Window(time(9), time(17), WEEKDAYS),)),)
    )
    found = gaps(roster, MON, MON + 7 * D)
    expected = [Gap(MON, MON + 9 * H)]
    expected += [Gap(MON + k * D + 17 * H, MON + (k + 1) * D + 9 * H) for k in range(4)]
    expected.append(Gap(MON + 4 * D + 17 * H, MON + 7 * D))
    assert found == expected
    assert coverage_ratio(roster, MON, MON + 7 * D) == pytest.approx(40 / 168)
    # A single-person layer shows as one shift per window, not one per rotation turn.
    assert len(shifts(roster, MON, MON + 7 * D)) == 5


def test_an_override_fills_a_gap() -> None:
    business = Layer("biz", ("ana",), MON, 7 * D, windows=(Window(time(9), time(17), WEEKDAYS),))
    saturday_10 = MON + 5 * D + 10 * H + timedelta(seconds=30)
    saturday_14 = MON + 5 * D + 14 * H
    roster = Roster((business,), (Override(saturday_10, saturday_14, "dee"),))
    weekend = gaps(roster, MON + 4 * D + 12 * H, MON + 7 * D + 12 * H)
    assert weekend == [
        Gap(MON + 4 * D + 17 * H, saturday_10),
        Gap(saturday_14, MON + 7 * D + 9 * H),
    ]
    assert on_call_at(roster, saturday_10) == "dee"
    assert on_call_at(roster, saturday_10 - US) is None
    assert on_call_at(roster, saturday_14) is None
    [override] = [s for s in shifts(roster, MON, MON + 7 * D) if s.override]
    assert (override.start, override.end, override.user, override.layer) == (
        saturday_10,
        saturday_14,
        "dee",
        OVERRIDE_LAYER,
    )


def test_an_override_replaces_whoever_a_layer_has_on() -> None:
    end = MON + 13 * H + timedelta(minutes=30)
    roster = Roster((Layer("base", ("ana",), MON, D),), (Override(MON + 12 * H, end, "eve"),))
    assert summary(shifts(roster, MON, MON + D)) == [
        (MON, MON + 12 * H, "ana", "base"),
        (MON + 12 * H, end, "eve", OVERRIDE_LAYER),
        (end, MON + D, "ana", "base"),
    ]
    assert on_call_at(roster, end - US) == "eve"
    assert on_call_at(roster, end) == "ana"


def test_the_later_of_two_overlapping_overrides_wins() -> None:
    roster = Roster(
        (),
        (Override(MON, MON + 4 * H, "ana"), Override(MON + 2 * H, MON + 6 * H, "ben")),
    )
    assert summary(shifts(roster, MON, MON + D)) == [
        (MON, MON + 2 * H, "ana", OVERRIDE_LAYER),
        (MON + 2 * H, MON + 6 * H, "ben", OVERRIDE_LAYER),
    ]
    assert gaps(roster, MON, MON + D) == [Gap(MON + 6 * H, MON + D)]


def test_restriction_windows_follow_daylight_saving_time() -> None:
    # New York moves to daylight time on Sunday 2026-03-08: 09:00-17:00 is 14:00-22:00 UTC before
    # and 13:00-21:00 UTC after.
    monday = utc(2026, 3, 2)
    layer = Layer(
        "ny",
        ("ana",),
        monday,
        7 * D,
        time_zone="America/New_York",
        windows=(Window(time(9), time(17), WEEKDAYS),),
    )
    roster = Roster((layer,))
    covered = [(s.start, s.end) for s in shifts(roster, monday, monday + 14 * D)]
    assert covered[:5] == [(monday + k * D + 14 * H, monday + k * D + 22 * H) for k in range(5)]
    assert covered[5:] == [(monday + (7 + k) * D + 13 * H, monday + (7 + k) * D + 21 * H) for k in range(5)]
    assert Gap(monday + 4 * D + 22 * H, monday + 7 * D + 13 * H) in gaps(roster, monday, monday + 14 * D)


def test_day_multiple_rotations_hand_over_at_the_same_local_time() -> None:
    # London moves to summer time on Sunday 2026-03-29.
    monday = utc(2026, 3, 23)
    weekly = Layer("weekly", ("ana", "ben"), monday + 9 * H, 7 * D, time_zone=LONDON)
    handovers = [s.start for s in shifts(Roster((weekly,)), monday + 9 * H, monday + 15 * D)]
    assert handovers == [monday + 9 * H, monday + 7 * D + 8 * H, monday + 14 * D + 8 * H]
    assert all(h.astimezone(ZoneInfo(LONDON)).hour == 9 for h in handovers)
    # Shorter shifts run on absolute time.
    twelve = Layer("twelve", ("ana", "ben"), monday + 9 * H, 12 * H, time_zone=LONDON)
    starts = [s.start for s in shifts(Roster((twelve,)), monday + 6 * D, monday + 8 * D)]
    assert all(s.hour in (9, 21) for s in starts[1:])


def test_day_multiple_rotations_keep_local_hand_over_when_clocks_go_back() -> None:
    # London returns to GMT on Sunday 2026-10-25: a 09:00 hand-over moves from 08:00 to 09:00 UTC.
    monday = utc(2026, 10, 19)
    daily = Layer("daily", ("ana", "ben"), monday + 8 * H, D, time_zone=LONDON)
    roster = Roster((daily,))
    after = utc(2026, 10, 26)  # shift 6 (ana) runs until 09:00 UTC, then shift 7 (ben)
    assert on_call_at(roster, after + 8 * H + timedelta(minutes=30)) == "ana"
    assert on_call_at(roster, after + 9 * H - US) == "ana"
    assert on_call_at(roster, after + 9 * H) == "ben"
    assert [(s.start, s.user) for s in shifts(roster, after, after + D)] == [
        (after, "ana"),
        (after + 9 * H, "ben"),
    ]


def test_a_window_in_the_repeated_hour_starts_at_its_first_occurrence() -> None:
    # On 2026-10-25 London goes from 02:00 BST back to 01:00 GMT; 01:30 happens twice.
    sunday = utc(2026, 10, 25)
    layer = Layer(
        "night",
        ("ana",),
        sunday - 7 * D,
        7 * D,
        time_zone=LONDON,
        windows=(Window(time(1, 30), time(3), frozenset({6})),),
    )
    assert summary(shifts(Roster((layer,)), sunday, sunday + D)) == [
        (sunday + 30 * timedelta(minutes=1), sunday + 3 * H, "ana", "night")
    ]


def test_a_window_in_the_skipped_hour_is_read_forward() -> None:
    # On 2026-03-29 London jumps from 01:00 GMT to 02:00 BST; 01:30 local is read as 02:30 BST.
    sunday = utc(2026, 3, 29)
    layer = Layer(
        "night",
        ("ana",),
        sunday - 7 * D,
        7 * D,
        time_zone=LONDON,
        windows=(Window(time(1, 30), time(3), frozenset({6})),),
    )
    assert summary(shifts(Roster((layer,)), sunday, sunday + D)) == [
        (sunday + 90 * timedelta(minutes=1), sunday + 2 * H, "ana", "night")
    ]


def test_a_window_can_open_on_the_next_local_date() -> None:
    # Antarctica/Casey went from 02:00 (+11) on Friday 2010-03-05 back to 23:00 (+08) on the 4th, so
    # Friday's 01:00-03:00 window (14:00-19:00 UTC) covers instants whose local date is Thursday.
    layer = Layer(
        "casey",
        ("ana",),
        utc(2010, 3, 1),
        7 * D,
        time_zone="Antarctica/Casey",
        windows=(Window(time(1), time(3), frozenset({4})),),
    )
    roster = Roster((layer,))
    thursday = utc(2010, 3, 4)
    assert (thursday + 15 * H + 30 * timedelta(minutes=1)).astimezone(ZoneInfo("Antarctica/Casey")).day == 4
    assert on_call_at(roster, thursday + 15 * H + 30 * timedelta(minutes=1)) == "ana"
    assert summary(shifts(roster, thursday, thursday + 2 * D)) == [
        (thursday + 14 * H, thursday + 19 * H, "ana", "casey")
    ]


def test_a_one_second_gap_is_found() -> None:
    second = timedelta(seconds=1)
    roster = Roster((), (Override(MON, MON + H, "ana"), Override(MON + H + second, MON + 2 * H, "ben")))
    assert gaps(roster, MON, MON + 2 * H) == [Gap(MON + H, MON + H + second)]
    assert on_call_at(roster, MON + H) is None
    assert on_call_at(roster, MON + H + second) == "ben"


def test_a_window_past_midnight_belongs_to_the_day_it_starts() -> None:
    friday = MON + 4 * D
    layer = Layer("late", ("ana",), MON, 7 * D, windows=(Window(time(22), time(6), frozenset({4})),))
    assert summary(shifts(Roster((layer,)), MON, MON + 7 * D)) == [(friday + 22 * H, friday + D + 6 * H, "ana", "late")]


def test_nobody_is_on_before_the_anchor_or_from_until() -> None:
    layer = Layer("temp", ("ana", "ben"), MON + 2 * D, D, until=MON + 4 * D)
    roster = Roster((layer,))
    assert gaps(roster, MON, MON + 7 * D) == [Gap(MON, MON + 2 * D), Gap(MON + 4 * D, MON + 7 * D)]
    assert on_call_at(roster, MON + 2 * D - US) is None
    assert on_call_at(roster, MON + 2 * D) == "ana"
    assert on_call_at(roster, MON + 3 * D) == "ben"
    assert on_call_at(roster, MON + 4 * D) is None


def test_an_anchor_long_before_the_range_continues_the_rotation() -> None:
    layer = Layer("old", ("ana", "ben", "cy"), MON - 100 * D, D)
    # Day 100 after the anchor is participant 100 % 3 == 1.
    assert on_call_at(Roster((layer,)), MON + H) == "ben"
    assert shifts(Roster((layer,)), MON + H, MON + 2 * H)[0].user == "ben"


def test_an_empty_roster_is_one_gap() -> None:
    assert gaps(Roster(), MON, MON + D) == [Gap(MON, MON + D)]
    assert coverage_ratio(Roster(), MON, MON + D) == 0.0


def test_bad_roster_data_is_refused() -> None:
    naive = MON.replace(tzinfo=None)
    with pytest.raises(ValueError, match="participant"):
        Layer("x", (), MON, D)
    with pytest.raises(ValueError, match="shift_length"):
        Layer("x", ("a",), MON, timedelta(0))
    with pytest.raises(ValueError, match="anchor"):
        Layer("x", ("a",), naive, D)
    with pytest.raises(ValueError, match="until"):
        Layer("x", ("a",), MON, D, until=MON)
    with pytest.raises(ValueError, match="time zone"):
        Layer("x", ("a",), MON, D, time_zone="Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="end after"):
        Override(MON, MON, "a")
    with pytest.raises(ValueError, match="days"):
        Window(time(9), time(17), frozenset())
    with pytest.raises(ValueError, match="tzinfo"):
        Window(time(9, tzinfo=UTC), time(17))
    with pytest.raises(ValueError, match="end must be after start"):
        gaps(Roster(), MON, MON)
    with pytest.raises(ValueError, match="aware"):
        on_call_at(Roster(), naive)


# --- property: every instant is either covered or in a gap, and every gap is found -------------

QUARTER = timedelta(minutes=15)
ZONES = ["UTC", LONDON, "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
# UTC midnights starting a week in which the paired zone changes its clocks (Lord Howe by 30
# minutes), plus a quiet week; layers mostly use the week's changing zone, so hand-overs and windows
# straddle clock changes often.
WEEKS = [
    (utc(2026, 3, 5), "America/New_York"),
    (utc(2026, 3, 26), LONDON),
    (utc(2026, 4, 2), "Australia/Lord_Howe"),
    (utc(2026, 10, 1), "Australia/Lord_Howe"),
    (utc(2026, 10, 22), LONDON),
    (utc(2026, 10, 29), "America/New_York"),
    (utc(2026, 7, 1), "Asia/Kolkata"),
]
WEEK = 7 * D
USERS = ["ana", "ben", "cy", "dee", "eve"]

quarter_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
windows = st.builds(Window, quarter_times, quarter_times, st.frozensets(st.integers(0, 6), min_size=1))
shift_lengths = st.one_of(
    st.integers(1, 4 * 24 * 3).map(lambda n: n * QUARTER),
    st.sampled_from([D, 2 * D, 7 * D, 14 * D]),
)


@st.composite
def rosters(draw: st.DrawFn) -> tuple[Roster, datetime]:
    week_start, changing_zone = draw(st.sampled_from(WEEKS))
    # Every input lies on a 15-minute grid, and so does every zone offset and clock change used,
    # so the schedule can only change at multiples of 15 minutes from ``week_start``.
    quarters = st.integers(-4 * 24 * 20, 4 * 24 * 7).map(lambda n: week_start + n * QUARTER)
    layers = []
    for i in range(draw(st.integers(0, 3))):
        anchor = draw(quarters)
        until_quarters = draw(st.none() | st.integers(1, 4 * 24 * 10))
        until = None if until_quarters is None else anchor + until_quarters * QUARTER
        layers.append(
            Layer(
                f"layer{i}",
                tuple(draw(st.lists(st.sampled_from(USERS), min_size=1, max_size=3))),
                anchor,
                draw(shift_lengths),
                time_zone=draw(st.just(changing_zone) | st.sampled_from(ZONES)),
                windows=tuple(draw(st.lists(windows, max_size=3))),
                until=until,
            )
        )
    overrides = []
    for _ in range(draw(st.integers(0, 4))):
        start = week_start + draw(st.integers(-4 * 24, 4 * 24 * 7)) * QUARTER
        length = draw(st.integers(1, 4 * 48)) * QUARTER
        overrides.append(Override(start, start + length, draw(st.sampled_from(USERS))))
    return Roster(tuple(layers), tuple(overrides)), week_start


def _covering(items: list[Shift], t: datetime) -> Shift | None:
    k = bisect_right([s.start for s in items], t) - 1
    return items[k] if k >= 0 and t < items[k].end else None


@settings(max_examples=200, deadline=None, derandomize=True)
@given(rosters(), st.lists(st.integers(0, WEEK // US - 1), max_size=20))
def test_every_instant_is_covered_or_in_a_gap(case: tuple[Roster, datetime], offsets: list[int]) -> None:
    roster, start = case
    end = start + WEEK
    schedule = shifts(roster, start, end)
    holes = gaps(roster, start, end)

    # Shifts and gaps are each sorted, disjoint, non-empty and inside the week ...
    for seq in ([(s.start, s.end) for s in schedule], [(g.start, g.end) for g in holes]):
        assert all(start <= lo < hi <= end for lo, hi in seq)
        assert all(a[1] <= b[0] for a, b in pairwise(seq))
    # ... gaps are maximal (never touching) and shifts of one source are merged ...
    assert all(a.end < b.start for a, b in pairwise(holes))
    assert all(
        (a.user, a.layer, a.override) != (b.user, b.layer, b.override)
        for a, b in pairwise(schedule)
        if a.end == b.start
    )
    # ... and together they tile the week exactly.
    pieces = sorted([(s.start, s.end) for s in schedule] + [(g.start, g.end) for g in holes])
    assert pieces[0][0] == start
    assert pieces[-1][1] == end
    assert all(a[1] == b[0] for a, b in pairwise(pieces))

    # Every 15-minute cell, both edges of every piece, and some random instants agree with the
    # point query.
    samples = [start + k * QUARTER for k in range(WEEK // QUARTER)]
    samples += [t for a, b in pieces for t in (a, b - US)]
    samples += [start + n * US for n in offsets]
    for t in samples:
        shift = _covering(schedule, t)
        assert on_call_at(roster, t) == (shift.user if shift else None), t
        in_gap = any(g.start <= t < g.end for g in holes)
        assert in_gap == (shift is None)

    # Just outside each gap somebody is on call (unless the week ends there).
    for g in holes:
        if g.start > start:
            assert on_call_at(roster, g.start - US) is not None
        if g.end < end:
            assert on_call_at(roster, g.end) is not None

    uncovered = sum((g.duration for g in holes), timedelta(0))
    assert coverage_ratio(roster, start, end) == pytest.approx(1 - uncovered / WEEK)
