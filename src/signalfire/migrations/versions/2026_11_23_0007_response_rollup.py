"""response: pre-aggregated response-time sketches per org and day / month / year

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "response_metric_rollup",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("grain", sa.String(length=5), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("layout", sa.SmallInteger(), nullable=False),
        sa.Column("counts", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_response_metric_rollup_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_metric_rollup")),
    )
    op.create_index(
        "ix_response_metric_rollup_period", "response_metric_rollup", ["org_id", "grain", "period"], unique=False
    )
    # Sketches of the incidents already stored (derived data: the same function the CLI's rebuild runs).
    from signalfire.response import rollup

    with Session(bind=op.get_bind()) as session:  # joins the migration's transaction
        rollup.rebuild(session)
        session.flush()


def downgrade() -> None:
    op.drop_index("ix_response_metric_rollup_period", table_name="response_metric_rollup")
    op.drop_table("response_metric_rollup")
