"""Bad input through the API: a clear 4xx naming the problem, and nothing stored changes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, Role
from signalfire.core.clock import utcnow
from tests import factories
from tests.response import factories as rf

Client = Callable[[Actor | None], TestClient]
API = "/api/v1/response"


def _snapshot(c: TestClient, incident_id: str) -> tuple[dict[str, Any], int, int]:
    inc = c.get(f"{API}/incidents/{incident_id}").json()
    return (
        inc,
        len(c.get(f"{API}/incidents/{incident_id}/timeline").json()),
        len(c.get(f"{API}/incidents/{incident_id}/participants").json()),
    )


@pytest.fixture()
def world(db: Session, browser_client: Client) -> tuple[TestClient, str, Actor]:
    admin = factories.actor(db)
    rf.model_version(db, admin, "aurora-large", "3.2")
    inc = rf.incident(db, admin, aware_at=utcnow() - timedelta(hours=3), affected_models=["aurora-large 3.2"])
    db.commit()
    return browser_client(admin), str(inc.id), admin


def _create(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Jailbreak",
        "severity": "sev1",
        "risk_domain": "misuse",
        "aware_at": (utcnow() - timedelta(hours=1)).isoformat(),
    }
    body.update(changes)
    return body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_create(affected_models=["aurora-large 9.9"]), "affected_models[0]"),
        (_create(aware_at=(utcnow() + timedelta(days=1)).isoformat()), "aware_at"),
        (_create(aware_at="2026-01-01T10:00:00"), "aware_at"),
        (_create(severity="sev5"), "severity"),
        (_create(risk_domain="bio"), "risk_domain"),
        (_create(colour="red"), "colour"),
        (_create(title="x" * 201), "title"),
    ],
)
def test_bad_incidents_are_refused(world: tuple[TestClient, str, Actor], body: dict[str, Any], field: str) -> None:
    c, _, _ = world
    before = len(c.get(f"{API}/incidents").json())
    r = c.post(f"{API}/incidents", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in {e["field"] for e in r.json()["errors"]}
    assert len(c.get(f"{API}/incidents").json()) == before


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"status": "resolved"}, 422, "without being"),  # resolving before containing, no reason
        ({"status": "closed"}, 422, "reason"),
        ({"status": "triaged", "at": (utcnow() + timedelta(hours=1)).isoformat()}, 422, "future"),
        (
            {"status": "triaged", "at": (utcnow() - timedelta(days=2)).isoformat()},
            422,
            "before the organisation",
        ),
        ({"status": "reported"}, 409, "already"),
        ({"status": "done"}, 422, "status"),
    ],
)
def test_impossible_transitions_change_nothing(
    world: tuple[TestClient, str, Actor], body: dict[str, Any], status: int, needle: str
) -> None:
    c, incident_id, _ = world
    before = _snapshot(c, incident_id)
    r = c.post(f"{API}/incidents/{incident_id}/status", json=body)
    assert r.status_code == status, r.text
    assert needle in r.text
    assert _snapshot(c, incident_id) == before


def test_closing_with_open_actions_is_a_conflict(world: tuple[TestClient, str, Actor]) -> None:
    c, incident_id, _ = world
    assert c.post(f"{API}/incidents/{incident_id}/actions", json={"kind": "other", "title": "Check"}).status_code == 201
    assert (
        c.post(
            f"{API}/incidents/{incident_id}/status", json={"status": "resolved", "reason": "false alarm"}
        ).status_code
        == 200
    )
    before = _snapshot(c, incident_id)
    r = c.post(f"{API}/incidents/{incident_id}/status", json={"status": "closed"})
    assert r.status_code == 409 and "open action" in r.json()["detail"]
    assert _snapshot(c, incident_id) == before


def test_a_second_commander_is_refused_and_a_handover_is_recorded(
    db: Session, world: tuple[TestClient, str, Actor]
) -> None:
    c, incident_id, admin = world
    org = db.get(Organization, admin.org_id)
    assert org is not None
    other = factories.actor_for(db, factories.member(db, org, Role.responder), org)
    db.commit()
    assert (
        c.post(
            f"{API}/incidents/{incident_id}/participants", json={"role": "commander", "email": admin.email}
        ).status_code
        == 201
    )
    before = _snapshot(c, incident_id)
    r = c.post(f"{API}/incidents/{incident_id}/participants", json={"role": "commander", "email": other.email})
    assert r.status_code == 409 and "hand over" in r.json()["detail"]
    assert _snapshot(c, incident_id) == before
    r = c.post(
        f"{API}/incidents/{incident_id}/participants",
        json={"role": "commander", "email": other.email, "handover": True},
    )
    assert r.status_code == 201
    people = c.get(f"{API}/incidents/{incident_id}/participants").json()
    commanders = [p for p in people if p["role"] == "commander"]
    assert len(commanders) == 2
    assert [p["renounced_at"] is None for p in commanders] == [False, True]
    assert commanders[0]["renounced_at"] == commanders[1]["assumed_at"]


def test_awareness_cannot_move_after_triage_or_without_a_reason(world: tuple[TestClient, str, Actor]) -> None:
    c, incident_id, _ = world
    c.post(f"{API}/incidents/{incident_id}/status", json={"status": "triaged"})
    before = _snapshot(c, incident_id)
    late = (utcnow() + timedelta(minutes=1)).isoformat()
    assert c.patch(f"{API}/incidents/{incident_id}", json={"aware_at": late, "reason": "typo"}).status_code == 422
    early = (utcnow() - timedelta(hours=4)).isoformat()
    r = c.patch(f"{API}/incidents/{incident_id}", json={"aware_at": early})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
    assert _snapshot(c, incident_id) == before
    assert (
        c.patch(f"{API}/incidents/{incident_id}", json={"aware_at": early, "reason": "first alert"}).status_code == 200
    )


def test_a_retried_create_with_the_same_key_makes_one_incident(world: tuple[TestClient, str, Actor]) -> None:
    c, _, _ = world
    before = len(c.get(f"{API}/incidents").json())
    body = _create()
    first = c.post(f"{API}/incidents", json=body, headers={"Idempotency-Key": "retry-1"})
    again = c.post(f"{API}/incidents", json=body, headers={"Idempotency-Key": "retry-1"})
    assert first.status_code == again.status_code == 201
    assert first.json()["reference"] == again.json()["reference"]
    assert len(c.get(f"{API}/incidents").json()) == before + 1


# -- unstorable values (issue 15): 4xx problem+json on SQLite as on PostgreSQL, nothing stored -------------------


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('"title": "Jail\\u0000break"', "title"),
        ('"title": "Jail\\ud800break"', "title"),
        ('"aware_at": "1800-01-01T00:00:00+00:00"', "aware_at"),
        ('"aware_at": "2026-13-01T00:00:00+00:00"', "aware_at"),
        ('"affected_models": ["aurora\\u0000"]', "affected_models"),
    ],
)
def test_unstorable_incident_values_are_refused(world: tuple[TestClient, str, Actor], raw: str, field: str) -> None:
    c, _, _ = world
    before = len(c.get(f"{API}/incidents").json())
    body = f'{{"title": "Jailbreak", "severity": "sev1", "risk_domain": "misuse", "aware_at": "{utcnow().isoformat()}"'
    r = c.post(
        f"{API}/incidents", content=(body + ", " + raw + "}").encode(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in r.text
    assert len(c.get(f"{API}/incidents").json()) == before


@pytest.mark.parametrize(
    "raw",
    ['{"body": "note \\u0000"}', '{"body": "note \\udfff"}', '{"body": "note", "at": "9999-12-31T23:59:59Z"}'],
)
def test_unstorable_timeline_entries_change_nothing(world: tuple[TestClient, str, Actor], raw: str) -> None:
    c, incident_id, _ = world
    before = _snapshot(c, incident_id)
    r = c.post(
        f"{API}/incidents/{incident_id}/timeline", content=raw.encode(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert _snapshot(c, incident_id) == before


def test_huge_paging_numbers_are_422(world: tuple[TestClient, str, Actor]) -> None:
    c, _, _ = world
    for query in ("offset=" + "9" * 24, "offset=-1", "limit=" + "9" * 24, "offset=1" + "0" * 19):
        r = c.get(f"{API}/incidents?{query}")
        assert r.status_code == 422, (query, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
