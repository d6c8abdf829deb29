"""In a real browser over the demo: a reporter writes a quarterly transparency report for the last full
quarter, an admin signs it off and publishes it, and its public page opens for an anonymous visitor (no
links to records there), with the printable page and the JSON at their stable addresses.

With SIGNALFIRE_UPDATE_SCREENSHOTS=1 the public page's screenshot is also written to docs/screenshots/.
"""

from __future__ import annotations

import hashlib
import os
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from signalfire.core.clock import utcnow
from tests.conftest import LiveServer, axe_violations, login, screenshot

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _last_quarter() -> tuple[date, date, str]:
    today = utcnow().date()
    end = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1) - timedelta(days=1)
    start = date(end.year, end.month - 2, 1)
    return start, end, f"{start.year}-q{(start.month - 1) // 3 + 1}"


def test_publish_a_quarterly_report_and_open_its_public_page(live_server: LiveServer, page: Any, browser: Any) -> None:
    url = live_server.url
    start, end, slug = _last_quarter()

    login(page, url, "rhea@aurora.example")
    page.goto(f"{url}/transparency")
    assert page.locator("[data-testid=reports] tr").count() >= 3  # the demo's reports, published and draft
    page.click("[data-testid=new-report]")
    page.fill("#t-title", "Aurora Labs quarterly transparency report")
    page.fill("#t-start", start.isoformat())
    page.fill("#t-end", end.isoformat())
    page.fill("#t-k", "2")
    page.fill("#s0-b", "Incidents we became aware of this quarter.\n\nDrills are not counted.")
    page.check("input[name=s1_metrics][value=signals_by_channel]")
    page.check("input[name=s1_metrics][value=exchange_items_by_category]")
    page.click("[data-testid=report-form] button[type=submit]")
    page.wait_for_url(f"{url}/transparency/reports/**")
    assert page.locator("[data-testid=status]").get_attribute("data-status") == "draft"
    assert page.locator("[data-testid=signoff-form]").count() == 0  # a reporter cannot sign off
    report_url = page.url
    screenshot(page, "transparency-01-draft")
    assert axe_violations(page) == []

    context = browser.new_context(viewport={"width": 1360, "height": 900})
    admin = context.new_page()
    login(admin, url, "alice@aurora.example")
    admin.goto(report_url)
    admin.fill("#so-note", "Checked against the incident board.")
    admin.click("[data-testid=signoff]")
    admin.wait_for_selector("[data-testid=signed-off]")
    admin.click("[data-testid=publish]")
    admin.wait_for_url(f"{url}/public/transparency/aurora/{slug}/editions/1")
    assert admin.locator("[data-testid=record-link]").count() > 0  # members see links to the records
    context.close()

    anon = browser.new_context(viewport={"width": 1100, "height": 1000}).new_page()
    anon.goto(f"{url}/public/transparency/aurora/{slug}")
    doc = anon.locator("[data-testid=transparency-document]")
    assert doc.is_visible()
    assert "Aurora Labs quarterly transparency report" in anon.locator("h1").inner_text()
    assert anon.locator("[data-testid=record-link]").count() == 0
    assert anon.locator("a[href^='/response/'], a[href^='/intake/'], a[href^='/transparency/']").count() == 0
    assert anon.locator("table[data-figure=incidents_by_severity]").count() == 1
    digest = anon.locator("[data-testid=sha256]").inner_text().strip()
    found = axe_violations(anon)
    assert found == [], "\n".join(found)
    screenshot(anon, "transparency-02-public")
    if os.environ.get("SIGNALFIRE_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        anon.screenshot(path=str(DOCS / "transparency-public.png"), full_page=False)

    body = anon.request.get(f"{url}/api/v1/public/transparency/aurora/{slug}/editions/1").body()
    assert hashlib.sha256(body).hexdigest() == digest
    anon.goto(f"{url}/public/transparency/aurora/{slug}/editions/1/print")
    anon.emulate_media(media="print")
    assert anon.locator("[data-testid=transparency-document]").is_visible()
    screenshot(anon, "transparency-03-print")
    anon.context.close()
