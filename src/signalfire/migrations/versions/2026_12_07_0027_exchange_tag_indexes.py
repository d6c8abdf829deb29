"""exchange: GIN indexes on items' free tags and catalogue ids (the list and export filters by tag)

On PostgreSQL the tag filter is ``tags ?| array[...]`` over JSONB, which a GIN index answers without
reading every published item; SQLite builds an ordinary index on the JSON text, which its ``json_each``
filter does not use but which keeps the two schemas alike for ``alembic check``.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_exchange_item_tags", "exchange_item", ["tags"], unique=False, postgresql_using="gin")
    op.create_index(
        "ix_exchange_item_technique_refs", "exchange_item", ["technique_refs"], unique=False, postgresql_using="gin"
    )


def downgrade() -> None:
    op.drop_index("ix_exchange_item_technique_refs", table_name="exchange_item")
    op.drop_index("ix_exchange_item_tags", table_name="exchange_item")
