"""In a real browser, over the seeded demo: a monitoring alert becomes a SEV1 incident; the reporter answers
the Code of Practice and AI Act Art. 73 assessments, each in one form with the time its answers imply, and
sees the clocks run with both instants; a submission with a required field left empty comes back with the
typed text; once the incident is resolved in response, the final report's clock runs from that resolution
with nothing recorded again under reporting."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from signalfire.access.models import Organization, User
from signalfire.access.service import build_actor
from signalfire.core.clock import utcnow
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.intake import alert_sources
from signalfire.intake.alerts import sign_payload
from signalfire.intake.models import AlertFormat
from tests.conftest import LiveServer, login, screenshot

pytestmark = pytest.mark.browser
COP = "eu-gpai-cop-c9"
ART73 = "eu-ai-act-art73"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SUMMARY = "Agent mode emailed a customer file to an outside address"


def _alert_source(database_url: str) -> tuple[uuid.UUID, str]:
    """A monitoring source of Aurora's (its admin sets it up): the id and the secret it signs with."""
    engine = make_engine(database_url)
    try:
        with unit_of_work(session_factory(engine)) as s:
            user = s.execute(select(User).where(User.email == "alice@aurora.example")).scalar_one()
            org = s.execute(select(Organization).where(Organization.slug == "aurora")).scalar_one()
            alice = build_actor(s, user, org.id, via="test")
            assert alice is not None
            source, _ = alert_sources.create_source(s, alice, name="agent monitor", format=AlertFormat.generic)
            return source.id, source.hmac_secret
    finally:
        engine.dispose()


def _fire_alert(url: str, source_id: uuid.UUID, secret: str) -> None:
    body = {
        "source": "agent-monitor",
        "dedup_key": f"agent-exfil-{uuid.uuid4().hex[:6]}",
        "title": SUMMARY,
        "severity": "critical",
        "status": "firing",
        "occurred_at": (utcnow() - timedelta(hours=3)).isoformat(),
        "details": {"model": "aurora-large 3.1", "file": "report.xlsx"},
    }
    raw = json.dumps(body).encode()
    signature = sign_payload(secret, utcnow(), raw)
    resp = httpx.post(
        f"{url}/api/v1/intake/alerts/{source_id}",
        content=raw,
        headers={"X-Signalfire-Signature": signature, "Content-Type": "application/json"},
    )
    assert resp.status_code in (200, 201, 202), resp.text


def _sign_out(page: Any) -> None:
    page.click("form[action='/logout'] button")
    page.wait_for_url("**/login**")


def _minutes_ago(minutes: int) -> str:
    return (utcnow() - timedelta(minutes=minutes)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def _saved(page: Any, flash: str) -> None:
    """Wait for the flash after a save; a form that came back with errors fails with their text."""
    page.wait_for_load_state()
    errors = page.locator("[data-testid=form-errors]")
    if errors.count():
        screenshot(page, "reporting-clock-unexpected-errors")
    assert errors.count() == 0, errors.inner_text()
    page.wait_for_selector(f"text={flash}")


def _shot(page: Any, name: str, *, docs: bool = False) -> None:
    page.evaluate("window.scrollTo(0, 0)")  # the sticky top bar stays at the top of a full-page shot
    path = screenshot(page, name)
    if docs and os.environ.get("SIGNALFIRE_UPDATE_SCREENSHOTS") == "1":  # the README's images change on request only
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS / f"{name}.png")


def test_alert_to_sev1_clocks_both_instants_and_final_from_response(live_server: LiveServer, page: Any) -> None:
    url = live_server.url
    page.on("dialog", lambda d: d.accept())
    source_id, secret = _alert_source(live_server.database_url)
    _fire_alert(url, source_id, secret)

    # The admin declares the org's legal roles (a GPAI provider with systemic risk that signed the Code, and
    # a high-risk system provider, which Art. 73 reads) and a 4-hour SLA.
    login(page, url, "alice@aurora.example")
    page.goto(f"{url}/reporting/profile")
    for role in ("gpai_systemic_risk_provider", "code_signatory", "high_risk_provider"):
        page.check(f"[data-testid=role-{role}]")
    page.fill("#p-reason", "Provider of the Aurora Assist high-risk system since launch.")
    page.fill("[data-testid=p-effective]", "2026-01-01T00:00")
    page.click("[data-testid=save-profile]")
    page.wait_for_selector("text=Profile saved")
    assert page.locator("[data-testid=profile-history] tr:has-text('Provider of a high-risk AI system')").count() == 1
    _shot(page, "reporting-clock-profile", docs=True)
    page.goto(f"{url}/reporting/settings")
    page.fill("#sla", "240")
    page.click("[data-testid=save-settings]")
    page.wait_for_selector("text=Settings saved")
    _sign_out(page)

    # The responder opens a SEV1 incident from the alert.
    login(page, url, "raj@aurora.example")
    page.goto(f"{url}/intake")
    page.click(f"[data-testid=queue] a.row-title >> text={SUMMARY}")
    page.wait_for_selector("[data-testid=promote-incident]")
    page.select_option("#p-sev", "sev1")
    page.select_option("#p-domain", "autonomy")
    page.click("[data-testid=promote-incident] button[type=submit]")
    page.wait_for_url(f"{url}/response/incidents/**")
    incident_url = page.url.split("#")[0]
    incident_id = incident_url.rstrip("/").rsplit("/", 1)[-1]
    _sign_out(page)

    # The reporter sees it flagged as unassessed on the board and on the incident.
    login(page, url, "rhea@aurora.example")
    page.goto(f"{url}/reporting")
    page.wait_for_selector(f"[data-testid=unassessed] a[href*='{incident_id}']")
    _shot(page, "reporting-clock-board-unassessed", docs=True)
    page.click(f"[data-testid=unassessed] a[href*='{incident_id}']")
    page.wait_for_selector("[data-testid=unassessed-flag]")

    # Code of Practice: one form, with the time of awareness of the model's involvement.
    page.click(f"[data-testid=assess-{COP}]")
    page.wait_for_selector("[data-testid=assessment-form]")
    for question in ("model_involved", "property_environment"):
        page.check(f"[data-testid=q-{question}-yes]")
    for question in ("ci_disruption", "cyber_breach", "death", "health_harm", "fundamental_rights"):
        page.check(f"[data-testid=q-{question}-no]")
    # Whether the Code binds the org is answered by the profile's roles, shown as such.
    assert page.locator("[data-testid=profile-fact-gpai_systemic_risk_provider]").inner_text().startswith("Yes")
    # The incident's awareness is its promotion a moment ago; the model's involvement was seen since.
    page.fill("[data-testid=t-aware_of_model_involvement]", _minutes_ago(0))
    page.fill("#rationale", "A customer's file left its domain: serious harm to property.")
    _shot(page, "reporting-clock-assessment", docs=True)
    page.click("[data-testid=save-assessment]")
    _saved(page, "Assessment v1 under EU GPAI Code of Practice")

    # AI Act Art. 73: the high-risk role comes from the profile; the causal link's time in the same form.
    page.click(f"[data-testid=assess-{ART73}]")
    page.wait_for_selector("[data-testid=profile-fact-high_risk_system_provider]")
    page.check("[data-testid=q-causal_link-yes]")
    page.check("[data-testid=q-property_environment-yes]")
    for question in ("death", "health_harm", "ci_disruption", "fundamental_rights", "widespread_infringement"):
        page.check(f"[data-testid=q-{question}-no]")
    page.check("[data-testid=q-sector_carve_out-no]")
    page.fill("[data-testid=t-causal_link_suspected]", _minutes_ago(0))
    page.click("[data-testid=save-assessment]")
    _saved(page, "Assessment v1 under EU AI Act Art. 73")

    # Both instants on every running clock; waiting ones say why and offer the action.
    art73 = page.locator(f"[data-testid=obligations] tr[data-regime={ART73}][data-stage=initial]")
    assert art73.locator("[data-testid=target-at]").count() == 1
    assert "immediately after causal link suspected" in art73.inner_text()
    assert "AI Act Art. 73(2)" in art73.inner_text()
    cop_initial = page.locator(f"[data-testid=obligations] tr[data-regime={COP}][data-stage=initial]")
    assert cop_initial.locator("[data-testid=due-at]").count() == 1
    final = page.locator(f"[data-testid=obligations] tr[data-regime={COP}][data-stage=final]")
    assert "Waiting for: Resolved" in final.inner_text()
    assert final.locator("[data-testid=next-action]").count() == 1
    provenance = page.locator("[data-testid=provenance-aware_of_model_involvement]").inner_text()
    assert "Given with the assessment" in provenance
    assert "aware_of_model_involvement" not in page.locator("main").inner_text()
    _shot(page, "reporting-clock-incident", docs=True)
    page.goto(f"{url}/reporting")
    page.wait_for_selector("[data-testid=deadline-board]")
    _shot(page, "reporting-clock-board", docs=True)

    # A submission with a required field left empty keeps the typed text and marks the field.
    page.goto(f"{url}/reporting/incidents/{incident_id}")
    page.click(
        f"[data-testid=obligations] tr[data-regime={COP}][data-stage=initial] [data-testid=write-report-initial]"
    )
    page.wait_for_selector("[data-testid=report-form]")
    page.fill("[data-testid=field-m1_dates]", "Alert fired at 09:12 UTC; agent session stopped at 09:40 UTC.")
    page.fill("[data-testid=field-m2_harm]", "")
    page.click("[data-testid=submit-report]")
    page.wait_for_selector("[data-testid='error-field.m2_harm']")
    # The browser logs the 422 this answer carries; it is the one expected here.
    page.console_errors[:] = [e for e in page.console_errors if "422" not in e]
    assert page.input_value("[data-testid=field-m1_dates]").startswith("Alert fired at 09:12 UTC")
    assert page.locator("[data-testid=form-errors]").count() == 1
    assert "m2_harm" not in page.locator("[data-testid=form-errors]").inner_text()
    _shot(page, "reporting-clock-submit-error", docs=True)
    for area in page.locator("[data-testid=report-form] textarea[name^='field.']").all():
        if not area.input_value().strip() and area.get_attribute("name") != "field.additional_information":
            area.fill("Known so far: see the agent trace attached to the incident.")
    page.click("[data-testid=submit-report]")
    page.wait_for_selector("[data-testid=report-status]:has-text('Submitted')")
    page.click("[data-testid=document-v1]")
    page.wait_for_selector("[data-testid=document-due]")
    _shot(page, "reporting-clock-document", docs=True)
    _sign_out(page)

    # Resolved in response; nothing recorded again under reporting.
    login(page, url, "raj@aurora.example")
    page.goto(incident_url)
    page.select_option("#s-status", "resolved")
    page.fill("#s-reason", "Agent mode disabled for the tenant; file recalled; permissions narrowed.")
    page.click("[data-testid=status-form] button[type=submit]")
    page.wait_for_load_state()
    _sign_out(page)

    login(page, url, "rhea@aurora.example")
    page.goto(f"{url}/reporting/incidents/{incident_id}")
    final = page.locator(f"[data-testid=obligations] tr[data-regime={COP}][data-stage=final]")
    assert final.locator("[data-testid=due-at]").count() == 1, final.inner_text()
    assert "From the response record" in page.locator("[data-testid=provenance-resolved]").inner_text()
    _shot(page, "reporting-clock-final", docs=True)
