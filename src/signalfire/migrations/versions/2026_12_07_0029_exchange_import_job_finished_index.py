"""exchange: a partial index on finished STIX import jobs, oldest first (the retention sweep)

The sweep (``jobs.prune_jobs``) asks for the oldest jobs finished before a cutoff: ``state IN ('done',
'failed') AND finished_at < :before ORDER BY finished_at, id LIMIT :n``. Without an index PostgreSQL reads
the whole table and sorts it on every batch. This index holds (finished_at, id) of finished jobs only, in
the sweep's order, so a batch reads its rows from the front of the index. It is partial on the states the
sweep names rather than plain or on ``finished_at IS NOT NULL``: PostgreSQL matches that predicate only
against known values, so a generic plan (psycopg prepares a statement run five times on one connection)
cannot use it. With a plain index, the generic plan of the bundle sweep (``jobs.prune_bundles``) walked it
through every finished job instead of starting from the few stored bundles (docs/benchmarks.md). SQLite
declares the same index (for ``alembic check``) but does not use it: the sweep binds its states. No row changes.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

_FINISHED = "state IN ('done', 'failed')"


def upgrade() -> None:
    op.create_index(
        "ix_exchange_import_job_finished",
        "exchange_import_job",
        ["finished_at", "id"],
        unique=False,
        postgresql_where=sa.text(_FINISHED),
        sqlite_where=sa.text(_FINISHED),
    )


def downgrade() -> None:
    op.drop_index("ix_exchange_import_job_finished", table_name="exchange_import_job")
