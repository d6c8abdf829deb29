"""A scratch PostgreSQL database for a benchmark run: loopback only, dropped afterwards unless kept."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from signalfire.core.db.session import make_engine


@contextmanager
def scratch_database(admin_url: str, name: str, *, keep: bool = False) -> Iterator[str]:
    parsed = make_url(admin_url)
    if parsed.host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("loopback only")
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
