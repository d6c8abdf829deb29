"""`audit verify` says how far it got: the check reports re-hashed entries per batch, the CLI shows a bar.

The log holds 12 positioned entries and 2 pending ones; the expected calls are counted by hand from that."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from rich.console import Console

from signalfire.audit import cli as audit_cli
from signalfire.audit import keys
from signalfire.audit.verify import verify
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.core.settings import get_settings
from tests.audit.helpers import cli, sequence, write_entries


@pytest.fixture()
def log_db(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("SIGNALFIRE_DATABASE_URL", fresh_db)
    get_settings.cache_clear()
    write_entries(fresh_db, 0, 12)
    assert sequence(fresh_db) == 12
    write_entries(fresh_db, 12, 2)  # pending: not positioned, not counted as re-hashed
    yield fresh_db
    get_settings.cache_clear()


def test_progress_is_reported_per_batch_and_at_the_end(log_db: str) -> None:
    calls: list[tuple[int, int]] = []
    settings = get_settings()
    engine = make_engine(log_db)
    with unit_of_work(session_factory(engine)) as session:
        report = verify(
            session,
            trusted=keys.trusted(settings),
            origin=keys.origin(settings),
            batch=5,
            progress=lambda done, total: calls.append((done, total)),
        )
    engine.dispose()
    assert report.ok, report.findings
    assert calls == [(0, 12), (5, 12), (10, 12), (12, 12)]


def test_without_a_callback_nothing_is_counted_twice(log_db: str) -> None:
    settings = get_settings()
    engine = make_engine(log_db)
    with unit_of_work(session_factory(engine)) as session:
        report = verify(session, trusted=keys.trusted(settings), origin=keys.origin(settings), batch=5)
    engine.dispose()
    assert (report.entries, report.pending, report.ok) == (12, 2, True)


def test_the_cli_shows_a_bar_for_a_large_log(log_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = io.StringIO()
    monkeypatch.setattr(audit_cli, "err", Console(file=terminal, force_terminal=True, width=100))
    monkeypatch.setattr(audit_cli, "PROGRESS_FROM", 10)  # "large": 12 entries here
    code, out = cli("audit", "verify")
    assert code == 0, out
    assert "12 entries verified against the signed checkpoint of size 12, 2 pending" in out
    shown = terminal.getvalue()
    assert "re-hashing entries" in shown
    assert "12/12" in shown


def test_the_cli_shows_no_bar_for_a_small_log(log_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = io.StringIO()
    monkeypatch.setattr(audit_cli, "err", Console(file=terminal, force_terminal=True, width=100))
    code, out = cli("audit", "verify")  # 12 entries, far below PROGRESS_FROM
    assert code == 0, out
    assert "re-hashing entries" not in terminal.getvalue()
