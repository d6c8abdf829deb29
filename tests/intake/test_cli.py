"""`signalfire intake import aiid SNAPSHOT` and `signalfire intake feeds add URL` against a real database."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.intake.cli import app
from signalfire.intake.models import Feed, FeedKind, Signal

CSV = Path(__file__).parent / "fixtures" / "aiid_incidents.csv"


def _signals(url: str) -> list[Signal]:
    engine = make_engine(url)
    with unit_of_work(session_factory(engine)) as s:
        rows = list(s.execute(select(Signal).order_by(Signal.dedupe_key)).scalars())
    engine.dispose()
    return rows


def test_import_aiid_snapshot_is_idempotent_and_keeps_attribution(cli_db: tuple[str, str], tmp_path: Path) -> None:
    url, slug = cli_db
    # The snapshot as published: an archive with incidents.csv among other files.
    archive = tmp_path / "backup-20260301.tar.bz2"
    with tarfile.open(archive, "w:bz2") as tar:
        for name, data in (
            ("mongodump_full_snapshot/incidents.csv", CSV.read_bytes()),
            ("mongodump_full_snapshot/reports.csv", b"_id,report_number\n"),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    runner = CliRunner()
    first = runner.invoke(app, ["import", "aiid", str(archive), "--org", slug])
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("created ") and first.stdout.count("\n") == 1  # stdout: the summary line
    stored = _signals(url)
    assert stored and all(s.attribution and "Responsible AI Collaborative" in s.attribution for s in stored)
    assert len({s.dedupe_key for s in stored}) == len(stored)
    second = runner.invoke(app, ["import", "aiid", str(CSV), "--org", slug])
    assert second.exit_code == 0, second.output
    assert f"created 0, updated 0, unchanged {len(stored)}" in second.output
    assert len(_signals(url)) == len(stored)


def test_import_refuses_a_file_that_is_not_a_snapshot(cli_db: tuple[str, str], tmp_path: Path) -> None:
    _, slug = cli_db
    bad = tmp_path / "not-aiid.csv"
    bad.write_text("a,b\n1,2\n")
    result = CliRunner().invoke(app, ["import", "aiid", str(bad), "--org", slug])
    assert result.exit_code == 1 and "missing columns" in result.output
    unknown = CliRunner().invoke(app, ["import", "aiid", str(CSV), "--org", "no-such-org"])
    assert unknown.exit_code == 1


def test_feeds_add_and_list(cli_db: tuple[str, str]) -> None:
    url, slug = cli_db
    runner = CliRunner()
    added = runner.invoke(app, ["feeds", "add", "https://news.example.org/feed.xml", "--org", slug])
    assert added.exit_code == 0, added.output
    twice = runner.invoke(app, ["feeds", "add", "https://news.example.org/feed.xml", "--org", slug])
    assert twice.exit_code == 1 and "already" in twice.output
    bad = runner.invoke(app, ["feeds", "add", "ftp://example.org/x", "--org", slug])
    assert bad.exit_code == 1
    snapshot = runner.invoke(
        app,
        [
            "feeds",
            "add",
            "https://example.org/incidents.csv",
            "--org",
            slug,
            "--kind",
            "aiid_snapshot",
            "--interval",
            "86400",
        ],
    )
    assert snapshot.exit_code == 0
    listing = runner.invoke(app, ["feeds", "list", "--org", slug])
    assert listing.exit_code == 0 and "rss_atom" in listing.output and "aiid_snapshot" in listing.output
    engine = make_engine(url)
    with unit_of_work(session_factory(engine)) as s:
        kinds = dict(s.execute(select(Feed.url, Feed.kind)).all())
        assert s.execute(select(func.count()).select_from(Feed)).scalar() == 2
    engine.dispose()
    assert kinds["https://example.org/incidents.csv"] is FeedKind.aiid_snapshot


def test_thresholds_match_and_reindex_from_the_cli(cli_db: tuple[str, str]) -> None:
    from signalfire.access.models import Organization, Role
    from signalfire.intake.ingest import Incoming, ingest
    from signalfire.intake.models import MatchSuggestion, SignalBand, SourceKind, Verdict
    from tests import factories as tf

    url, slug = cli_db
    engine = make_engine(url)
    with unit_of_work(session_factory(engine)) as s:
        org = s.execute(select(Organization).where(Organization.slug == slug)).scalar_one()
        email = tf.member(s, org, Role.admin).email
        for title in ("Chatbot leaks customer records at Acme bank", "Acme bank chatbot leaked customer records"):
            reference = ingest(
                s, Incoming(org_id=org.id, source_kind=SourceKind.manual, title=title, text="")
            ).reference
    runner = CliRunner()
    shown = runner.invoke(app, ["match", reference, "--as", email, "--org", slug])
    assert shown.exit_code == 0, shown.output
    assert "known" in shown.output and "pending" in shown.output
    done = runner.invoke(app, ["match", reference, "reject", "--as", email, "--org", slug])
    assert done.exit_code == 0 and "rejected" in done.output
    assert runner.invoke(app, ["match", reference, "maybe", "--as", email, "--org", slug]).exit_code == 2
    assert runner.invoke(app, ["match", "SF-R-0000-0000", "--as", email, "--org", slug]).exit_code == 1
    setting = runner.invoke(app, ["thresholds", "--as", email, "--org", slug, "--known", "0.5"])
    assert setting.exit_code == 0, setting.output
    assert "known 0.500" in setting.output and "1 decided: 0 accepted, 1 rejected" in setting.output
    assert runner.invoke(app, ["thresholds", "--as", email, "--org", slug, "--known", "3"]).exit_code != 0
    rebuilt = runner.invoke(app, ["reindex", "--org", slug])
    assert rebuilt.exit_code == 0 and "indexed 2 signals" in rebuilt.output
    with unit_of_work(session_factory(engine)) as s:
        assert s.execute(select(func.count()).select_from(SignalBand)).scalar_one() > 0
        verdicts = s.execute(select(MatchSuggestion.verdict)).scalars().all()
        assert Verdict.rejected in verdicts
    engine.dispose()


def test_import_aiid_reports_from_the_cli(cli_db: tuple[str, str], tmp_path: Path) -> None:
    url, slug = cli_db
    reports = tmp_path / "reports.csv"
    reports.write_text(
        "_id,report_number,title,url,authors\n"
        'x,1,Report one about a chatbot,https://a.example/one,"[""Ann Lee""]"\n'
        "y,zz,bad row,https://a.example/two,\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    first = runner.invoke(app, ["import", "aiid-reports", str(CSV), str(reports), "--org", slug])
    assert first.exit_code == 0, first.output
    assert "report_number must be a positive whole number" in first.output
    keys = [s.dedupe_key for s in _signals(url)]
    assert "aiid-report:1" in keys and any(k and k.startswith("aiid:") for k in keys)
    again = runner.invoke(app, ["import", "aiid-reports", str(CSV), str(reports), "--org", slug])
    assert again.exit_code == 0 and "created 0" in again.output
