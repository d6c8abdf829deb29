"""The notice clock, pure: a due time from the moment a crossing was known and the framework's allowance,
and where a notice stands against it. Nothing here reads the wall clock; callers pass ``now``.

A capability-threshold notice is not an incident report, so it does not go through the regime engine
(reporting/rules/deadlines.py): the allowance is the org's own commitment, counted as elapsed time in UTC,
with no working-day or time-zone rule to apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

# Longest allowance a framework may declare: a year. Longer is a typo, and would overflow nothing but help
# nobody (a "notice within 10 years" is no commitment).
MAX_ALLOWANCE = timedelta(days=366)


class ClockState(StrEnum):
    RUNNING = "running"
    OVERDUE = "overdue"
    MET = "met"
    LATE = "late"

    @property
    def label(self) -> str:
        return {"running": "Due", "overdue": "Overdue", "met": "Sent on time", "late": "Sent late"}[self.value]


@dataclass(frozen=True)
class Standing:
    state: ClockState
    due_at: datetime
    # Time left (running), over (overdue, late) or to spare (met); never negative.
    margin: timedelta


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)


def due_at(known_at: datetime, allowance: timedelta) -> datetime:
    """When the notice is due: ``known_at`` plus the allowance, as elapsed time in UTC."""
    if allowance <= timedelta(0):
        raise ValueError("the allowance must be positive")
    if allowance > MAX_ALLOWANCE:
        raise ValueError("the allowance must be at most a year")
    return _utc(known_at, "known_at") + allowance


def standing(due: datetime, sent_at: datetime | None, now: datetime) -> Standing:
    """Where a notice stands at ``now``: running or overdue until sent, then met or late for good."""
    due = _utc(due, "due")
    now = _utc(now, "now")
    if sent_at is not None:
        sent = _utc(sent_at, "sent_at")
        if sent <= due:
            return Standing(ClockState.MET, due, due - sent)
        return Standing(ClockState.LATE, due, sent - due)
    if now <= due:
        return Standing(ClockState.RUNNING, due, due - now)
    return Standing(ClockState.OVERDUE, due, now - due)
