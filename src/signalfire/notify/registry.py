"""Where domains register background tasks and periodic jobs (declared next to their domain)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from signalfire.core.modules import import_listed

TaskFn = Callable[[Session, dict[str, Any]], None]
# A staged task gets the session factory and its arguments, does its outside work (network) with no
# transaction open, and returns what to store, which runs in the transaction that marks the job done.
StagedTaskFn = Callable[[sessionmaker[Session], dict[str, Any]], Callable[[Session], None]]
PeriodicFn = Callable[[Session, datetime], None]
# A sweep drains a queue kept in a domain's own rows (e.g. signals waiting to be clustered): each worker
# loop runs it in a transaction of its own; it returns how many items it handled (0: nothing to do).
SweepFn = Callable[[Session], int]

TASKS: dict[str, TaskFn] = {}
STAGED_TASKS: dict[str, StagedTaskFn] = {}
# What the org's admins are told when a task of this kind dies (its retries used up), by task name.
DEAD_TASK_ALERTS: dict[str, DeadTaskAlert] = {}
PERIODIC: dict[str, PeriodicJob] = {}
SWEEPS: dict[str, SweepFn] = {}

# Every domain module that registers tasks or periodic jobs (a domain without background work has none).
TASK_MODULES = (
    "signalfire.notify.tasks",
    "signalfire.audit.tasks",
    "signalfire.response.tasks",
    "signalfire.reporting.tasks",
    "signalfire.notices.tasks",
    "signalfire.intake.tasks",
    "signalfire.federation.tasks",
    "signalfire.exchange.tasks",
)


@dataclass(frozen=True)
class DeadTaskAlert:
    """How a task kind is named to its org's admins when it dies, and what they should do about it.

    ``what`` names one task in words ("a STIX import job"); ``then`` says what became of the work and what
    to do, given the task's arguments (e.g. to link the page of the job it ran).
    """

    what: str
    then: Callable[[dict[str, Any]], str]


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: timedelta
    fn: PeriodicFn


def _alert(name: str, alert: DeadTaskAlert | None) -> None:
    if alert is not None:
        DEAD_TASK_ALERTS[name] = alert


def task(name: str, *, alert: DeadTaskAlert | None = None) -> Callable[[TaskFn], TaskFn]:
    """A task run in the transaction that marks its job done. ``alert``: what the org's admins are told
    when it dies (every task of the product has one; without, the worker's generic wording is used)."""

    def deco(fn: TaskFn) -> TaskFn:
        TASKS[name] = fn
        _alert(name, alert)
        return fn

    return deco


def staged_task(name: str, *, alert: DeadTaskAlert | None = None) -> Callable[[StagedTaskFn], StagedTaskFn]:
    """A task with work that must not run inside a transaction (e.g. an HTTP fetch); see StagedTaskFn."""

    def deco(fn: StagedTaskFn) -> StagedTaskFn:
        STAGED_TASKS[name] = fn
        _alert(name, alert)
        return fn

    return deco


def periodic(name: str, every: timedelta) -> Callable[[PeriodicFn], PeriodicFn]:
    def deco(fn: PeriodicFn) -> PeriodicFn:
        PERIODIC[name] = PeriodicJob(name, every, fn)
        return fn

    return deco


def sweep(name: str) -> Callable[[SweepFn], SweepFn]:
    """Run on every worker loop, not on a schedule: for queues that must drain within a second or so."""

    def deco(fn: SweepFn) -> SweepFn:
        SWEEPS[name] = fn
        return fn

    return deco


def load_domain_tasks() -> None:
    """Import each domain's tasks module so its registrations run."""
    import_listed(TASK_MODULES, registry="notify.registry.TASK_MODULES")
