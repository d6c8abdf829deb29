"""`signalfire readiness scorecard` prints the same scorecard as the page, as a table or as the JSON export."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from signalfire.cli import _load_domain_commands
from signalfire.cli import app as cli_app
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.core.settings import get_settings
from signalfire.readiness.items import ITEM_IDS
from tests.readiness import factories as f


@pytest.fixture()
def cli_db(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("SIGNALFIRE_DATABASE_URL", fresh_db)
    get_settings.cache_clear()
    if not any(g.name == "readiness" for g in cli_app.registered_groups):
        _load_domain_commands()
    yield fresh_db
    get_settings.cache_clear()


def test_cli_scorecard_table_json_and_errors(cli_db: str) -> None:
    engine = make_engine(cli_db)
    with unit_of_work(session_factory(engine)) as s:
        a = f.developer(s)
        org_slug = f.card(s, a, f.utc(2026, 1, 1)).org_slug
        email = a.email
    engine.dispose()
    runner = CliRunner()
    table = runner.invoke(cli_app, ["readiness", "scorecard", "--as", email, "--org", org_slug])
    assert table.exit_code == 0, table.output
    assert "Duty roster covers 24x7" in table.output
    assert (
        "3 ok, 0 gaps, 10 without evidence" in table.output
    )  # a new org: retention, "no open incident", "no takedown owed"
    exported = runner.invoke(
        cli_app, ["readiness", "scorecard", "--as", email, "--org", org_slug, "--json", "--at", "2026-01-01"]
    )
    assert exported.exit_code == 0, exported.output
    body = json.loads(exported.output)
    assert [i["id"] for i in body["items"]] == list(ITEM_IDS) and body["as_of"] == "2026-01-01T23:59:59Z"
    bad = runner.invoke(cli_app, ["readiness", "scorecard", "--as", email, "--org", org_slug, "--at", "soon"])
    assert bad.exit_code == 1 and "error (422)" in bad.output
