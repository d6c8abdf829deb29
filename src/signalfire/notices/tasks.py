"""Notices' background work: reminders and escalations, every minute."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from signalfire.notices import reminders
from signalfire.notify.registry import periodic


@periodic("notices.reminder_sweep", every=timedelta(minutes=1))
def reminder_sweep(session: Session, now: datetime) -> None:
    """Remind the org of a notice whose due time is near, and escalate one that is overdue."""
    reminders.sweep(session, now)
