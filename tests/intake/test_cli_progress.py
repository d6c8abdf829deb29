"""Progress bars of the intake CLI, always on stderr. `intake reindex` says how far it got: the rebuild reports
signals indexed per batch, the CLI shows a bar once the org has enough of them. `intake import aiid` draws its
bar with the same helper: on stderr only, only on a terminal, only above one batch of rows.

The org holds 5 signals (another org 1); with batches of 2 the expected calls are counted by hand from that.
The AIID fixture has 13 rows: 8 incidents stored, 5 refused (rows 6, 7, 8, 9 and 12)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from signalfire.access.models import Organization, OrgKind
from signalfire.access.service import create_org
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.core.progress import ProgressCallback
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


AIID_CSV = Path(__file__).parent / "fixtures" / "aiid_incidents.csv"
AIID_SUMMARY = "created 8, updated 0, unchanged 0, rows refused 5\n"
AIID_LABEL = "importing AIID incidents"


def _import_aiid(slug: str) -> Result:
    return CliRunner().invoke(cli.app, ["import", "aiid", str(AIID_CSV), "--org", slug])


def test_the_aiid_import_shows_a_bar_on_a_terminal_for_many_rows(
    cli_db: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out, err = forced_terminals(monkeypatch, cli)
    monkeypatch.setattr(cli, "AIID_PROGRESS_FROM", 13)  # "many": 13 here
    result = _import_aiid(cli_db[1])
    assert result.exit_code == 0, result.output
    assert out.getvalue() == AIID_SUMMARY  # stdout: the summary line only
    assert AIID_LABEL in err.getvalue()
    assert "13/13" in err.getvalue()
    assert "row 6: reports: not a JSON list" in err.getvalue()


def test_the_aiid_import_shows_no_bar_for_few_rows(cli_db: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    out, err = forced_terminals(monkeypatch, cli)
    monkeypatch.setattr(cli, "AIID_PROGRESS_FROM", 14)
    result = _import_aiid(cli_db[1])
    assert result.exit_code == 0, result.output
    assert out.getvalue() == AIID_SUMMARY
    assert AIID_LABEL not in err.getvalue()
    assert "13/13" not in err.getvalue()


def test_the_aiid_import_shows_no_bar_when_stderr_is_not_a_terminal(
    cli_db: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The module's own consoles, on the runner's captured (not a terminal) stdout and stderr, as when an
    operator sends the command's output to a file or a pipe."""
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):  # either would make rich treat any file as a terminal
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(cli, "AIID_PROGRESS_FROM", 1)
    result = _import_aiid(cli_db[1])
    assert result.exit_code == 0, result.output
    assert result.stdout == AIID_SUMMARY
    assert "row 6: reports: not a JSON list" in result.stderr  # stderr is written to, but gets no bar
    assert AIID_LABEL not in result.stderr
    assert "13/13" not in result.stderr


def test_the_aiid_import_moves_its_bar_once_per_batch(cli_db: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """In rows read, refused ones included. With batches of 3 incidents: rows 1-3; then 4, 5 and 10 (6-9
    refused on the way); then 11 and 13 (12 refused); and the end."""
    calls: list[tuple[int, int]] = []

    @contextlib.contextmanager
    def recording(console: object, label: str, *, show_from: int) -> Iterator[ProgressCallback]:
        assert console is cli.err and label == AIID_LABEL and show_from == cli.AIID_PROGRESS_FROM
        yield lambda done, total: calls.append((done, total))

    monkeypatch.setattr(cli, "BATCH", 3)
    monkeypatch.setattr(cli, "progress_bar", recording)
    result = _import_aiid(cli_db[1])
    assert result.exit_code == 0, result.output
    assert calls == [(0, 13), (3, 13), (10, 13), (13, 13), (13, 13)]


def test_the_real_aiid_threshold_is_more_than_one_batch() -> None:
    assert cli.AIID_PROGRESS_FROM > cli.BATCH
