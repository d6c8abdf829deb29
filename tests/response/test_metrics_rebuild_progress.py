"""`response metrics-rebuild` says how far it got: the rebuild reports incidents read per streamed batch, the
CLI shows a bar on stderr once there are enough of them.

The database holds 5 incidents of one org and 2 of another; the expected calls are counted by hand from that."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from signalfire.access.models import Organization
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.core.settings import get_settings
from signalfire.response import cli, rollup
from signalfire.response.models import MetricRollup
from tests import factories
from tests.response import factories as rf
from tests.terminals import forced_terminals


@pytest.fixture()
def db_url(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    engine = make_engine(fresh_db)
    with unit_of_work(session_factory(engine)) as s:
        a, b = factories.actor(s), factories.actor(s)
        for _ in range(5):
            rf.incident(s, a)
        for _ in range(2):
            rf.incident(s, b)
        org = s.get(Organization, a.org_id)
        assert org is not None
        slug = org.slug
    engine.dispose()
    monkeypatch.setenv("SIGNALFIRE_DATABASE_URL", fresh_db)
    get_settings.cache_clear()
    yield fresh_db, slug
    get_settings.cache_clear()


def _sketches(s: Session) -> list[tuple[Any, ...]]:
    rows = s.execute(select(MetricRollup.org_id, MetricRollup.grain, MetricRollup.period, MetricRollup.counts))
    return sorted((str(o), g, p, bytes(c)) for o, g, p, c in rows)


def test_progress_is_reported_per_batch_and_at_the_end(db_url: tuple[str, str]) -> None:
    url, slug = db_url
    calls: list[tuple[int, int]] = []
    engine = make_engine(url)
    with unit_of_work(session_factory(engine)) as s:
        assert rollup.rebuild(s) == 7
        before = _sketches(s)
        assert rollup.rebuild(s, batch=2, progress=lambda d, t: calls.append((d, t))) == 7
        assert calls == [(0, 7), (2, 7), (4, 7), (6, 7), (7, 7)]
        assert _sketches(s) == before  # the same sketches, with or without a callback
        calls.clear()
        org = s.execute(select(Organization).where(Organization.slug == slug)).scalar_one()
        assert rollup.rebuild(s, org.id, batch=2, progress=lambda d, t: calls.append((d, t))) == 5
        assert calls == [(0, 5), (2, 5), (4, 5), (5, 5)]
        assert _sketches(s) == before
    engine.dispose()


def test_the_cli_shows_a_bar_on_stderr_for_many_incidents(
    db_url: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out, err = forced_terminals(monkeypatch, cli)
    monkeypatch.setattr(cli, "METRICS_PROGRESS_FROM", 7)  # "many": 7 here
    result = CliRunner().invoke(cli.response_app, ["metrics-rebuild"])
    assert result.exit_code == 0, result.output
    assert out.getvalue() == "Rebuilt the response-time sketches from 7 incident(s).\n"
    assert "reading incidents" in err.getvalue()
    assert "7/7" in err.getvalue()


def test_the_cli_shows_no_bar_for_few_incidents(db_url: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    out, err = forced_terminals(monkeypatch, cli)
    monkeypatch.setattr(cli, "METRICS_PROGRESS_FROM", 7)
    result = CliRunner().invoke(cli.response_app, ["metrics-rebuild", "--org", db_url[1]])  # 5 incidents
    assert result.exit_code == 0, result.output
    assert out.getvalue() == "Rebuilt the response-time sketches from 5 incident(s).\n"
    assert "reading incidents" not in err.getvalue()
