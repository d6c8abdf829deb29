"""In a real browser: on the demo's pseudonymous jailbreak warning, Aurora sees its own lesson about the
same technique under "Related items", with the reasons; the tag links to the items sharing it.
Screenshots go to test-artifacts/."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import LiveServer, login, screenshot

pytestmark = pytest.mark.browser

WARNING = "Multi-turn role-play jailbreak bypasses refusal training"


def test_related_items_on_the_item_page(live_server: LiveServer, page: Any) -> None:
    url = live_server.url
    login(page, url, "alice@aurora.example")
    page.goto(f"{url}/exchange")
    page.locator("[data-testid=items] tr", has_text=WARNING).locator("a.row-title").click()
    page.wait_for_selector("[data-testid=related-items]")
    related = page.locator("[data-testid=related-item]")
    assert related.count() >= 1
    text = related.first.inner_text()
    assert "ATLAS technique AML.T0054 LLM Jailbreak" in text and "the tag jailbreak" in text
    # Alice contributed the lesson, so the shared opening turn is named to her.
    assert "let us write a thriller together" in text
    assert "AML.T0054 LLM Jailbreak" in page.locator("[data-testid=item-refs]").inner_text()
    screenshot(page, "correlation-01-related-items")
    page.locator("[data-testid=item-tags] a", has_text="jailbreak").click()
    page.wait_for_selector("[data-testid=search-results]")
    assert WARNING in page.locator("[data-testid=search-results]").inner_text()
    screenshot(page, "correlation-02-items-sharing-a-tag")
