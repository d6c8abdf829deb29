"""The placement queue: signals acknowledged on arrival (ingest.receive) are clustered here, in batches.

A request stores the signal with `placement_pending` set and commits: the sender has its receipt after
one insert. The worker's sweep then takes the oldest waiting signals (FOR UPDATE SKIP LOCKED on
PostgreSQL, so several workers never take the same ones; SQLite has one writer anyway), scores their
relevance, places them with matching.place_signals (one linkage over the batch), writes each one's
audit entry and event, and clears the flag, all in one transaction: a worker that dies leaves the
batch waiting, never half placed. Placement of one org is serialised (an advisory lock on PostgreSQL):
two batches clustered side by side would not see each other, and the org's term statistics are a
read-modify-write row.

Plans: the candidate lookups read tables that grow from empty. PostgreSQL plans from statistics, and
with autovacuum off (or before it runs) those say "empty" long after they are not; a nested loop
chosen then fetches thousands of rows per lookup later. So the sweep runs ANALYZE on the intake
tables it grows each time the rows it placed double (from 500), which also invalidates plans cached
on the old statistics.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from signalfire.core.db.session import unit_of_work
from signalfire.intake.ingest import SYSTEM, audit_received, audit_received_many
from signalfire.intake.models import Signal
from signalfire.intake.scoring import inventory_for
from signalfire.notify.models import WebhookEndpoint

log = logging.getLogger("signalfire.intake.placement")

BATCH = 200
# SQLite has one writer: a batch holds the lock every request needs, so it is kept short there.
SQLITE_BATCH = 20
# Tables the placement grows, analysed as they grow (see the module docstring).
ANALYZED_TABLES = ("intake_signal", "intake_signal_band", "intake_cluster", "intake_decision", "intake_match")
FIRST_ANALYZE_AT = 500


def waiting(session: Session, limit: int) -> list[Signal]:
    """The oldest signals waiting for placement, locked for this transaction (skipping those another
    worker holds). `where(Signal.placement_pending)` renders as the partial index's own predicate."""
    stmt = (
        select(Signal)
        .where(Signal.placement_pending)
        .order_by(Signal.received_at, Signal.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.execute(stmt).scalars())


def _org_lock(session: Session, org_id: uuid.UUID) -> bool:
    """Serialise one org's placements across workers (PostgreSQL; SQLite has one writer)."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    key = int.from_bytes(
        hashlib.blake2b(f"intake.placement:{org_id}".encode(), digest_size=8).digest(), "big", signed=True
    )
    return bool(session.execute(select(func.pg_try_advisory_xact_lock(key))).scalar_one())


def place_batch(session: Session, signals: Sequence[Signal]) -> None:
    """Score, cluster, audit and announce `signals` (of one org, waiting), then mark them placed."""
    from signalfire.intake.matching import place_signals, register_signals  # scipy: imported when first needed

    if not signals:
        return
    _score(session, signals)
    # A person may have put a waiting signal in a cluster already (merge, duplicate): it only needs
    # to become findable; the others are placed together.
    unplaced = [s for s in signals if s.cluster_id is None]
    placed = [s for s in signals if s.cluster_id is not None]
    if unplaced:
        place_signals(session, unplaced)
    if placed:
        register_signals(session, placed)
    announce = _has_endpoints(session, signals[0].org_id)
    for signal in signals:
        signal.placement_pending = False  # one batched UPDATE at the flush record_many starts with
    # One flush and one multi-row INSERT for the batch's audit entries (one flush and round trip each before).
    audit_received_many(session, signals, announce=announce)


def _has_endpoints(session: Session, org_id: uuid.UUID) -> bool:
    """Whether the org has any active webhook endpoint: asked once per batch instead of once per event."""
    stmt = select(WebhookEndpoint.id).where(WebhookEndpoint.org_id == org_id, WebhookEndpoint.active.is_(True))
    return session.execute(stmt.limit(1)).first() is not None


def _score(session: Session, signals: Sequence[Signal]) -> None:
    from signalfire.intake.normalize import normalize_for_matching

    inventory = inventory_for(session, signals[0].org_id)
    for signal in signals:
        relevance = inventory.match("", normalized=normalize_for_matching(f"{signal.title}\n{signal.text}"))
        signal.relevance, signal.matched_models = relevance.score, relevance.models


def place_waiting(session: Session, limit: int | None = None) -> int:
    """One batch of the queue: the oldest waiting signals of one org. Returns how many were placed."""
    # Imported before the first query opens the transaction: scipy takes seconds to import on a busy
    # machine, and on SQLite every transaction holds the one write lock that requests wait for.
    from signalfire.intake import matching  # noqa: F401

    if limit is None:
        limit = SQLITE_BATCH if session.get_bind().dialect.name == "sqlite" else BATCH
    batch = waiting(session, limit)
    if not batch:
        return 0
    org_id = batch[0].org_id
    mine = [s for s in batch if s.org_id == org_id]
    if not _org_lock(session, org_id):
        return 0  # another worker is placing this org's signals; they are taken on a later pass
    try:
        with session.begin_nested():
            place_batch(session, mine)
    except Exception:
        log.exception("placing %d signals failed; placing them one by one", len(mine))
        for signal in mine:
            _place_alone(session, signal)
    _analyze_as_grown(session, len(mine))
    return len(mine)


def _place_alone(session: Session, signal: Signal) -> None:
    try:
        with session.begin_nested():
            place_batch(session, [signal])
    except Exception:
        # Set aside rather than retried forever: it stays in the queue unclustered, and its audit entry
        # says so, so a person sees it and nothing blocks the signals behind it.
        log.exception("placing signal %s failed; left unclustered", signal.id)
        signal.placement_pending = False
        audit_received(session, signal, actor=None, actor_label=signal.received_by or SYSTEM)


class _Growth:
    """Rows placed by this process since its last ANALYZE, and the threshold for the next one."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.placed = 0
        self.next_at = FIRST_ANALYZE_AT


_growth = _Growth()


def _analyze_as_grown(session: Session, placed: int) -> None:
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite's planner reads no statistics unless ANALYZE ran once; its plans here use indexes
    with _growth.lock:
        _growth.placed += placed
        if _growth.placed < _growth.next_at:
            return
        _growth.next_at = _growth.placed * 2
    for table in ANALYZED_TABLES:
        session.connection().exec_driver_sql(f"ANALYZE {table}")


def drain(factory: sessionmaker[Session], limit: int | None = None) -> int:
    """Place everything waiting (tests, the CLI). Returns how many signals were placed."""
    total = 0
    while True:
        with unit_of_work(factory) as session:
            n = place_waiting(session, limit)
        total += n
        if n == 0:
            return total
