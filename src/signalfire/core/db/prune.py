"""Bounded deletion of the oldest bookkeeping rows (rate-limit windows, idempotency records, finished outbox
jobs, finished STIX import jobs and their bundles)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session


def delete_oldest(
    session: Session,
    model: type[Any],
    keys: tuple[InstrumentedAttribute[Any], ...],
    at: InstrumentedAttribute[Any],
    before: datetime,
    limit: int,
    *where: ColumnElement[bool],
) -> int:
    """Delete up to ``limit`` rows of ``model`` whose ``at`` is before ``before`` (and ``where`` holds),
    oldest first; returns how many went. One bounded DELETE, so a caller can batch without long locks."""
    oldest = select(*keys).where(at < before, *where).order_by(at).limit(limit)
    match = keys[0].in_(oldest) if len(keys) == 1 else tuple_(*keys).in_(oldest)
    result = session.execute(delete(model).where(match).execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


def in_batches(prune: Callable[[int], int], batch_size: int, max_batches: int) -> int:
    """Call ``prune(batch_size)`` until a batch comes back short or ``max_batches`` ran; returns the total.
    Each call is one bounded DELETE, so one run holds no lock for long and deletes a bounded number of rows."""
    total = 0
    for _ in range(max_batches):
        deleted = prune(batch_size)
        total += deleted
        if deleted < batch_size:
            break
    return total
