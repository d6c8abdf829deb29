"""foundation: indexes for pruning rate-limit windows, idempotency records and finished outbox jobs

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_rate_limit_window_start", "rate_limit_window", ["window_start"], unique=False)
    op.create_index("ix_idempotency_record_created_at", "idempotency_record", ["created_at"], unique=False)
    op.create_index("ix_outbox_job_finished", "outbox_job", ["status", "completed_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_job_finished", table_name="outbox_job")
    op.drop_index("ix_idempotency_record_created_at", table_name="idempotency_record")
    op.drop_index("ix_rate_limit_window_start", table_name="rate_limit_window")
