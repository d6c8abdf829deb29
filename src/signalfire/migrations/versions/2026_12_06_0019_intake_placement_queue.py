"""intake: signals acknowledged before they are clustered (the placement queue); recent cluster members

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("intake_signal") as batch:
        batch.add_column(sa.Column("placement_pending", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("received_by", sa.String(length=300), nullable=True))
    with op.batch_alter_table("intake_signal") as batch:
        batch.alter_column("placement_pending", server_default=None)
    op.create_index(
        "ix_intake_signal_placement_pending",
        "intake_signal",
        ["received_at"],
        postgresql_where=sa.text("placement_pending"),
        sqlite_where=sa.text("placement_pending"),
    )
    op.create_index("ix_intake_signal_cluster_recent", "intake_signal", ["cluster_id", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_intake_signal_cluster_recent", table_name="intake_signal")
    op.drop_index("ix_intake_signal_placement_pending", table_name="intake_signal")
    with op.batch_alter_table("intake_signal") as batch:
        batch.drop_column("received_by")
        batch.drop_column("placement_pending")
