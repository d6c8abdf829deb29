"""exchange: free tags on items, the correlation index (value -> items), org-extended model families

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import signalfire.core.db.base

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    # The server default keeps bulk loaders that do not name the column working (bench/exchange_listing.py).
    with op.batch_alter_table("exchange_item") as batch:
        batch.add_column(sa.Column("tags", _JSON, nullable=False, server_default=sa.text("'[]'")))

    op.create_table(
        "exchange_correlation_value",
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=300), nullable=False),
        sa.Column("published_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["exchange_item.id"],
            name=op.f("fk_exchange_correlation_value_item_id_exchange_item"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", "kind", "value", name=op.f("pk_exchange_correlation_value")),
    )
    op.create_index(
        "ix_exchange_correlation_value_lookup",
        "exchange_correlation_value",
        ["kind", "value", "published_at", "item_id"],
    )

    op.create_table(
        "exchange_model_family",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_exchange_model_family_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_exchange_model_family_created_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_model_family")),
        sa.UniqueConstraint("org_id", "key", name="uq_exchange_model_family_org_key"),
    )
    op.create_index(op.f("ix_exchange_model_family_org_id"), "exchange_model_family", ["org_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_exchange_model_family_org_id"), table_name="exchange_model_family")
    op.drop_table("exchange_model_family")
    op.drop_index("ix_exchange_correlation_value_lookup", table_name="exchange_correlation_value")
    op.drop_table("exchange_correlation_value")
    with op.batch_alter_table("exchange_item") as batch:
        batch.drop_column("tags")
