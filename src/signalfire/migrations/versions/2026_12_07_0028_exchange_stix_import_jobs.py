"""exchange: STIX imports as background jobs (the job with its progress and outcome, and its bundle)

A new table each, nothing existing changes: ``exchange_import_job`` (org, requesting person, state,
objects done of total, the per-object outcome, timestamps, the error) and ``exchange_import_bundle``
(the bundle as received, stored with the job before it is acknowledged).

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import signalfire.core.db.base

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_UTC = signalfire.core.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "exchange_import_job",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_id", sa.Uuid(), nullable=True),
        sa.Column(
            "state",
            sa.Enum("queued", "running", "done", "failed", name="import_job_state", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("bundle_bytes", sa.Integer(), nullable=False),
        sa.Column("bundle_sha256", sa.String(length=64), nullable=False),
        sa.Column("default_uses", _JSON, nullable=False),
        sa.Column("audience", sa.String(length=40), nullable=False),
        sa.Column("max_items", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("outcome", _JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("outbox_job_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("started_at", _UTC, nullable=True),
        sa.Column("finished_at", _UTC, nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_exchange_import_job_org_id_organization"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["token_id"], ["api_token.id"], name=op.f("fk_exchange_import_job_token_id_api_token"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_exchange_import_job_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_import_job")),
    )
    with op.batch_alter_table("exchange_import_job", schema=None) as batch_op:
        batch_op.create_index("ix_exchange_import_job_org_created", ["org_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_exchange_import_job_state"), ["state"], unique=False)

    op.create_table(
        "exchange_import_bundle",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["exchange_import_job.id"],
            name=op.f("fk_exchange_import_bundle_job_id_exchange_import_job"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_exchange_import_bundle")),
    )


def downgrade() -> None:
    op.drop_table("exchange_import_bundle")
    with op.batch_alter_table("exchange_import_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchange_import_job_state"))
        batch_op.drop_index("ix_exchange_import_job_org_created")
    op.drop_table("exchange_import_job")
