"""`exchange reindex-correlations` says how far it got: the rebuild reports published items indexed per batch,
the CLI shows a bar on stderr once there are enough of them.

The exchange holds 5 published items (each with the same 3 values) and 1 draft; with batches of 2 the expected
calls are counted by hand from that."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.core.settings import get_settings
from signalfire.exchange import cli
from signalfire.exchange.correlation import service as correlation
from signalfire.exchange.correlation.models import CorrelationValue
from tests import factories
from tests.exchange import factories as xf
from tests.terminals import forced_terminals

SHARED: dict[str, Any] = {  # keyword overrides for the item factories
    "indicators": "[ipv4-addr:value = '203.0.113.9']",
    "technique_refs": ["AML.T0051"],
    "tags": ["jailbreak"],
}


def _items(s: Session) -> None:
    author = factories.actor(s)
    for _ in range(5):
        xf.published(s, author, **SHARED)  # 3 values each
    xf.draft(s, author, **SHARED)  # not published: not indexed, not counted


def _index(s: Session) -> list[tuple[str, str, str]]:
    rows = s.execute(select(CorrelationValue.item_id, CorrelationValue.kind, CorrelationValue.value))
    return sorted((str(i), str(k), v) for i, k, v in rows)


def test_progress_is_reported_per_batch(db: Session) -> None:
    _items(db)
    assert correlation.rebuild(db) == 15
    before = _index(db)
    calls: list[tuple[int, int]] = []
    assert correlation.rebuild(db, batch=2, progress=lambda d, t: calls.append((d, t))) == 15
    assert calls == [(0, 5), (2, 5), (4, 5), (5, 5)]
    assert _index(db) == before  # the same index, in batches of 2 and with a callback


@pytest.fixture()
def items_db(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    engine = make_engine(fresh_db)
    with unit_of_work(session_factory(engine)) as s:
        _items(s)
    engine.dispose()
    monkeypatch.setenv("SIGNALFIRE_DATABASE_URL", fresh_db)
    get_settings.cache_clear()
    yield fresh_db
    get_settings.cache_clear()


def test_the_cli_shows_a_bar_on_stderr_for_many_items(items_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    out, err = forced_terminals(monkeypatch, cli)
    monkeypatch.setattr(cli, "CORRELATIONS_PROGRESS_FROM", 5)  # "many": 5 here
    result = CliRunner().invoke(cli.app, ["reindex-correlations"])
    assert result.exit_code == 0, result.output
    assert out.getvalue() == "15 values indexed\n"
    assert "indexing items" in err.getvalue()
    assert "5/5" in err.getvalue()


def test_the_cli_shows_no_bar_for_few_items(items_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    out, err = forced_terminals(monkeypatch, cli)
    monkeypatch.setattr(cli, "CORRELATIONS_PROGRESS_FROM", 6)
    result = CliRunner().invoke(cli.app, ["reindex-correlations"])
    assert result.exit_code == 0, result.output
    assert out.getvalue() == "15 values indexed\n"
    assert "indexing items" not in err.getvalue()
