"""Declared purpose: details open only for a permitted covered use, every read is logged, and the
contributor (only the contributor) sees who read and why."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.audit.models import AuditEvent
from signalfire.core.clock import utcnow
from signalfire.exchange.models import Acknowledgement, ReadLog
from signalfire.exchange.vocab import CoveredUse
from tests.exchange import factories as xf

Client = Callable[[Actor | None], TestClient]


def test_api_details_need_a_permitted_purpose_and_are_logged(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    owner = make_actor()
    reader = make_actor(name="Rita Reader")
    item = xf.published(db, owner, permitted_uses=[CoveredUse.SAFEGUARDS, CoveredUse.MODEL_EVALUATIONS])
    db.commit()
    client = api_client(reader)
    summary = client.get(f"/api/v1/exchange/items/{item.id}").json()
    assert "details" not in summary and summary["permitted_uses"] == ["model_evaluations", "safeguards"]
    missing = client.get(f"/api/v1/exchange/items/{item.id}/details")
    assert missing.status_code == 403 and missing.json()["title"] == "Declared purpose required"
    wrong = client.get(f"/api/v1/exchange/items/{item.id}/details", params={"purpose": "threat_detection"})
    assert wrong.status_code == 403 and wrong.json()["title"] == "Purpose not permitted"
    unknown = client.get(f"/api/v1/exchange/items/{item.id}/details", params={"purpose": "marketing"})
    assert unknown.status_code == 422
    assert db.execute(select(func.count()).select_from(ReadLog)).scalar_one() == 0
    ok = client.get(f"/api/v1/exchange/items/{item.id}/details", headers={"X-Signalfire-Purpose": "safeguards"})
    assert ok.status_code == 200 and ok.json()["details"] == item.details
    assert ok.json()["declared_purpose"] == "safeguards" and ok.json()["audience"] is None
    read = db.execute(select(ReadLog)).scalar_one()
    assert (read.user_id, read.org_id, read.purpose, read.channel.value) == (
        reader.user_id,
        reader.org_id,
        CoveredUse.SAFEGUARDS,
        "api",
    )
    assert db.execute(select(AuditEvent).where(AuditEvent.action == "exchange.item.read")).first() is not None

    log = api_client(owner).get(f"/api/v1/exchange/items/{item.id}/reads").json()
    assert [(r["reader"], r["org"], r["purpose"]) for r in log] == [("Rita Reader", reader.org_name, "safeguards")]
    assert api_client(owner).get(f"/api/v1/exchange/items/{item.id}/details").json()["audience"]["kinds"] == [
        "all_members"
    ]
    # Readers see neither the log of someone else's item nor other readers.
    assert client.get(f"/api/v1/exchange/items/{item.id}/reads").status_code == 404
    assert client.get("/api/v1/exchange/reads").json() == []


def test_ui_declares_once_then_shows_details_for_an_hour(
    db: Session, make_actor: Callable[..., Actor], browser_client: Client
) -> None:
    owner = make_actor()
    reader = make_actor()
    item = xf.published(db, owner, permitted_uses=[CoveredUse.SAFETY_RESEARCH])
    db.commit()
    client = browser_client(reader)
    page = client.get(f"/exchange/items/{item.id}")
    assert 'data-testid="declare-purpose"' in page.text and item.details not in page.text
    not_yet = client.get(f"/exchange/items/{item.id}/details", follow_redirects=False)
    assert not_yet.status_code == 303 and not_yet.headers["location"] == f"/exchange/items/{item.id}"
    refused = client.post(f"/exchange/items/{item.id}/open", data={"purpose": "safeguards"}, follow_redirects=False)
    assert refused.status_code == 403
    opened = client.post(f"/exchange/items/{item.id}/open", data={"purpose": "safety_research"}, follow_redirects=False)
    assert opened.status_code == 303
    url = opened.headers["location"]
    shown = client.get(url)
    assert shown.status_code == 200 and item.details in shown.text and "Safety research" in shown.text
    assert db.execute(select(func.count()).select_from(ReadLog)).scalar_one() == 1
    # Someone else cannot reuse the grant, and it lapses after an hour.
    other = browser_client(make_actor())
    assert other.get(url, follow_redirects=False).status_code == 303
    with time_machine.travel(utcnow() + timedelta(hours=1, minutes=1)):
        assert client.get(url, follow_redirects=False).status_code == 303


def test_first_read_by_another_org_is_its_acknowledgement(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    owner = make_actor()
    reader = make_actor()
    with time_machine.travel("2026-11-10T09:00:00Z", tick=False):
        item = xf.published(db, owner)
        db.commit()
    with time_machine.travel("2026-11-10T12:00:00Z", tick=False):
        for _ in range(2):
            api_client(reader).get(f"/api/v1/exchange/items/{item.id}/details", params={"purpose": "threat_detection"})
    # The contributor's own reads are not acknowledgements.
    api_client(owner).get(f"/api/v1/exchange/items/{item.id}/details", params={"purpose": "threat_detection"})
    acks = db.execute(select(Acknowledgement)).scalars().all()
    assert [(a.org_id, a.seconds_after_publish) for a in acks] == [(reader.org_id, 3 * 3600)]
