"""exchange: sanitisation previews with a reviewer's sign-off; counsel sign-off on antitrust findings

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import signalfire.core.db.base

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_TIME = signalfire.core.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "exchange_sanitisation",
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("changes", _JSON, nullable=False),
        sa.Column("drafted_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("signed_off_by_id", sa.Uuid(), nullable=True),
        sa.Column("signed_off_at", _TIME, nullable=True),
        sa.Column("signed_off_hash", sa.String(length=64), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["exchange_item.id"],
            name=op.f("fk_exchange_sanitisation_item_id_exchange_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_exchange_sanitisation_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["drafted_by_id"],
            ["user_account.id"],
            name=op.f("fk_exchange_sanitisation_drafted_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["signed_off_by_id"],
            ["user_account.id"],
            name=op.f("fk_exchange_sanitisation_signed_off_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_sanitisation")),
    )
    op.create_index(
        op.f("ix_exchange_sanitisation_item_id"), "exchange_sanitisation", ["item_id"], unique=True
    )
    op.create_table(
        "exchange_counsel_signoff",
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("findings", _JSON, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["exchange_item.id"],
            name=op.f("fk_exchange_counsel_signoff_item_id_exchange_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_exchange_counsel_signoff_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_exchange_counsel_signoff_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_counsel_signoff")),
    )
    op.create_index(
        op.f("ix_exchange_counsel_signoff_item_id"), "exchange_counsel_signoff", ["item_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_exchange_counsel_signoff_item_id"), table_name="exchange_counsel_signoff")
    op.drop_table("exchange_counsel_signoff")
    op.drop_index(op.f("ix_exchange_sanitisation_item_id"), table_name="exchange_sanitisation")
    op.drop_table("exchange_sanitisation")
