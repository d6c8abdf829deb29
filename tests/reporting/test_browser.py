"""In a real browser, over the seeded demo: a reporter assesses a new incident under the Code of Practice,
submits the initial report; the AI Office acknowledges it and asks a question; the reporter answers,
submits the first update and, once the incident is resolved, the final report."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from signalfire.access.models import Organization, User
from signalfire.access.service import build_actor
from signalfire.core.clock import utcnow
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.response import service as response
from signalfire.response.schemas import IncidentCreate, TransitionIn
from signalfire.response.vocab import IncidentStatus, RiskDomain, Severity
from tests.conftest import LiveServer, login, screenshot

pytestmark = pytest.mark.browser
COP = "eu-gpai-cop-c9"


def _as_raj(url: str, fn: Any) -> Any:
    engine = make_engine(url)
    try:
        with unit_of_work(session_factory(engine)) as s:
            user = s.execute(select(User).where(User.email == "raj@aurora.example")).scalar_one()
            org = s.execute(select(Organization).where(Organization.slug == "aurora")).scalar_one()
            actor = build_actor(s, user, org.id, via="test")
            assert actor is not None
            return fn(s, actor)
    finally:
        engine.dispose()


def _open_incident(url: str) -> tuple[uuid.UUID, str]:
    def create(s: Any, raj: Any) -> tuple[uuid.UUID, str]:
        inc = response.create_incident(
            s,
            raj,
            IncidentCreate(
                title="Agent tool call wiped a customer's production database",
                severity=Severity.SEV2,
                risk_domain=RiskDomain.AUTONOMY,
                aware_at=utcnow() - timedelta(hours=2),
                summary="An agent built on aurora-large 3.1 ran a destructive migration outside its task.",
                affected_models=["aurora-large 3.1"],
            ),
        )
        return inc.id, inc.reference

    result: tuple[uuid.UUID, str] = _as_raj(url, create)
    return result


def _resolve(url: str, incident_id: uuid.UUID) -> None:
    def resolve(s: Any, raj: Any) -> None:
        inc = response.get_incident(s, raj, incident_id)
        response.change_status(
            s,
            raj,
            inc,
            TransitionIn(
                status=IncidentStatus.RESOLVED, at=utcnow(), reason="Data restored; agent permissions narrowed."
            ),
        )

    _as_raj(url, resolve)


def _sign_out(page: Any) -> None:
    page.click("form[action='/logout'] button")
    page.wait_for_url("**/login**")


def _write_and_submit(page: Any, stage: str) -> None:
    page.click(f"[data-testid=write-report-{stage}]")
    page.wait_for_selector("[data-testid=report-form]")
    for area in page.locator("[data-testid=report-form] textarea[name^='field.']").all():
        if not area.input_value().strip() and area.get_attribute("name") != "field.additional_information":
            area.fill(f"Stated in the {stage} report: known facts as of now.")
    page.click("[data-testid=submit-report]")
    page.wait_for_selector("[data-testid=report-status]:has-text('Submitted')")


def test_assess_report_question_update_final(live_server: LiveServer, page: Any) -> None:
    url = live_server.url
    page.on("dialog", lambda d: d.accept())
    incident_id, reference = _open_incident(live_server.database_url)

    login(page, url, "rhea@aurora.example")
    page.goto(f"{url}/reporting")
    screenshot(page, "reporting-01-board")
    page.click(f"[data-testid=incidents] a:has-text('{reference}')")
    page.wait_for_selector("[data-testid=regimes]")

    # The Code's clock runs from awareness of the model's involvement: record it, with evidence.
    page.select_option("#ev-event", "aware_of_model_involvement")
    page.fill("#ev-at", (utcnow() - timedelta(minutes=90)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#ev-evidence", "Agent trace shows aurora-large 3.1 issued the DROP statement.")
    page.click("[data-testid=event-form] button[type=submit]")
    page.wait_for_selector("text=Recorded: became aware of the model's involvement")

    page.click(f"[data-testid=assess-{COP}]")
    page.wait_for_selector("[data-testid=assessment-form]")
    for question in ("model_involved", "property_environment"):
        page.check(f"[data-testid=q-{question}-yes]")
    for question in ("ci_disruption", "cyber_breach", "death", "health_harm", "fundamental_rights"):
        page.check(f"[data-testid=q-{question}-no]")
    page.check("[data-testid=f-gpai_systemic_risk_provider-yes]")
    page.check("[data-testid=f-signed_cop_safety_security-yes]")
    page.fill("#rationale", "Serious harm to property: a customer's production data was destroyed.")
    screenshot(page, "reporting-02-assessment")
    page.click("[data-testid=save-assessment]")
    page.wait_for_selector("text=Assessment v1 under EU GPAI Code of Practice")
    assert page.locator("[data-testid=obligations] tr[data-stage=initial][data-status=due]").count() == 1
    screenshot(page, "reporting-03-obligations")

    _write_and_submit(page, "initial")
    screenshot(page, "reporting-04-initial-submitted")
    page.click("[data-testid=document-v1]")
    page.wait_for_selector("[data-testid=report-document]")
    # The class the assessment reached (property harm, Code of Practice C9), as the document states it.
    incident_class = page.locator("[data-testid=report-document] dt:text-is('Incident class') + dd").inner_text()
    assert incident_class.startswith(
        "Serious harm to health, infringement of fundamental rights, or serious harm to property or the environment"
    ), incident_class
    screenshot(page, "reporting-05-document")
    _sign_out(page)

    # The AI Office: acknowledge, ask.
    login(page, url, "erin@aioffice.example")
    page.goto(f"{url}/reporting/inbox")
    page.click(f"[data-testid=inbox-row]:has-text('{reference}')")
    page.click("[data-testid=acknowledge]")
    page.wait_for_selector("[data-testid=ack-status]:has-text('Acknowledged')")
    page.fill("[data-testid=question-body]", "Was the agent acting within the permissions the customer granted?")
    page.click("[data-testid=send-question]")
    page.wait_for_selector("text=Question sent")
    screenshot(page, "reporting-06-authority-question")
    _sign_out(page)

    # The reporter answers in the thread, then sends the first update.
    login(page, url, "rhea@aurora.example")
    page.goto(f"{url}/reporting/incidents/{incident_id}")
    page.click("[data-testid=open-report-initial]")
    page.fill("[data-testid=answer-body]", "Yes: the customer had granted write access; the agent misread its task.")
    page.click("[data-testid=send-answer]")
    page.wait_for_selector("text=Answer sent")
    screenshot(page, "reporting-07-answered")
    page.goto(f"{url}/reporting/incidents/{incident_id}")
    _write_and_submit(page, "update-1")
    screenshot(page, "reporting-08-update-submitted")

    # Resolved in the response channel; reporting recomputes and the final report falls due.
    _resolve(live_server.database_url, incident_id)
    page.goto(f"{url}/reporting/incidents/{incident_id}")
    page.click("form[action$='/recompute'] button")
    page.wait_for_selector("[data-testid=obligations] tr[data-stage=final][data-status=due]")
    _write_and_submit(page, "final")
    screenshot(page, "reporting-09-final-submitted")
    page.goto(f"{url}/reporting/incidents/{incident_id}")
    statuses = {
        row.get_attribute("data-stage"): row.get_attribute("data-status")
        for row in page.locator("[data-testid=obligations] tr[data-stage]").all()
    }
    assert statuses["initial"] == statuses["update-1"] == statuses["final"] == "submitted"
    screenshot(page, "reporting-10-all-submitted")
    _sign_out(page)

    login(page, url, "erin@aioffice.example")
    page.goto(f"{url}/reporting/inbox")
    assert page.locator(f"[data-testid=inbox-row]:has-text('{reference}')").count() == 3
    screenshot(page, "reporting-11-authority-inbox")
