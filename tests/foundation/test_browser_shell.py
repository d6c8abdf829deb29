"""In a real browser: sign in, switch organisation, create an API token, and keep a screenshot."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, login, screenshot

pytestmark = pytest.mark.browser


def test_login_switch_org_and_create_token(live_server: LiveServer, page: Any) -> None:
    url = live_server.url
    login(page, url, "alice@aurora.example")
    assert page.locator("h1.page-title").inner_text() == "Aurora Labs"
    screenshot(page, "shell-01-home")

    page.select_option(
        "[data-testid=org-switcher]",
        label=page.locator("[data-testid=org-switcher] option", has_text="Frontier Safety Forum").inner_text(),
    )
    page.wait_for_selector("h1.page-title:has-text('Frontier Safety Forum')")
    assert "Switched to Frontier Safety Forum" in page.content()

    page.goto(f"{url}/admin/tokens")
    page.fill("#t-name", "ci-exporter")
    page.check("input[name=scopes][value='exchange']")
    page.click("form[action='/admin/tokens'] button[type=submit]")
    secret = page.locator("[data-testid=new-token-secret]").inner_text().strip()
    assert secret.startswith("sf_")
    assert page.locator("[data-testid=tokens] td", has_text="ci-exporter").count() == 1
    screenshot(page, "shell-02-token-created")

    # The token works against the API, bound to the org that was active and to its scope.
    me = httpx.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).json()
    assert me["org"]["name"] == "Frontier Safety Forum"
    assert all(p.startswith("exchange:") for p in me["permissions"])

    page.goto(f"{url}/admin/tokens")
    assert secret not in page.content()  # shown exactly once


def test_forms_work_without_javascript(live_server: LiveServer, browser: Any) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    login(page, live_server.url, "alice@aurora.example")
    page.click("form.org-switcher button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("h1.page-title").count() == 1
    context.close()


def test_main_pages_fit_a_phone(live_server: LiveServer, page: Any) -> None:
    """At 390 px wide no main page scrolls sideways, and Sign out stays on screen (issue 18)."""
    url = live_server.url
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, url, "alice@aurora.example")
    incident = page.evaluate("fetch('/api/v1/response/incidents').then(r => r.json())")[0]["id"]
    paths = [
        "/",
        "/response",
        f"/response/incidents/{incident}",
        "/reporting",
        f"/reporting/incidents/{incident}",
        "/exchange",
        "/intake",
        "/intake/sources",
        "/readiness",
        "/readiness/dashboard",
        "/admin/members",
    ]
    for path in paths:
        page.goto(f"{url}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        box = page.locator("form[action='/logout'] button").bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390, path
    screenshot(page, "shell-03-phone")
