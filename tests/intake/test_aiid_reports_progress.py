"""`intake import aiid-reports` says how far it got: the import reports records handled per batch, the CLI draws
a bar on stderr once there are enough of them, and stdout keeps only the summary line.

The input is made here: 2 incidents and a reports file of 6 rows, one refused (no title). That is 7 records:
each incident's own record and 5 reports. With batches of 3 the expected calls, counted by hand, are
(0, 7) before the first, (3, 7), (6, 7) and (7, 7) after each batch."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from signalfire.access.actor import Actor
from signalfire.intake import cli
from signalfire.intake.aiid import AiidIncident, AiidRowError, iter_aiid_incidents
from signalfire.intake.aiid_reports import import_aiid_reports, iter_aiid_reports
from signalfire.intake.reports_import import ReportImportResult
from tests.terminals import forced_terminals

INCIDENTS_CSV = (
    "_id,incident_id,date,reports,Alleged deployer of AI system,Alleged developer of AI system,"
    "Alleged harmed or nearly harmed parties,description,title\n"
    'a1,901,2024-03-01,"[11, 12]","[""acme""]","[""acme""]","[""customers""]",'
    "A support chatbot told customers a refund policy that did not exist.,Support chatbot invents refund policy\n"
    'a2,902,2024-04-02,"[13, 14]","[""cityhall""]","[""vendor""]","[""residents""]",'
    "A benefits scoring model flagged residents as fraudulent.,Benefits model wrongly flags residents\n"
)
REPORTS_CSV = (
    "_id,report_number,title,url,authors\n"
    "r1,11,Airline chatbot made up a refund rule,https://news.example/11,Ann Lee\n"
    "r2,12,Tribunal rules on chatbot refund promise,https://news.example/12,\n"
    "r3,13,Fraud model wrongly flagged thousands,https://news.example/13,Bo Chen\n"
    "r4,14,City pauses benefits algorithm,https://news.example/14,\n"
    "r5,15,,https://news.example/15,\n"  # refused: no title
    "r6,16,Voice clone used in a ransom call,https://news.example/16,Cy Diaz\n"  # no incident lists it
)
SUMMARY = "created 7, unchanged 0, rows refused 1\n"
LABEL = "importing AIID reports"


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path]:
    incidents, reports = tmp_path / "incidents.csv", tmp_path / "reports.csv"
    incidents.write_text(INCIDENTS_CSV, encoding="utf-8")
    reports.write_text(REPORTS_CSV, encoding="utf-8")
    return incidents, reports


def _import(
    db: Session, org_id: uuid.UUID, incidents: list[AiidIncident], reports: Path, errors: list[AiidRowError]
) -> tuple[list[tuple[int, int]], ReportImportResult]:
    calls: list[tuple[int, int]] = []
    with reports.open("rb") as fh:
        read = iter_aiid_reports(fh, errors=errors)  # an iterator, as the CLI passes it
        result = import_aiid_reports(
            db, org_id, incidents, read, batch_size=3, progress=lambda d, t: calls.append((d, t))
        )
    return calls, result


def test_progress_is_reported_per_batch_of_records(
    db: Session, make_actor: Callable[..., Actor], files: tuple[Path, Path]
) -> None:
    actor = make_actor()
    errors: list[AiidRowError] = []
    with files[0].open("rb") as fh:
        incidents = list(iter_aiid_incidents(fh, errors=errors))
    assert [i.incident_id for i in incidents] == [901, 902]
    calls, first = _import(db, actor.org_id, incidents, files[1], errors)
    assert calls == [(0, 7), (3, 7), (6, 7), (7, 7)]
    assert (first.created, first.skipped) == (7, 0)
    calls, again = _import(db, actor.org_id, incidents, files[1], errors)  # all there already: the same calls
    assert calls == [(0, 7), (3, 7), (6, 7), (7, 7)]
    assert (again.created, again.skipped) == (0, 7)
    assert [e.row_number for e in errors] == [5, 5]  # the title-less row, once per run


def test_the_cli_shows_a_bar_on_stderr_for_many_records(
    cli_db: tuple[str, str], files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    out, err = forced_terminals(monkeypatch, cli)
    monkeypatch.setattr(cli, "AIID_REPORTS_PROGRESS_FROM", 7)  # "many": 7 here
    result = CliRunner().invoke(cli.app, ["import", "aiid-reports", *map(str, files), "--org", cli_db[1]])
    assert result.exit_code == 0, result.output
    assert out.getvalue() == SUMMARY  # stdout unchanged: the summary line only
    assert LABEL in err.getvalue()
    assert "7/7" in err.getvalue()
    assert "row 5: title is empty" in err.getvalue()


def test_the_cli_shows_no_bar_for_few_records(
    cli_db: tuple[str, str], files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    out, err = forced_terminals(monkeypatch, cli)
    monkeypatch.setattr(cli, "AIID_REPORTS_PROGRESS_FROM", 8)
    result = CliRunner().invoke(cli.app, ["import", "aiid-reports", *map(str, files), "--org", cli_db[1]])
    assert result.exit_code == 0, result.output
    assert out.getvalue() == SUMMARY
    assert LABEL not in err.getvalue()
    assert "7/7" not in err.getvalue()


def test_the_real_threshold_is_more_than_one_batch() -> None:
    from signalfire.intake.reports_import import BATCH_SIZE

    assert cli.AIID_REPORTS_PROGRESS_FROM > BATCH_SIZE
