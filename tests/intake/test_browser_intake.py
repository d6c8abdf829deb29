"""In a real browser: a member of the public reports to Aurora Labs and checks the status; a responder
triages the queue, sees the jailbreak cluster and promotes a signal to an incident."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import LiveServer, login, screenshot

pytestmark = pytest.mark.browser


def test_public_report_receipt_and_status(live_server: LiveServer, page: Any) -> None:
    url = live_server.url
    page.goto(f"{url}/report/aurora")
    page.fill("#r-title", "Assistant gave me a real exploit for my router")
    page.fill("#r-description", "I asked aurora-large for help securing my router and it wrote a working exploit.")
    page.fill("#r-model", "aurora-large")
    page.check("input[name=anonymous]")
    screenshot(page, "intake-01-public-form")
    page.wait_for_timeout(3200)  # the demo channel refuses forms sent faster than a person types
    page.click("form[action='/report/aurora'] button[type=submit]")
    page.wait_for_selector("[data-testid=receipt]")
    reference = page.locator("[data-testid=receipt-reference]").inner_text().strip()
    secret = page.locator("[data-testid=receipt-secret]").inner_text().strip()
    assert reference.startswith("SF-R-")
    screenshot(page, "intake-02-receipt")

    page.goto(f"{url}/report/status")
    page.fill("#ref", reference.lower())
    page.fill("#secret", secret)
    page.click("form[action='/report/status'] button[type=submit]")
    page.wait_for_selector("[data-testid=report-status]")
    assert "Received" in page.locator("[data-testid=report-status]").inner_text()
    page.fill("#add-body", "It also works on the consumer app.")
    page.click("form[action='/report/status/add'] button[type=submit]")
    page.wait_for_selector("text=It also works on the consumer app.")
    screenshot(page, "intake-03-status")


def test_responder_triages_and_promotes(live_server: LiveServer, page: Any) -> None:
    url = live_server.url
    login(page, url, "raj@aurora.example")
    page.goto(f"{url}/intake")
    queue = page.locator("[data-testid=queue]")
    assert queue.locator("text=similar").count() >= 1
    screenshot(page, "intake-04-queue")

    page.click("[data-testid=queue] tr:has-text('jailbreak') a:has-text('similar') >> nth=0")
    page.wait_for_selector("[data-testid=cluster-signals]")
    assert page.locator("[data-testid=cluster-signals] tbody tr").count() >= 6
    screenshot(page, "intake-05-cluster")

    page.goto(f"{url}/intake?sort=relevance")
    page.click("[data-testid=queue] a.row-title >> text=Red-team partner")
    page.wait_for_selector("[data-testid=promote-incident]")
    screenshot(page, "intake-06-signal")
    page.select_option("#p-domain", "autonomy")
    page.click("[data-testid=promote-incident] button[type=submit]")
    page.wait_for_url(f"{url}/response/incidents/**")
    assert "brought into" in page.content()
    screenshot(page, "intake-07-promoted")

    page.goto(f"{url}/intake/sources")
    assert page.locator("[data-testid=feed-error]").count() >= 1
    screenshot(page, "intake-08-sources")
