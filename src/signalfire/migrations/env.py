"""Alembic environment: runs on SQLite (batch mode) and PostgreSQL (with lock/statement timeouts)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from signalfire.core.db.all_models import load
from signalfire.core.db.session import make_engine

config = context.config
target_metadata = load().metadata


def _run(connection: Connection) -> None:
    is_sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=is_sqlite,
        compare_type=True,
        transaction_per_migration=True,
    )
    if connection.dialect.name == "postgresql":
        # Fail fast rather than queue behind a long transaction holding locks in production.
        connection.exec_driver_sql("SET lock_timeout = '10s'")
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run against a database")
run_migrations_online()
