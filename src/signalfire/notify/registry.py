"""Where domains register background tasks and periodic jobs (declared next to their domain)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

TaskFn = Callable[[Session, dict[str, Any]], None]
PeriodicFn = Callable[[Session, datetime], None]

TASKS: dict[str, TaskFn] = {}
PERIODIC: dict[str, PeriodicJob] = {}

DOMAINS = ("access", "audit", "response", "reporting", "exchange", "intake", "readiness")


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
    for domain in DOMAINS:
        module = f"signalfire.{domain}.tasks"
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
