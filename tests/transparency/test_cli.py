"""`signalfire transparency ...`: create, show, sign off (four eyes), publish, and print the public edition,
through the same services and policy as the API."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine
from typer.testing import CliRunner

from signalfire.cli import _load_domain_commands
from signalfire.cli import app as cli_app
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.core.settings import get_settings
from signalfire.response.vocab import Severity
from tests.readiness.factories import developer
from tests.response import factories as rf
from tests.transparency import helpers


@pytest.fixture()
def cli_db(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("SIGNALFIRE_DATABASE_URL", fresh_db)
    get_settings.cache_clear()
    if not any(g.name == "transparency" for g in cli_app.registered_groups):
        _load_domain_commands()
    yield fresh_db
    get_settings.cache_clear()


def test_cli_create_signoff_publish_and_print(cli_db: str) -> None:
    engine = make_engine(cli_db)
    with time_machine.travel(datetime(2026, 10, 15, tzinfo=UTC), tick=False):
        with unit_of_work(session_factory(engine)) as s:
            author = developer(s)
            reviewer = helpers.colleague(s, author)
            rf.incident(s, author, aware_at=datetime(2026, 8, 1, tzinfo=UTC), severity=Severity.SEV2)
            org, emails = helpers.org_slug(s, author), (author.email, reviewer.email)
        engine.dispose()
        run = CliRunner().invoke
        who = ["--org", org]

        made = run(
            cli_app,
            ["transparency", "create", "--as", emails[0], *who, "--title", "Q3 report", "--quarter", "2026-Q3",
             "--threshold", "2", "--section", "Incidents=incidents_by_severity"],
        )  # fmt: skip
        assert made.exit_code == 0, made.output
        report_id = re.search(r"draft ([0-9a-f-]{36}) \(2026-q3\)", made.output).group(1)  # type: ignore[union-attr]

        shown = run(cli_app, ["transparency", "show", report_id, "--as", emails[0], *who])
        assert shown.exit_code == 0 and "Incidents by severity" in shown.output and "< 2" in shown.output

        own = run(cli_app, ["transparency", "signoff", report_id, "--as", emails[0], *who])
        assert own.exit_code == 1 and "error (403)" in own.output and "second person" in own.output
        signed = run(cli_app, ["transparency", "signoff", report_id, "--as", emails[1], *who, "--note", "ok"])
        assert signed.exit_code == 0, signed.output
        published = run(cli_app, ["transparency", "publish", report_id, "--as", emails[1], *who])
        assert published.exit_code == 0, published.output
        assert f"/public/transparency/{org}/2026-q3/editions/1" in published.output
        digest = re.search(r"sha256 ([0-9a-f]{64})", published.output).group(1)  # type: ignore[union-attr]

        printed = run(cli_app, ["transparency", "edition", org, "2026-q3"])
        assert printed.exit_code == 0
        assert hashlib.sha256(printed.output.rstrip("\n").encode()).hexdigest() == digest

        unknown = run(
            cli_app, ["transparency", "create", "--as", emails[0], *who, "--title", "x", "--quarter", "2026-Q5"]
        )
        assert unknown.exit_code == 1 and "not a quarter" in unknown.output
        bad_metric = run(
            cli_app,
            ["transparency", "create", "--as", emails[0], *who, "--title", "x", "--quarter", "2026-Q2",
             "--section", "X=accounts_banned"],
        )  # fmt: skip
        assert bad_metric.exit_code == 1 and "sections.0.metrics.0" in bad_metric.output
        listed = run(cli_app, ["transparency", "list", "--as", emails[0], *who])
        assert listed.exit_code == 0 and "2026-q3" in listed.output and "Published" in listed.output
