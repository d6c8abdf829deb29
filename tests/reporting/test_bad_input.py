"""Bad input is a clear 4xx naming the field, and nothing stored changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind
from signalfire.reporting.models import Assessment, Obligation, RecordedClockEvent
from tests import factories
from tests.reporting import factories as f
from tests.reporting.factories import COP, utc

API = "/api/v1/reporting"
NOW = utc(2026, 9, 2, 12)


def _counts(db: Session) -> tuple[int, int, int]:
    return tuple(
        db.execute(select(func.count()).select_from(m)).scalar_one()  # type: ignore[return-value]
        for m in (RecordedClockEvent, Assessment, Obligation)
    )


@pytest.fixture()
def setup(db: Session, api_client: Callable[[Actor | None], TestClient]) -> Any:
    with time_machine.travel(NOW, tick=False):
        dev = f.developer(db)
        inc = f.incident(db, dev, aware_at=utc(2026, 9, 1, 8))
        f.record(db, dev, inc, "resolved", utc(2026, 9, 2, 8))
        db.commit()
        yield dev, inc, api_client(dev)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"event": "aware_of_model_involvement", "at": "2026-09-02T09:00:00Z", "evidence": "x"},
            "at",
        ),  # after resolution
        ({"event": "discovered", "at": "2026-09-02T08:00:01Z", "evidence": "x"}, "at"),
        ({"event": "resolved", "at": "2026-09-03T08:00:00Z", "evidence": "x"}, "at"),  # in the future
        ({"event": "resolved", "at": "2026-08-31T08:00:00Z", "evidence": "x"}, "at"),  # before awareness
        ({"event": "occurred", "at": "2026-09-01T09:00:00Z", "evidence": "x"}, "at"),  # after awareness of it
        ({"event": "aware_of_incident", "at": "2026-09-01T07:00:00", "evidence": "x"}, "at"),  # naive
        ({"event": "initial_report_sent", "at": "2026-09-01T09:00:00Z", "evidence": "x"}, "event"),  # derived only
        ({"event": "discovered", "at": "2026-09-01T09:00:00Z", "evidence": "  "}, "evidence"),
        ({"event": "discovered", "at": "2026-09-01T09:00:00Z", "evidence": "x", "extra": 1}, "extra"),
    ],
)
def test_bad_clock_events(setup: Any, db: Session, body: dict[str, Any], field: str) -> None:
    _, inc, c = setup
    with time_machine.travel(NOW, tick=False):
        before = _counts(db)
        resp = c.post(f"{API}/incidents/{inc.id}/events", json=body)
    assert 400 <= resp.status_code < 500, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert field in {e["field"] for e in resp.json().get("errors", [])}
    assert _counts(db) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"regime_id": COP, "answers": {"deaths": "yes"}}, "answers.deaths"),
        ({"regime_id": COP, "answers": {"death": "maybe"}}, "answers.death"),
        ({"regime_id": COP, "answers": {}, "facts": {"signed": "yes"}}, "facts.signed"),
        ({"regime_id": "no-such-regime", "answers": {}}, "regime_id"),
        ({"regime_id": "us-ny-raise", "answers": {}}, "regime_id"),  # not in force in 2026
        ({"regime_id": COP, "answers": {}, "rationale": "x" * 10_001}, "rationale"),
    ],
)
def test_bad_assessments(setup: Any, db: Session, body: dict[str, Any], field: str) -> None:
    _, inc, c = setup
    with time_machine.travel(NOW, tick=False):
        before = _counts(db)
        resp = c.post(f"{API}/incidents/{inc.id}/assessments", json=body)
    assert resp.status_code == 422, resp.text
    assert field in {e["field"] for e in resp.json()["errors"]}
    assert _counts(db) == before


def test_waive_needs_a_reason_and_binding_needs_a_known_recipient(
    setup: Any, db: Session, api_client: Callable[[Actor | None], TestClient]
) -> None:
    dev, inc, c = setup
    with time_machine.travel(NOW, tick=False):
        f.record(db, dev, inc, "aware_of_model_involvement", utc(2026, 9, 1, 9))
        f.assess(db, dev, inc, COP, f.cop(death="yes"))
        db.commit()
        initial = db.execute(
            select(Obligation).where(Obligation.incident_id == inc.id, Obligation.stage == "initial")
        ).scalar_one()
        resp = c.post(f"{API}/obligations/{initial.id}/waive", json={"reason": "  "})
        assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "reason"
        db.refresh(initial)
        assert initial.is_open
        hub = factories.actor(db, kind=OrgKind.hub_operator)
        office = f.authority(db, "Office")
        h = api_client(hub)
        resp = h.put(
            f"{API}/bindings", json={"regime_id": COP, "recipient_id": "nobody", "authority_org_id": str(office.org_id)}
        )
        assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "recipient_id"
        resp = h.put(
            f"{API}/bindings",
            json={"regime_id": COP, "recipient_id": "eu_ai_office", "authority_org_id": str(hub.org_id)},
        )
        assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "authority_org_id"
