"""In a real browser, on the demo: Rhea records an evaluation result that crosses Aurora's autonomy
threshold, the notice opens with its clock, Alice approves it and it is sent to the EU AI Office; then a
member of the public reports, Ana answers them (with an internal note beside it) and the reporter reads
the answer, and not the note, on the status page and replies.

Screenshots go to test-artifacts/; with SIGNALFIRE_UPDATE_SCREENSHOTS=1 two are also written to
docs/screenshots/ (viewport-sized, for docs/outward-duties.md).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveServer, axe_violations, login, screenshot

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _for_docs(page: Any, name: str) -> None:
    if os.environ.get("SIGNALFIRE_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS / f"{name}.png"), full_page=False)


def _logout(page: Any, url: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{url}/login")


def test_evaluation_crosses_a_threshold_and_the_notice_is_sent(live_server: LiveServer, page: Any) -> None:
    url = live_server.url
    login(page, url, "rhea@aurora.example")
    page.goto(f"{url}/notices")
    assert "Autonomous replication in the sandbox" in page.locator("[data-testid=thresholds]").inner_text()
    assert "Sent on time" in page.locator("[data-testid=notices]").inner_text()  # last week's bio notice
    assert not axe_violations(page)
    form = page.locator("[data-testid=evaluation-form]")
    form.locator("select[name=model]").select_option("aurora-large 3.2")
    form.locator("input[name=evaluation]").fill("autonomy-suite")
    form.locator("input[name=score]").fill("0.55")
    form.locator("textarea[name=summary]").fill("Sandbox run 14: the agent copied itself to a second host.")
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{url}/notices/*")
    notice_url = page.url.split("#")[0]
    clock = page.locator("[data-testid=notice-clock]")
    assert clock.get_attribute("data-state") == "running" and "Due" in clock.inner_text()
    assert "EU AI Office" in page.locator("[data-testid=planned-recipients]").inner_text()
    assert "None linked" in page.locator("[data-testid=notice-incident]").inner_text()
    screenshot(page, "notices-01-opened")
    page.locator("[data-testid=approve]").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-testid=notice-status]").inner_text() == "Approved"
    page.locator("[data-testid=send]").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-testid=notice-status]").inner_text() == "Sent"
    assert page.locator("[data-testid=notice-clock]").get_attribute("data-state") == "met"
    assert "EU AI Office, serious-incident desk" in page.locator("[data-testid=recipients]").inner_text()
    screenshot(page, "notices-02-sent")
    assert not axe_violations(page)
    _for_docs(page, "notices-sent")
    # Nothing in reporting: the deadline board shows no obligation for a notice.
    page.goto(f"{url}/reporting")
    assert "Autonomous replication" not in page.locator("main").inner_text()
    page.goto(notice_url)
    assert page.locator("[data-testid=notice-status]").inner_text() == "Sent"


def test_lab_answers_a_public_reporter_who_reads_it_on_the_status_page(live_server: LiveServer, page: Any) -> None:
    url = live_server.url
    page.goto(f"{url}/report/aurora")
    page.fill("#r-title", "Assistant invents court cases in legal answers")
    page.fill("#r-description", "Asked about tenancy law, aurora-large cited three cases that do not exist.")
    page.fill("#r-contact", "lee@example.com")
    page.wait_for_timeout(3200)  # the demo channel refuses forms sent faster than a person types
    page.click("form[action='/report/aurora'] button[type=submit]")
    page.wait_for_selector("[data-testid=receipt]")
    reference = page.locator("[data-testid=receipt-reference]").inner_text().strip()
    secret = page.locator("[data-testid=receipt-secret]").inner_text().strip()

    login(page, url, "ana@aurora.example")
    page.goto(f"{url}/intake?q={reference}")
    page.locator("a:has-text('Assistant invents court cases')").first.click()
    page.wait_for_url(f"{url}/intake/signals/*")
    answer = page.locator("[data-testid=answer-form]")
    answer.locator("textarea[name=body]").fill("Reporter sounds like a lawyer; ask legal before quoting them.")
    answer.locator("input[name=internal]").check()
    answer.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    answer = page.locator("[data-testid=answer-form]")
    answer.locator("textarea[name=body]").fill("Thank you. We confirmed the invented citations and are fixing it.")
    answer.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    thread = page.locator("[data-testid=thread]").inner_text()
    assert "Internal note" in thread and "(e-mailed)" in thread
    screenshot(page, "reporter-01-lab-thread")
    assert page.locator("#thread").is_visible()
    assert not axe_violations(page)

    _logout(page, url)
    page.goto(f"{url}/report/status")
    page.fill("#ref", reference)
    page.fill("#secret", secret)
    page.click("form[action='/report/status'] button[type=submit]")
    page.wait_for_selector("[data-testid=reporter-thread]")
    seen = page.locator("[data-testid=reporter-thread]").inner_text()
    assert "We confirmed the invented citations" in seen and "Aurora Labs" in seen
    assert "ask legal" not in page.content()  # the internal note never reaches the reporter
    page.fill("#reply-body", "Happy to share the full transcript if useful.")
    page.click("form[action='/report/status/reply'] button[type=submit]")
    page.wait_for_selector("text=Happy to share the full transcript if useful.")
    assert "Your reply was sent." in page.content()
    screenshot(page, "reporter-02-status-page")
    assert not axe_violations(page)
    _for_docs(page, "reporter-status-answer")
