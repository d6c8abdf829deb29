"""Progress bars of the intake CLI, always on stderr. `intake reindex` says how far it got: the rebuild reports
signals indexed per batch, the CLI shows a bar once the org has enough of them. The AIID import's bar stays
off stdout.

The org holds 5 signals (another org 1); with batches of 2 the expected calls are counted by hand from that."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from signalfire.access.models import Organization, OrgKind
from signalfire.access.service import create_org
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.intake import cli
from signalfire.intake.ingest import Incoming, ingest
from signalfire.intake.matching import reindex
from signalfire.intake.models import SignalBand, SourceKind
from tests.terminals import forced_terminals

TITLES = (
    "Chatbot leaks customer records at Acme bank",
    "Acme bank chatbot leaked customer records",
    "Image model produces deepfake of a senator",
    "Coding assistant suggests a vulnerable dependency",
    "Voice clone used in a ransom call",
)


@pytest.fixture()
def org_db(cli_db: tuple[str, str]) -> tuple[str, str]:
    """cli_db's org holding the TITLES, and another org holding the first of them."""
    url, slug = cli_db
    engine = make_engine(url)
    with unit_of_work(session_factory(engine)) as s:
        org = s.execute(select(Organization).where(Organization.slug == slug)).scalar_one()
        other = create_org(s, slug=f"cli-{uuid.uuid4().hex[:8]}", name="Other", kind=OrgKind.frontier_developer)
        for title in TITLES:
            ingest(s, Incoming(org_id=org.id, source_kind=SourceKind.manual, title=title, text=""))
        ingest(s, Incoming(org_id=other.id, source_kind=SourceKind.manual, title=TITLES[0], text=""))
    engine.dispose()
    return cli_db


def _bands(s: Session) -> list[tuple[str, str]]:
    return sorted((str(i), b) for i, b in s.execute(select(SignalBand.signal_id, SignalBand.band)))


def test_progress_is_reported_per_batch(org_db: tuple[str, str]) -> None:
    url, slug = org_db
    calls: list[tuple[int, int]] = []
    engine = make_engine(url)
    with unit_of_work(session_factory(engine)) as s:
        org = s.execute(select(Organization).where(Organization.slug == slug)).scalar_one()
        assert reindex(s, org.id) == 5
        before = _bands(s)
        assert reindex(s, org.id, batch_size=2, progress=lambda d, t: calls.append((d, t))) == 5
        assert calls == [(0, 5), (2, 5), (4, 5), (5, 5)]
        assert _bands(s) == before  # the same index, in batches of 2 and with a callback
    engine.dispose()


def test_the_cli_shows_a_bar_on_stderr_for_many_signals(
    org_db: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out, err = forced_terminals(monkeypatch, cli)
    monkeypatch.setattr(cli, "REINDEX_PROGRESS_FROM", 5)  # "many": 5 here
    result = CliRunner().invoke(cli.app, ["reindex", "--org", org_db[1]])
    assert result.exit_code == 0, result.output
    assert out.getvalue() == "indexed 5 signals\n"
    assert "indexing signals" in err.getvalue()
    assert "5/5" in err.getvalue()


def test_the_cli_shows_no_bar_for_few_signals(org_db: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    out, err = forced_terminals(monkeypatch, cli)
    monkeypatch.setattr(cli, "REINDEX_PROGRESS_FROM", 6)
    result = CliRunner().invoke(cli.app, ["reindex", "--org", org_db[1]])
    assert result.exit_code == 0, result.output
    assert out.getvalue() == "indexed 5 signals\n"
    assert "indexing signals" not in err.getvalue()


def test_the_aiid_import_bar_is_on_stderr(org_db: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The AIID import always shows its bar: on stderr, so stdout keeps only the summary line."""
    out, err = forced_terminals(monkeypatch, cli)
    csv = Path(__file__).parent / "fixtures" / "aiid_incidents.csv"
    result = CliRunner().invoke(cli.app, ["import", "aiid", str(csv), "--org", org_db[1]])
    assert result.exit_code == 0, result.output
    assert out.getvalue().startswith("created ")
    assert "AIID import" not in out.getvalue()
    assert "AIID import" in err.getvalue()
