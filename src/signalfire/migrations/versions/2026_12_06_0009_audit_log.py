"""audit: the hash chain becomes a Merkle-tree log appended without a shared row

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

Entries keep their id, seq, occurred_at and every field; the chain hash of each moves to legacy_hash
(under the new leaf hash, so the tree also commits to the old chain). Their positions are left empty:
the sequencer integrates them first, in seq order, so entry seq N becomes leaf N-1 and nothing is
re-dated. The audit_head row that serialised every writer is dropped.
"""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa
from alembic import op

import signalfire.core.db.base

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_UTC = signalfire.core.db.base.UTCDateTime(timezone=True)
EMPTY_ROOT = hashlib.sha256(b"").hexdigest()


def upgrade() -> None:
    is_pg = op.get_bind().dialect.name == "postgresql"
    if is_pg:  # writers take seq from a sequence (SQLite's INTEGER PRIMARY KEY is already the rowid)
        op.execute("CREATE SEQUENCE audit_event_seq_seq OWNED BY audit_event.seq")
        op.execute("SELECT setval('audit_event_seq_seq', COALESCE((SELECT max(seq) FROM audit_event), 0) + 1, false)")
        op.execute("ALTER TABLE audit_event ALTER COLUMN seq SET DEFAULT nextval('audit_event_seq_seq')")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("legacy_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("leaf_index", _BIG, nullable=True))
        batch_op.add_column(sa.Column("leaf_hash", sa.String(length=64), nullable=True))
    op.execute("UPDATE audit_event SET legacy_hash = hash")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("hash")
        batch_op.create_unique_constraint(batch_op.f("uq_audit_event_leaf_index"), ["leaf_index"])
    op.drop_table("audit_head")

    op.create_table(
        "audit_tree",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", _BIG, nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("compact", _JSON, nullable=False),
        sa.Column("lease_holder", sa.String(length=120), nullable=True),
        sa.Column("lease_until", _UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_tree")),
    )
    tree = sa.table("audit_tree", sa.column("id"), sa.column("size"), sa.column("root_hash"), sa.column("compact", _JSON))
    op.execute(sa.insert(tree).values(id=1, size=0, root_hash=EMPTY_ROOT, compact=[]))
    op.create_table(
        "audit_checkpoint",
        sa.Column("size", _BIG, autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("size", name=op.f("pk_audit_checkpoint")),
    )
    with op.batch_alter_table("audit_checkpoint", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_checkpoint_created_at"), ["created_at"], unique=False)
    op.create_table(
        "audit_witness",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("vkey", sa.String(length=400), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_witness")),
        sa.UniqueConstraint("name", name=op.f("uq_audit_witness_name")),
    )
    op.create_table(
        "audit_cosignature",
        sa.Column("witness_id", sa.Uuid(), nullable=False),
        sa.Column("checkpoint_size", _BIG, nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("cosigned_at", _UTC, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["checkpoint_size"],
            ["audit_checkpoint.size"],
            name=op.f("fk_audit_cosignature_checkpoint_size_audit_checkpoint"),
        ),
        sa.ForeignKeyConstraint(
            ["witness_id"],
            ["audit_witness.id"],
            name=op.f("fk_audit_cosignature_witness_id_audit_witness"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_cosignature")),
        sa.UniqueConstraint("witness_id", "checkpoint_size", name=op.f("uq_audit_cosignature_witness_id")),
    )
    with op.batch_alter_table("audit_cosignature", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_cosignature_checkpoint_size"), ["checkpoint_size"], unique=False
        )


def _chain_content(row: sa.Row[tuple[object, ...]]) -> str:
    """The former chain's entry content (audit.chain before 0009), to rebuild it on downgrade."""
    m = row._mapping
    summary = m["summary"] if isinstance(m["summary"], dict) else json.loads(str(m["summary"]))
    occurred = m["occurred_at"]
    return json.dumps(
        {
            "id": str(m["id"]),
            "occurred_at": occurred.isoformat(),
            "actor_user_id": str(m["actor_user_id"]) if m["actor_user_id"] else None,
            "actor_label": m["actor_label"],
            "org_id": str(m["org_id"]) if m["org_id"] else None,
            "action": m["action"],
            "target_type": m["target_type"],
            "target_id": m["target_id"],
            "summary": summary,
            "request_id": m["request_id"],
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def downgrade() -> None:
    bind = op.get_bind()
    is_pg = bind.dialect.name == "postgresql"
    op.drop_table("audit_cosignature")
    op.drop_table("audit_witness")
    with op.batch_alter_table("audit_checkpoint", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_checkpoint_created_at"))
    op.drop_table("audit_checkpoint")
    op.drop_table("audit_tree")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    # Rebuild the chain in log order (then entries not yet positioned, by arrival), renumbered gap-free.
    t = sa.table(
        "audit_event",
        *(sa.column(c, sa.Uuid()) for c in ("id", "actor_user_id", "org_id")),
        *(sa.column(c) for c in ("seq", "actor_label", "action")),
        *(sa.column(c) for c in ("target_type", "target_id", "request_id", "leaf_index")),
        sa.column("occurred_at", _UTC),
        sa.column("summary", _JSON),
        sa.column("prev_hash"),
        sa.column("hash"),
    )
    rows = bind.execute(
        sa.select(t).order_by(sa.case((t.c.leaf_index.is_(None), 1), else_=0), t.c.leaf_index, t.c.seq)
    ).all()
    bind.execute(sa.update(t).values(seq=-t.c.seq))
    prev = "0" * 64
    for n, row in enumerate(rows, start=1):
        h = hashlib.sha256((prev + "\n" + _chain_content(row)).encode()).hexdigest()
        bind.execute(sa.update(t).where(t.c.seq == -row.seq).values(seq=n, prev_hash=prev, hash=h))
        prev = h
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_event_leaf_index"), type_="unique")
        batch_op.drop_column("leaf_hash")
        batch_op.drop_column("leaf_index")
        batch_op.drop_column("legacy_hash")
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
    if is_pg:
        op.execute("ALTER TABLE audit_event ALTER COLUMN seq DROP DEFAULT")
        op.execute("DROP SEQUENCE audit_event_seq_seq")
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", _BIG, nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.execute(
        sa.text("INSERT INTO audit_head (id, seq, last_hash) VALUES (1, :n, :h)").bindparams(n=len(rows), h=prev)
    )
