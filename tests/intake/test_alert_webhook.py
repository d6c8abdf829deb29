"""The monitoring alert webhook: Alertmanager (bearer) and generic JSON (HMAC), one signal per group."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.intake import alert_sources, service
from signalfire.intake.alerts import sign_payload
from signalfire.intake.models import AlertFormat, AlertSource, DecisionKind, Signal, TriageState
from signalfire.intake.schemas import DismissIn
from signalfire.response.vocab import Severity

NOW = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


def _am(status: str = "firing", group_key: str = '{}:{alertname="RefusalBypassSpike"}', **extra: Any) -> dict[str, Any]:
    alert = {
        "status": status,
        "labels": {"alertname": "RefusalBypassSpike", "severity": "critical"},
        "annotations": {"summary": "Refusal bypass score above 0.9"},
        "startsAt": "2026-03-03T09:50:00Z",
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-03-03T09:58:00Z",
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": "a1b2c3d4e5f60718",
    }
    return {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "sf",
        "groupLabels": {"alertname": "RefusalBypassSpike"},
        "commonLabels": {"alertname": "RefusalBypassSpike", "severity": "critical"},
        "commonAnnotations": {"summary": "Refusal bypass score above 0.9"},
        "externalURL": "http://alertmanager:9093",
        "alerts": [alert],
        **extra,
    }


@pytest.fixture()
def sources(db: Session, make_actor: Callable[..., Actor]) -> dict[str, Any]:
    admin = make_actor()
    am, bearer = alert_sources.create_source(db, admin, name="am", format=AlertFormat.alertmanager)
    gen, _ = alert_sources.create_source(db, admin, name="generic", format=AlertFormat.generic)
    db.commit()
    return {"admin": admin, "am": am, "bearer": bearer, "generic": gen}


def _post_am(
    client: TestClient, src: dict[str, Any], payload: dict[str, Any] | bytes, bearer: str | None = None
) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.post(
        f"/api/v1/intake/alerts/{src['am'].id}",
        content=body,
        headers={"Authorization": f"Bearer {bearer or src['bearer']}", "Content-Type": "application/json"},
    )


def _signals(db: Session, org_id: object) -> list[Signal]:
    return list(db.execute(select(Signal).where(Signal.org_id == org_id)).scalars())


def test_alertmanager_resends_update_one_signal_and_resolve_closes_it(
    client: TestClient, db: Session, sources: dict[str, Any]
) -> None:
    first = _post_am(client, sources, _am())
    assert first.status_code == 201, first.text
    assert first.json()["created"] is True
    for _ in range(3):
        again = _post_am(client, sources, _am())
        assert again.status_code == 200 and again.json()["created"] is False
    resolved = _post_am(client, sources, _am("resolved"))
    assert resolved.json()["alert_status"] == "resolved"
    signals = _signals(db, sources["admin"].org_id)
    assert len(signals) == 1
    s = signals[0]
    db.refresh(s)
    assert s.update_count == 4 and s.alert_status == "resolved" and s.likely_severity is Severity.SEV1
    assert s.raw_payload["last"]["status"] == "resolved"
    kinds = [d.kind for d in service.decisions_for(db, sources["admin"], s)]
    assert kinds.count(DecisionKind.alert_updated) == 1  # plain re-sends are counted, not decisions


def test_a_dismissed_group_that_fires_again_returns_to_the_queue(
    client: TestClient, db: Session, sources: dict[str, Any]
) -> None:
    _post_am(client, sources, _am())
    _post_am(client, sources, _am("resolved"))
    s = _signals(db, sources["admin"].org_id)[0]
    service.dismiss(db, sources["admin"], s, DismissIn(reason="Known flapping alert"))
    db.commit()
    _post_am(client, sources, _am())
    db.refresh(s)
    assert s.state is TriageState.new and s.dismiss_reason is None
    assert service.decisions_for(db, sources["admin"], s)[-1].kind is DecisionKind.reopened


def test_grafana_extra_fields_are_kept(client: TestClient, db: Session, sources: dict[str, Any]) -> None:
    payload = _am(orgId=1, title="[FIRING:1] RefusalBypassSpike", version="1")
    payload["alerts"][0].update({"silenceURL": "http://grafana/silence", "values": {"B": 0.93}})
    assert _post_am(client, sources, payload).status_code == 201
    raw = _signals(db, sources["admin"].org_id)[0].raw_payload["last"]
    assert raw["orgId"] == 1 and raw["alerts"][0]["values"] == {"B": 0.93}


@pytest.mark.parametrize(
    ("body", "status", "slug"),
    [
        (b"{not json", 400, "malformed-json"),
        (b"\xff\xfe\x00garbage", 400, "malformed-body"),
        (json.dumps([1, 2]).encode(), 422, "validation-failed"),
        (json.dumps({"version": "4", "status": "firing"}).encode(), 422, "validation-failed"),
        (json.dumps({**_am(), "version": "99"}).encode(), 422, "validation-failed"),
        (json.dumps({**_am(), "alerts": [{"status": "exploded"}]}).encode(), 422, "validation-failed"),
    ],
)
def test_malformed_alert_payloads_are_refused(
    client: TestClient, db: Session, sources: dict[str, Any], body: bytes, status: int, slug: str
) -> None:
    resp = _post_am(client, sources, body)
    assert resp.status_code == status, resp.text
    assert resp.json()["type"].endswith(slug)
    assert _signals(db, sources["admin"].org_id) == []


def test_wrong_bearer_unknown_source_and_switched_off_source(
    client: TestClient, db: Session, sources: dict[str, Any]
) -> None:
    assert _post_am(client, sources, _am(), bearer="sfa_wrong").status_code == 401
    no_auth = client.post(f"/api/v1/intake/alerts/{sources['am'].id}", json=_am())
    assert no_auth.status_code == 401
    assert client.post("/api/v1/intake/alerts/00000000-0000-0000-0000-000000000000", json=_am()).status_code == 404
    alert_sources.deactivate_source(db, sources["admin"], sources["am"])
    db.commit()
    assert _post_am(client, sources, _am()).status_code == 404


def _generic(**over: Any) -> bytes:
    return json.dumps(
        {
            "source": "eval-harness",
            "dedup_key": "bio-uplift-probe",
            "title": "Bio uplift probe failed",
            "severity": "error",
            "occurred_at": "2026-03-03T09:59:00Z",
            **over,
        }
    ).encode()


@time_machine.travel(NOW, tick=False)
def test_generic_alerts_need_a_valid_fresh_signature_and_replays_are_refused(
    client: TestClient, db: Session, sources: dict[str, Any]
) -> None:
    src: AlertSource = sources["generic"]
    url = f"/api/v1/intake/alerts/{src.id}"
    body = _generic()
    sig = sign_payload(src.hmac_secret, NOW, body)
    ok = client.post(url, content=body, headers={"X-Signalfire-Signature": sig})
    assert ok.status_code == 201, ok.text
    replay = client.post(url, content=body, headers={"X-Signalfire-Signature": sig})
    assert replay.status_code == 409 and replay.json()["type"].endswith("webhook-replayed")
    later = NOW + timedelta(seconds=30)
    update = client.post(
        url,
        content=_generic(status="resolved"),
        headers={"X-Signalfire-Signature": sign_payload(src.hmac_secret, later, _generic(status="resolved"))},
    )
    assert update.status_code == 200 and update.json()["alert_status"] == "resolved"

    tampered = client.post(url, content=_generic(title="changed"), headers={"X-Signalfire-Signature": sig})
    assert tampered.status_code == 401 and "signature_mismatch" in tampered.json()["detail"]
    stale_sig = sign_payload(src.hmac_secret, NOW - timedelta(minutes=10), body)
    stale = client.post(url, content=body, headers={"X-Signalfire-Signature": stale_sig})
    assert stale.status_code == 401 and "stale_timestamp" in stale.json()["detail"]
    assert client.post(url, content=body).status_code == 401
    # A generic source has no bearer secret path.
    assert client.post(url, content=body, headers={"Authorization": "Bearer whatever"}).status_code == 401
    count = db.execute(select(func.count()).select_from(Signal).where(Signal.org_id == src.org_id)).scalar()
    assert count == 1


@time_machine.travel(NOW, tick=False)
def test_alertmanager_source_also_accepts_a_signature(client: TestClient, db: Session, sources: dict[str, Any]) -> None:
    body = json.dumps(_am()).encode()
    sig = sign_payload(sources["am"].hmac_secret, NOW, body)
    resp = client.post(
        f"/api/v1/intake/alerts/{sources['am'].id}",
        content=body,
        headers={"X-Signalfire-Signature": sig, "Content-Type": "application/json"},
    )
    assert resp.status_code == 201


def test_prune_forgets_old_replay_records(db: Session, sources: dict[str, Any]) -> None:
    from signalfire.intake.models import WebhookDelivery

    db.add(WebhookDelivery(source_id=sources["generic"].id, mac="a" * 64, received_at=NOW - timedelta(hours=1)))
    db.add(WebhookDelivery(source_id=sources["generic"].id, mac="b" * 64, received_at=NOW))
    db.flush()
    assert alert_sources.prune_deliveries(db, NOW) == 1
