"""API schemas of My work."""

from __future__ import annotations

from datetime import datetime

from signalfire.core.schemas import Out


class WorkItemOut(Out):
    kind: str
    title: str
    detail: str
    href: str
    when: datetime | None
    urgent: bool


class MyWorkOut(Out):
    now: datetime
    total: int
    counts: dict[str, int]
    items: list[WorkItemOut]
