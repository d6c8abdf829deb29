"""In a real browser: Alice drafts a lesson from Aurora's closed jailbreak review, sees the sanitisation
preview (every replaced identifier), cannot sign it off herself; Ana signs it off; Alice publishes.
Screenshots go to test-artifacts/."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import LiveServer, login, screenshot

pytestmark = pytest.mark.browser


def _sign_out(page: Any) -> None:
    page.click("form[action='/logout'] button[type=submit]")
    page.wait_for_load_state()


def test_lesson_preview_second_person_sign_off_then_publish(live_server: LiveServer, page: Any) -> None:
    url = live_server.url
    page.on("dialog", lambda dialog: dialog.accept())  # data-confirm on publish
    login(page, url, "alice@aurora.example")
    page.goto(f"{url}/exchange/lessons/new")
    page.wait_for_selector("#l-review")
    page.check("input[name=permitted_uses][value=safeguards]")
    page.fill("#l-strip", "aurora-large 3.2\naurora-large 3.1")
    page.click("form[action='/exchange/lessons'] button[type=submit]")
    page.wait_for_selector("#sanitisation-changes")
    changes = page.locator("#sanitisation-changes").inner_text()
    assert "aurora-large 3.2" in changes and "[internal-id-1]" in changes
    assert page.locator("form[action$='/sanitisation/sign-off']").count() == 0  # not for the drafter
    screenshot(page, "sanitise-01-preview-for-the-drafter")
    preview_url = page.url
    item_url = preview_url.removesuffix("/sanitisation")
    # The draft page points to the preview (publishing before the sign-off is refused: see the API tests).
    page.goto(item_url)
    page.wait_for_selector("[data-testid=sanitisation-link]")
    _sign_out(page)

    login(page, url, "ana@aurora.example")
    page.goto(preview_url)
    page.click("form[action$='/sanitisation/sign-off'] button[type=submit]")
    page.wait_for_selector(".flash:has-text('signed off')")
    page.goto(preview_url)
    page.wait_for_selector("#sanitisation-signed")
    screenshot(page, "sanitise-02-signed-off-by-a-second-person")
    _sign_out(page)

    login(page, url, "alice@aurora.example")
    page.goto(item_url)
    if page.locator("#override").count():
        page.fill("#override", "Reviewed: the remaining findings are public safety details.")
    page.click("[data-testid=publish]")
    page.wait_for_selector(".flash:has-text('Published')")
    screenshot(page, "sanitise-03-published-lesson")
