"""intake: per-org clustering thresholds, term statistics, known-or-new suggestions, report fields

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("intake_settings") as batch:
        batch.add_column(sa.Column("cluster_threshold", sa.Double(), nullable=True))
        batch.add_column(sa.Column("known_threshold", sa.Double(), nullable=True))
    with op.batch_alter_table("intake_signal") as batch:
        batch.add_column(sa.Column("canonical_url", sa.String(length=2000), nullable=True))
        batch.add_column(
            sa.Column(
                "authors",
                sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                nullable=False,
                server_default="[]",
            )
        )
        batch.add_column(sa.Column("embedding", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("intake_signal") as batch:
        batch.alter_column("authors", server_default=None)
    # Candidate keys are now content words and canonical URLs instead of MinHash bands; the old
    # rows would match nothing (`signalfire intake reindex` writes the new ones).
    op.execute("DELETE FROM intake_signal_band")
    op.create_table(
        "intake_term_stats",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("docs", sa.Integer(), nullable=False),
        sa.Column("df", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_intake_term_stats_org_id_organization"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_intake_term_stats")),
    )
    op.create_table(
        "intake_match",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("signal_id", sa.Uuid(), nullable=False),
        sa.Column("cluster_id", sa.Uuid(), nullable=True),
        sa.Column("matched_signal_id", sa.Uuid(), nullable=True),
        sa.Column("incident_id", sa.Uuid(), nullable=True),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("known", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "verdict",
            sa.Enum("pending", "accepted", "rejected", name="intake_match_verdict", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_intake_match_org_id_organization"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["signal_id"],
            ["intake_signal.id"],
            name=op.f("fk_intake_match_signal_id_intake_signal"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["intake_cluster.id"],
            name=op.f("fk_intake_match_cluster_id_intake_cluster"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["matched_signal_id"],
            ["intake_signal.id"],
            name=op.f("fk_intake_match_matched_signal_id_intake_signal"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["response_incident.id"],
            name=op.f("fk_intake_match_incident_id_response_incident"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["user_account.id"],
            name=op.f("fk_intake_match_decided_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_match")),
        sa.UniqueConstraint("signal_id", name=op.f("uq_intake_match_signal_id")),
    )
    op.create_index("ix_intake_match_org_verdict", "intake_match", ["org_id", "verdict"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_intake_match_org_verdict", table_name="intake_match")
    op.drop_table("intake_match")
    op.drop_table("intake_term_stats")
    with op.batch_alter_table("intake_signal") as batch:
        batch.drop_column("embedding")
        batch.drop_column("authors")
        batch.drop_column("canonical_url")
    with op.batch_alter_table("intake_settings") as batch:
        batch.drop_column("known_threshold")
        batch.drop_column("cluster_threshold")
