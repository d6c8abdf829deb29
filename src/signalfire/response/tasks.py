"""Background work of the response channel: escalation checks, the escalation sweep, sketch compaction."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from signalfire.core.clock import utcnow
from signalfire.notify.registry import DeadTaskAlert, periodic, task
from signalfire.response import paging, rollup


@task(
    paging.CHECK_TASK,
    alert=DeadTaskAlert(
        "an escalation check of a page",
        lambda args: (
            "The escalation sweep (every minute) processes an overdue page in its place. Open the incident to "
            "confirm that the next person was paged, and page them by hand if not."
        ),
    ),
)
def escalation_check(session: Session, args: dict[str, Any]) -> None:
    """Run when the next notification of one page is due (enqueued with run_after = that instant)."""
    paging.check_page(session, uuid.UUID(str(args["page_id"])), utcnow())


@periodic(paging.SWEEP_JOB, every=timedelta(minutes=1))
def escalation_sweep(session: Session, now: datetime) -> None:
    """Safety net: any page whose check is overdue (a lost task, a worker down) is processed now."""
    paging.run_escalations(session, now)


@periodic(rollup.COMPACT_JOB, every=timedelta(minutes=1))
def rollup_compact(session: Session, now: datetime) -> None:
    """Fold the difference rows incident changes appended to the metric sketches (reads stay short)."""
    while rollup.compact(session) == rollup.COMPACT_BATCH:
        pass
