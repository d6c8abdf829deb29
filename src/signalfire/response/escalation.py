"""Escalation policies and the pure plan of who gets paged when.

A policy is a list of levels. Paging starts at level 0; if nobody acknowledges within that
level's ``wait``, level 1 is notified, and so on. After the last level's wait the whole chain runs
again, ``repeat`` more times (the last level's wait is therefore only used when ``repeat > 0``).

Nothing here keeps a timer. The scheduler stores ``paged_at`` and ``acknowledged_at`` and, at each
wake-up, asks ``due_notifications`` for everything that should have gone out by now, sends the
ones it has not sent yet (keyed by ``(cycle, level_index)``), and sleeps until ``next_wakeup``.
A missed or late run therefore sends late instead of never, and a restart loses nothing (the
failure Grafana OnCall users reported with volatile ETA tasks).

Snapshot the policy onto the page when it starts (``to_snapshot``), so editing the policy
mid-incident cannot change an escalation already running.

Rule at the boundary: a notification due at instant ``at`` is suppressed when the page was
acknowledged at or before ``at``; an acknowledgement exactly at the boundary counts as in time.
The first notification (level 0 of cycle 0) is the page itself and is always sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_REPEAT = 9
"""Upper bound on ``repeat`` (PagerDuty allows the same), so a bad policy cannot page forever."""

_MICROSECOND = timedelta(microseconds=1)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


@dataclass(frozen=True)
class Level:
    """Notify ``targets`` (opaque ids: users, or schedules the caller resolves), then wait."""

    targets: tuple[str, ...]
    wait: timedelta

    def __post_init__(self) -> None:
        if not self.targets:
            raise ValueError("an escalation level needs at least one target")
        if self.wait <= timedelta(0):
            raise ValueError("an escalation level's wait must be positive")


@dataclass(frozen=True)
class EscalationPolicy:
    levels: tuple[Level, ...]
    repeat: int = 0

    def __post_init__(self) -> None:
        if not self.levels:
            raise ValueError("an escalation policy needs at least one level")
        if not 0 <= self.repeat <= MAX_REPEAT:
            raise ValueError(f"repeat must be between 0 and {MAX_REPEAT}")

    @property
    def cycle_length(self) -> timedelta:
        """Time from one pass's level 0 to the next pass's level 0."""
        return sum((level.wait for level in self.levels), timedelta(0))

    def to_snapshot(self) -> dict[str, object]:
        """A JSON-ready copy to store with the page (waits in whole microseconds, exact)."""
        return {
            "repeat": self.repeat,
            "levels": [
                {"targets": list(level.targets), "wait_us": level.wait // _MICROSECOND} for level in self.levels
            ],
        }

    @classmethod
    def from_snapshot(cls, data: Mapping[str, object]) -> EscalationPolicy:
        """Rebuild a policy from ``to_snapshot`` output; raises TypeError or ValueError on anything else."""
        repeat, levels = data.get("repeat"), data.get("levels")
        if not isinstance(repeat, int) or not isinstance(levels, Sequence) or isinstance(levels, str):
            raise TypeError("not an escalation policy snapshot")
        parsed = []
        for item in levels:
            if not isinstance(item, Mapping):
                raise TypeError("not an escalation level snapshot")
            targets, wait_us = item.get("targets"), item.get("wait_us")
            if (
                not isinstance(targets, Sequence)
                or isinstance(targets, str)
                or not all(isinstance(t, str) for t in targets)
                or not isinstance(wait_us, int)
            ):
                raise TypeError("not an escalation level snapshot")
            parsed.append(Level(tuple(str(t) for t in targets), timedelta(microseconds=wait_us)))
        return cls(tuple(parsed), repeat)


@dataclass(frozen=True)
class Notification:
    """Notify ``targets`` (level ``level_index`` of pass ``cycle``) at ``at``."""

    level_index: int
    targets: tuple[str, ...]
    at: datetime
    cycle: int = 0


def schedule(policy: EscalationPolicy, paged_at: datetime) -> list[Notification]:
    """Every notification the policy would send if nobody ever acknowledged, in time order."""
    _require_aware(paged_at, "paged_at")
    plan = []
    for cycle in range(policy.repeat + 1):
        at = paged_at + cycle * policy.cycle_length
        for index, level in enumerate(policy.levels):
            plan.append(Notification(index, level.targets, at, cycle))
            at += level.wait
    return plan


def _wanted(policy: EscalationPolicy, paged_at: datetime, acknowledged_at: datetime | None) -> list[Notification]:
    """The schedule minus what an acknowledgement at ``acknowledged_at`` suppresses."""
    if acknowledged_at is not None:
        _require_aware(acknowledged_at, "acknowledged_at")
        if acknowledged_at < paged_at:
            raise ValueError("acknowledged_at is before paged_at")
    plan = schedule(policy, paged_at)
    if acknowledged_at is None:
        return plan
    return [n for n in plan if (n.cycle, n.level_index) == (0, 0) or acknowledged_at > n.at]


def due_notifications(
    policy: EscalationPolicy,
    *,
    paged_at: datetime,
    acknowledged_at: datetime | None,
    now: datetime,
) -> list[Notification]:
    """Every notification that should have been sent by ``now`` (inclusive), in time order."""
    _require_aware(now, "now")
    return [n for n in _wanted(policy, paged_at, acknowledged_at) if n.at <= now]


def next_wakeup(
    policy: EscalationPolicy,
    paged_at: datetime,
    acknowledged_at: datetime | None,
    now: datetime,
) -> datetime | None:
    """When the scheduler must look again: the next notification after ``now``, or None.

    None means the escalation is over: acknowledged, or every level of every pass already due.
    """
    _require_aware(now, "now")
    for notification in _wanted(policy, paged_at, acknowledged_at):
        if notification.at > now:
            return notification.at
    return None
