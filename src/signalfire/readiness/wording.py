"""How readiness words dates, durations and counts (summaries name no records, only these)."""

from __future__ import annotations

from datetime import datetime, timedelta


def day(value: datetime) -> str:
    return value.strftime("%Y-%m-%d")


def minute(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def span(seconds: float | timedelta) -> str:
    """ "45 min", "6 h 30 min", "3 d 4 h"."""
    total = round(seconds.total_seconds() if isinstance(seconds, timedelta) else seconds)
    total = max(total, 0)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def count(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def listing(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]
