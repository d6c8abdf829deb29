"""Background work of the exchange: the STIX import task, and the sweep that fails imports whose task died."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from signalfire.exchange.stix import jobs
from signalfire.notify.registry import staged_task, sweep


@staged_task(jobs.TASK)
def import_job(factory: sessionmaker[Session], args: dict[str, Any]) -> jobs.Store:
    """Batches commit as they are imported (the progress readers see); the job's end commits with the task's."""
    return jobs.run_import(factory, uuid.UUID(str(args["job_id"])))


@sweep("exchange.stix_import_abandoned")
def fail_abandoned_imports(session: Session) -> int:
    return jobs.fail_abandoned(session)
