"""Purpose travels to the serving side (the reading instance's account and its person, with the covered
use, in the contributor's access log), the failing-peer alert, health figures, and the peer API edges."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.core.clock import utcnow
from signalfire.federation import health, service
from signalfire.federation.models import EventKind, PeerEvent, RemoteRead
from signalfire.federation.schemas import PeerIn
from signalfire.notify.models import OutboxJob
from tests.exchange import factories as xf
from tests.exchange.taxii.helpers import MEMBERS, headers


def test_a_read_by_a_peer_is_logged_with_its_reader_and_shown_to_the_contributor(
    db: Session, make_actor: Any, api_client: Callable[[Actor | None], TestClient]
) -> None:
    contributor = make_actor()
    item = xf.published(db, contributor)
    instance = make_actor()  # the reading instance's account at this hub
    db.commit()
    reader = api_client(instance)
    sent = headers(uses=None) | {"X-Signalfire-Reader": "ana@meridian.example"}
    del sent["Content-Type"]
    resp = reader.get(MEMBERS + "objects/", headers=sent)
    assert resp.status_code == 200, resp.text
    row = db.execute(select(RemoteRead).where(RemoteRead.item_id == item.id)).scalar_one()
    assert (row.reader, row.purpose.value, row.org_id) == ("ana@meridian.example", "threat_detection", instance.org_id)
    log = api_client(contributor).get(f"/api/v1/exchange/items/{item.id}/reads")
    assert log.status_code == 200
    (entry,) = log.json()
    assert entry["reader"].endswith("for ana@meridian.example")
    assert entry["purpose"] == "threat_detection" and entry["channel"] == "taxii"


def test_a_reader_header_with_control_characters_is_a_400(
    db: Session, make_actor: Any, api_client: Callable[[Actor | None], TestClient]
) -> None:
    xf.published(db, make_actor())
    instance = make_actor()
    db.commit()
    sent = headers(uses=None) | {"X-Signalfire-Reader": "ana\x07@meridian"}
    del sent["Content-Type"]
    resp = api_client(instance).get(MEMBERS + "objects/", headers=sent)
    assert resp.status_code == 400 and "Reader" in resp.json()["description"]


def _peer(db: Session, admin: Actor) -> Any:
    return service.create_peer(
        db,
        admin,
        PeerIn(
            name="hub",
            discovery_url="http://hub.test/taxii2/",
            api_root_url="http://hub.test/taxii2/exchange/",
            secret="tok",
        ),
    )


def test_a_peer_failing_longer_than_the_threshold_alerts_its_admins_once(db: Session, make_actor: Any) -> None:
    admin = make_actor()
    peer = _peer(db, admin)
    now = utcnow()
    health.note_failure(db, peer, EventKind.PULL_FAILED, "GET ...: HTTP 502")
    peer.failing_since = now - timedelta(minutes=20)
    assert health.alert_failing(db, now, timedelta(minutes=30)) == 0  # not long enough yet
    peer.failing_since = now - timedelta(minutes=45)
    assert health.alert_failing(db, now, timedelta(minutes=30)) == 1
    assert health.alert_failing(db, now + timedelta(minutes=5), timedelta(minutes=30)) == 0  # once per spell
    jobs = db.execute(select(OutboxJob).where(OutboxJob.topic == health.ALERT_TOPIC)).scalars().all()
    assert len(jobs) == 1 and jobs[0].payload["to"] == [admin.email]
    assert "HTTP 502" in jobs[0].payload["body"]
    health.note_success(db, peer)
    assert peer.failing_since is None
    kinds = [e.kind for e in db.execute(select(PeerEvent).where(PeerEvent.peer_id == peer.id)).scalars()]
    assert EventKind.ALERTED in kinds


def test_health_reports_lag_counts_and_refusals_by_reason(db: Session, make_actor: Any) -> None:
    admin = make_actor()
    peer = _peer(db, admin)
    now = utcnow()
    peer.last_success_at = now - timedelta(seconds=90)
    peer.pushed_count, peer.pulled_count, peer.refused_count = 3, 7, 2
    db.add(
        PeerEvent(
            peer_id=peer.id,
            kind=EventKind.PULL_REFUSED,
            reason="2 object(s) not imported",
            detail={"reasons": {"claims identity x": 1, "no TLP marking": 1}},
        )
    )
    db.flush()
    (h,) = health.health(db, admin, now)
    assert (h.pushed, h.pulled, h.refused) == (3, 7, 2)
    assert h.lag_seconds == 90
    assert h.refusals == {"claims identity x": 1, "no TLP marking": 1}
    assert health.health(db, make_actor(), now) == []  # another org sees none of it


def test_peer_api_refuses_bad_input_with_problem_details(
    db: Session, make_actor: Any, api_client: Callable[[Actor | None], TestClient]
) -> None:
    admin = make_actor()
    db.commit()
    c = api_client(admin)
    base = {"name": "hub", "api_root_url": "http://hub.test/taxii2/exchange/", "secret": "t"}
    for bad in (
        {**base, "discovery_url": "ftp://hub.test/"},
        {**base, "discovery_url": "http://user:pw@hub.test/taxii2/"},
        {**base, "discovery_url": "http://hub.test/taxii2/", "remote_identity": "not-an-identity"},
        {**base, "discovery_url": "http://hub.test/taxii2/", "secret": ""},
        {**base, "discovery_url": "http://hub.test/taxii2/", "secret": "tok\r\nX-Injected: 1"},
        {**base, "discovery_url": "http://hub.test/taxii2/", "username": "a:b"},
    ):
        resp = c.post("/api/v1/federation/peers", json=bad)
        assert resp.status_code == 422, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
    ok = c.post("/api/v1/federation/peers", json={**base, "discovery_url": "http://hub.test/taxii2/"})
    assert ok.status_code == 201 and "secret" not in ok.json() and "secret_encrypted" not in ok.json()
    peer_id = ok.json()["id"]
    assert (
        c.post("/api/v1/federation/peers", json={**base, "discovery_url": "http://hub.test/taxii2/"}).status_code == 409
    )
    amber_wide = {"remote_id": "c", "direction": "push", "push_audience": "named_people"}
    assert c.put(f"/api/v1/federation/peers/{peer_id}/collections", json=amber_wide).status_code == 422
    no_orgs = {"remote_id": "c", "direction": "push", "push_audience": "named_orgs"}
    assert c.put(f"/api/v1/federation/peers/{peer_id}/collections", json=no_orgs).status_code == 422
    assert c.get(f"/api/v1/federation/peers/{peer_id}/pulled?limit=0").status_code == 422
    test = c.post(f"/api/v1/federation/peers/{peer_id}/test")  # hub.test does not resolve: a failure, not a 500
    assert test.status_code == 200 and test.json()["ok"] is False and test.json()["error"]


def test_peer_urls_reach_only_public_addresses_unless_allowed(monkeypatch: Any) -> None:
    import pytest

    from signalfire.core.settings import get_settings
    from signalfire.federation import client as taxii_client

    conn = taxii_client.Connection("http://127.0.0.1:9/taxii2/", "http://127.0.0.1:9/taxii2/x/", None, "t")
    with pytest.raises(taxii_client.PeerError) as refused:
        taxii_client.TaxiiClient(conn).discovery()
    assert "not a public address" in refused.value.reason
    monkeypatch.setattr(get_settings().federation, "allow_private_addresses", True)
    with pytest.raises(taxii_client.PeerError) as closed:
        taxii_client.TaxiiClient(conn).discovery()
    assert "not a public address" not in closed.value.reason  # it got as far as the closed port
