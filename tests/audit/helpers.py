"""A real database with committed, sequenced entries, the CLI pointed at it, and raw SQL to tamper with it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text, update
from typer.testing import CliRunner

from signalfire.audit.chain import leaf_data, raw_entries, raw_entry, record
from signalfire.audit.merkle import leaf_hash
from signalfire.audit.models import AuditEvent
from signalfire.audit.sequencer import Sequencer
from signalfire.cli import _load_domain_commands
from signalfire.cli import app as cli_app
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.core.settings import get_settings
from tests.typed import table_of


def write_entries(url: str, start: int, count: int) -> None:
    engine = make_engine(url)
    with unit_of_work(session_factory(engine)) as s:
        for i in range(start, start + count):
            record(s, action="test.event", target_type="thing", target_id=str(i), summary={"n": i})
    engine.dispose()


def sequence(url: str) -> int:
    engine = make_engine(url)
    n = Sequencer(session_factory(engine), get_settings()).drain()
    engine.dispose()
    return n


def sql(url: str, statement: str, **params: Any) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(statement), params)
    engine.dispose()


def set_fields(url: str, index: int, **values: Any) -> None:
    """Change stored fields of the entry at a position, with typed parameters (works on both databases)."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(update(table_of(AuditEvent)).where(AuditEvent.leaf_index == index).values(**values))
    engine.dispose()


def rehash(url: str, index: int) -> None:
    """What a careful attacker does after an edit: recompute the entry's own leaf hash."""
    engine = make_engine(url)
    with engine.begin() as conn:
        row = conn.execute(raw_entries().where(AuditEvent.leaf_index == index)).one()
        h = leaf_hash(leaf_data(raw_entry(row), index)).hex()
        conn.execute(update(table_of(AuditEvent)).where(AuditEvent.leaf_index == index).values(leaf_hash=h))
    engine.dispose()


def leaf_hashes(url: str) -> list[str]:
    engine = make_engine(url)
    with engine.connect() as conn:
        out = list(conn.execute(select(AuditEvent.leaf_hash).order_by(AuditEvent.leaf_index)).scalars())
    engine.dispose()
    return [h or "" for h in out]


def cli(*args: str) -> tuple[int, str]:
    _load_domain_commands()  # as `main` does: the domain groups (audit among them) join the app
    result = CliRunner().invoke(cli_app, list(args))
    return result.exit_code, result.output  # stdout and stderr, as a terminal shows them
