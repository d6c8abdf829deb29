"""A responder walks a SEV1 misuse incident in a real browser: open it, take command, run the playbook,
roll back 3.2 → 3.1 (completed and verified inside its 12-hour target), resolve, close the review and
the incident. Screenshots go to test-artifacts/."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import LiveServer, login, screenshot

pytestmark = pytest.mark.browser


def _status(page: Any, status: str, reason: str = "") -> None:
    form = page.locator('[data-testid="status-form"]')
    form.locator('select[name="status"]').select_option(status)
    if reason:
        form.locator('input[name="reason"]').fill(reason)
    form.locator('button[type="submit"]').click()
    page.wait_for_load_state("networkidle")
    assert page.locator('[data-testid="incident-status"]').first.inner_text().lower() == status


def _progress(page: Any, status: str, verification: str = "") -> None:
    form = page.locator('[data-testid="action-progress"]').first
    form.locator('select[name="status"]').select_option(status)
    if verification:
        form.locator('input[name="verification"]').fill(verification)
    form.locator('button[type="submit"]').click()
    page.wait_for_load_state("networkidle")


def test_sev1_misuse_incident_from_report_to_closed_review(live_server: LiveServer, page: Any) -> None:
    base = live_server.url
    page.on("dialog", lambda dialog: dialog.accept())
    login(page, base, "raj@aurora.example")
    page.goto(f"{base}/response")
    screenshot(page, "response-01-board")
    page.click('[data-testid="new-incident"]')

    form = page.locator('[data-testid="incident-form"]')
    form.locator('input[name="title"]').fill("Jailbreak bypasses refusals on aurora-large 3.2")
    form.locator('select[name="severity"]').select_option("sev1")
    form.locator('select[name="risk_domain"]').select_option("misuse")
    form.locator('input[name="affected_models"][value="aurora-large 3.2"]').check()
    form.locator('textarea[name="summary"]').fill("Monitoring flagged a universal jailbreak in production traffic.")
    form.locator('button[type="submit"]').click()
    page.wait_for_url(f"{base}/response/incidents/*")
    assert "SEV1" in page.locator("h1").inner_text()
    incident_url = page.url.split("#")[0]

    roles = page.locator('[data-testid="role-form"]')
    roles.locator('select[name="role"]').select_option("commander")
    roles.locator('input[name="email"]').fill("raj@aurora.example")
    roles.locator('button[type="submit"]').click()
    page.wait_for_load_state("networkidle")
    assert "Incident commander" in page.locator('[data-testid="roles"]').inner_text()

    _status(page, "triaged")
    page.locator('[data-testid="playbook-form"] button').click()
    page.wait_for_load_state("networkidle")
    assert page.locator('[data-testid="tasks"] tbody tr').count() >= 4
    screenshot(page, "response-02-playbook-started")

    action = page.locator('[data-testid="action-form"]')
    if not action.is_visible():
        page.locator("details.disclosure summary").first.click()
    action.locator('select[name="kind"]').select_option("model_rollback")
    action.locator('input[name="title"]').fill("Roll back aurora-large 3.2 to 3.1 on all surfaces")
    action.locator('select[name="from_version"]').select_option("aurora-large 3.2")
    action.locator('select[name="to_version"]').select_option("aurora-large 3.1")
    action.locator('button[type="submit"]').click()
    page.wait_for_load_state("networkidle")
    assert page.locator('[data-testid="action-clock"]').count() == 1  # the 12-hour clock is running
    screenshot(page, "response-03-rollback-requested")

    _progress(page, "in_progress")
    _progress(page, "completed")
    # Four eyes: the rollback's owner cannot verify it; a second person does.
    incident_url = page.url.split("#")[0].split("/actions/")[0]
    page.context.clear_cookies()
    login(page, base, "alice@aurora.example")
    page.goto(incident_url)
    _progress(page, "verified", "Deployment manifests pin 3.1 on api, consumer-app, internal-agents")
    page.context.clear_cookies()
    login(page, base, "raj@aurora.example")
    page.goto(incident_url)
    row = page.locator('[data-testid="action-row"]').first
    assert "Verified" in row.locator('[data-testid="action-status"]').inner_text()
    assert "within target" in row.locator('[data-testid="action-target"]').inner_text()
    screenshot(page, "response-04-rollback-verified")

    _status(page, "contained")
    _status(page, "mitigated")
    _status(page, "resolved")

    page.click('[data-testid="review-link"]')
    review = page.locator('[data-testid="review-form"]')
    review.locator('textarea[name="root_cause"]').fill("Refusal training missed nested role-play framing.")
    review.locator('textarea[name="contributing_factors"]').fill(
        "No nested cases in the eval gate\nPer-turn classifier"
    )
    review.locator('button[type="submit"]').click()
    page.wait_for_load_state("networkidle")
    item = page.locator('[data-testid="review-item-form"]')
    item.locator('input[name="title"]').fill("Add nested role-play cases to the release gate")
    item.locator('input[name="owner_email"]').fill("ana@aurora.example")
    item.locator('input[name="due_on"]').fill("2030-01-31")
    item.locator('button[type="submit"]').click()
    page.wait_for_load_state("networkidle")
    page.click('[data-testid="close-review"]')
    page.wait_for_load_state("networkidle")
    assert page.locator('[data-testid="review-status"]').inner_text() == "closed"
    screenshot(page, "response-05-review-closed")

    page.goto(incident_url)
    _status(page, "closed")
    timeline = page.locator('[data-testid="timeline"]').inner_text()
    for needle in (
        "Incident reported",
        "Started playbook",
        "Model rollback requested",
        "Post-incident review closed",
        "to closed",
    ):
        assert needle in timeline
    screenshot(page, "response-06-incident-closed")


def test_drills_are_marked_and_coverage_shows_the_gap(live_server: LiveServer, page: Any) -> None:
    base = live_server.url
    login(page, base, "alice@aurora.example")
    page.goto(f"{base}/response/incidents?kind=drill")
    page.locator('[data-testid="incidents"] a.row-title').first.click()
    assert page.locator('[data-testid="drill-banner"]').is_visible()
    assert "recorded and not sent" in page.locator('[data-testid="timeline"]').inner_text()
    screenshot(page, "response-07-drill")
    page.goto(f"{base}/response/oncall")
    page.locator('[data-testid="rosters"] a.row-title').first.click()
    assert page.locator('[data-testid="gap-count"]').inner_text() == "1"
    screenshot(page, "response-08-coverage")
    page.goto(f"{base}/response/metrics")
    page.wait_for_selector('canvas[data-chart="chart-by-severity"]')
    screenshot(page, "response-09-metrics")
