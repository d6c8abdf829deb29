"""readiness: per-org risk-domain scope and published scorecard snapshots

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import signalfire.core.db.base

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "readiness_settings",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("risk_domains", JSON, nullable=False),
        sa.Column("updated_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_label", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organization.id"],
                                name=op.f("fk_readiness_settings_org_id_organization"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_readiness_settings")),
    )
    op.create_table(
        "readiness_snapshot",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("as_of", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.Uuid(), nullable=True),
        sa.Column("published_by_label", sa.String(length=300), nullable=False),
        sa.Column("withdrawn_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_reason", sa.String(length=300), nullable=True),
        sa.Column("counts", JSON, nullable=False),
        sa.Column("items", JSON, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organization.id"],
                                name=op.f("fk_readiness_snapshot_org_id_organization"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["published_by"], ["user_account.id"],
                                name=op.f("fk_readiness_snapshot_published_by_user_account"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_readiness_snapshot")),
    )
    op.create_index("ix_readiness_snapshot_live", "readiness_snapshot", ["withdrawn_at", "org_id", "published_at"],
                    unique=False)
    op.create_index(op.f("ix_readiness_snapshot_org_id"), "readiness_snapshot", ["org_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_readiness_snapshot_org_id"), table_name="readiness_snapshot")
    op.drop_index("ix_readiness_snapshot_live", table_name="readiness_snapshot")
    op.drop_table("readiness_snapshot")
    op.drop_table("readiness_settings")
