"""Where domains register background tasks and periodic jobs (declared next to their domain)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from signalfire.core.modules import import_listed

TaskFn = Callable[[Session, dict[str, Any]], None]
PeriodicFn = Callable[[Session, datetime], None]

TASKS: dict[str, TaskFn] = {}
PERIODIC: dict[str, PeriodicJob] = {}

# Every domain module that registers tasks or periodic jobs (a domain without background work has none).
TASK_MODULES = ("signalfire.response.tasks", "signalfire.reporting.tasks", "signalfire.intake.tasks")


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: timedelta
    fn: PeriodicFn


def task(name: str) -> Callable[[TaskFn], TaskFn]:
    def deco(fn: TaskFn) -> TaskFn:
        TASKS[name] = fn
        return fn

    return deco


def periodic(name: str, every: timedelta) -> Callable[[PeriodicFn], PeriodicFn]:
    def deco(fn: PeriodicFn) -> PeriodicFn:
        PERIODIC[name] = PeriodicJob(name, every, fn)
        return fn

    return deco


def load_domain_tasks() -> None:
    """Import each domain's tasks module so its registrations run."""
    import_listed(TASK_MODULES, registry="notify.registry.TASK_MODULES")
