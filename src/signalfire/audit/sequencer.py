"""The sequencer: the one writer of the Merkle tree, run by the worker under a lease.

Each pass, in one transaction: lock the `audit_tree` row (only sequencers touch it, never request
writers), take or renew the lease, read committed entries without a position in arrival order, give them
the next positions and their leaf hashes, extend the tree from its stored right edge, and sign a
checkpoint. An entry committed late (a lower `seq` than one already integrated) simply gets a later
position. The signed checkpoint commits in the same transaction as the positions it covers, so every
positioned entry is covered by a checkpoint; `verify` reports one that is not as forged.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from signalfire.audit import keys
from signalfire.audit.chain import leaf_data, raw_entries, raw_entry
from signalfire.audit.merkle import CompactRange, leaf_hash
from signalfire.audit.models import AuditCheckpoint, AuditEvent, AuditTree
from signalfire.audit.note import Checkpoint, Signer, sign_checkpoint
from signalfire.core.clock import utcnow
from signalfire.core.db.session import unit_of_work
from signalfire.core.settings import Settings

log = logging.getLogger("signalfire.audit.sequencer")


def _tree(session: Session) -> AuditTree:
    tree = session.execute(
        select(AuditTree).where(AuditTree.id == 1).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if tree is None:  # a database created outside the migrations
        tree = AuditTree(id=1, size=0, root_hash=CompactRange().root().hex(), compact=[])
        session.add(tree)
        session.flush()
    return tree


# PostgreSQL: the whole batch in one statement (an executemany is one round of protocol per entry).
_POSITION_PG = text(
    "UPDATE audit_event SET leaf_index = v.leaf_index, leaf_hash = v.leaf_hash"
    " FROM unnest(CAST(:seq AS bigint[]), CAST(:leaf_index AS bigint[]), CAST(:leaf_hash AS varchar[]))"
    " AS v(seq, leaf_index, leaf_hash) WHERE audit_event.seq = v.seq"
)


def _position(session: Session, updates: list[dict[str, object]]) -> None:
    """Give each entry its position and leaf hash: one UPDATE on PostgreSQL, by primary key elsewhere."""
    if session.get_bind().dialect.name == "postgresql":
        columns = {k: [u[k] for u in updates] for k in ("seq", "leaf_index", "leaf_hash")}
        session.execute(_POSITION_PG, columns)
    else:  # SQLite: in-process, an executemany costs no round trips
        session.execute(update(AuditEvent), updates)


def integrate(
    session: Session, *, signer: Signer, origin: str, holder: str, batch: int = 5000, lease_seconds: float = 30.0
) -> int | None:
    """One pass. Returns how many entries were integrated, or None when another sequencer holds the lease."""
    now = utcnow()
    tree = _tree(session)
    if tree.lease_holder not in (None, holder) and tree.lease_until is not None and tree.lease_until > now:
        return None
    tree.lease_holder = holder
    tree.lease_until = now + timedelta(seconds=lease_seconds)
    # The lease and the new tree state go out in one UPDATE at commit, not an autoflush here.
    with session.no_autoflush:
        pending = session.execute(
            raw_entries().where(AuditEvent.leaf_index.is_(None)).order_by(AuditEvent.seq).limit(batch)
        ).all()
    rng = CompactRange(tree.size, [bytes.fromhex(h) for h in tree.compact])
    updates: list[dict[str, object]] = []
    for row in pending:
        entry = raw_entry(row)
        h = leaf_hash(leaf_data(entry, rng.size))
        updates.append({"seq": entry.seq, "leaf_index": rng.size, "leaf_hash": h.hex()})
        rng.append(h)
    if not updates and session.execute(select(AuditCheckpoint.size).limit(1)).first() is not None:
        return 0  # nothing new, and the empty tree's checkpoint exists
    if updates:
        with session.no_autoflush:
            _position(session, updates)
    root = rng.root()
    tree.size, tree.root_hash, tree.compact = rng.size, root.hex(), [h.hex() for h in rng.hashes]
    note = sign_checkpoint(Checkpoint(origin, rng.size, root), signer)
    session.add(
        AuditCheckpoint(size=rng.size, root_hash=root.hex(), note=note, key_id=signer.verifier.id.hex(), created_at=now)
    )
    return len(updates)


class Sequencer:
    def __init__(self, factory: sessionmaker[Session], settings: Settings, holder: str | None = None) -> None:
        self.factory = factory
        self.settings = settings
        self.signer = keys.signer(settings)
        self.origin = keys.origin(settings)
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._busy = False  # the last pass integrated entries
        self._has_checkpoint = False

    def run_once(self) -> int | None:
        cfg = self.settings.audit
        with unit_of_work(self.factory) as session:
            # Idle: nothing to integrate and a checkpoint exists; skip the lock and the lease write. After a
            # pass that found work, go straight to it (under load the look costs a round trip per pass).
            if not self._busy:
                pending = session.execute(select(AuditEvent.seq).where(AuditEvent.leaf_index.is_(None)).limit(1))
                if pending.first() is None and self._checkpointed(session):
                    return 0
            n = integrate(
                session,
                signer=self.signer,
                origin=self.origin,
                holder=self.holder,
                batch=cfg.sequencer_batch,
                lease_seconds=cfg.sequencer_lease_seconds,
            )
        self._busy = bool(n)
        return n

    def _checkpointed(self, session: Session) -> bool:
        """Whether the log has a signed checkpoint (the empty tree's at least); once true, it stays true."""
        if not self._has_checkpoint:
            self._has_checkpoint = session.execute(select(AuditCheckpoint.size).limit(1)).first() is not None
        return self._has_checkpoint

    def release(self) -> None:
        """Give the lease up on a clean stop, so a restarted worker need not wait for it to expire."""
        try:
            with unit_of_work(self.factory) as session:
                session.execute(
                    update(AuditTree)
                    .where(AuditTree.id == 1, AuditTree.lease_holder == self.holder)
                    .values(lease_holder=None, lease_until=None)
                )
        except Exception:  # shutting down: an expiring lease is the fallback
            log.exception("could not release the sequencer lease")

    def drain(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Integrate everything pending now (tests, `signalfire audit sequence`, `worker --once`).

        ``progress(done, total)``, if given, is told how many entries are integrated: once before the first
        pass (``total`` is what is pending then), after each pass (each its own transaction of up to
        ``audit.sequencer_batch`` entries) and never after a pass that integrated nothing. Entries written
        during the drain are integrated too and raise ``total`` with ``done``."""
        total = 0
        pending = 0
        if progress is not None:
            with unit_of_work(self.factory) as session:
                pending = session.execute(
                    select(func.count()).select_from(AuditEvent).where(AuditEvent.leaf_index.is_(None))
                ).scalar_one()
            progress(0, pending)
        while (n := self.run_once()) is not None and n > 0:
            total += n
            if progress is not None:
                progress(total, max(pending, total))
        if n is not None:
            self.release()
        return total

    def run_forever(self, stop: threading.Event) -> None:
        log.info("audit sequencer %s started", self.holder)
        interval = self.settings.audit.sequencer_interval_seconds
        while not stop.is_set():
            try:
                n = self.run_once()
            except Exception:  # the database may be briefly unavailable; keep the loop alive
                log.exception("audit sequencer error")
                n = 0
            if not n or n < self.settings.audit.sequencer_batch:
                stop.wait(interval)
        self.release()
        log.info("audit sequencer %s stopped", self.holder)


def start_thread(factory: sessionmaker[Session], settings: Settings) -> tuple[threading.Event, threading.Thread]:
    stop = threading.Event()
    seq = Sequencer(factory, settings)
    thread = threading.Thread(target=seq.run_forever, args=(stop,), name="signalfire-audit-sequencer", daemon=True)
    thread.start()
    return stop, thread
