"""notify: the worker registry (who holds outbox leases, where it runs, its last heartbeat)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import signalfire.core.db.base

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "worker_registry",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("host_key", sa.String(length=255), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("proc_start", sa.String(length=40), nullable=True),
        sa.Column("started_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_registry")),
    )
    op.create_index(op.f("ix_worker_registry_heartbeat_at"), "worker_registry", ["heartbeat_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_worker_registry_heartbeat_at"), table_name="worker_registry")
    op.drop_table("worker_registry")
