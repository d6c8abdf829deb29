"""`reporting recompute` says how far it got: the service reports each recomputed incident, the CLI shows a bar
on stderr once there are enough of them.

The database holds 3 assessed incidents of one developer, 1 of another and 1 incident nobody assessed; the
expected calls are counted by hand from that."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import time_machine
from typer.testing import CliRunner

from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.core.settings import get_settings
from signalfire.reporting import cli, queries, service
from tests.reporting import factories as f
from tests.reporting.factories import COP, utc
from tests.terminals import forced_terminals

NOW = utc(2026, 9, 2, 12)


@dataclass(frozen=True)
class Db:
    url: str
    slug: str  # the developer with 3 assessed incidents


@pytest.fixture()
def db_url(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Db]:
    monkeypatch.setenv("SIGNALFIRE_DATABASE_URL", fresh_db)
    get_settings.cache_clear()
    engine = make_engine(fresh_db)
    with time_machine.travel(NOW, tick=False), unit_of_work(session_factory(engine)) as s:
        dev, other = f.developer(s), f.developer(s)
        for n in range(3):
            inc = f.incident(s, dev, aware_at=utc(2026, 9, 1, 8 + n))
            f.assess(s, dev, inc, COP, f.cop(health_harm="yes"))
        inc = f.incident(s, other, aware_at=utc(2026, 9, 1, 8))
        f.assess(s, other, inc, COP, f.cop(death="yes"))
        f.incident(s, dev, aware_at=utc(2026, 9, 1, 9))  # never assessed: not recomputed
        slug = f.org_of(s, dev).slug
    engine.dispose()
    with time_machine.travel(NOW, tick=False):
        yield Db(fresh_db, slug)
    get_settings.cache_clear()


def test_progress_is_reported_per_incident(db_url: Db) -> None:
    calls: list[tuple[int, int]] = []
    engine = make_engine(db_url.url)
    with unit_of_work(session_factory(engine)) as s:
        done = service.recompute_assessed(s, progress=lambda d, t: calls.append((d, t)))
        assert (done.incidents, done.changed) == (4, 0)
        assert calls == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
        calls.clear()
        org = queries.operator_org(s, db_url.slug)
        assert org is not None
        done = service.recompute_assessed(s, org_id=org.id, progress=lambda d, t: calls.append((d, t)))
        assert done.incidents == 3
        assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]
    engine.dispose()


def test_the_cli_shows_a_bar_on_stderr_for_many_incidents(db_url: Db, monkeypatch: pytest.MonkeyPatch) -> None:
    out, err = forced_terminals(monkeypatch, cli)
    monkeypatch.setattr(cli, "RECOMPUTE_PROGRESS_FROM", 4)  # "many": 4 here
    result = CliRunner().invoke(cli.reporting_app, ["recompute"])
    assert result.exit_code == 0, result.output
    assert out.getvalue() == "4 incident(s) recomputed, 0 changed\n"
    assert "recomputing incidents" in err.getvalue()
    assert "4/4" in err.getvalue()


def test_the_cli_shows_no_bar_for_few_incidents(db_url: Db, monkeypatch: pytest.MonkeyPatch) -> None:
    out, err = forced_terminals(monkeypatch, cli)
    monkeypatch.setattr(cli, "RECOMPUTE_PROGRESS_FROM", 4)
    result = CliRunner().invoke(cli.reporting_app, ["recompute", "--org", db_url.slug])  # 3 incidents
    assert result.exit_code == 0, result.output
    assert out.getvalue() == "3 incident(s) recomputed, 0 changed\n"
    assert "recomputing incidents" not in err.getvalue()
