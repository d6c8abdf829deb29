"""Housekeeping of bookkeeping tables that grow with traffic: rate-limit windows, idempotency records and
finished outbox jobs are pruned after their retention (``SIGNALFIRE_RETENTION__...``), in bounded batches.
Finished STIX import jobs are pruned by their own domain's periodic job (``exchange.tasks``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from signalfire.core.db.prune import in_batches
from signalfire.core.settings import RetentionSettings, get_settings
from signalfire.core.web import idempotency, ratelimit
from signalfire.notify.models import JobStatus
from signalfire.notify.outbox import prune_finished
from signalfire.notify.registry import periodic

log = logging.getLogger("signalfire.worker")

PRUNE_EVERY = timedelta(minutes=5)


def prune_bookkeeping(session: Session, now: datetime, settings: RetentionSettings) -> dict[str, int]:
    """Delete what has outlived its retention; returns how many rows went, per kind."""
    cutoffs = {
        "rate_limit_windows": now - timedelta(hours=settings.rate_limit_window_hours),
        "idempotency_records": now - timedelta(days=settings.idempotency_key_days),
        "outbox_done": now - timedelta(days=settings.outbox_done_days),
        "outbox_dead": now - timedelta(days=settings.outbox_dead_days),
    }
    pruners: dict[str, Callable[[int], int]] = {
        "rate_limit_windows": lambda n: ratelimit.prune(session, cutoffs["rate_limit_windows"], n),
        "idempotency_records": lambda n: idempotency.prune(session, cutoffs["idempotency_records"], n),
        "outbox_done": lambda n: prune_finished(session, JobStatus.done, cutoffs["outbox_done"], n),
        "outbox_dead": lambda n: prune_finished(session, JobStatus.dead, cutoffs["outbox_dead"], n),
    }
    return {kind: in_batches(prune, settings.batch_size, settings.max_batches) for kind, prune in pruners.items()}


@periodic("notify.prune_bookkeeping", every=PRUNE_EVERY)
def prune_bookkeeping_job(session: Session, now: datetime) -> None:
    pruned = prune_bookkeeping(session, now, get_settings().retention)
    if any(pruned.values()):
        log.info("pruned %s", ", ".join(f"{n} {kind}" for kind, n in pruned.items() if n))
