"""audit: audit_event keeps only the indexes the product reads by

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-06

Every audited read and change inserts an entry, and the sequencer updates it once, so each index costs
twice per entry. Nothing in the product looks entries up by actor, action or target (those indexes only
served ad-hoc queries); the org's audit view filters by org and pages by seq, so (org_id, seq) replaces
the org_id index. A partial index holds the entries still without a position (the sequencer's
queue), so finding them never depends on the planner's statistics. No row is touched: entries keep
every field, seq, position and hash.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None

_DROPPED = ("actor_user_id", "action", "target_id", "org_id")


def upgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        for column in _DROPPED:
            batch_op.drop_index(batch_op.f(f"ix_audit_event_{column}"))
        batch_op.create_index("ix_audit_event_org_id_seq", ["org_id", "seq"], unique=False)
        batch_op.create_index(
            "ix_audit_event_pending",
            ["seq"],
            unique=False,
            postgresql_where=sa.text("leaf_index IS NULL"),
            sqlite_where=sa.text("leaf_index IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_event_pending")
        batch_op.drop_index("ix_audit_event_org_id_seq")
        for column in reversed(_DROPPED):
            batch_op.create_index(batch_op.f(f"ix_audit_event_{column}"), [column], unique=False)
