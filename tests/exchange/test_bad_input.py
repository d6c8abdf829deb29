"""STIX/TAXII input that cannot be stored (issue 15): impossible or out-of-range timestamps are refused per
object, unstorable text refuses the envelope; never a 500, nothing stored."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.exchange.models import ExchangeItem
from signalfire.exchange.taxii.models import TaxiiObject
from tests.exchange.taxii.helpers import MEMBERS, TAXII, headers, indicator

Client = Callable[[Actor | None], TestClient]


def _stored(db: Session) -> tuple[int, int]:
    db.expire_all()
    objects = db.execute(select(func.count()).select_from(TaxiiObject)).scalar_one()
    items = db.execute(select(func.count()).select_from(ExchangeItem)).scalar_one()
    return objects, items


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("created", "2026-13-01T00:00:00.000Z"),
        ("created", "2026-02-30T00:00:00.000Z"),
        ("created", "0000-01-01T00:00:00.000Z"),
        ("modified", "9999-12-31T23:59:59.999Z"),
        ("created", "1066-10-14T09:00:00.000Z"),
    ],
)
def test_impossible_stix_timestamps_are_refused_per_object(
    db: Session, make_actor: Callable[..., Actor], api_client: Client, field: str, value: str
) -> None:
    client = api_client(make_actor())
    before = _stored(db)
    obj = indicator(1)
    obj[field] = value
    if field == "created":
        obj["modified"] = value
    resp = client.post(MEMBERS + "objects/", content=json.dumps({"objects": [obj]}).encode(), headers=headers())
    assert resp.status_code == 202, resp.text
    status = resp.json()
    assert status["success_count"] == 0 and status["failure_count"] == 1
    assert field in status["failures"][0]["message"]
    assert _stored(db) == before


@pytest.mark.parametrize("text", ["Jail\\u0000break", "Jail\\ud800break"])
def test_unstorable_text_in_a_taxii_envelope_is_refused_whole(
    db: Session, make_actor: Callable[..., Actor], api_client: Client, text: str
) -> None:
    client = api_client(make_actor())
    before = _stored(db)
    obj = indicator(2, name="PLACEHOLDER")
    body = json.dumps({"objects": [obj]}).replace("PLACEHOLDER", text).encode()
    resp = client.post(MEMBERS + "objects/", content=body, headers=headers())
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == TAXII  # TAXII's own error format on /taxii2
    assert resp.json()["http_status"] == "422"
    assert _stored(db) == before
