"""In a real browser over the seeded demo: Aurora's admin imports a STIX 2.1 bundle with a dry run (two reports
would be created, one refused for having no TLP marking), imports it (a job: its page shows the progress, then
the report), publishes one of the drafts, then exports
a selection from the items list and the downloaded bundle holds exactly the ticked items. The TAXII
collections page shows how to connect. Every page has no serious or critical axe-core violation.

Screenshots go to test-artifacts/; with SIGNALFIRE_UPDATE_SCREENSHOTS=1 also to docs/screenshots/.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from signalfire.exchange.stix import jobs as stix_jobs
from signalfire.exchange.vocab import Tlp
from tests.conftest import LiveServer, axe_violations, login, screenshot
from tests.exchange.stix_reports import stix_report

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
GOOD = "Tool-description injection in agent plug-ins"
SECOND = "Refusal bypass through translated prompts"
UNMARKED = "Report without a marking"


def _report(name: str, tlp: Tlp | None) -> dict[str, Any]:
    return stix_report(
        name,
        tlp=tlp,
        created="2026-11-02T09:00:00.000Z",
        description=f"{name}, seen by a partner's red team against a hosted assistant.",
        uses=("threat_detection", "safeguards"),
    )


def _shot(page: Any, name: str) -> None:
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, name)
    if os.environ.get("SIGNALFIRE_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS / f"{name}.png"), full_page=True)


def _axe(page: Any, where: str, found: list[str]) -> None:
    page.wait_for_load_state("networkidle")
    assert "Something went wrong" not in page.content(), where
    found += [f"{where}: {v}" for v in axe_violations(page)]


def test_member_imports_with_a_dry_run_then_exports_a_selection(
    live_server: LiveServer, page: Any, tmp_path: Path
) -> None:
    url = live_server.url
    violations: list[str] = []
    page.on("dialog", lambda dialog: dialog.accept())  # data-confirm on publish
    bundle_file = tmp_path / "partner-feed.json"
    objects = [_report(GOOD, Tlp.GREEN), _report(SECOND, Tlp.GREEN), _report(UNMARKED, None)]
    bundle_file.write_text(json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}))

    login(page, url, "alice@aurora.example")
    page.goto(f"{url}/exchange")
    page.click(".tabs a:has-text('Import STIX')")
    page.wait_for_selector("[data-testid=import-form]")
    _axe(page, "import form", violations)

    # Dry run: the report says what would happen, per object, and nothing is stored.
    page.set_input_files("#s-file", str(bundle_file))
    page.check("input[name=audience][value=all_members]")
    page.click("[data-testid=dry-run]")
    page.wait_for_selector("[data-testid=import-report]")
    assert "Dry run: nothing was stored" in page.locator("[data-testid=import-report] .card-title").inner_text()
    assert page.locator("[data-testid=count-create]").inner_text() == "2"
    assert page.locator("[data-testid=count-refuse]").inner_text() == "1"
    assert page.locator("[data-testid=count-update]").inner_text() == "0"
    refused = page.locator("[data-testid=import-objects] tr[data-action=refuse]")
    assert refused.count() == 1 and "no TLP marking" in refused.inner_text()
    assert objects[2]["id"] in refused.inner_text()
    _axe(page, "dry run report", violations)
    _shot(page, "exchange-stix-import-dry-run")
    page.goto(f"{url}/exchange?mine=true")
    assert GOOD not in page.locator("main").inner_text()  # the dry run made no draft
    page.go_back()
    page.wait_for_selector("[data-testid=confirm-import]")

    # Import for real: the same bundle, posted back from the page, starts a job; its page shows a determinate
    # progress bar in a live region, polls (htmx) until the job is done, then shows the report.
    page.click("[data-testid=confirm-import] button[type=submit]")
    page.wait_for_url(f"{url}/exchange/import/jobs/**")
    job_url = page.url
    status = page.locator("[data-testid=import-status]")
    assert status.get_attribute("aria-live") == "polite"
    assert page.locator("[data-testid=import-progress] progress").get_attribute("max") == "3"
    page.wait_for_selector("[data-testid=import-report] .card-title:has-text('Imported')", timeout=30_000)
    assert "3 of 3 objects" in status.inner_text()
    assert page.locator("[data-testid=import-progress] progress").get_attribute("value") == "3"
    assert page.locator("[data-testid=count-create]").inner_text() == "2"
    assert page.locator("[data-testid=count-refuse]").inner_text() == "1"
    _axe(page, "import result", violations)
    _shot(page, "exchange-stix-import-done")
    # The report is the job's: it survives a reload, and the import page lists the job.
    page.reload()
    assert page.locator("[data-testid=count-create]").inner_text() == "2"
    page.goto(f"{url}/exchange/import")
    assert page.locator(f"[data-testid=recent-imports] a[href='{job_url.removeprefix(url)}']").count() == 1
    page.goto(job_url)

    # Publish one of the drafts from its page.
    page.click(f"[data-testid=import-objects] a:has-text('{GOOD}')")
    page.click("[data-testid=publish]")
    page.wait_for_selector(".flash:has-text('Published')")

    # Export a selection: filter the list, follow "Export as STIX", keep two ticked, download.
    page.goto(f"{url}/exchange?category=threat")
    page.click("[data-testid=export-link]")
    page.wait_for_selector("[data-testid=export-items]")
    assert page.locator("#x-cat").input_value() == "threat"
    boxes = page.locator("[data-testid=export-items] input[name=item]")
    assert boxes.count() >= 2
    row = page.locator("[data-testid=export-items] tr", has_text=GOOD)
    assert row.count() == 1
    good_id = row.locator("input[name=item]").get_attribute("value")
    for i in range(boxes.count()):
        boxes.nth(i).uncheck()
    row.locator("input[name=item]").check()
    other = page.locator("[data-testid=export-items] tr", has_not_text=GOOD).locator("input[name=item]").first
    other.check()
    other_id = other.get_attribute("value")
    page.select_option("#x-purpose", "threat_detection")
    _axe(page, "export", violations)
    _shot(page, "exchange-stix-export")
    with page.expect_download() as download:
        page.click("[data-testid=export-download]")
    data = json.loads(Path(download.value.path()).read_text())
    reports = {o["id"].split("--", 1)[1] for o in data["objects"] if o["type"] == "report"}
    assert reports == {good_id, other_id}

    # Collections: how to connect, and what each collection serves.
    page.goto(f"{url}/exchange/collections")
    page.wait_for_selector("[data-testid=collections]")
    assert "/taxii2/" in page.locator("[data-testid=discovery-url]").inner_text()
    assert page.locator("[data-testid=collections] tr[data-collection=members]").count() == 1
    _axe(page, "collections", violations)
    _shot(page, "exchange-taxii-collections")
    assert not violations, "\n".join(violations)


def test_the_job_page_s_progress_bar_advances_until_the_report(
    live_server: LiveServer, page: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a dry run: the job page's bar moves through intermediate values (htmx polling), then the page
    refreshes itself into the report."""
    monkeypatch.setattr(stix_jobs, "BATCH_SIZE", 5)  # the embedded worker runs in this process
    # The import waits after each committed batch until the page has shown a step (then runs on freely):
    # without it a fast database finishes all twelve batches between two polls and the bar jumps 0 to 60.
    shown = threading.Event()

    class _Gate:
        monotonic = staticmethod(time.monotonic)

        @staticmethod
        def sleep(seconds: float) -> None:
            shown.wait(timeout=30)

    monkeypatch.setattr(stix_jobs, "time", _Gate)
    url = live_server.url
    bundle_file = tmp_path / "many.json"
    objects = [_report(f"Partner report {n}", Tlp.GREEN) for n in range(60)]
    bundle_file.write_text(json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}))
    login(page, url, "alice@aurora.example")
    page.goto(f"{url}/exchange/import")
    page.set_input_files("#s-file", str(bundle_file))
    page.click("[data-testid=import-now]")
    page.wait_for_url(f"{url}/exchange/import/jobs/**")
    seen: set[int] = set()
    report = page.locator("[data-testid=import-report]")
    deadline = time.monotonic() + 60
    while report.count() == 0 and time.monotonic() < deadline:
        value = page.locator("[data-testid=import-progress] progress").get_attribute("value")
        if value is not None:
            seen.add(int(value))
            if 0 < int(value) < 60:
                shown.set()
        page.wait_for_timeout(100)
    assert report.count() == 1 and page.locator("[data-testid=count-create]").inner_text() == "60"
    assert any(0 < v < 60 for v in seen), f"no intermediate progress seen: {sorted(seen)}"
    assert "60 of 60 objects" in page.locator("[data-testid=import-status]").inner_text()


@pytest.mark.parametrize("email", ["alice@aurora.example", "erin@aioffice.example"])
def test_stix_pages_fit_a_phone_and_pass_axe(live_server: LiveServer, page: Any, email: str) -> None:
    """A member and an authority's analyst (who may not import: no tab, 403), at 390 px."""
    url = live_server.url
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, url, email)
    found: list[str] = []
    member = email.startswith("alice")
    for path in (
        ["/exchange/import", "/exchange/export", "/exchange/collections"]
        if member
        else [
            "/exchange/export",
            "/exchange/collections",
        ]
    ):
        page.goto(f"{url}{path}")
        _axe(page, path, found)
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= 390, f"{path} scrolls sideways at 390 px ({scroll} px wide)"
    tabs = page.locator(".tabs").inner_text()
    assert ("Import STIX" in tabs) is member and "TAXII collections" in tabs
    assert not found, "\n".join(found)
