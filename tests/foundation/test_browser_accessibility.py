"""Every main page, for each persona, at desktop and phone width: no serious or critical axe-core
violation (WCAG 2.2 AA rules) and no sideways scroll on a phone (issue 18)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import LiveServer, axe_violations, login, screenshot

pytestmark = pytest.mark.browser

PERSONAS = {
    # A lab's safety lead, the forum's hub operator, an authority's analyst.
    "alice@aurora.example": ["/", "/my-work", "/response", "/reporting", "/exchange", "/intake", "/readiness"],
    "hugo@forum.example": ["/", "/my-work", "/exchange", "/reporting/bindings"],
    "erin@aioffice.example": ["/", "/my-work", "/reporting/inbox", "/exchange"],
}


@pytest.mark.parametrize("width", [1360, 390])
def test_main_pages_pass_axe_for_each_persona(live_server: LiveServer, page: Any, width: int) -> None:
    url = live_server.url
    page.set_viewport_size({"width": width, "height": 900})
    found: list[str] = []
    for email, paths in PERSONAS.items():
        page.context.clear_cookies()
        login(page, url, email)
        if email.startswith("alice"):
            incident = page.evaluate("fetch('/api/v1/response/incidents').then(r => r.json())")[0]["id"]
            paths = [*paths, f"/response/incidents/{incident}", f"/reporting/incidents/{incident}"]
        for path in paths:
            page.goto(f"{url}{path}")
            page.wait_for_load_state("networkidle")
            found += [f"{email} {path}: {v}" for v in axe_violations(page)]
            if width == 390:
                assert page.evaluate("document.documentElement.scrollWidth") <= 390, f"{email} {path}"
        screenshot(page, f"a11y-{email.split('@')[0]}-{width}")
    assert not found, "\n".join(found)
