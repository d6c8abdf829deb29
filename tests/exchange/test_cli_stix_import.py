"""`signalfire exchange import`: the CLI counterpart of the web and API import of STIX 2.1 bundles.

Driven through the real `signalfire` command line on a database of its own (commits are real), with
bundles written by hand (``stix_reports``) so the expected outcomes do not come from the importer: the dry
run stores nothing (every table compared row by row), an import makes drafts of the importer's org that its
writers see and no one else does, a second import leaves them unchanged, people who may not import are
refused with one line and exit 1, bad files with one line and exit 2, and an import that fails midway
keeps whole committed batches and says how many.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner, Result

from signalfire.access.actor import Actor
from signalfire.access.models import Role, User
from signalfire.access.policy.exchange import readable_items
from signalfire.audit.models import AuditEvent
from signalfire.cli import _load_domain_commands
from signalfire.cli import app as cli_app
from signalfire.core.db.base import Base
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.core.settings import get_settings
from signalfire.exchange.models import ExchangeItem, ItemStatus
from signalfire.exchange.vocab import Tlp
from tests import factories
from tests.exchange.stix_reports import stix_indicator, stix_report


@dataclass(frozen=True)
class People:
    importer: Actor  # admin of org A
    writer: Actor  # analyst of org A: writes items, so sees the org's drafts
    viewer: Actor  # viewer of org A: may not import
    outsider: Actor  # admin of org B
    org_a: str  # slug
    emails: dict[str, str]


@dataclass
class Env:
    factory: sessionmaker[Session]
    people: People
    runner: CliRunner

    def run(self, *args: str, input: bytes | None = None) -> Result:
        return self.runner.invoke(cli_app, ["exchange", "import", *args], input=input)

    def rows(self) -> dict[str, list[str]]:
        """Every row of every table, as sorted text: what "nothing was stored" is checked against."""
        with self.factory() as s:
            return {
                t.name: sorted(repr(tuple(r)) for r in s.execute(select(t)).all()) for t in Base.metadata.sorted_tables
            }

    def items(self) -> list[ExchangeItem]:
        with self.factory() as s:
            return list(s.execute(select(ExchangeItem).order_by(ExchangeItem.title)).scalars())

    def readable_ids(self, actor: Actor) -> set[uuid.UUID]:
        with self.factory() as s:
            return set(s.execute(readable_items(actor).with_only_columns(ExchangeItem.id)).scalars())

    def audits(self, action: str) -> list[AuditEvent]:
        with self.factory() as s:
            return list(s.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars())


def _people(s: Session) -> People:
    org_a, org_b = factories.org(s), factories.org(s)
    actors = {
        "importer": factories.actor_for(s, factories.member(s, org_a, Role.admin), org_a),
        "writer": factories.actor_for(s, factories.member(s, org_a, Role.analyst), org_a),
        "viewer": factories.actor_for(s, factories.member(s, org_a, Role.viewer), org_a),
        "outsider": factories.actor_for(s, factories.member(s, org_b, Role.admin), org_b),
    }
    emails = {name: s.get_one(User, a.user_id).email for name, a in actors.items()}
    return People(**actors, org_a=org_a.slug, emails=emails)


@pytest.fixture()
def env(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    engine = make_engine(fresh_db)
    factory = session_factory(engine)
    with unit_of_work(factory) as s:
        people = _people(s)
    monkeypatch.setenv("SIGNALFIRE_DATABASE_URL", fresh_db)
    monkeypatch.setenv("SIGNALFIRE_ENVIRONMENT", "test")
    get_settings.cache_clear()
    _load_domain_commands()  # the `signalfire` entry point's groups (idempotent)
    try:
        yield Env(factory=factory, people=people, runner=CliRunner())
    finally:
        get_settings.cache_clear()
        engine.dispose()


def _bundle(*objects: dict[str, Any]) -> bytes:
    return json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": list(objects)}).encode()


def _file(tmp_path: Path, raw: bytes) -> str:
    path = tmp_path / f"{uuid.uuid4().hex[:8]}.json"
    path.write_bytes(raw)
    return str(path)


def _as(env: Env, who: str = "importer") -> list[str]:
    return ["--as", env.people.emails[who]]


def _report(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    report: dict[str, Any] = json.loads(result.stdout)
    return report


COUNTS = ("create", "update", "unchanged", "refuse", "ignored", "objects")


def _counts(*values: int) -> dict[str, int]:
    return dict(zip(COUNTS, values, strict=True))


# --- the dry run -------------------------------------------------------------------------------------


def test_dry_run_prints_the_plan_and_stores_nothing(env: Env, tmp_path: Path) -> None:
    good = stix_report("Weights exfiltration attempt")
    unmarked = stix_report("No TLP at all", tlp=None)
    raw = _bundle(good, unmarked, stix_indicator("[ipv4-addr:value = '203.0.113.9']"))
    path = _file(tmp_path, raw)
    before = env.rows()

    shown = env.run(path, *_as(env), "--dry-run")
    assert shown.exit_code == 0, shown.stderr
    assert "dry run, nothing stored: 1 to create, 0 to update, 0 unchanged, 1 refused, 1 ignored (2 objects)" in (
        shown.stdout
    )
    assert "create" in shown.stdout and "refuse" in shown.stdout

    report = _report(env.run(path, *_as(env), "--dry-run", "--json"))
    assert report["dry_run"] is True
    assert report["counts"] == _counts(1, 0, 0, 1, 1, 2)
    by_id = {o["stix_id"]: o for o in report["objects"]}
    assert set(by_id) == {good["id"], unmarked["id"]}
    assert (by_id[good["id"]]["action"], by_id[good["id"]]["title"]) == ("create", "Weights exfiltration attempt")
    assert by_id[unmarked["id"]]["action"] == "refuse" and "TLP" in by_id[unmarked["id"]]["reason"]

    assert env.rows() == before
    # ... and the import does what the dry run said, with the same plan for the same objects.
    done = _report(env.run(path, *_as(env), "--json"))
    assert done["dry_run"] is False and done["counts"] == report["counts"]
    assert [(o["stix_id"], o["action"], o["item_id"]) for o in done["objects"]] == [
        (o["stix_id"], o["action"], o["item_id"]) for o in report["objects"]
    ]


# --- the import --------------------------------------------------------------------------------------


def test_import_makes_drafts_the_org_sees_and_a_second_import_changes_nothing(env: Env, tmp_path: Path) -> None:
    p = env.people
    first, second = stix_report("Jailbreak via role-play"), stix_report("Prompt injection in a tool call")
    path = _file(tmp_path, _bundle(first, second))

    result = env.run(path, *_as(env), "--org", p.org_a)
    assert result.exit_code == 0, result.stderr
    assert "2 created, 0 updated, 0 unchanged, 0 refused, 0 ignored (2 objects)" in result.stdout

    items = env.items()
    assert [(i.title, i.status, i.org_id, i.tlp) for i in items] == [
        ("Jailbreak via role-play", ItemStatus.DRAFT, p.importer.org_id, Tlp.GREEN),
        ("Prompt injection in a tool call", ItemStatus.DRAFT, p.importer.org_id, Tlp.GREEN),
    ]
    ids = {i.id for i in items}
    # Drafts: the org's writers see them; its viewers (drafts are not theirs to see) and other orgs do not.
    assert ids <= env.readable_ids(p.importer) and ids <= env.readable_ids(p.writer)
    assert not ids & env.readable_ids(p.viewer) and not ids & env.readable_ids(p.outsider)
    # The same audit as the API's import: a draft_created per draft, one exchange.stix.imported with both.
    created = env.audits("exchange.item.draft_created")
    assert {uuid.UUID(str(a.target_id)) for a in created} == ids
    (imported,) = env.audits("exchange.stix.imported")
    assert (imported.actor_user_id, imported.target_type) == (p.importer.user_id, "exchange_item")
    assert sorted(imported.summary["created"]) == sorted(str(i) for i in ids)

    before = env.rows()
    again = _report(env.run(path, *_as(env), "--json"))
    assert again["counts"] == _counts(0, 0, 2, 0, 0, 2) and again["created"] == []
    assert {o["action"] for o in again["objects"]} == {"unchanged"}
    assert [i.id for i in env.items()] == [i.id for i in items]
    assert len(env.audits("exchange.item.draft_created")) == 2
    assert len(env.audits("exchange.stix.imported")) == 2  # the second import is audited, and nothing else changed
    after = env.rows()
    assert {t for t in before if before[t] != after[t]} <= {"audit_event", "audit_sequencer", "audit_chain_head"}


def test_stdin_dash_reads_the_bundle_from_standard_input(env: Env) -> None:
    report = stix_report("Read from a pipe")
    result = _report(env.run("-", *_as(env), "--json", input=_bundle(report)))
    assert result["counts"] == _counts(1, 0, 0, 0, 0, 1)
    assert [i.title for i in env.items()] == ["Read from a pipe"]


def test_json_is_the_api_shape(env: Env, tmp_path: Path) -> None:
    report = stix_report("Shape check")
    result = _report(env.run(_file(tmp_path, _bundle(report)), *_as(env), "--json"))
    assert set(result) == {"dry_run", "counts", "objects", "created", "skipped", "ignored"}
    (obj,) = result["objects"]
    assert set(obj) == {"stix_id", "type", "action", "reason", "title", "tlp", "item_id", "defaults"}
    (item,) = env.items()
    assert (obj["stix_id"], obj["type"], obj["tlp"], obj["item_id"]) == (report["id"], "report", "GREEN", str(item.id))
    assert result["created"] == [
        {"item_id": str(item.id), "stix_id": report["id"], "title": "Shape check", "tlp": "GREEN", "defaults": []}
    ]


# --- who may import ----------------------------------------------------------------------------------


@pytest.mark.parametrize("dry_run", [False, True], ids=["import", "dry-run"])
@pytest.mark.parametrize(
    ("who", "org", "says"),
    [
        ("outsider", True, "is not an active member of the organisation"),
        ("viewer", False, "does not allow this"),
        ("nobody", False, "no user with the e-mail address nobody@example.test"),
    ],
)
def test_people_who_may_not_import_are_refused_and_nothing_is_stored(
    env: Env, tmp_path: Path, who: str, org: bool, says: str, dry_run: bool
) -> None:
    email = env.people.emails.get(who, "nobody@example.test")
    args = [_file(tmp_path, _bundle(stix_report("Should not land"))), "--as", email]
    args += ["--org", env.people.org_a] if org else []
    args += ["--dry-run"] if dry_run else []
    before = env.rows()
    result = env.run(*args)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert says in result.stderr and result.stderr.strip().count("\n") == 0
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert env.rows() == before


# --- bad input ---------------------------------------------------------------------------------------


def _bad_inputs() -> list[tuple[str, bytes | None, str]]:
    too_many = _bundle(*[stix_report(f"Report {n}") for n in range(1001)])
    huge = b'{"type": "bundle", "id": "bundle--x", "objects": ["' + b"x" * (21 * 1024 * 1024) + b'"]}'
    return [
        ("not json", b"{not json", "STIX bundle refused"),
        ("empty", b"", "STIX bundle refused"),
        ("not a bundle", b'{"type": "indicator"}', "STIX bundle refused"),
        ("objects not a list", b'{"type": "bundle", "id": "bundle--1", "objects": 3}', "STIX bundle refused"),
        ("too many reports", too_many, "import at most 1000 at a time"),
        ("too large", huge, "STIX bundle refused"),
        ("missing file", None, "cannot read"),
    ]


@pytest.mark.parametrize(("name", "raw", "says"), _bad_inputs(), ids=[b[0] for b in _bad_inputs()])
def test_bad_input_is_one_line_exit_2_and_nothing_stored(
    env: Env, tmp_path: Path, name: str, raw: bytes | None, says: str
) -> None:
    path = str(tmp_path / "absent.json") if raw is None else _file(tmp_path, raw)
    before = env.rows()
    for extra in ([], ["--dry-run"], ["--json"]):
        result = env.run(path, *_as(env), *extra)
        assert result.exit_code == 2, (name, extra, result.stdout, result.stderr)
        assert result.stderr.startswith("error: ") and says in result.stderr, result.stderr
        assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
        assert result.stdout == ""
    assert env.rows() == before


def test_a_malformed_object_is_refused_with_its_reason_and_the_rest_imported(env: Env, tmp_path: Path) -> None:
    good = stix_report("Good one")
    broken = stix_report("Broken one")
    broken["created"] = "not a time"
    result = _report(env.run(_file(tmp_path, _bundle(good, broken)), *_as(env), "--json"))
    by_id = {o["stix_id"]: o for o in result["objects"]}
    assert by_id[good["id"]]["action"] == "create"
    assert by_id[broken["id"]]["action"] == "refuse" and by_id[broken["id"]]["reason"]
    assert [i.title for i in env.items()] == ["Good one"]


# --- batches, progress, and a failure midway ---------------------------------------------------------


def _five() -> list[dict[str, Any]]:
    return [stix_report(f"Report {n}") for n in range(1, 6)]


def test_a_big_import_commits_batch_by_batch_with_a_progress_bar(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from signalfire.exchange.stix import bundles, jobs

    monkeypatch.setattr(jobs, "BATCH_SIZE", 2)
    before: list[tuple[int, int]] = []  # per batch: drafts stored before it, drafts it applies
    real = bundles.apply_plan

    def counting(session: Session, actor: Actor, planned: Sequence[Any]) -> None:
        before.append((session.execute(select(func.count()).select_from(ExchangeItem)).scalar_one(), len(planned)))
        real(session, actor, planned)

    monkeypatch.setattr(bundles, "apply_plan", counting)
    result = env.run(_file(tmp_path, _bundle(*_five())), *_as(env))
    assert result.exit_code == 0, result.stderr
    assert before == [(0, 2), (2, 2), (4, 1)]  # three batches of at most 2 (the failure test: each committed)
    assert "5/5" in result.stderr  # the bar's last state
    assert "5 created" in result.stdout


def test_a_failure_midway_keeps_whole_batches_and_says_what_was_committed(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from signalfire.exchange.stix import bundles, jobs

    monkeypatch.setattr(jobs, "BATCH_SIZE", 2)
    calls: list[int] = []
    real = bundles.apply_plan

    def failing_second(session: Session, actor: Actor, planned: Sequence[Any]) -> None:
        calls.append(1)
        real(session, actor, planned)  # the batch's drafts are written (flushed) before the failure
        if len(calls) == 2:
            raise RuntimeError("disk full")

    monkeypatch.setattr(bundles, "apply_plan", failing_second)
    reports = _five()
    path = _file(tmp_path, _bundle(*reports))
    result = env.run(path, *_as(env), "--json")
    assert result.exit_code == 1
    assert "disk full" in result.stderr and "2 of 5 objects were committed" in result.stderr
    assert "Traceback" not in result.stderr
    partial = json.loads(result.stdout)
    assert partial["counts"]["create"] == 2 and partial["total"] == 5 and "disk full" in partial["error"]
    assert [i.title for i in env.items()] == ["Report 1", "Report 2"]  # the first batch whole, none of the second
    (failed,) = env.audits("exchange.stix.import_failed")
    assert (failed.summary["done"], failed.summary["total"]) == (2, 5)
    assert env.audits("exchange.stix.imported") == []

    monkeypatch.setattr(bundles, "apply_plan", real)
    finished = _report(env.run(path, *_as(env), "--json"))
    assert finished["counts"] == _counts(3, 0, 2, 0, 0, 5)
    assert [i.title for i in env.items()] == [r["name"] for r in reports]
