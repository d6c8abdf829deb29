"""The readiness pages and exports: the scorecard page, JSON and printable exports, the landscape, the
dashboard, and the "as of" parameter."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import time_machine
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind
from signalfire.readiness.items import ITEM_IDS
from signalfire.response.schemas import WindowIn
from signalfire.response.vocab import ActionKind
from tests import factories
from tests.readiness import factories as f
from tests.response import factories as rf

NOW = f.utc(2026, 6, 15, 12)
Client = Callable[[Actor | None], TestClient]


def _evidence(db: Session) -> Actor:
    a = f.developer(db)
    f.roster(db, a, [a.email], anchor=NOW - timedelta(days=2), windows=[WindowIn(start="08:00", end="20:00")])
    f.timed_action(db, a, ActionKind.MODEL_ROLLBACK, requested=NOW - timedelta(days=30), took=timedelta(hours=5))
    rf.incident(db, a, aware_at=NOW - timedelta(hours=1), title="Secret open incident")
    db.commit()
    return a


def test_scorecard_page_lists_every_item_with_state_requirement_and_evidence(
    db: Session, browser_client: Client
) -> None:
    with time_machine.travel(NOW, tick=False):
        a = _evidence(db)
        html = browser_client(a).get("/readiness").text
    for item_id in ITEM_IDS:
        assert f'data-item="{item_id}"' in html
    assert 'data-item="rollback" data-state="ok"' in html
    assert 'data-item="roster_24x7" data-state="gap"' in html
    assert "Code of Practice C9 · Measure 9.3" in html
    assert "Index: Tested capability to roll a deployed model back globally" in html
    assert "/response/incidents/" in html and "Mon 2026-06-15 20:00" in html


def test_scorecard_json_export_and_printable_page(db: Session, browser_client: Client, api_client: Client) -> None:
    with time_machine.travel(NOW, tick=False):
        a = _evidence(db)
        web = browser_client(a)
        exported = web.get("/readiness/scorecard.json")
        printed = web.get("/readiness/scorecard/print")
        api = api_client(a).get("/api/v1/readiness/scorecard").json()
    assert exported.status_code == 200
    assert exported.headers["content-disposition"].startswith('attachment; filename="scorecard-org-')
    body = exported.json()
    assert [i["id"] for i in body["items"]] == list(ITEM_IDS) == [i["id"] for i in api["items"]]
    rollback = next(i for i in body["items"] if i["id"] == "rollback")
    assert rollback["state"] == "ok" and rollback["requirement"]["index_capabilities"] == [
        "rollback_tested",
        "rollback_exercised",
    ]
    assert rollback["evidence"][0]["url"].startswith("/response/incidents/")
    assert body["counts"] == {
        "ok": body["counts"]["ok"],
        "gap": body["counts"]["gap"],
        "missing": body["counts"]["missing"],
    }
    assert sum(body["counts"].values()) == len(ITEM_IDS)
    assert printed.status_code == 200 and 'data-testid="scorecard-document"' in printed.text
    assert "Secret open incident" in printed.text  # the org's own export shows its own records


def test_as_of_a_past_date_and_bad_dates(db: Session, api_client: Client) -> None:
    with time_machine.travel(NOW, tick=False):
        a = _evidence(db)
        c = api_client(a)
        before = c.get("/api/v1/readiness/scorecard", params={"at": "2026-05-01"}).json()
        future = c.get("/api/v1/readiness/scorecard", params={"at": "2026-06-16"})
        naive = c.get("/api/v1/readiness/scorecard", params={"at": "2026-06-01T10:00:00"})
        garbage = c.get("/api/v1/readiness/scorecard", params={"at": "yesterday"})
    assert before["as_of"] == "2026-05-01T23:59:59Z"
    assert next(i for i in before["items"] if i["id"] == "rollback")["state"] == "missing"  # done on 16 May
    for resp in (future, naive, garbage):
        assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "at"


def test_a_token_scoped_to_readiness_sees_states_not_records(db: Session, app: object) -> None:
    with time_machine.travel(NOW, tick=False):
        a = _evidence(db)
        secret = factories.token_for(db, a, scopes=["readiness"])
        with TestClient(app, base_url="http://testserver") as c:  # type: ignore[arg-type]
            c.headers["Authorization"] = f"Bearer {secret}"
            body = c.get("/api/v1/readiness/scorecard").json()
    rollback = next(i for i in body["items"] if i["id"] == "rollback")
    assert rollback["state"] == "ok" and rollback["evidence"] == [] and rollback["hidden_evidence"] == 1
    assert "Secret open incident" not in str(body)


def test_landscape_shows_the_index_beside_the_org_and_published_scorecards(db: Session, browser_client: Client) -> None:
    with time_machine.travel(NOW, tick=False):
        a = _evidence(db)
        web = browser_client(a)
        html = web.get("/readiness/landscape").text
        assert "No organisation has published its scorecard yet" in html
        web.post("/readiness/publication", data={"publish": "true"})
        after = web.get("/readiness/landscape").text
    for name in ("Anthropic", "OpenAI", "Google DeepMind", "Meta", "xAI", "DeepSeek", "Z.ai", "Alibaba Cloud"):
        assert name in html
    assert 'data-testid="own-row"' in html and "from evidence" in html
    assert "Signalfire holds no records for this." in html  # transparency reports are not tracked
    assert "/readiness/published/" in after


def test_authority_sees_the_landscape_but_has_no_scorecard(
    db: Session, browser_client: Client, api_client: Client
) -> None:
    authority = factories.actor(db, kind=OrgKind.authority)
    page = browser_client(authority).get("/readiness")
    assert page.status_code == 200 and 'data-testid="not-scored"' in page.text
    assert browser_client(authority).get("/readiness/landscape").status_code == 200
    assert api_client(authority).get("/api/v1/readiness/scorecard").status_code == 404


def test_dashboard_page_and_api(db: Session, browser_client: Client, api_client: Client) -> None:
    with time_machine.travel(NOW, tick=False):
        a = _evidence(db)
        html = browser_client(a).get("/readiness/dashboard").text
        data = api_client(a).get("/api/v1/readiness/dashboard").json()
    for chart in (
        "chart-response-times",
        "chart-deadlines",
        "chart-sharing",
        "chart-intake-volume",
        "chart-triage-age",
        "chart-triage-speed",
    ):
        assert f'data-chart="{chart}"' in html and f'<script type="application/json" id="{chart}">' in html
    assert data["months"][0] == "Jul 2025" and data["months"][-1] == "Jun 2026"
    assert set(data["series"]) >= {"response_times_hours", "deadlines", "sharing", "intake_volume"}
