"""Intake input from outside: hostile payloads get 4xx problem+json and store nothing; stored links are safe."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, OrgKind, Role
from signalfire.intake import alert_sources
from signalfire.intake.models import AlertFormat, Signal
from tests.intake import factories as intake_factories


def _signals(db: Session) -> int:
    db.expire_all()
    return db.execute(select(func.count()).select_from(Signal)).scalar_one()


def _problem(resp: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = resp.json()
    assert body["status"] == status
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body


def _alertmanager(**overrides: Any) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="X"}',
        "status": "firing",
        "receiver": "sf",
        "externalURL": "http://alertmanager:9093",
        **overrides,
    }


@pytest.mark.parametrize("alerts", ["missing", "empty"])
def test_alertmanager_body_without_alerts_is_422_and_creates_no_signal(
    client: TestClient, db: Session, make_actor: Callable[..., Actor], alerts: str
) -> None:
    admin = make_actor()
    source, bearer = alert_sources.create_source(db, admin, name="am", format=AlertFormat.alertmanager)
    db.commit()
    payload = _alertmanager() if alerts == "missing" else _alertmanager(alerts=[])
    before = _signals(db)
    resp = client.post(
        f"/api/v1/intake/alerts/{source.id}",
        content=json.dumps(payload).encode(),
        headers={"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"},
    )
    _problem(resp, 422, "alerts")
    assert _signals(db) == before
    db.refresh(source)
    assert source.received_count == 0


HOSTILE_URLS = [
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "//evil.example/path",
]


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_stored_signal_url_with_a_script_scheme_is_not_a_link(
    db: Session, make_actor: Callable[..., Actor], browser_client: Callable[[Actor | None], TestClient], url: str
) -> None:
    admin = make_actor(OrgKind.frontier_developer, Role.admin)
    signal = intake_factories.signal(db, admin.org_id, url=url)
    db.commit()
    page = browser_client(admin).get(f"/intake/signals/{signal.id}")
    assert page.status_code == 200
    hrefs = re.findall(r'href="([^"]*)"', page.text)
    assert not [h for h in hrefs if "script" in h.lower() or h.startswith(("data:", "//"))], hrefs
    assert "data-unsafe-link" in page.text  # the text is still shown, as text


@pytest.mark.parametrize(
    "url", ["https://example.org/a?b=1", "http://alertmanager:9093", "mailto:security@example.org"]
)
def test_stored_signal_url_with_a_web_scheme_is_a_link(
    db: Session, make_actor: Callable[..., Actor], browser_client: Callable[[Actor | None], TestClient], url: str
) -> None:
    admin = make_actor(OrgKind.frontier_developer, Role.admin)
    signal = intake_factories.signal(db, admin.org_id, url=url)
    db.commit()
    page = browser_client(admin).get(f"/intake/signals/{signal.id}")
    assert page.status_code == 200
    assert f'href="{url.replace("&", "&amp;")}"' in page.text


def test_alert_external_url_with_javascript_scheme_is_not_a_link(
    client: TestClient,
    db: Session,
    make_actor: Callable[..., Actor],
    browser_client: Callable[[Actor | None], TestClient],
) -> None:
    admin = make_actor()
    source, bearer = alert_sources.create_source(db, admin, name="am", format=AlertFormat.alertmanager)
    db.commit()
    alert = {
        "status": "firing",
        "labels": {"alertname": "X"},
        "annotations": {"summary": "s"},
        "startsAt": "2026-03-03T09:50:00Z",
        "generatorURL": "javascript:alert(2)",
    }
    resp = client.post(
        f"/api/v1/intake/alerts/{source.id}",
        content=json.dumps(_alertmanager(externalURL="javascript:alert(1)", alerts=[alert])).encode(),
        headers={"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"},
    )
    assert resp.status_code == 201, resp.text
    signal_id = resp.json()["signal_id"]
    page = browser_client(admin).get(f"/intake/signals/{signal_id}")
    assert page.status_code == 200
    assert "javascript:alert(1)" in page.text  # shown
    assert not re.search(r'href="\s*javascript:', page.text, re.IGNORECASE)


# -- unstorable text, times and numbers from outside (issue 15) ------------------------------------------------

FORM_FIELDS = re.compile(r'name="(csrf_token|form_token)" value="([^"]+)"')


@pytest.fixture()
def channel(db: Session, make_actor: Callable[..., Actor]) -> str:
    admin = make_actor()
    intake_factories.open_channel(db, admin)
    db.commit()
    org = db.get(Organization, admin.org_id)
    assert org is not None
    return org.slug


def _tokens(client: TestClient, slug: str) -> dict[str, str]:
    page = client.get(f"/report/{slug}")
    assert page.status_code == 200
    return dict(FORM_FIELDS.findall(page.text))


def _report(**over: str) -> dict[str, str]:
    return {
        "title": "Model gave dangerous advice",
        "description": "It explained how.",
        "contact": "a@b.example",
        **over,
    }


# Multipart text is decoded with replacement characters (broken UTF-8 is stored as U+FFFD, see
# test_public_channel), so NUL is what a form can carry that no database column takes.
@pytest.mark.parametrize(("field", "value"), [("title", "bad \x00 title"), ("description", "nul \x00 here")])
def test_public_form_with_unstorable_text_is_refused_in_the_pages_style_or_as_problem_json(
    client: TestClient, db: Session, channel: str, field: str, value: str
) -> None:
    before = _signals(db)
    tokens = _tokens(client, channel)
    # multipart, as the form with its file input sends it: the text fields carry the bad value as UTF-8 bytes
    fields = {**tokens, **_report(), field: value}
    files = {k: (None, v) for k, v in fields.items()}
    page = client.post(f"/report/{channel}", files=files, headers={"accept": "text/html"})
    assert page.status_code in (400, 422), page.text
    assert page.headers["content-type"].startswith("text/html")
    assert 'class="empty-state-title"' in page.text  # the error page, in the public layout
    api = client.post(f"/report/{channel}", files=files, headers={"accept": "application/problem+json"})
    _problem(api, api.status_code)
    assert api.status_code in (400, 422)
    urlencoded = client.post(
        f"/report/{channel}",
        data={**tokens, **_report(**{field: value})},
        headers={"accept": "application/json"},
    )
    _problem(urlencoded, 422)
    assert _signals(db) == before


@pytest.mark.parametrize(
    "override",
    [
        '"title": "nul \\u0000 in the title"',
        '"description": "lone \\udfff surrogate"',
        '"occurred_at": "9999-12-31T23:59:59Z"',
        '"occurred_at": "1066-10-14T09:00:00Z"',
        '"occurred_at": "2026-13-01T00:00:00Z"',
        '"occurred_at": "0000-01-01T00:00:00Z"',
        '"attachments": [{"filename": "a\\u0000.txt", "content_type": "text/plain", "data_base64": "eA=="}]',
    ],
)
def test_downstream_report_with_unstorable_values_is_422_and_stores_nothing(
    db: Session,
    channel: str,
    make_actor: Callable[..., Actor],
    api_client: Callable[[Actor | None], TestClient],
    override: str,
) -> None:
    client = api_client(make_actor(kind=OrgKind.downstream))
    before = _signals(db)
    body = f'{{"org": "{channel}", "title": "A fine title", "description": "d", {override}}}'
    resp = client.post("/api/v1/intake/reports", content=body.encode(), headers={"content-type": "application/json"})
    _problem(resp, 422)
    assert _signals(db) == before


@pytest.mark.parametrize(
    "alert_override",
    [
        {"annotations": {"summary": "nul \x00"}},
        {"startsAt": "2026-02-30T00:00:00Z"},
        {"startsAt": "9999-01-01T00:00:00Z"},
    ],
)
def test_alert_with_unstorable_values_is_422_and_creates_no_signal(
    client: TestClient, db: Session, make_actor: Callable[..., Actor], alert_override: dict[str, Any]
) -> None:
    admin = make_actor()
    source, bearer = alert_sources.create_source(db, admin, name="am", format=AlertFormat.alertmanager)
    db.commit()
    alert = {"status": "firing", "labels": {"alertname": "X"}, "startsAt": "2026-03-03T09:50:00Z", **alert_override}
    before = _signals(db)
    resp = client.post(
        f"/api/v1/intake/alerts/{source.id}",
        content=json.dumps(_alertmanager(alerts=[alert])).encode(),
        headers={"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"},
    )
    _problem(resp, 422)
    assert _signals(db) == before
