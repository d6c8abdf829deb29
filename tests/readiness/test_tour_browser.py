"""In a real browser, as a new user of the demo: follow the guided tour through every channel, then open
the scorecard, the landscape and the dashboard, keeping a screenshot of each page.

With SIGNALFIRE_UPDATE_SCREENSHOTS=1 the scorecard and dashboard screenshots are also written to
docs/screenshots/ (viewport-sized, for the README).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveServer, login, screenshot

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# The tour's buttons, in the order the page presents them, and where each leads.
STEPS = (
    ("intake", "/intake"),
    ("response", "/response"),
    ("reporting", "/reporting"),
    ("exchange", "/exchange"),
    ("readiness", "/readiness"),
)
CHARTS_DRAWN = """() => {
  const canvases = [...document.querySelectorAll('canvas[data-chart]')];
  return window.Chart && canvases.length > 0 && canvases.every((c) => window.Chart.getChart(c));
}"""


def _for_docs(page: Any, name: str) -> None:
    if os.environ.get("SIGNALFIRE_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS / f"{name}.png"), full_page=False)


def test_new_user_follows_the_tour_through_every_channel(live_server: LiveServer, page: Any) -> None:
    url = live_server.url
    login(page, url, "alice@aurora.example")
    page.goto(f"{url}/tour")
    assert page.locator("[data-testid=firewall]").is_visible()
    buttons = page.locator("[data-tour]")
    assert [buttons.nth(i).get_attribute("data-tour") for i in range(buttons.count())] == [s for s, _ in STEPS]
    screenshot(page, "tour-00-start")

    for n, (step, path) in enumerate(STEPS, start=1):
        page.goto(f"{url}/tour")
        page.click(f"[data-tour={step}]")
        page.wait_for_url(f"{url}{path}")
        page.wait_for_load_state("networkidle")
        assert page.locator("h1.page-title").count() == 1, f"{step}: no page title"
        assert "Something went wrong" not in page.content()
        screenshot(page, f"tour-{n:02d}-{step}")

    # The last step lands on the scorecard: Aurora's story shows both met items and gaps, with evidence.
    items = page.locator("[data-testid=scorecard-items] [data-item]")
    assert items.count() == 13
    assert page.locator("[data-item=rollback]").get_attribute("data-state") == "ok"
    assert page.locator("[data-item=roster_24x7]").get_attribute("data-state") == "gap"
    assert page.locator("[data-item=rollback] a[href^='/response/incidents/']").count() >= 1
    page.set_viewport_size({"width": 1360, "height": 1000})
    _for_docs(page, "readiness-scorecard")

    page.goto(f"{url}/readiness/landscape")
    assert page.locator("[data-testid=own-row]").is_visible()
    assert page.locator("[data-testid=published-table] td", has_text="Aurora Labs").count() == 1
    screenshot(page, "tour-06-landscape")

    page.goto(f"{url}/readiness/dashboard")
    page.wait_for_function(CHARTS_DRAWN)
    assert page.locator("canvas[data-chart]").count() == 6
    screenshot(page, "tour-07-dashboard")
    _for_docs(page, "readiness-dashboard")
