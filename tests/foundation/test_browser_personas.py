"""Each persona's main path in a real browser over the seeded demo, at desktop width and at 390 px (issue 18):

* the safety lead of a lab runs a SEV1 from a monitoring alert to a filed report and a lesson shared with
  the forum, which another member then reads;
* the forum's hub operator checks participation health, routes a category to someone, resolves a
  pseudonym with a reason and looks at the report recipients and the members;
* an authority's analyst opens a report filed with it, acknowledges it and asks a question that the lab
  then sees;
* a member of the public reports anonymously, keeps the receipt and reads the status with it.

Every page on the way has no serious or critical axe-core violation (WCAG 2.2 AA rules) and, at 390 px, no
sideways scroll. Screenshots go to test-artifacts/; with SIGNALFIRE_UPDATE_SCREENSHOTS=1 the ones the
README shows are also written to docs/screenshots/ (viewport-sized).
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import timedelta
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
from signalfire.reporting import reports
from signalfire.reporting.models import Obligation
from signalfire.reporting.reports import FieldValue
from signalfire.response.models import Incident
from tests.conftest import LiveServer, axe_violations, login, screenshot

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORTS = {"desktop": (1360, 900), "phone": (390, 844)}
COP = "eu-gpai-cop-c9"
ALERT_TITLE = "Agent mode sent a customer's contract to an outside address"


class Walk:
    """One persona's walk at one width: checks each page it lands on, keeps the findings, takes the shots."""

    def __init__(self, page: Any, base: str, viewport: str) -> None:
        self.page, self.base, self.viewport = page, base, viewport
        self.width, height = VIEWPORTS[viewport]
        page.set_viewport_size({"width": self.width, "height": height})
        self.violations: list[str] = []

    def goto(self, path: str) -> None:
        self.page.goto(f"{self.base}{path}")
        self.check(path)

    def check(self, where: str) -> None:
        """axe on the page as it stands (HTMX panels loaded); at phone width, nothing wider than the screen."""
        self.page.wait_for_load_state("networkidle")
        assert "Something went wrong" not in self.page.content(), where
        self.violations += [f"{where}: {v}" for v in axe_violations(self.page)]
        if self.viewport == "phone":
            scroll = self.page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= self.width, f"{where} scrolls sideways at {self.width} px ({scroll} px wide)"

    def shot(self, name: str, *, docs: bool = False) -> None:
        """A full-page shot in test-artifacts/; for the README, what the screen shows."""
        self.page.evaluate("window.scrollTo(0, 0)")
        screenshot(self.page, f"persona-{name}-{self.viewport}")
        if docs and os.environ.get("SIGNALFIRE_UPDATE_SCREENSHOTS") == "1":
            DOCS.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(DOCS / f"{name}.png"), full_page=False)

    def sign_out(self) -> None:
        self.page.click("form[action='/logout'] button")
        self.page.wait_for_url("**/login**")

    def done(self) -> None:
        assert not self.violations, "\n".join(self.violations)


def _saved(page: Any, flash: str) -> None:
    """After a form post: no error summary came back, and the flash says what was saved."""
    page.wait_for_load_state()
    errors = page.locator("[data-testid=form-errors]")
    assert errors.count() == 0, errors.inner_text()
    page.wait_for_selector(f".flash:has-text('{flash}')")


def _as(session: Any, email: str, slug: str) -> Any:
    user = session.execute(select(User).where(User.email == email)).scalar_one()
    org = session.execute(select(Organization).where(Organization.slug == slug)).scalar_one()
    actor = build_actor(session, user, org.id, via="test")
    assert actor is not None
    return actor


def _fire_alert(server: LiveServer) -> None:
    """Aurora's admin has set up a monitoring source; the monitor posts a signed critical alert to it."""
    engine = make_engine(server.database_url)
    try:
        with unit_of_work(session_factory(engine)) as s:
            source, _ = alert_sources.create_source(
                s, _as(s, "alice@aurora.example", "aurora"), name="agent monitor", format=AlertFormat.generic
            )
            source_id, secret = source.id, source.hmac_secret
    finally:
        engine.dispose()
    body = {
        "source": "agent-monitor",
        "dedup_key": f"agent-exfil-{uuid.uuid4().hex[:6]}",
        "title": ALERT_TITLE,
        "severity": "critical",
        "status": "firing",
        "occurred_at": (utcnow() - timedelta(minutes=30)).isoformat(),
        "details": {"model": "aurora-large 3.1", "tool": "email"},
    }
    raw = json.dumps(body).encode()
    resp = httpx.post(
        f"{server.url}/api/v1/intake/alerts/{source_id}",
        content=raw,
        headers={"X-Signalfire-Signature": sign_payload(secret, utcnow(), raw), "Content-Type": "application/json"},
    )
    assert resp.status_code in (200, 201, 202), resp.text


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_safety_lead_runs_a_sev1_from_alert_to_filed_report_and_shared_lesson(
    live_server: LiveServer, page: Any, viewport: str
) -> None:
    url = live_server.url
    page.on("dialog", lambda d: d.accept())  # data-confirm on submit and publish
    _fire_alert(live_server)
    walk = Walk(page, url, viewport)
    login(page, url, "alice@aurora.example")

    # Triage: the alert is in the queue; take it and declare a SEV1 incident from it.
    walk.goto("/intake")
    page.click(f"[data-testid=queue] a.row-title >> text={ALERT_TITLE}")
    walk.check("signal")
    page.select_option("#assignee", label="Alice Okafor")
    page.click("form[action$='/assign'] button[type=submit]")
    page.wait_for_selector("[data-testid=promote-incident]")
    assert page.locator("#assignee option:checked").inner_text() == "Alice Okafor"
    page.select_option("#p-sev", "sev1")
    page.select_option("#p-domain", "autonomy")
    page.click("[data-testid=promote-incident] button[type=submit]")
    page.wait_for_url(f"{url}/response/incidents/**")
    incident_path = page.url.split(url, 1)[1].split("#")[0]
    incident_id = incident_path.rstrip("/").rsplit("/", 1)[-1]
    assert "SEV1" in page.locator("h1").inner_text()

    # The workspace: reporting and exchange panels arrive by hx-get; reporting asks for an assessment.
    page.wait_for_selector("[data-testid=workspace-reporting]")
    page.wait_for_selector("[data-testid=workspace-exchange]")
    walk.check("incident workspace")
    assert page.locator("[data-testid=workspace-unassessed]").is_visible()
    assert "Nothing shared yet." in page.locator("[data-testid=workspace-exchange]").inner_text()
    walk.shot("safety-lead-declared")

    # The prompt leads to the assessment under the Code of Practice; the answers start its clocks.
    page.click("[data-testid=workspace-unassessed] a")
    page.wait_for_selector("[data-testid=unassessed-flag]")
    walk.check("reporting incident")
    page.click(f"[data-testid=assess-{COP}]")
    page.wait_for_selector("[data-testid=assessment-form]")
    for fact in ("gpai_systemic_risk_provider", "signed_cop_safety_security"):
        page.check(f"[data-testid=f-{fact}-yes]")
    for question in ("model_involved", "property_environment"):
        page.check(f"[data-testid=q-{question}-yes]")
    for question in ("ci_disruption", "cyber_breach", "death", "health_harm", "fundamental_rights"):
        page.check(f"[data-testid=q-{question}-no]")
    walk.check("assessment")
    page.fill("#rationale", "A customer's contract left its domain: serious harm to property.")
    page.click("[data-testid=save-assessment]")
    _saved(page, "Assessment v1")
    initial = page.locator(f"[data-testid=obligations] tr[data-regime={COP}][data-stage=initial]")
    assert initial.locator("[data-testid=due-at]").count() == 1, initial.inner_text()
    walk.check("obligations")

    # Draft the initial report, come back to it, then file it.
    initial.locator("[data-testid=write-report-initial]").click()
    page.wait_for_selector("[data-testid=report-form]")
    walk.check("report draft")
    for area in page.locator("[data-testid=report-form] textarea[name^='field.']").all():
        if not area.input_value().strip() and area.get_attribute("name") != "field.additional_information":
            area.fill("Known so far: the agent's trace and the mail log are attached to the incident.")
    page.click("[data-testid=save-draft]")
    page.wait_for_load_state("networkidle")
    report_url = page.url.split("#")[0]
    page.goto(report_url)
    assert "Draft" in page.locator("[data-testid=report-status]").inner_text()
    assert any("mail log" in a.input_value() for a in page.locator("[data-testid=report-form] textarea").all())
    page.click("[data-testid=submit-report]")
    page.wait_for_selector("[data-testid=report-status]:has-text('Submitted')")
    walk.check("report filed")
    assert page.locator("[data-testid=document-v1]").count() == 1
    walk.shot("safety-lead-report-filed", docs=viewport == "desktop")
    page.goto(f"{url}/reporting/incidents/{incident_id}")
    row = page.locator(f"[data-testid=obligations] tr[data-regime={COP}][data-stage=initial]")
    assert "Submitted" in row.inner_text(), row.inner_text()

    # Resolve, write and close the review, close the incident.
    page.goto(f"{url}{incident_path}")
    page.select_option("#s-status", "resolved")
    page.fill("#s-reason", "Agent mail tool disabled for the tenant; contract recalled; allow-list narrowed.")
    page.click("[data-testid=status-form] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-testid=incident-status]").first.inner_text().lower() == "resolved"
    page.click("[data-testid=review-link]")
    walk.check("review")
    page.fill("textarea[name=root_cause]", "The agent's mail tool accepted any recipient the model named.")
    page.click("[data-testid=review-form] button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.click("[data-testid=close-review]")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-testid=review-status]").inner_text() == "closed"
    page.goto(f"{url}{incident_path}")
    page.select_option("#s-status", "closed")
    page.click("[data-testid=status-form] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-testid=incident-status]").first.inner_text().lower() == "closed"

    # From the workspace, the closed review becomes a lesson, screened, then published to the members.
    page.click("[data-testid=workspace-exchange] [data-testid=draft-lesson]")
    page.wait_for_selector("#l-review")
    walk.check("lesson form")
    assert ALERT_TITLE in page.locator("#l-review option:checked").inner_text()
    page.select_option("#l-cat", "vulnerability")
    page.check("input[name=permitted_uses][value=safeguards]")
    page.click("form[action='/exchange/lessons'] button[type=submit]")
    # The sanitisation preview lists every replaced identifier; a second person (Ana) signs it off.
    page.wait_for_selector("#sanitisation-changes")
    # The alert's text came with its intake reference and monitoring labels: each is listed as replaced.
    changes = page.locator("#sanitisation-changes").inner_text()
    assert "Intake signal reference" in changes and "[intake-ref-1]" in changes, changes
    assert "source=agent-monitor" in changes and "[label-1]" in changes, changes
    walk.check("sanitisation preview")
    walk.shot("safety-lead-sanitisation-preview")
    sanitisation_path = page.url.removeprefix(url)
    lesson_path = sanitisation_path.removesuffix("/sanitisation")
    walk.sign_out()
    login(page, url, "ana@aurora.example")
    walk.goto(sanitisation_path)
    page.click(f"form[action='{sanitisation_path}/sign-off'] button[type=submit]")
    page.wait_for_selector(".flash:has-text('signed off')")
    walk.sign_out()
    # The alert's title names a customer's contract: screening flags it as commercially sensitive, so
    # Aurora's competition counsel (Cora, the counsel role; admins do not sign off) finds it under My work
    # and signs off before Alice publishes.
    login(page, url, "cora@aurora.example")
    walk.goto("/my-work")
    waiting = page.locator("[data-kind=signoff]")
    assert "Lesson learned" in waiting.inner_text(), waiting.inner_text()
    walk.check("counsel my work")
    waiting.locator(f"a[href='{lesson_path}']").click()
    page.wait_for_selector("[data-testid=counsel-sign-off]")
    walk.check("counsel sign-off")
    page.fill("#counsel-reason", "A data-exposure incident, not a commercial dealing: safety information to share.")
    page.click("[data-testid=counsel-sign-off] button[type=submit]")
    page.wait_for_selector(".flash:has-text('Counsel sign-off recorded')")
    walk.sign_out()
    login(page, url, "alice@aurora.example")
    walk.goto(lesson_path)
    page.wait_for_selector("[data-testid=screening]")
    walk.check("lesson draft")
    if page.locator("#override").count():
        page.fill("#override", "Reviewed by the safety lead: nothing internal left in the text.")
    page.click("[data-testid=publish]")
    page.wait_for_selector(".flash:has-text('Published')")
    lesson_title = f"Lesson learned: {ALERT_TITLE}"
    page.goto(f"{url}{incident_path}")
    page.wait_for_selector("[data-testid=workspace-exchange] li")
    shared = page.locator("[data-testid=workspace-exchange]").inner_text()
    assert lesson_title in shared and "published" in shared
    walk.check("workspace after sharing")
    walk.shot("safety-lead-workspace-after-sharing")
    walk.sign_out()

    # Another member of the forum reads the lesson, under a pseudonym rather than Aurora's name.
    login(page, url, "mira@meridian.example")
    walk.goto("/exchange")
    row = page.locator("[data-testid=items] tr", has_text=lesson_title)
    assert row.count() == 1
    assert "Aurora" not in row.inner_text()
    walk.shot("safety-lead-lesson-seen-by-member")
    walk.done()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_hub_operator_checks_health_routes_resolves_and_binds(
    live_server: LiveServer, page: Any, viewport: str
) -> None:
    url = live_server.url
    page.on("dialog", lambda d: d.accept())  # data-confirm on resolving a pseudonym
    walk = Walk(page, url, viewport)
    login(page, url, "hugo@forum.example")
    walk.check("home")
    # The forum runs the exchange and the deployment's report recipients; it has no incidents of its own.
    cards = page.locator("main .grid a.card h2").all_inner_texts()
    assert cards == ["Reporting", "Exchange"], cards
    nav = page.locator("nav").first.inner_text()
    assert "Exchange" in nav and "Response" not in nav and "Intake" not in nav

    walk.goto("/exchange")
    assert page.locator("[data-testid=items] tbody tr").count() >= 5
    walk.goto("/exchange/health")
    assert int(page.locator("[data-testid=stat-items]").inner_text().strip()) >= 5
    forum = page.locator("[data-testid=coverage] tr", has_text="Frontier Safety Forum")
    assert forum.locator("td:has-text('designated')").count() == 3
    assert forum.locator("text=Nobody designated").count() == 3
    walk.shot("hub-participation-health", docs=viewport == "desktop")

    # Close the forum's own gap: Hugo is told of new capabilities of concern.
    walk.goto("/exchange/routing")
    page.select_option("#d-cat", "capability_of_concern")
    page.select_option("#d-user", label=page.locator("#d-user option", has_text="Hugo Brandt").inner_text())
    page.click("form[action='/exchange/routing'] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "Hugo Brandt" in page.locator("[data-testid=designations]").inner_text()
    walk.goto("/exchange/health")
    forum = page.locator("[data-testid=coverage] tr", has_text="Frontier Safety Forum")
    assert forum.locator("text=Nobody designated").count() == 2

    # Resolve the pseudonym behind the role-play jailbreak warning, with the reason the contributor will read.
    walk.goto("/exchange")
    item = page.locator("[data-testid=items] tr", has_text="Multi-turn role-play jailbreak")
    label = item.locator("[data-testid=contributor]").inner_text().strip()
    assert label.startswith("Contributor ") and "Meridian" not in item.inner_text()
    walk.goto("/exchange/pseudonyms")
    row = page.locator("[data-testid=pseudonyms] tr", has_text=label)
    row.locator("input[name=reason]").fill("The role-play technique is being exploited again; we must warn its source.")
    row.locator("button[type=submit]").click()
    page.wait_for_selector(".flash:has-text('Resolved:')")
    assert "Resolved: Meridian AI." in page.locator(".flash").inner_text()
    assert "we must warn its source" in page.locator("main").inner_text()
    walk.check("pseudonym resolved")

    # The deployment's report recipients, and the forum's own members.
    walk.goto("/reporting/bindings")
    assert page.locator("main tr", has_text="EU AI Office").count() >= 1
    walk.goto("/admin/members")
    assert "hugo@forum.example" in page.locator("[data-testid=members]").inner_text()
    walk.done()


def _file_initial_report(server: LiveServer) -> str:
    """Aurora's reporter files the initial report of the demo's open privacy incident (the lab's side is the
    safety lead's test): its reference."""
    engine = make_engine(server.database_url)
    try:
        with unit_of_work(session_factory(engine)) as s:
            rhea = _as(s, "rhea@aurora.example", "aurora")
            obligation = s.execute(
                select(Obligation)
                .join(Incident, Incident.id == Obligation.incident_id)
                .where(
                    Obligation.org_id == rhea.org_id,
                    Obligation.regime_id == COP,
                    Obligation.stage == "initial",
                    Obligation.is_open.is_(True),
                    Obligation.start_at.is_not(None),
                )
            ).scalar_one()
            incident = s.get(Incident, obligation.incident_id)
            assert incident is not None
            report = reports.start_report(s, rhea, obligation.id)
            values = {f: FieldValue(str(entry.get("value") or "")) for f, entry in report.fields.items()}
            for f, fv in values.items():
                if not fv.value and f != reports.NOTES_FIELD:
                    values[f] = FieldValue("Being established; the next report completes it.", preliminary=True)
            values["m2_harm"] = FieldValue("One user's address shown to another user in a chat answer.")
            reports.save_draft(s, rhea, report.id, values)
            reports.submit(s, rhea, report.id)
            return incident.reference
    finally:
        engine.dispose()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_authority_analyst_opens_a_filed_report_acknowledges_and_asks(
    live_server: LiveServer, page: Any, viewport: str
) -> None:
    url = live_server.url
    reference = _file_initial_report(live_server)
    walk = Walk(page, url, viewport)
    login(page, url, "erin@aioffice.example")
    walk.check("home")
    assert page.locator("main .grid a.card h2").all_inner_texts() == ["Reporting", "Exchange"]

    walk.goto("/reporting/inbox")
    row = page.locator("[data-testid=inbox] tr", has_text=reference)
    assert row.count() == 1
    assert "New" in row.inner_text()
    walk.shot("authority-inbox")
    row.locator("[data-testid=inbox-row]").click()
    page.wait_for_selector("[data-testid=delivered-report]")
    walk.check("delivered report")
    assert "One user's address shown to another user" in page.locator("[data-testid=delivered-report]").inner_text()
    assert page.locator("[data-testid=ack-status]").inner_text() == "New"

    page.click("[data-testid=acknowledge]")
    page.wait_for_selector("[data-testid=ack-status]:has-text('Acknowledged')")
    question = "Which deployments had conversation memory turned on when this happened?"
    page.fill("[data-testid=question-body]", question)
    page.click("[data-testid=send-question]")
    page.wait_for_selector(f"[data-testid=thread] >> text={question}")
    walk.check("thread")
    walk.shot("authority-report-thread", docs=viewport == "desktop")
    walk.goto("/reporting/inbox")
    assert "Acknowledged" in page.locator("[data-testid=inbox] tr", has_text=reference).inner_text()
    walk.sign_out()

    # The lab's reporter sees the question waiting on the report, with a form to answer it.
    login(page, url, "rhea@aurora.example")
    walk.goto("/reporting")
    page.click(f"a:has-text('{reference}') >> nth=0")
    page.wait_for_load_state("networkidle")
    if page.locator("[data-testid=thread]").count() == 0:  # from the incident to its filed report
        page.click("[data-testid=open-report-initial]")
    page.wait_for_selector(f"[data-testid=thread] >> text={question}")
    assert page.locator("[data-testid=answer-body]").count() == 1
    walk.check("lab sees the question")
    walk.done()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_public_reporter_reports_keeps_the_receipt_and_reads_the_status(
    live_server: LiveServer, page: Any, viewport: str
) -> None:
    url = live_server.url
    walk = Walk(page, url, viewport)
    walk.goto("/report/aurora")
    page.fill("#r-title", "The assistant told me how to get into my neighbour's wifi")
    page.fill("#r-description", "I asked for help with my own router and got steps to break into another network.")
    page.fill("#r-model", "aurora-large")
    page.check("input[name=anonymous]")
    walk.check("public form filled")
    page.wait_for_timeout(3200)  # the demo channel refuses forms sent faster than a person types
    page.click("form[action='/report/aurora'] button[type=submit]")
    page.wait_for_selector("[data-testid=receipt]")
    walk.check("receipt")
    reference = page.locator("[data-testid=receipt-reference]").inner_text().strip()
    secret = page.locator("[data-testid=receipt-secret]").inner_text().strip()
    assert reference.startswith("SF-R-") and len(secret) >= 16
    walk.shot("public-report-receipt", docs=viewport == "phone")

    walk.goto("/report/status")
    page.fill("#ref", reference)
    page.fill("#secret", secret)
    page.click("form[action='/report/status'] button[type=submit]")
    page.wait_for_selector("[data-testid=report-status]")
    walk.check("status")
    assert "Received" in page.locator("[data-testid=report-status]").inner_text()
    assert "neighbour's wifi" in page.locator("main").inner_text()
    walk.shot("public-report-status")

    # A wrong secret shows nothing of the report.
    page.context.clear_cookies()
    walk.goto("/report/status")
    page.fill("#ref", reference)
    page.fill("#secret", "x" * len(secret))
    page.click("form[action='/report/status'] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "neighbour's wifi" not in page.content()
    page.console_errors[:] = [e for e in page.console_errors if "404" not in e and "403" not in e]
    walk.done()
