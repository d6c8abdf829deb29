"""notify: per-person notification preferences, chat webhooks and in-app notifications

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import signalfire.core.db.base

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

UTC = signalfire.core.db.base.UTCDateTime(timezone=True)


def _person(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f(f"fk_{table}_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f(f"fk_{table}_org_id_organization"), ondelete="CASCADE"
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "notify_preference",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("in_app", sa.Boolean(), nullable=False),
        sa.Column("email", sa.Boolean(), nullable=False),
        sa.Column("chat", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        *_person("notify_preference"),
        sa.PrimaryKeyConstraint("user_id", "org_id", "kind", name=op.f("pk_notify_preference")),
    )
    op.create_table(
        "notify_chat_webhook",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        *_person("notify_chat_webhook"),
        sa.PrimaryKeyConstraint("user_id", "org_id", name=op.f("pk_notify_chat_webhook")),
    )
    op.create_table(
        "notify_notification",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("read_at", UTC, nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        *_person("notify_notification"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_notification")),
    )
    op.create_index(
        "ix_notify_notification_inbox",
        "notify_notification",
        ["user_id", "org_id", "read_at", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_notify_notification_inbox", table_name="notify_notification")
    op.drop_table("notify_notification")
    op.drop_table("notify_chat_webhook")
    op.drop_table("notify_preference")
