"""reporting: target and due instants, effective vs recorded times, outside filings, org attributes, prompts

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import signalfire.core.db.base

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UTC = signalfire.core.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("reporting_obligation") as batch:
        batch.add_column(sa.Column("target_at", UTC, nullable=True))
        batch.add_column(sa.Column("target_basis", sa.Text(), nullable=True))
        batch.add_column(sa.Column("due_reading", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("alt_due_at", UTC, nullable=True))
        batch.add_column(sa.Column("alt_due_reading", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("projected", sa.Boolean(), server_default="false", nullable=False))
    # Until the next recomputation, an existing row's target is its due time.
    op.execute("UPDATE reporting_obligation SET target_at = due_at")
    op.create_index("ix_reporting_obligation_target", "reporting_obligation", ["is_open", "target_at"], unique=False)
    op.create_index(
        "ix_reporting_obligation_board_target", "reporting_obligation", ["org_id", "is_open", "target_at"], unique=False
    )

    with op.batch_alter_table("reporting_clock_event") as batch:
        batch.add_column(sa.Column("source", sa.String(length=20), server_default="person", nullable=False))
        batch.add_column(sa.Column("reason", sa.Text(), server_default="", nullable=False))

    with op.batch_alter_table("reporting_assessment") as batch:
        batch.add_column(sa.Column("recorded_at", UTC, nullable=True))
    op.execute("UPDATE reporting_assessment SET recorded_at = assessed_at")

    with op.batch_alter_table("reporting_report_version") as batch:
        batch.add_column(sa.Column("recorded_at", UTC, nullable=True))
        batch.add_column(sa.Column("channel", sa.String(length=20), server_default="signalfire", nullable=False))
        batch.add_column(sa.Column("authority_reference", sa.String(length=300), server_default="", nullable=False))
        batch.add_column(sa.Column("evidence", sa.Text(), server_default="", nullable=False))
    op.execute("UPDATE reporting_report_version SET recorded_at = submitted_at")

    with op.batch_alter_table("reporting_org_settings") as batch:
        batch.add_column(sa.Column("assessment_prompt_minutes", sa.Integer(), nullable=True))

    op.create_table(
        "reporting_org_attribute",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("value", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("effective_from", UTC, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_at", UTC, nullable=False),
        sa.Column("recorded_by", sa.Uuid(), nullable=True),
        sa.Column("recorded_by_label", sa.String(length=300), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_reporting_org_attribute_org_id_organization"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"],
            ["user_account.id"],
            name=op.f("fk_reporting_org_attribute_recorded_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reporting_org_attribute")),
    )
    op.create_index(
        "ix_reporting_org_attribute_lookup", "reporting_org_attribute", ["org_id", "name", "effective_from"], unique=False
    )
    op.create_table(
        "reporting_prompt",
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("sent_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["response_incident.id"],
            name=op.f("fk_reporting_prompt_incident_id_response_incident"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_reporting_prompt_org_id_organization"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("incident_id", "kind", name=op.f("pk_reporting_prompt")),
    )


def downgrade() -> None:
    op.drop_table("reporting_prompt")
    op.drop_index("ix_reporting_org_attribute_lookup", table_name="reporting_org_attribute")
    op.drop_table("reporting_org_attribute")
    with op.batch_alter_table("reporting_org_settings") as batch:
        batch.drop_column("assessment_prompt_minutes")
    with op.batch_alter_table("reporting_report_version") as batch:
        for name in ("evidence", "authority_reference", "channel", "recorded_at"):
            batch.drop_column(name)
    with op.batch_alter_table("reporting_assessment") as batch:
        batch.drop_column("recorded_at")
    with op.batch_alter_table("reporting_clock_event") as batch:
        batch.drop_column("reason")
        batch.drop_column("source")
    op.drop_index("ix_reporting_obligation_board_target", table_name="reporting_obligation")
    op.drop_index("ix_reporting_obligation_target", table_name="reporting_obligation")
    with op.batch_alter_table("reporting_obligation") as batch:
        for name in ("projected", "alt_due_reading", "alt_due_at", "due_reading", "target_basis", "target_at"):
            batch.drop_column(name)
