"""`signalfire reporting ...` for the report workflow against a real database: assess, obligations,
draft, set-field, submit, export, and the authority inbox; refusals look like the API's."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from signalfire.access.models import Organization, Role
from signalfire.audit.models import AuditEvent
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.core.settings import get_settings
from signalfire.reporting import cli, reports
from signalfire.reporting.models import Assessment, Delivery, Obligation, ObligationStatus, Report, ReportVersion
from signalfire.response import actions
from signalfire.response import service as response
from signalfire.response.models import TimelineKind
from signalfire.response.schemas import ActionCreate
from signalfire.response.vocab import ActionKind
from tests import factories
from tests.reporting import factories as f
from tests.reporting.factories import COP, SB53, utc

NOW = utc(2026, 9, 2, 12)
HARM = ["--answer", "health_harm=yes", *(f"--answer={k}={v}" for k, v in f.cop().items() if k != "health_harm")]
COP_FACTS = [x for k, v in f.COP_FACTS.items() for x in ("--fact", f"{k}={v}")]


@dataclass(frozen=True)
class World:
    url: str
    dev: list[str]  # --as/--org of a reporter at the developer
    admin: list[str]  # an admin at the developer
    office: list[str]  # an admin of the authority bound to the Code's AI Office recipient
    oes: list[str]  # an admin of the authority bound to SB 53's OES recipient
    stranger: list[str]  # an admin of another developer
    reference: str


def who(email: str, org: Organization) -> list[str]:
    return ["--as", email, "--org", org.slug]


@pytest.fixture()
def world(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("SIGNALFIRE_DATABASE_URL", fresh_db)
    get_settings.cache_clear()
    # Wide enough that no table cell wraps, whatever terminal runs the tests.
    monkeypatch.setattr(cli.console, "width", 240)
    monkeypatch.setattr(cli.err, "width", 240)
    engine = make_engine(fresh_db)
    with time_machine.travel(NOW, tick=False), unit_of_work(session_factory(engine)) as s:
        dev = f.developer(s, role=Role.reporter)
        admin = f.colleague(s, dev)
        office, oes = f.authority(s, "EU AI Office (test)"), f.authority(s, "Cal OES (test)")
        f.bind(s, COP, "eu_ai_office", office)
        f.bind(s, SB53, "ca_oes", oes)
        stranger = f.developer(s)
        factories.org(s)  # an org nobody here belongs to
        inc = demo_incident(s, admin)
        world = World(
            fresh_db,
            who(dev.email, f.org_of(s, dev)),
            who(admin.email, f.org_of(s, admin)),
            who(office.email, f.org_of(s, office)),
            who(oes.email, f.org_of(s, oes)),
            who(stranger.email, f.org_of(s, stranger)),
            inc.reference,
        )
    engine.dispose()
    with time_machine.travel(NOW, tick=False):
        yield world
    get_settings.cache_clear()


def demo_incident(s: Session, admin: Any) -> Any:
    """An incident as the demo tells it: summary, timeline, the model involved, an action taken."""
    from tests.response import factories as rf

    rf.model_version(s, admin, "aurora-large", "3.2")
    inc = f.incident(
        s,
        admin,
        aware_at=utc(2026, 9, 1, 8),
        affected_models=["aurora-large 3.2"],
        summary="A jailbreak produced harmful instructions.",
        title="Jailbreak on aurora-large 3.2",
    )
    response.add_timeline_entry(
        s, admin, inc, kind=TimelineKind.EVIDENCE, body="Replay log #42 shows the prompt.", at=utc(2026, 9, 1, 9)
    )
    actions.create_action(s, admin, inc, ActionCreate(kind=ActionKind.SAFEGUARD_CHANGE, title="Block the pattern"))
    return inc


def run(*args: str, app: Any = cli.reporting_app) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def count(w: World, model: Any, *where: Any) -> int:
    engine = make_engine(w.url)
    try:
        with sessionmaker(engine)() as s:
            return int(s.execute(select(func.count()).select_from(model).where(*where)).scalar_one())
    finally:
        engine.dispose()


def rows(w: World, stmt: Any) -> list[Any]:
    engine = make_engine(w.url)
    try:
        with sessionmaker(engine, expire_on_commit=False)() as s:
            return list(s.execute(stmt).scalars())
    finally:
        engine.dispose()


def assessed(w: World) -> list[Obligation]:
    """Model involvement recorded and the incident assessed under the Code: three obligations."""
    code, out = run("event", w.reference, "aware_of_model_involvement", *w.dev, "--at", "2026-09-01T10:00:00Z",
                    "--evidence", "Replay confirmed.")  # fmt: skip
    assert code == 0, out
    code, out = run("assess", w.reference, *w.dev, "--regime", COP, *HARM, *COP_FACTS, "--rationale", "Health harm.")
    assert code == 0, out
    return rows(w, select(Obligation).order_by(Obligation.due_at))


def initial(w: World) -> uuid.UUID:
    return next(o.id for o in assessed(w) if o.stage == "initial")


def draft(w: World, obligation_id: uuid.UUID) -> tuple[uuid.UUID, str]:
    code, out = run("draft", str(obligation_id), *w.dev)
    assert code == 0, out
    report = rows(w, select(Report).where(Report.obligation_id == obligation_id))[0]
    return report.id, out


def test_questions_list_what_assess_takes() -> None:
    code, out = run("questions", COP)
    assert code == 0, out
    assert "model_involved" in out and "gpai_systemic_risk_provider" in out and "aware_of_model_involvement" in out
    code, out = run("questions", "no-such-regime")
    assert code == 1 and "not found" in out


def test_assess_records_a_version_and_prints_the_obligations(world: World) -> None:
    w = world
    code, out = run("event", w.reference, "aware_of_model_involvement", *w.dev, "--at", "2026-09-01T10:00:00Z",
                    "--evidence", "Replay confirmed.")  # fmt: skip
    assert code == 0 and "recorded" in out, out
    code, out = run("assess", w.reference, *w.dev, "--regime", COP, *HARM, *COP_FACTS, "--rationale", "Health harm.")
    assert code == 0, out
    assert "outcome: reportable" in out and "classes: serious_harm" in out and "3 created" in out
    obs = rows(w, select(Obligation))
    assert len(obs) == 3
    for o in obs:
        assert str(o.id) in out
    first = next(o for o in obs if o.stage == "initial")
    assert first.due_at == utc(2026, 9, 16, 10) and "2026-09-16 10:00" in out  # 15 days from involvement
    assert count(w, Assessment) == 1
    audit = rows(w, select(AuditEvent).where(AuditEvent.action == "reporting.assessment.create"))
    assert len(audit) == 1 and audit[0].summary["rationale"] == "Health harm."

    # A reassessment is a new version; the first stays, no longer current.
    code, out = run("assess", w.reference, *w.dev, "--regime", COP, *HARM, "--rationale", "Checked again.")
    assert code == 0 and "assessment v2" in out, out
    assert "gpai_systemic_risk_provider=yes" in out  # the facts keep their last answers
    code, out = run("assessments", w.reference, *w.dev)
    assert code == 0 and "Checked again." in out and "Health harm." in out
    code, out = run("obligations", w.reference, *w.dev)
    assert code == 0 and all(str(o.id) in out for o in obs)

    code, out = run("assess", w.reference, *w.dev, "--regime", COP, "--answer", "death")
    assert code == 2 and "--answer takes" in out


def test_another_org_finds_nothing_and_changes_nothing(world: World) -> None:
    w = world
    obligation_id = initial(w)
    report_id, _ = draft(w, obligation_id)
    before = (count(w, Assessment), count(w, AuditEvent), count(w, Report))
    for who_ in (w.stranger, w.office):
        attempts = [
            ("assess", w.reference, *who_, "--regime", COP, *HARM, *COP_FACTS),
            ("event", w.reference, "discovered", *who_, "--evidence", "x"),
            ("assessments", w.reference, *who_),
            ("obligations", w.reference, *who_),
            ("draft", str(obligation_id), *who_),
            ("waive", str(obligation_id), *who_, "--reason", "Not ours."),
            ("report", str(report_id), *who_),
            ("set-field", str(report_id), "m6_response", "Nothing.", *who_),
            ("submit", str(report_id), *who_),
            ("export", str(report_id), *who_),
        ]
        for args in attempts:
            code, out = run(*args)
            assert code == 1 and "not found" in out, (args, out)
    assert (count(w, Assessment), count(w, AuditEvent), count(w, Report)) == before
    assert count(w, ReportVersion) == 0

    code, out = run("obligations", w.reference, "--as", "nobody@example.test", "--org", w.dev[3])
    assert code == 1 and "no user with the e-mail address nobody@example.test" in out


def test_submit_names_each_missing_field_and_submits_nothing(world: World) -> None:
    w = world
    obligation_id = initial(w)
    report_id, _ = draft(w, obligation_id)
    for args in (("m6_response", ""), ("m7_recommendations", ""), ("m2_harm", "", "--preliminary")):
        code, out = run("set-field", str(report_id), *args, *w.dev)
        assert code == 0, out
    code, out = run("submit", str(report_id), *w.dev)
    assert code == 1, out
    assert "Required fields are missing: m6_response, m7_recommendations." in out
    assert "Response taken or planned is required" in out and "Recommendations to the AI Office" in out
    assert "m2_harm" not in out  # preliminary: "not yet known" is allowed in the initial report
    assert count(w, ReportVersion) == 0 and count(w, Delivery) == 0
    assert rows(w, select(Obligation).where(Obligation.id == obligation_id))[0].status is ObligationStatus.due
    assert count(w, AuditEvent, AuditEvent.action == "reporting.report.submit") == 0

    code, out = run("set-field", str(report_id), "m6_response", *w.dev)
    assert code == 2 and "--file" in out  # neither a value nor a file


def test_draft_set_field_submit_and_export(world: World, tmp_path: Path) -> None:
    w = world
    report_id, out = draft(w, initial(w))
    assert "aurora-large 3.2" in out and "A jailbreak produced harmful instructions." in out  # prefilled
    assert "Replay log #42" in out and "Block the pattern" in out
    harm = tmp_path / "harm.txt"
    harm.write_text("Harmful instructions reached one user.\nNo known injury.", encoding="utf-8")
    code, out = run("set-field", str(report_id), "m2_harm", "--file", str(harm), *w.dev)
    assert code == 0, out
    code, out = run("set-field", str(report_id), "m7_recommendations", "Share the jailbreak pattern.", *w.dev)
    assert code == 0, out
    code, out = run("submit", str(report_id), *w.dev)
    assert code == 0 and "submitted version 1" in out and "delivered to EU AI Office (test)" in out, out

    version = rows(w, select(ReportVersion))[0]
    code, out = run("export", str(report_id), *w.dev)
    assert code == 0, out
    exported = json.loads(out)
    assert exported["sha256"] == version.content_hash == reports.content_hash(exported["content"])
    fields = {x["id"]: x["value"] for x in exported["content"]["fields"]}
    assert fields["m2_harm"] == "Harmful instructions reached one user.\nNo known injury."
    assert fields["m7_recommendations"] == "Share the jailbreak pattern."

    document = tmp_path / "report.html"
    code, out = run("export", str(report_id), *w.dev, "--format", "html", "--version", "1", "--output", str(document))
    assert code == 0 and version.content_hash in out, out
    html = document.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and version.content_hash in html
    assert "Share the jailbreak pattern." in html and "/static/" not in html
    audit = rows(w, select(AuditEvent).where(AuditEvent.action == "reporting.report.export").order_by(AuditEvent.seq))
    assert [a.summary["format"] for a in audit] == ["json", "html"]
    code, out = run("export", str(report_id), *w.dev, "--version", "2")
    assert code == 1 and "not found" in out


def test_the_inbox_lists_only_what_was_addressed_to_the_authority(world: World) -> None:
    w = world
    cop_report, _ = draft(w, initial(w))
    run("set-field", str(cop_report), "m7_recommendations", "None yet.", *w.dev)
    assert run("submit", str(cop_report), *w.dev)[0] == 0
    code, out = run("event", w.reference, "discovered", *w.dev, "--at", "2026-09-01T09:00:00Z", "--evidence", "Log.")
    assert code == 1 and "reason" in out  # the response record says 08:00: overriding it needs a reason
    code, out = run(
        "event", w.reference, "discovered", *w.dev, "--at", "2026-09-01T09:00:00Z", "--evidence", "Log.",
        "--reason", "The CSI itself was discovered an hour after the first alert.",
    )  # fmt: skip
    assert code == 0, out
    sb53 = ["--answer", "loss_of_control_harm=yes", "--fact", "frontier_developer_1e26=yes"]
    assert run("assess", w.reference, *w.dev, "--regime", SB53, *sb53)[0] == 0
    sb53_obligation = rows(w, select(Obligation).where(Obligation.regime_id == SB53, Obligation.stage == "initial"))
    sb53_report, out = draft(w, sb53_obligation[0].id)
    assert "A jailbreak produced harmful instructions." in out  # SB 53's plain statement is prefilled now
    for field in ("qualifying_reasons", "internal_use"):
        run("set-field", str(sb53_report), field, "Stated.", *w.dev)
    code, out = run("submit", str(sb53_report), *w.dev)
    assert code == 0 and "delivered to Cal OES (test)" in out, out

    to_office = rows(w, select(Delivery).where(Delivery.report_id == cop_report))[0]
    to_oes = rows(w, select(Delivery).where(Delivery.report_id == sb53_report))[0]
    code, out = run("inbox", *w.office)
    assert code == 0 and str(to_office.id) in out and str(to_oes.id) not in out, out
    code, out = run("inbox", *w.oes)
    assert code == 0 and str(to_oes.id) in out and str(to_office.id) not in out, out
    code, out = run("inbox", *w.dev)
    assert code == 0 and str(to_office.id) not in out and str(to_oes.id) not in out

    # Another authority's delivery looks missing; its own is read (audited), acknowledged, asked about.
    for args in (("delivery", str(to_oes.id)), ("ack", str(to_oes.id)), ("ask", str(to_oes.id), "Why?")):
        code, out = run(*args, *w.office)
        assert code == 1 and "not found" in out, (args, out)
    code, out = run("export", str(cop_report), *w.office)  # what was delivered, as the sender's export
    assert code == 0 and json.loads(out)["content"]["incident"]["reference"] == w.reference
    code, out = run("export", str(cop_report), *w.oes)
    assert code == 1 and "not found" in out
    code, out = run("delivery", str(to_office.id), *w.office)
    assert code == 0 and "Jailbreak on aurora-large 3.2" in out and "None yet." in out, out
    assert run("ack", str(to_office.id), *w.office)[0] == 0
    code, out = run("ask", str(to_office.id), "Which safeguard was changed?", *w.office)
    assert code == 0 and out.startswith("question "), out
    question_id = out.split()[1]

    code, out = run("report", str(cop_report), *w.dev)
    assert code == 0 and question_id in out and "Which safeguard was changed?" in out, out
    code, out = run("answer", str(cop_report), question_id, "The refusal classifier.", *w.dev)
    assert code == 0 and out.startswith("answer "), out
    code, out = run("answer", str(cop_report), question_id, "Not ours to answer.", *w.oes)
    assert code == 1 and "not found" in out
    actions_seen = {a.action for a in rows(w, select(AuditEvent))}
    assert {"reporting.delivery.read", "reporting.delivery.acknowledge", "reporting.message.question"} <= actions_seen
    assert "reporting.message.answer" in actions_seen


def test_operator_commands_bind_recompute_and_show_the_board(world: World) -> None:
    """The deployment's own commands (no --as): recipient bindings by org slug, a recompute of every assessed
    incident, an org's open obligations."""
    w = world
    office_slug, dev_slug, stranger_slug = w.office[3], w.dev[3], w.stranger[3]
    code, out = run("bindings")
    assert code == 0 and f"{COP}" in out and "eu_ai_office" in out and office_slug in out, out
    assert run("unbind", COP, "eu_ai_office") == (0, "removed\n")
    code, out = run("bindings")
    assert "eu_ai_office" not in out and "ca_oes" in out, out
    code, out = run("unbind", COP, "eu_ai_office")
    assert code == 1 and "No such binding." in out, out
    code, out = run("bind", COP, "eu_ai_office", "no-such-org")
    assert code == 1 and "No organisation 'no-such-org'" in out, out
    code, out = run("bind", COP, "eu_ai_office", office_slug)
    assert code == 0 and f"{COP} / eu_ai_office -> {office_slug}" in out, out

    code, out = run("recompute")
    assert (code, out) == (0, "0 incident(s) recomputed, 0 changed\n")
    obligations = assessed(w)
    code, out = run("recompute")
    assert (code, out) == (0, "1 incident(s) recomputed, 0 changed\n")  # assessing computed them already
    assert run("recompute", "--org", stranger_slug) == (0, "0 incident(s) recomputed, 0 changed\n")
    code, out = run("recompute", "--org", "no-such-org")
    assert code == 1 and "no organisation 'no-such-org'" in out, out

    code, out = run("board", dev_slug)
    assert code == 0 and out.count(w.reference) == len([o for o in obligations if o.is_open]) > 0, out
    code, out = run("board", stranger_slug)
    assert code == 0 and w.reference not in out, out


def test_retention_commands_hold_by_reference_and_list(world: World) -> None:
    """A legal hold is placed by incident reference as an admin of the incident's org; another org's admin
    finds no such incident; holds and retention status list the org's own records only."""
    w = world
    assessed(w)  # opens the incident's reporting case
    admin_email, dev_slug = w.admin[1], w.admin[3]
    stranger_email, stranger_slug = w.stranger[1], w.stranger[3]
    retention_run = cli.retention_app
    code, out = run("hold", w.reference, stranger_slug, stranger_email, "Litigation.", app=retention_run)
    assert code == 1 and "No such incident." in out, out
    code, out = run("hold", w.reference.lower(), dev_slug, admin_email, "Litigation pending.", app=retention_run)
    assert code == 0 and out.startswith("hold ") and out.rstrip().endswith(" placed"), out
    hold_id = out.split()[1]
    code, out = run("holds", dev_slug, app=retention_run)
    assert code == 0 and hold_id in out and w.reference in out and "Litigation pending." in out, out
    code, out = run("holds", stranger_slug, app=retention_run)
    assert code == 0 and w.reference not in out, out
    code, out = run("status", dev_slug, app=retention_run)
    assert code == 0 and w.reference in out and "yes" in out, out
    code, out = run("release", hold_id, dev_slug, admin_email, "Settled.", app=retention_run)
    assert code == 0 and "released" in out, out
    code, out = run("status", dev_slug, app=retention_run)
    assert code == 0 and w.reference in out and "yes" not in out, out
