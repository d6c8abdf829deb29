"""In a real browser: Meridian shares a pseudonymous TLP:AMBER item, Aurora reads it after declaring a
purpose, and Meridian sees who read it and why. Screenshots go to test-artifacts/."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import LiveServer, login, screenshot

pytestmark = pytest.mark.browser

TITLE = "Prompt smuggling through tool descriptions"


def _sign_out(page: Any) -> None:
    page.click("form[action='/logout'] button[type=submit]")
    page.wait_for_load_state()


def test_share_pseudonymous_amber_read_with_purpose_and_see_the_access_log(live_server: LiveServer, page: Any) -> None:
    url = live_server.url
    page.on("dialog", lambda dialog: dialog.accept())  # data-confirm on publish

    # Meridian shares, pseudonymously, at TLP:AMBER.
    login(page, url, "mira@meridian.example")
    page.goto(f"{url}/exchange/items/new")
    page.check("input[name=category][value=vulnerability]")
    page.fill("#i-title", TITLE)
    page.fill("#i-summary", "Instructions hidden in an MCP tool description are followed by the agent.")
    page.fill(
        "#i-details",
        "A tool whose description embeds 'ignore previous instructions' redirects the agent "
        "to call a second tool with the user's files. Pinning tool descriptions stops it.",
    )
    page.fill("#i-refs", "AML.T0051\nLLM01:2025")
    page.check("input[name=tlp][value=AMBER]")
    page.check("input[name=audience][value=all_members]")
    page.check("input[name=permitted_uses][value=safeguards]")
    page.check("input[name=permitted_uses][value=model_evaluations]")
    page.check("input[name=attribution][value=pseudonymous]")
    page.click("[data-testid=item-form] button[type=submit]")
    page.wait_for_selector("[data-testid=screening]")
    assert "Nothing found." in page.locator("[data-testid=screening]").inner_text()
    page.click("[data-testid=publish]")
    page.wait_for_selector(".flash:has-text('Published')")
    item_url = page.url
    screenshot(page, "exchange-01-published-pseudonymous-amber")
    _sign_out(page)

    # Aurora sees the pseudonym, not Meridian, and must declare a purpose to read the details.
    login(page, url, "alice@aurora.example")
    page.goto(f"{url}/exchange")
    row = page.locator("[data-testid=items] tr", has_text=TITLE)
    assert row.count() == 1
    contributor = row.locator("[data-testid=contributor]").inner_text()
    assert contributor.startswith("Contributor ") and "Meridian" not in row.inner_text()
    row.locator("a.row-title").click()
    page.wait_for_selector("[data-testid=declare-purpose]")
    assert "Pinning tool descriptions" not in page.content()
    assert "Meridian" not in page.content()
    page.select_option("#purpose", "model_evaluations")
    screenshot(page, "exchange-02-declare-purpose")
    page.click("[data-testid=declare-purpose] button[type=submit]")
    page.wait_for_selector("[data-testid=declared-purpose]")
    assert "Pinning tool descriptions" in page.locator("[data-testid=details]").inner_text()
    assert "Model evaluations" in page.locator("[data-testid=declared-purpose]").inner_text()
    page.select_option("#r-kind", "sighting")
    page.fill("#r-body", "Seen against our agent sandbox too.")
    page.click("[data-testid=respond-form] button[type=submit]")
    page.wait_for_selector("[data-testid=responses] .timeline-item")
    screenshot(page, "exchange-03-details-after-purpose")
    _sign_out(page)

    # Meridian sees who read it, from which org, and why.
    login(page, url, "mira@meridian.example")
    page.goto(item_url)
    page.click("[data-testid=access-log-link]")
    page.wait_for_selector("[data-testid=reads]")
    log = page.locator("[data-testid=reads]").inner_text()
    assert "Alice Okafor" in log and "Aurora Labs" in log and "Model evaluations" in log
    screenshot(page, "exchange-04-contributor-access-log")


def test_hub_sees_participation_health_with_charts(live_server: LiveServer, page: Any) -> None:
    login(page, live_server.url, "hugo@forum.example")
    page.goto(f"{live_server.url}/exchange/health")
    page.wait_for_selector("canvas[data-chart='chart-exchange-category']")
    assert page.locator("[data-testid=stat-items]").inner_text().strip() != "0"
    # Aurora designates nobody for capabilities of concern in the demo: the gap is highlighted.
    aurora = page.locator("[data-testid=coverage] tr", has_text="Aurora Labs")
    assert aurora.locator("[data-testid=gap]").count() == 1
    screenshot(page, "exchange-05-hub-participation-health")
    page.goto(f"{live_server.url}/exchange")
    assert "Meridian" not in page.locator("[data-testid=items] tr", has_text="role-play jailbreak").inner_text()
    screenshot(page, "exchange-06-hub-listing")
