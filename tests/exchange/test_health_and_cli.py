"""Participation health for the hub operator, and the `signalfire exchange` commands."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.exchange import health, service
from signalfire.exchange.vocab import Category, CoveredUse
from tests import factories
from tests.exchange import factories as xf

Client = Callable[[Actor | None], TestClient]


def test_health_counts_items_acknowledgements_and_gaps(
    db: Session, make_actor: Callable[..., Actor], api_client: Client, browser_client: Client
) -> None:
    hub = make_actor(OrgKind.hub_operator)
    lab = make_actor()
    reader = make_actor()
    with time_machine.travel("2026-09-15T08:00:00Z", tick=False):
        first = xf.published(db, lab, category=Category.THREAT)
        xf.published(db, lab, category=Category.VULNERABILITY, attribution="pseudonymous")
    with time_machine.travel("2026-09-15T10:00:00Z", tick=False):
        service.open_details(db, reader, first.id, CoveredUse.THREAT_DETECTION)
    with time_machine.travel("2026-11-20T08:00:00Z", tick=False):
        xf.published(db, lab, category=Category.THREAT)
        db.commit()
        report = health.participation(db, hub)
        body = api_client(hub).get("/api/v1/exchange/health").json()
        page = browser_client(hub).get("/exchange/health")
    assert report.months[-1] == "2026-11" and len(report.months) == 12
    september = report.months.index("2026-09")
    assert report.per_category[Category.THREAT][september] == 1
    assert report.per_category[Category.THREAT][-1] == 1
    assert report.per_org_category[(lab.org_name, Category.THREAT)][september] == 1
    # The pseudonymous item is counted under the pseudonymous bucket, never under its org.
    assert (lab.org_name, Category.VULNERABILITY) not in report.per_org_category
    assert report.per_org_category[(health.PSEUDONYMOUS_LABEL, Category.VULNERABILITY)][september] == 1
    assert report.ack_by_category[Category.THREAT].acknowledged == 1
    assert report.ack_by_category[Category.THREAT].median_hours == 2.0
    assert report.ack_overall.items == 3
    assert body["coverage_percent"] == 0.0 and len(body["gaps"]) == len(report.coverage)
    assert page.status_code == 200 and 'data-chart="chart-exchange-category"' in page.text
    assert 'id="chart-exchange-ack"' in page.text and "Nobody designated" in page.text
    with pytest.raises(Exception) as err:
        health.participation(db, lab)
    assert getattr(err.value, "status", None) == 403


def test_cli_lists_through_the_policy_and_manages_designations(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from signalfire.core.settings import get_settings
    from signalfire.exchange import cli
    from signalfire.exchange.cli import app

    engine = make_engine(fresh_db)
    with unit_of_work(session_factory(engine)) as s:
        owner_org = factories.org(s, name="Owner Lab")
        owner = factories.actor(s, organization=owner_org)
        officer = factories.actor(s, kind=OrgKind.authority)
        member = factories.actor(s)
        xf.published(s, owner, title="Shared with members only")
        emails = {a: a.email for a in (owner, officer, member)}
    engine.dispose()
    monkeypatch.setenv("SIGNALFIRE_DATABASE_URL", fresh_db)
    get_settings.cache_clear()
    monkeypatch.setattr(cli.console, "width", 250)
    monkeypatch.setattr(cli.err, "width", 250)
    runner = CliRunner()
    try:
        seen = runner.invoke(app, ["items", "list", "--as", emails[member]])
        assert seen.exit_code == 0, seen.output
        assert "Shared with members only" in seen.output and "Owner Lab" in seen.output
        hidden = runner.invoke(app, ["items", "list", "--as", emails[officer]])
        assert hidden.exit_code == 0 and "Shared with members only" not in hidden.output
        added = runner.invoke(app, ["designations", "add", "threat", emails[member], "--as", emails[member]])
        assert added.exit_code == 0, added.output
        listed = runner.invoke(app, ["designations", "list", "--as", emails[member]])
        assert "nobody designated" in listed.output and "threat" in listed.output
        refused = runner.invoke(app, ["designations", "coverage", "--as", emails[member]])
        assert refused.exit_code == 1 and "hub operator" in refused.output
        unknown = runner.invoke(app, ["items", "list", "--as", "nobody@example.test"])
        assert unknown.exit_code == 1
    finally:
        get_settings.cache_clear()
