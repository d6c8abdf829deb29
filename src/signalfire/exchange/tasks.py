"""Background work of the exchange: the STIX import task, the sweep that fails imports whose task died, and
the retention of finished imports (their bundles, then their rows)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from signalfire.core.settings import get_settings
from signalfire.exchange.stix import jobs
from signalfire.notify.registry import DeadTaskAlert, periodic, staged_task, sweep

log = logging.getLogger("signalfire.worker")

PRUNE_IMPORTS_EVERY = timedelta(minutes=30)


def _import_dead(args: dict[str, Any]) -> str:
    page = f"{get_settings().public_base_url.rstrip('/')}/exchange/import/jobs/{args.get('job_id', '')}"
    return (
        "The import job is marked failed (by the worker within seconds) and the person who started it sees the "
        f"reason on the job page: {page}\nThe drafts already imported stay; importing the same bundle again "
        "finishes the rest and leaves those unchanged. If imports keep failing, check the error above and the "
        "worker's log (a worker that was stopped or ran out of memory during the import, for example)."
    )


@staged_task(jobs.TASK, alert=DeadTaskAlert("a STIX import job", _import_dead))
def import_job(factory: sessionmaker[Session], args: dict[str, Any]) -> jobs.Store:
    """Batches commit as they are imported (the progress readers see); the job's end commits with the task's."""
    return jobs.run_import(factory, uuid.UUID(str(args["job_id"])))


@sweep("exchange.stix_import_abandoned")
def fail_abandoned_imports(session: Session) -> int:
    return jobs.fail_abandoned(session)


@periodic("exchange.prune_import_jobs", every=PRUNE_IMPORTS_EVERY)
def prune_import_jobs(session: Session, now: datetime) -> None:
    pruned = jobs.prune_finished(session, now, get_settings().retention)
    if any(pruned.values()):
        log.info("pruned %s", ", ".join(f"{n} {kind}" for kind, n in pruned.items() if n))
