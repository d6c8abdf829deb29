"""`audit sequence` says how far it got: the drain reports integrated entries per pass, the CLI shows a bar.

The log holds 12 pending entries; with passes of 5 the expected calls are counted by hand from that."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from signalfire.audit import cli as audit_cli
from signalfire.audit.sequencer import Sequencer
from signalfire.core.db.session import make_engine, session_factory
from signalfire.core.settings import get_settings
from tests.audit.helpers import cli, leaf_hashes, write_entries
from tests.terminals import forced_terminals


@pytest.fixture()
def pending_db(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("SIGNALFIRE_DATABASE_URL", fresh_db)
    monkeypatch.setenv("SIGNALFIRE_AUDIT__SEQUENCER_BATCH", "5")
    get_settings.cache_clear()
    write_entries(fresh_db, 0, 12)
    yield fresh_db
    get_settings.cache_clear()


def test_progress_is_reported_per_pass(pending_db: str) -> None:
    calls: list[tuple[int, int]] = []
    engine = make_engine(pending_db)
    n = Sequencer(session_factory(engine), get_settings()).drain(lambda done, total: calls.append((done, total)))
    assert n == 12
    assert calls == [(0, 12), (5, 12), (10, 12), (12, 12)]
    # Nothing pending: told once that there is nothing to do.
    calls.clear()
    assert Sequencer(session_factory(engine), get_settings()).drain(lambda d, t: calls.append((d, t))) == 0
    engine.dispose()
    assert calls == [(0, 0)]
    assert all(leaf_hashes(pending_db))


def test_the_cli_shows_a_bar_on_stderr_for_a_large_backlog(pending_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    out, err = forced_terminals(monkeypatch, audit_cli)
    monkeypatch.setattr(audit_cli, "PROGRESS_FROM", 10)  # "large": 12 entries here
    code, _ = cli("audit", "sequence")
    assert code == 0
    assert "integrated 12 entries" in out.getvalue()
    assert "integrating entries" in err.getvalue()
    assert "12/12" in err.getvalue()
    assert "integrating entries" not in out.getvalue()


def test_the_cli_shows_no_bar_for_a_small_backlog(pending_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    out, err = forced_terminals(monkeypatch, audit_cli)
    code, _ = cli("audit", "sequence")  # 12 entries, far below PROGRESS_FROM
    assert code == 0
    assert "integrated 12 entries" in out.getvalue()
    assert "integrating entries" not in err.getvalue()
