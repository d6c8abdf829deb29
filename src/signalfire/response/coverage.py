"""On-call rosters as data, and who is on call when.

A ``Roster`` is a stack of ``Layer``s plus ``Override``s, resolved the way PagerDuty does it:

* each layer is a rotation: its participants take turns, ``shift_length`` each, starting at
  ``anchor`` (nobody is on call in the layer before it or from ``until``);
* a layer may be restricted to ``Window``s of local time in its IANA ``time_zone`` (e.g. weekdays
  09:00 to 17:00 Europe/London); outside every window the layer has nobody on call;
* where several layers have someone on call, the highest layer (last in ``Roster.layers``) wins;
* an override puts its user on call for its interval whatever the layers say, and fills a gap if
  nobody was on call; where overrides overlap, the last one in ``Roster.overrides`` wins (store
  them in creation order).

Local time is DST-aware. A rotation whose shift length is a whole number of days hands over at the
same local wall-clock time every time (a weekly Monday 09:00 hand-over stays at 09:00 across a
clock change), as teams expect; shorter shifts run on absolute time. Window edges are local
times. A local time that a spring-forward jump skips is read as the instant the same distance past
the jump (01:30 on a day the clock jumps from 01:00 to 02:00 is read as 02:30); a local time that
occurs twice is read as its first occurrence.

Every datetime given to or returned by this module is timezone-aware; results are in UTC.
Intervals are half-open, ``[start, end)``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

EVERY_DAY: frozenset[int] = frozenset(range(7))
"""Weekday numbers as ``date.weekday()`` gives them: 0 is Monday, 6 is Sunday."""
WEEKDAYS: frozenset[int] = frozenset(range(5))

OVERRIDE_LAYER = "override"
"""The ``Shift.layer`` of a shift that comes from an override."""

_DAY = timedelta(days=1)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


@dataclass(frozen=True)
class Window:
    """A daily window of local time, on the given weekdays.

    The window belongs to the day it starts on; if ``end`` is not after ``start`` it runs past
    midnight into the next day (so ``start == end`` is a full 24 hours).
    """

    start: time
    end: time
    days: frozenset[int] = EVERY_DAY

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("window times are local times without tzinfo; the layer gives the zone")
        if not self.days or not self.days <= EVERY_DAY:
            raise ValueError("window days must be a non-empty set of weekday numbers 0 (Monday) to 6")

    def instance(self, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The window opened on local ``day``, in UTC (empty if a clock change swallows it)."""
        start = _local_to_utc(datetime.combine(day, self.start), zone)
        end_day = day + _DAY if self.end <= self.start else day
        return start, max(start, _local_to_utc(datetime.combine(end_day, self.end), zone))


@dataclass(frozen=True)
class Layer:
    """One rotation: ``participants`` in order, each on for ``shift_length`` from ``anchor``."""

    name: str
    participants: tuple[str, ...]
    anchor: datetime
    shift_length: timedelta
    time_zone: str = "UTC"
    windows: tuple[Window, ...] = ()
    until: datetime | None = None

    def __post_init__(self) -> None:
        if not self.participants:
            raise ValueError("a layer needs at least one participant")
        if self.shift_length <= timedelta(0):
            raise ValueError("shift_length must be positive")
        _require_aware(self.anchor, "anchor")
        if self.until is not None:
            _require_aware(self.until, "until")
            if self.until <= self.anchor:
                raise ValueError("until must be after anchor")
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.time_zone!r}") from exc

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def _wall_clock(self) -> bool:
        return self.shift_length % _DAY == timedelta(0)

    def shift_start(self, index: int) -> datetime:
        """When shift number ``index`` begins (shift 0 begins at ``anchor``)."""
        if index == 0:
            return self.anchor.astimezone(UTC)
        if not self._wall_clock:
            return (self.anchor + index * self.shift_length).astimezone(UTC)
        local_anchor = self.anchor.astimezone(self.zone).replace(tzinfo=None)
        return _local_to_utc(local_anchor + index * self.shift_length, self.zone)

    def shift_index(self, t: datetime) -> int:
        """The number of the shift running at ``t`` (the last one that began at or before it)."""
        index = (t - self.anchor) // self.shift_length
        if self._wall_clock:
            # Clock changes move a local hand-over by at most a few hours, so this runs once or twice.
            while self.shift_start(index) > t:
                index -= 1
            while self.shift_start(index + 1) <= t:
                index += 1
        return index

    def is_running(self, t: datetime) -> bool:
        return self.anchor <= t and (self.until is None or t < self.until)

    def in_window(self, t: datetime) -> bool:
        """Whether ``t`` falls in one of the layer's windows (always, without windows)."""
        if not self.windows:
            return True
        zone = self.zone
        day = t.astimezone(zone).date()
        # A window opened the day before can still be open; one opened on the next local date can
        # contain ``t`` when a clock change sets local time back across midnight (Antarctica/Casey
        # went from 02:00 on 5 March 2010 back to 23:00 on the 4th).
        for candidate in (day - _DAY, day, day + _DAY):
            for window in self.windows:
                if candidate.weekday() in window.days:
                    start, end = window.instance(candidate, zone)
                    if start <= t < end:
                        return True
        return False

    def on_call_at(self, t: datetime) -> str | None:
        """Who this layer alone has on call at ``t``."""
        if not self.is_running(t) or not self.in_window(t):
            return None
        return self.participants[self.shift_index(t) % len(self.participants)]


@dataclass(frozen=True)
class Override:
    """``user`` is on call over ``[start, end)``, replacing whoever the layers have."""

    start: datetime
    end: datetime
    user: str

    def __post_init__(self) -> None:
        _require_aware(self.start, "start")
        _require_aware(self.end, "end")
        if self.end <= self.start:
            raise ValueError("an override must end after it starts")


@dataclass(frozen=True)
class Roster:
    """Layers from lowest to highest priority, and overrides in creation order."""

    layers: tuple[Layer, ...] = ()
    overrides: tuple[Override, ...] = ()


@dataclass(frozen=True)
class Shift:
    """A stretch of the final schedule: ``user`` is on call over ``[start, end)``."""

    start: datetime
    end: datetime
    user: str
    layer: str
    override: bool = False

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


class Gap(NamedTuple):
    """A stretch with nobody on call, ``[start, end)``."""

    start: datetime
    end: datetime

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


def _local_to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    # fold=0 gives the first occurrence of a repeated time and pushes a skipped time forward by the
    # size of the jump (zoneinfo applies the offset in force before the change), as documented above.
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def on_call_at(roster: Roster, t: datetime) -> str | None:
    """Who is on call at instant ``t`` in the final schedule, or None if nobody is."""
    _require_aware(t, "t")
    for override in reversed(roster.overrides):
        if override.start <= t < override.end:
            return override.user
    for layer in reversed(roster.layers):
        user = layer.on_call_at(t)
        if user is not None:
            return user
    return None


# A source of on-call time: disjoint segments sorted by start, each (start, end, user), plus the
# label its shifts carry.
class _Source(NamedTuple):
    segments: list[tuple[datetime, datetime, str]]
    starts: list[datetime]
    layer: str
    override: bool


def _dates(start: datetime, end: datetime, zone: ZoneInfo) -> Iterator[date]:
    """Every local date that can hold a window opening relevant to ``[start, end)``."""
    day = start.astimezone(zone).date() - _DAY
    last = end.astimezone(zone).date() + _DAY
    while day <= last:
        yield day
        day += _DAY


def _window_intervals(layer: Layer, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The union of the layer's window instances, clipped to ``[start, end)``, sorted and disjoint."""
    zone = layer.zone
    pieces = []
    for day in _dates(start, end, zone):
        for window in layer.windows:
            if day.weekday() in window.days:
                lo, hi = window.instance(day, zone)
                lo, hi = max(lo, start), min(hi, end)
                if lo < hi:
                    pieces.append((lo, hi))
    pieces.sort()
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in pieces:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _layer_segments(layer: Layer, start: datetime, end: datetime) -> list[tuple[datetime, datetime, str]]:
    """The layer's own on-call time inside ``[start, end)``."""
    lo = max(start, layer.anchor)
    hi = end if layer.until is None else min(end, layer.until)
    if lo >= hi:
        return []
    rotation = []
    index = layer.shift_index(lo)
    shift_start = layer.shift_start(index)
    while shift_start < hi:
        shift_end = layer.shift_start(index + 1)
        user = layer.participants[index % len(layer.participants)]
        rotation.append((max(shift_start, lo), min(shift_end, hi), user))
        index, shift_start = index + 1, shift_end
    if not layer.windows:
        return rotation
    # Intersect two sorted lists of disjoint intervals.
    windows = _window_intervals(layer, lo, hi)
    out = []
    i = j = 0
    while i < len(rotation) and j < len(windows):
        r_start, r_end, user = rotation[i]
        w_start, w_end = windows[j]
        if max(r_start, w_start) < min(r_end, w_end):
            out.append((max(r_start, w_start), min(r_end, w_end), user))
        if r_end <= w_end:
            i += 1
        else:
            j += 1
    return out


def _check_range(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    _require_aware(start, "start")
    _require_aware(end, "end")
    if end <= start:
        raise ValueError("end must be after start")
    return start.astimezone(UTC), end.astimezone(UTC)


def shifts(roster: Roster, start: datetime, end: datetime) -> list[Shift]:
    """The final schedule over ``[start, end)``: sorted, disjoint shifts, clipped to the range.

    Adjacent stretches of the same user from the same layer (or both from overrides) are merged,
    so a single-person layer shows as one shift rather than one per rotation turn.
    """
    start, end = _check_range(start, end)
    sources: list[_Source] = []
    for layer in roster.layers:
        segments = _layer_segments(layer, start, end)
        sources.append(_Source(segments, [s[0] for s in segments], layer.name, False))
    for override in roster.overrides:
        lo, hi = max(start, override.start), min(end, override.end)
        if lo < hi:
            sources.append(_Source([(lo, hi, override.user)], [lo], OVERRIDE_LAYER, True))

    # Between two consecutive boundaries nothing changes, so the winner at the left edge holds
    # for the whole stretch.
    boundaries = sorted({start, end} | {t for src in sources for seg in src.segments for t in seg[:2]})
    result: list[Shift] = []
    for left, right in pairwise(boundaries):
        for src in reversed(sources):
            k = bisect_right(src.starts, left) - 1
            if k >= 0 and left < src.segments[k][1]:
                user = src.segments[k][2]
                last = result[-1] if result else None
                if (
                    last is not None
                    and last.end == left
                    and (last.user, last.layer, last.override) == (user, src.layer, src.override)
                ):
                    result[-1] = Shift(last.start, right, user, src.layer, src.override)
                else:
                    result.append(Shift(left, right, user, src.layer, src.override))
                break
    return result


def gaps(roster: Roster, start: datetime, end: datetime) -> list[Gap]:
    """Every maximal stretch of ``[start, end)`` with nobody on call, sorted and disjoint."""
    start, end = _check_range(start, end)
    result = []
    cursor = start
    for shift in shifts(roster, start, end):
        if shift.start > cursor:
            result.append(Gap(cursor, shift.start))
        cursor = shift.end
    if cursor < end:
        result.append(Gap(cursor, end))
    return result


def coverage_ratio(roster: Roster, start: datetime, end: datetime) -> float:
    """The share of ``[start, end)`` with someone on call, from 0.0 to 1.0."""
    start, end = _check_range(start, end)
    uncovered = sum((gap.duration for gap in gaps(roster, start, end)), timedelta(0))
    return 1.0 - uncovered / (end - start)
