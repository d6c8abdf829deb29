"""Reporting's background work: the deadline sweep, every minute."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from signalfire.notify.registry import periodic
from signalfire.reporting import reminders


@periodic("reporting.deadline_sweep", every=timedelta(minutes=1))
def deadline_sweep(session: Session, now: datetime) -> None:
    """Recompute changed incidents, mark late obligations, send due reminders and escalations."""
    reminders.sweep(session, now)
