"""The reporting pages over the clock: both instants with their articles and labels, provenance of each
clock event, the unassessed flag, and forms that come back with what was typed (nothing stored changes)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind, Role
from signalfire.reporting import assessments, inbox, org_profile, org_settings, reports
from signalfire.reporting.models import (
    Assessment,
    Obligation,
    OrgAttribute,
    OrgReportingSettings,
    RecordedClockEvent,
    Report,
    ReportVersion,
)
from signalfire.response.vocab import Severity
from tests import factories
from tests.reporting import factories as f
from tests.reporting.factories import COP, utc

ART73 = "eu-ai-act-art73"
NOW = utc(2026, 9, 10, 12)
AWARE = utc(2026, 9, 10, 8)
Client = Callable[[Actor | None], TestClient]


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def text_of(html: str) -> str:
    """What a reader sees: tags (and their attributes) dropped, whitespace folded."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _high_risk_provider(db: Session) -> Actor:
    dev = f.developer(db)
    org_profile.set_attributes(db, dev, {"roles": ["high_risk_provider"]}, effective_from=utc(2026, 1, 1))
    org_settings.update_settings(db, dev, org_sla_minutes=240, leads=None)
    return dev


def _art73_death(db: Session, dev: Actor) -> Any:
    inc = f.incident(db, dev, aware_at=AWARE, severity=Severity.SEV1)
    answers = {
        "causal_link": "yes",
        "death": "yes",
        "health_harm": "no",
        "ci_disruption": "no",
        "fundamental_rights": "no",
        "property_environment": "no",
        "widespread_infringement": "no",
        "sector_carve_out": "no",
    }
    assessments.assess_incident(
        db,
        dev,
        inc,
        regime_id=ART73,
        answers=answers,
        facts={},
        rationale="",
        event_times={"causal_link_suspected": utc(2026, 9, 10, 9)},
    )
    return inc


def test_incident_page_shows_target_and_legal_latest_with_articles(db: Session, browser_client: Client) -> None:
    dev = _high_risk_provider(db)
    inc = _art73_death(db, dev)
    page = browser_client(dev).get(f"/reporting/incidents/{inc.id}")
    assert page.status_code == 200
    text = text_of(page.text)
    # Target: the causal link suspected at 09:00 plus the org's 4-hour SLA; legal latest: 10 days from
    # awareness (08:00), the same in elapsed time and in Helsinki local time in September (no clock change).
    assert "Target" in text and "2026-09-10 13:00 UTC" in text
    assert "immediately after causal link suspected" in text
    assert "Legal latest" in text and "2026-09-20 08:00 UTC" in text
    assert "AI Act Art. 73(4)" in text
    # Labels, not ids: events, recipients, classes.
    for raw in ("causal_link_suspected", "aware_of_incident", "eu_msa", "high_risk_provider"):
        assert raw not in text, raw
    assert "Death of a person" in text
    assert "Market surveillance authority" in text
    # Provenance: the causal link came with the assessment; awareness from the response record.
    assert "Given with the assessment by" in text
    assert "From the response record" in text


def test_board_shows_both_instants_unassessed_and_open_questions(db: Session, browser_client: Client) -> None:
    dev = _high_risk_provider(db)
    _art73_death(db, dev)
    quiet = f.incident(db, dev, aware_at=AWARE + timedelta(minutes=30), severity=Severity.SEV2, title="Unassessed one")
    # A submitted Code report with a question from the AI Office waiting for an answer.
    cop_inc = f.incident(db, dev, aware_at=AWARE, title="Code incident")
    f.assess(db, dev, cop_inc, COP, f.cop(death="yes"))
    office = f.authority(db, "Board AI Office")
    f.bind(db, COP, "eu_ai_office", office)
    initial = db.query(Obligation).filter_by(incident_id=cop_inc.id, stage="initial").one()
    f.submit(db, dev, initial)
    delivery = inbox.inbox(db, office)[0].delivery
    inbox.ask(db, office, delivery.id, "Which deployment was it?")

    page = browser_client(dev).get("/reporting")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "2026-09-10 13:00 UTC" in text and "2026-09-20 08:00 UTC" in text
    assert 'data-testid="unassessed"' in page.text and quiet.reference in text
    assert 'data-testid="open-questions"' in page.text and "Which deployment was it?" in text
    assert 'data-testid="open-question-badge"' in page.text
    overview = text_of(browser_client(dev).get("/").text)
    assert "1 question from authorities to answer" in overview
    assert "1 serious incident not yet assessed" in overview


def test_waiting_obligation_names_the_missing_fact_and_offers_the_action(db: Session, browser_client: Client) -> None:
    dev = f.developer(db)
    inc = f.incident(db, dev, aware_at=AWARE)
    f.assess(db, dev, inc, COP, f.cop(death="yes"))
    text = text_of(browser_client(dev).get(f"/reporting/incidents/{inc.id}").text)
    assert "Waiting for: Resolved" in text
    assert "Record it in response" in text
    assert "Waiting for: Initial report sent" in text


def test_unassessed_flag_links_to_assessment(db: Session, browser_client: Client) -> None:
    dev = f.developer(db)
    inc = f.incident(db, dev, aware_at=AWARE, severity=Severity.SEV1)
    page = browser_client(dev).get(f"/reporting/incidents/{inc.id}")
    assert 'data-testid="unassessed-flag"' in page.text
    f.assess(db, dev, inc, COP, f.cop(death="yes"))
    assert 'data-testid="unassessed-flag"' not in browser_client(dev).get(f"/reporting/incidents/{inc.id}").text


def test_event_form_preselects_and_keeps_input_on_error(db: Session, browser_client: Client) -> None:
    dev = f.developer(db)
    inc = f.incident(db, dev, aware_at=AWARE)
    c = browser_client(dev)
    page = c.get(f"/reporting/incidents/{inc.id}?event=causal_link_suspected")
    assert re.search(r'<option value="causal_link_suspected"[^>]*selected', page.text)

    # Overriding the response record's awareness without a reason: refused, the typed text kept.
    before = db.execute(select(func.count()).select_from(RecordedClockEvent)).scalar_one()
    bad = c.post(
        f"/reporting/incidents/{inc.id}/events",
        data={"event": "aware_of_incident", "at": "2026-09-10T09:30", "evidence": "Pager log line 4411"},
    )
    assert bad.status_code == 422
    assert "Pager log line 4411" in bad.text and 'value="2026-09-10T09:30"' in bad.text
    assert 'data-testid="error-reason"' in bad.text and "response record already says" in bad.text
    assert db.execute(select(func.count()).select_from(RecordedClockEvent)).scalar_one() == before

    good = c.post(
        f"/reporting/incidents/{inc.id}/events",
        data={
            "event": "aware_of_incident",
            "at": "2026-09-10T09:30",
            "evidence": "Pager log line 4411",
            "reason": "The pager fired at 09:30; 08:00 was the ticket's default.",
        },
        follow_redirects=False,
    )
    assert good.status_code == 303
    text = text_of(c.get(f"/reporting/incidents/{inc.id}").text)
    assert "Overrides the response record's 2026-09-10 08:00 UTC" in text
    assert "The pager fired at 09:30" in text


def test_assessment_form_asks_implied_time_and_keeps_input_on_error(db: Session, browser_client: Client) -> None:
    dev = f.developer(db)
    inc = f.incident(db, dev, aware_at=AWARE)
    c = browser_client(dev)
    form = c.get(f"/reporting/incidents/{inc.id}/assess/{COP}")
    assert 'name="t.aware_of_model_involvement"' in form.text
    assert "the earliest plausible" in form.text
    answers = {f"q.{k}": v for k, v in f.cop(death="yes").items()}
    facts = {f"f.{k}": v for k, v in f.COP_FACTS.items()}
    counts = [db.execute(select(func.count()).select_from(m)).scalar_one() for m in (Assessment, Obligation)]

    # An implied time in the future: refused beside its field, answers and rationale kept.
    bad = c.post(
        f"/reporting/incidents/{inc.id}/assess/{COP}",
        data={**answers, **facts, "t.aware_of_model_involvement": "2026-09-11T09:00", "rationale": "Kept text 77"},
    )
    assert bad.status_code == 422
    assert 'data-testid="error-t.aware_of_model_involvement"' in bad.text
    assert "Kept text 77" in bad.text and 'value="2026-09-11T09:00"' in bad.text
    assert re.search(r'name="q.death" value="yes" checked', bad.text)
    assert [db.execute(select(func.count()).select_from(m)).scalar_one() for m in (Assessment, Obligation)] == counts

    ok = c.post(
        f"/reporting/incidents/{inc.id}/assess/{COP}",
        data={
            **answers,
            **facts,
            "t.aware_of_model_involvement": "2026-09-10T08:45",
            "effective_at": "2026-09-10T10:00",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303
    initial = db.query(Obligation).filter_by(incident_id=inc.id, stage="initial").one()
    assert initial.start_at == utc(2026, 9, 10, 8, 45)
    assert initial.due_at == utc(2026, 9, 20, 8, 45)
    a = db.query(Assessment).filter_by(incident_id=inc.id, regime_id=COP).one()
    assert a.assessed_at == utc(2026, 9, 10, 10) and a.recorded_at == NOW


def test_profile_fact_shown_as_answered_by_profile(db: Session, browser_client: Client) -> None:
    dev = _high_risk_provider(db)
    inc = f.incident(db, dev, aware_at=AWARE)
    page = browser_client(dev).get(f"/reporting/incidents/{inc.id}/assess/{ART73}")
    assert 'data-testid="profile-fact-high_risk_system_provider"' in page.text
    assert 'name="f.high_risk_system_provider"' not in page.text


def _draft(db: Session, dev: Actor) -> Report:
    inc = f.incident(db, dev, aware_at=AWARE)
    f.assess(db, dev, inc, COP, f.cop(death="yes"))
    initial = db.query(Obligation).filter_by(incident_id=inc.id, stage="initial").one()
    return reports.start_report(db, dev, initial.id)


def test_submit_with_missing_field_keeps_typed_text(db: Session, browser_client: Client) -> None:
    dev = f.developer(db)
    report = _draft(db, dev)
    c = browser_client(dev)
    typed = {f"field.{fid}": f"Typed {fid}" for fid in report.fields}
    typed["field.m2_harm"] = ""
    resp = c.post(f"/reporting/reports/{report.id}/submit", data=typed)
    assert resp.status_code == 422
    assert "Typed m1_dates" in resp.text and "Typed m3_chain_of_events" in resp.text
    assert 'data-testid="error-field.m2_harm"' in resp.text
    text = text_of(resp.text)
    assert "m2_harm" not in text  # the label, not the id
    assert db.execute(select(func.count()).select_from(ReportVersion)).scalar_one() == 0
    db.expire_all()
    assert db.get(Report, report.id).fields["m1_dates"]["value"] == "Typed m1_dates"  # type: ignore[union-attr]


def test_outside_filing_records_real_time(db: Session, browser_client: Client) -> None:
    dev = f.developer(db)
    report = _draft(db, dev)
    c = browser_client(dev)
    typed = {f"field.{fid}": f"Known {fid}" for fid in report.fields}
    bad = c.post(
        f"/reporting/reports/{report.id}/outside",
        data={**typed, "outside_at": "2026-09-10T11:00", "outside_channel": "email"},
    )
    assert bad.status_code == 422 and 'data-testid="error-outside_evidence"' in bad.text
    assert db.execute(select(func.count()).select_from(ReportVersion)).scalar_one() == 0
    ok = c.post(
        f"/reporting/reports/{report.id}/outside",
        data={**typed, "outside_at": "2026-09-10T11:00", "outside_channel": "email", "outside_reference": "AIO-9"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    version = db.execute(select(ReportVersion)).scalar_one()
    assert version.submitted_at == utc(2026, 9, 10, 11) and version.channel == "email"
    assert "AIO-9" in c.get(f"/reporting/reports/{report.id}").text


# -- org profile and settings ---------------------------------------------------------------------------


def _attributes(db: Session) -> int:
    return db.execute(select(func.count()).select_from(OrgAttribute)).scalar_one()


def test_profile_page_saves_with_history(db: Session, browser_client: Client) -> None:
    dev = f.developer(db)
    c = browser_client(dev)
    assert c.get("/reporting/profile").status_code == 200
    resp = c.post(
        "/reporting/profile",
        data={
            "jurisdictions": "EU, us-ca",
            "roles": ["deployer", "code_signatory"],
            "training_compute_flop": "3e26",
            "annual_revenue_usd": "",
            "effective_from": "2026-01-01T00:00",
            "reason": "Signed the Code in January",
        },
        follow_redirects=False,
    )
    assert resp.status_code == 303
    profile = org_profile.profile_at(db, f.org_of(db, dev))
    assert profile.jurisdictions == ["EU", "US-CA"]
    assert profile.roles == ["code_signatory", "deployer"]
    assert profile.sizes == {"training_compute_flop": 3e26}
    text = text_of(c.get("/reporting/profile").text)
    assert "Signed the Code in January" in text and "2026-01-01 00:00 UTC" in text
    assert "Deployer of an AI system" in text


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"jurisdictions": "EU, Europe"}, "jurisdictions"),
        ({"jurisdictions": "EU", "training_compute_flop": "lots"}, "training_compute_flop"),
        ({"jurisdictions": "EU", "annual_revenue_usd": "-5"}, "annual_revenue_usd"),
        ({"jurisdictions": "EU", "roles": ["emperor"]}, "roles"),
        ({"jurisdictions": "EU, US", "effective_from": "2027-01-01T00:00"}, "effective_from"),
        ({"jurisdictions": "EU, US", "effective_from": "yesterday"}, "effective_from"),
        ({"jurisdictions": "EU, US-CA, US-NY"}, "values"),  # nothing changed
    ],
)
def test_profile_bad_input_changes_nothing(
    db: Session, browser_client: Client, data: dict[str, Any], field: str
) -> None:
    dev = f.developer(db)  # EU, US-CA, US-NY on the org record
    before = _attributes(db)
    resp = browser_client(dev).post("/reporting/profile", data={"reason": "typed reason 51", **data})
    assert resp.status_code == 422
    assert f'data-testid="error-{field}"' in resp.text
    assert "typed reason 51" in resp.text
    assert _attributes(db) == before


def test_profile_page_access(db: Session, browser_client: Client) -> None:
    dev = f.developer(db)
    org_profile.set_attributes(db, dev, {"jurisdictions": ["EU", "CN"], "roles": ["deployer"]}, reason="Secret 4242")
    other = f.developer(db)
    viewer = f.colleague(db, dev, Role.viewer)
    authority = f.authority(db, "Profile Office")
    hub = factories.actor(db, kind=OrgKind.hub_operator)

    assert "Secret 4242" in browser_client(dev).get("/reporting/profile").text
    # Another org sees its own profile, never this one.
    assert "Secret 4242" not in browser_client(other).get("/reporting/profile").text
    # Orgs without reporting read: no such page.
    assert browser_client(authority).get("/reporting/profile").status_code == 404
    assert browser_client(hub).get("/reporting/profile").status_code == 404
    # Anonymous: to the sign-in page.
    anon = browser_client(None).get("/reporting/profile", follow_redirects=False)
    assert anon.status_code == 303 and anon.headers["location"].startswith("/login")
    # Another role reads but may not change it.
    assert browser_client(viewer).get("/reporting/profile").status_code == 200
    before = _attributes(db)
    denied = browser_client(viewer).post("/reporting/profile", data={"jurisdictions": "US"})
    assert denied.status_code == 403
    assert _attributes(db) == before


def test_settings_keep_input_and_change_nothing_on_error(db: Session, browser_client: Client) -> None:
    dev = f.developer(db)
    c = browser_client(dev)
    bad = c.post("/reporting/settings", data={"org_sla_minutes": "soon", "assessment_prompt_minutes": "90000"})
    assert bad.status_code == 422
    assert 'value="soon"' in bad.text
    assert 'data-testid="error-org_sla_minutes"' in bad.text
    assert db.execute(select(func.count()).select_from(OrgReportingSettings)).scalar_one() == 0
    ok = c.post(
        "/reporting/settings",
        data={"org_sla_minutes": "240", "assessment_prompt_minutes": "30", "lead.1440": "on"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    s = org_settings.get_settings(db, dev.org_id)
    assert s.assessment_prompt_minutes == 30 and s.org_sla == timedelta(hours=4)


def test_overdue_follows_the_legal_latest_not_the_target(db: Session, browser_client: Client) -> None:
    dev = _high_risk_provider(db)
    inc = _art73_death(db, dev)  # target 2026-09-10 13:00, legal latest 2026-09-20 08:00
    db.commit()
    with time_machine.travel(utc(2026, 9, 10, 14), tick=False):
        row = _row(browser_client(dev).get(f"/reporting/incidents/{inc.id}").text, ART73)
        assert "target passed" not in row  # the countdown text is the browser's; the server shows times
        assert "Overdue" not in row
    with time_machine.travel(utc(2026, 9, 20, 9), tick=False):
        row = _row(browser_client(dev).get(f"/reporting/incidents/{inc.id}").text, ART73)
        assert "Overdue" in row


def _row(html: str, regime_id: str) -> str:
    match = re.search(rf'<tr data-stage="initial" data-status="\w+" data-regime="{regime_id}">(.*?)</tr>', html, re.S)
    assert match is not None
    return text_of(match.group(1))


def test_reassessing_with_the_shown_time_records_nothing_new(db: Session, browser_client: Client) -> None:
    dev = f.developer(db)
    inc = f.incident(db, dev, aware_at=AWARE)
    f.record(db, dev, inc, "aware_of_model_involvement", utc(2026, 9, 10, 8, 45, 30), "Trace")
    c = browser_client(dev)
    form = c.get(f"/reporting/incidents/{inc.id}/assess/{COP}").text
    assert 'value="2026-09-10T08:45"' in form  # shown to the minute
    recorded = db.execute(select(func.count()).select_from(RecordedClockEvent)).scalar_one()
    data = {
        **{f"q.{k}": v for k, v in f.cop(death="yes").items()},
        **{f"f.{k}": v for k, v in f.COP_FACTS.items()},
        "t.aware_of_model_involvement": "2026-09-10T08:45",
    }
    assert c.post(f"/reporting/incidents/{inc.id}/assess/{COP}", data=data, follow_redirects=False).status_code == 303
    # Sent back as shown, the time is not a correction: the recorded 08:45:30 stands.
    assert db.execute(select(func.count()).select_from(RecordedClockEvent)).scalar_one() == recorded
    initial = db.query(Obligation).filter_by(incident_id=inc.id, stage="initial").one()
    assert initial.start_at == utc(2026, 9, 10, 8, 45, 30)


def test_assessment_refused_after_its_first_writes_leaves_nothing(db: Session, browser_client: Client) -> None:
    """A time that contradicts the record is found only when it is recorded, after the assessment row is
    written: the form comes back and neither the assessment nor any event stays."""
    dev = f.developer(db)
    inc = f.incident(db, dev, aware_at=AWARE)
    f.record(db, dev, inc, "resolved", utc(2026, 9, 10, 10))
    counts = _count(db, Assessment, RecordedClockEvent)
    data = {
        **{f"q.{k}": v for k, v in f.cop(death="yes").items()},
        **{f"f.{k}": v for k, v in f.COP_FACTS.items()},
        "t.aware_of_model_involvement": "2026-09-10T11:00",
    }
    resp = browser_client(dev).post(f"/reporting/incidents/{inc.id}/assess/{COP}", data=data)
    assert resp.status_code == 422 and "after the incident" in resp.text
    assert _count(db, Assessment, RecordedClockEvent) == counts


def _count(db: Session, *models: type[Any]) -> list[int]:
    return [db.execute(select(func.count()).select_from(m)).scalar_one() for m in models]


def _incident_rows(html: str) -> dict[str, str]:
    """The board's "Your incidents" table: title -> the number in the "Regimes assessed" column."""
    table = html.split('data-testid="incidents"', 1)[1].split("</table>", 1)[0]
    found = re.findall(r'row-title" href="[^"]+">[^ ]+ · ([^<]+)</a>.*?<td class="num">(\d+)</td>', table, flags=re.S)
    return dict(found)


def test_board_lists_the_orgs_incidents_with_their_current_assessments(db: Session, browser_client: Client) -> None:
    dev = _high_risk_provider(db)
    assessed = f.incident(db, dev, aware_at=AWARE, title="Assessed twice")
    f.assess(db, dev, assessed, COP, f.cop(death="yes"))
    f.assess(db, dev, assessed, COP, f.cop(death="yes"))  # a second version: still one current assessment
    f.incident(db, dev, aware_at=AWARE + timedelta(hours=1), title="Not assessed")
    other = f.developer(db)
    f.assess(db, other, f.incident(db, other, aware_at=AWARE, title="Another org's"), COP, f.cop(death="yes"))

    rows = _incident_rows(browser_client(dev).get("/reporting").text)
    assert rows == {"Assessed twice": "1", "Not assessed": "0"}


def test_bindings_page_offers_the_authority_orgs_only(db: Session, browser_client: Client) -> None:
    admin = factories.actor(db, kind=OrgKind.hub_operator, role=Role.admin)
    office = f.authority(db, "Bindings AI Office")
    dev = f.developer(db)
    page = browser_client(admin).get("/reporting/bindings")
    assert page.status_code == 200
    options = re.findall(r'<option value="([^"]+)">([^<]+)</option>', page.text.split('id="b-org"', 1)[1])
    assert (str(office.org_id), "Bindings AI Office") in options
    assert str(dev.org_id) not in {value for value, _ in options}
