"""The audit log: entries appended without a shared row, a Merkle tree the sequencer grows, checkpoints.

Writers only INSERT into `audit_event` (its `seq` comes from the database's own counter, an identity
sequence on PostgreSQL and the rowid on SQLite, neither a row lock). The sequencer, alone under a lease
on `audit_tree`, later gives each entry its `leaf_index` and `leaf_hash` and signs a checkpoint.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from signalfire.core.db.base import Base, IdMixin

_BIG = BigInteger().with_variant(Integer(), "sqlite")


class AuditEvent(Base):
    """One entry. Every audited read and change inserts one, so it carries only the indexes the product
    reads by (each one is paid on every insert and again when the sequencer positions the entry): the
    primary key, `id` (proofs by entry id), `(org_id, seq)` (an org's audit view, newest first) and
    `leaf_index` (verify, proofs), and the partial index of the entries still without a position.
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_org_id_seq", "org_id", "seq"),
        # The sequencer's queue: only entries without a position, in arrival order. Without it the
        # planner may walk the primary key past every positioned entry to find them (seen: every pass
        # read the whole table once statistics went stale, and autovacuum may be off).
        Index(
            "ix_audit_event_pending",
            "seq",
            postgresql_where=text("leaf_index IS NULL"),
            sqlite_where=text("leaf_index IS NULL"),
        ),
    )

    # Arrival order, from the database's counter: may have gaps (rolled-back writers); not the log position.
    seq: Mapped[int] = mapped_column(_BIG, primary_key=True, autoincrement=True)
    id: Mapped[uuid.UUID] = mapped_column(unique=True)
    occurred_at: Mapped[datetime]
    actor_user_id: Mapped[uuid.UUID | None]
    # The actor's name as it was at the time; users can be renamed later.
    actor_label: Mapped[str] = mapped_column(String(300))
    org_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(String(100))
    target_type: Mapped[str] = mapped_column(String(60))
    target_id: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[dict[str, Any]]
    request_id: Mapped[str | None] = mapped_column(String(64))
    # The hash this entry had in the former hash chain (entries migrated from it), kept under the leaf hash.
    legacy_hash: Mapped[str | None] = mapped_column(String(64))
    # Set once by the sequencer: the 0-based position in the Merkle tree and RFC 9162 leaf hash (hex).
    leaf_index: Mapped[int | None] = mapped_column(_BIG, unique=True)
    leaf_hash: Mapped[str | None] = mapped_column(String(64))


class AuditTree(Base):
    """The sequencer's state (one row): tree size, root and right edge, and the single-writer lease."""

    __tablename__ = "audit_tree"

    id: Mapped[int] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(_BIG)
    root_hash: Mapped[str] = mapped_column(String(64))
    # Roots of the perfect subtrees along the right edge (hex, largest first): appends need nothing else.
    compact: Mapped[list[str]]
    lease_holder: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None]


class AuditCheckpoint(Base):
    """A signed checkpoint (C2SP tlog-checkpoint note), one per integrated batch."""

    __tablename__ = "audit_checkpoint"

    size: Mapped[int] = mapped_column(_BIG, primary_key=True, autoincrement=False)
    root_hash: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(index=True)


class AuditWitness(IdMixin, Base):
    """Another party that cosigns checkpoints after checking them consistent with the last one it saw."""

    __tablename__ = "audit_witness"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    # Its cosignature verifier key, "<name>+<hex id>+<base64(0x04 || key)>".
    vkey: Mapped[str] = mapped_column(String(400))
    # Its tlog-witness add-checkpoint URL; None for a witness that is handed checkpoints by hand.
    url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]


class AuditCosignature(IdMixin, Base):
    __tablename__ = "audit_cosignature"
    __table_args__ = (UniqueConstraint("witness_id", "checkpoint_size"),)

    witness_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("audit_witness.id", ondelete="CASCADE"))
    checkpoint_size: Mapped[int] = mapped_column(_BIG, ForeignKey("audit_checkpoint.size"), index=True)
    # The signature line exactly as the witness returned it.
    line: Mapped[str] = mapped_column(Text)
    cosigned_at: Mapped[datetime]
