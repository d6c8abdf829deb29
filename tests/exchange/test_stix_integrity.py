"""Shared STIX objects cannot be forged or bent: one identity object per pseudonym in every export and
TAXII response (also after the demo back-dates a pseudonymous item), attribution only to the poster's own
identities, revocation is final, and bounds on confidence, validity and patterns."""

from __future__ import annotations

import copy
import shutil
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from stix2validator import ValidationOptions, validate_instance

from signalfire.access.actor import Actor
from signalfire.core.clock import utcnow
from signalfire.exchange.demo import _published_at
from signalfire.exchange.models import Attribution, ExchangeItem, Pseudonym
from signalfire.exchange.service import org_identity_id
from signalfire.exchange.stix import convert as sx
from signalfire.exchange.stix.convert import SIGNALFIRE_EXTENSION_ID
from signalfire.exchange.taxii.models import TaxiiStatus
from signalfire.exchange.taxii.protocol import parse_timestamp
from tests.exchange import factories as xf
from tests.exchange.taxii.helpers import MEMBERS, envelope, headers, indicator, ts

Client = Callable[[Actor | None], TestClient]
EXPORT = "/api/v1/exchange/export.stix"
SCHEMA = Path(sx.__file__).with_name("extension") / "signalfire-ai-item.json"


@pytest.fixture(scope="module")
def schema_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("stix-schemas")
    shutil.copy(SCHEMA, folder / f"{SIGNALFIRE_EXTENSION_ID}.json")
    return folder


def _post(client: TestClient, objects: list[dict[str, Any]]) -> dict[str, Any]:
    resp = client.post(MEMBERS + "objects/", content=envelope(objects), headers=headers())
    assert resp.status_code == 202, resp.text
    body: dict[str, Any] = resp.json()
    return body


def _failure(status: dict[str, Any], stix_id: str) -> str:
    messages: list[str] = [f["message"] for f in status.get("failures", []) if f["id"] == stix_id]
    assert len(messages) == 1, status
    return messages[0]


# --- one identity object per pseudonym -----------------------------------------------------------------


def test_export_and_taxii_carry_one_identity_per_pseudonym_after_a_back_dated_item(
    db: Session, make_actor: Callable[..., Actor], api_client: Client, schema_dir: Path
) -> None:
    owner, reader = make_actor(), make_actor()
    # The demo's way: publish, then move the publication (and the pseudonym's creation) back in time.
    earlier = xf.published(db, owner, attribution=Attribution.PSEUDONYMOUS)
    _published_at(db, earlier, utcnow() - timedelta(days=40))
    db.flush()
    with time_machine.travel(utcnow() + timedelta(minutes=3), tick=False):
        later = xf.published(db, owner, attribution=Attribution.PSEUDONYMOUS)
        db.commit()
        pseudonym = db.execute(select(Pseudonym).where(Pseudonym.org_id == owner.org_id)).scalar_one()

        resp = api_client(reader).get(EXPORT, params={"purpose": "threat_detection"})
        assert resp.status_code == 200, resp.text
        bundle = resp.json()
        identities = [o for o in bundle["objects"] if o["id"] == pseudonym.stix_identity_id]
        assert len(identities) == 1
        assert parse_timestamp(identities[0]["created"]) == pseudonym.created_at
        reports = [o for o in bundle["objects"] if o["type"] == "report"]
        assert {r["id"] for r in reports} == {f"report--{earlier.id}", f"report--{later.id}"}
        assert {r["created_by_ref"] for r in reports} == {pseudonym.stix_identity_id}
        options = ValidationOptions(
            version="2.1", strict=True, enforce_refs=True, schema_dir=str(schema_dir), silent=True
        )
        assert validate_instance(copy.deepcopy(bundle), options).is_valid

        # TAXII serves that same single version of the identity.
        url = f"{MEMBERS}objects/{pseudonym.stix_identity_id}/"
        versions = api_client(reader).get(url + "versions/", headers=headers()).json()["versions"]
        assert [parse_timestamp(v) for v in versions] == [parse_timestamp(identities[0]["modified"])]
        served = api_client(reader).get(url, headers=headers(), params={"match[version]": "all"}).json()["objects"]
        assert served == identities


# --- attribution ---------------------------------------------------------------------------------------


def test_objects_may_name_only_the_posters_own_identities(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    poster, victim = make_actor(), make_actor()
    xf.published(db, poster, attribution=Attribution.PSEUDONYMOUS)
    xf.published(db, victim, attribution=Attribution.PSEUDONYMOUS)
    db.commit()
    mine = db.execute(select(Pseudonym.stix_identity_id).where(Pseudonym.org_id == poster.org_id)).scalar_one()
    theirs = db.execute(select(Pseudonym.stix_identity_id).where(Pseudonym.org_id == victim.org_id)).scalar_one()
    own = indicator(1, created_by_ref=org_identity_id(poster.org_id))
    as_pseudonym = indicator(2, created_by_ref=mine)
    unattributed = indicator(3)
    forged_org = indicator(4, created_by_ref=org_identity_id(victim.org_id))
    forged_pseudonym = indicator(5, created_by_ref=theirs)
    made_up = indicator(6, created_by_ref="identity--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061")
    status = _post(api_client(poster), [own, unattributed, forged_org, forged_pseudonym, made_up])
    assert {s["id"] for s in status["successes"]} == {own["id"], unattributed["id"]}
    assert _post(api_client(poster), [as_pseudonym])["success_count"] == 1
    for forged in (forged_org, forged_pseudonym, made_up):
        assert "created_by_ref" in _failure(status, forged["id"])
    # Nothing was stored under the other member's name.
    reader = api_client(make_actor())
    for forged in (forged_org, forged_pseudonym, made_up):
        assert reader.get(f"{MEMBERS}objects/{forged['id']}/", headers=headers()).status_code == 404


def test_objects_signed_with_the_pseudonym_are_published_under_it_and_never_beside_the_org(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    poster = make_actor()
    xf.published(db, poster, attribution=Attribution.PSEUDONYMOUS)
    db.commit()
    pseudonym = db.execute(select(Pseudonym).where(Pseudonym.org_id == poster.org_id)).scalar_one()
    client = api_client(poster)
    # Naming the org and the pseudonym in one request would link them: refused, nothing stored.
    mixed = [
        indicator(1, created_by_ref=org_identity_id(poster.org_id)),
        indicator(2, created_by_ref=pseudonym.stix_identity_id),
    ]
    refused = client.post(MEMBERS + "objects/", content=envelope(mixed), headers=headers())
    assert refused.status_code == 422 and refused.json()["title"] == "Mixed attribution"
    reader = api_client(make_actor())
    assert reader.get(f"{MEMBERS}objects/{mixed[0]['id']}/", headers=headers()).status_code == 404

    signed = indicator(3, created_by_ref=pseudonym.stix_identity_id, name="Pseudonymous jailbreak family")
    status = _post(client, [signed, indicator(4)])
    assert status["success_count"] == 2
    (item,) = db.execute(select(ExchangeItem).where(ExchangeItem.id.in_(_item_ids(db, status["id"])))).scalars()
    assert (item.attribution, item.pseudonym_id) == (Attribution.PSEUDONYMOUS, pseudonym.id)
    served = reader.get(MEMBERS + "objects/", headers=headers(), params={"match[type]": "report,indicator"}).text
    assert "Pseudonymous jailbreak family" in served
    assert poster.org_name not in served and org_identity_id(poster.org_id) not in served


def _item_ids(db: Session, status_id: str) -> list[uuid.UUID]:
    status = db.get(TaxiiStatus, uuid.UUID(status_id))
    assert status is not None
    return [uuid.UUID(i) for i in status.item_ids]


# --- revocation ----------------------------------------------------------------------------------------


def test_revocation_is_final(db: Session, make_actor: Callable[..., Actor], api_client: Client) -> None:
    client = api_client(make_actor())
    base = indicator(1)
    start = utcnow().replace(microsecond=0)
    revoked = dict(base, modified=ts(start + timedelta(days=1)), revoked=True)
    assert _post(client, [base, revoked])["success_count"] == 2
    revived = dict(base, modified=ts(start + timedelta(days=2)), revoked=False)
    quietly = dict(base, modified=ts(start + timedelta(days=3)), name="Still here")
    status = _post(client, [revived, quietly])
    assert status["success_count"] == 0
    for later in (revived, quietly):
        assert "revoked" in f"{[f['message'] for f in status['failures'] if f['version'] == later['modified']]}"
    # In one envelope too: a revoked version and a later live one.
    other = indicator(2)
    both = [
        dict(other, modified=ts(start + timedelta(days=1)), revoked=True),
        dict(other, modified=ts(start + timedelta(days=2)), name="Back again"),
    ]
    status = _post(client, [other, *both])
    assert status["success_count"] == 2 and status["failures"][0]["version"] == both[1]["modified"]
    # A version earlier than the revocation is history, not a revival; posting it again stays idempotent.
    assert _post(client, [base])["successes"][0]["message"] == "already present"


# --- bounds --------------------------------------------------------------------------------------------


def _nested_pattern(depth: int) -> str:
    return "(" * depth + "[url:value = 'https://x.example/']" + ")" * depth


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"confidence": 101}, "confidence"),
        ({"confidence": -1}, "confidence"),
        ({"confidence": "high"}, "confidence"),
        ({"confidence": True}, "confidence"),
        ({"valid_until": "2026-02-01T00:00:00.000Z"}, "valid_until"),
        ({"valid_until": "2026-03-01T00:00:01.000Z"}, "valid_until"),  # equal to valid_from
        ({"pattern": _nested_pattern(40)}, "deeper than 32 levels"),  # the parser would take it
        ({"pattern": _nested_pattern(5000)}, "deeper than 32 levels"),  # the parser would overflow its stack
        ({"pattern": "[url:value = '" + "(" * 100 + "']"}, None),  # brackets inside a literal do not count
        ({"pattern": "[url:value = '" + "a" * 70_000 + "']"}, "pattern"),
        ({"pattern": "[url:value = "}, "pattern"),
        ({"pattern": 42}, "pattern"),
    ],
)
def test_bounds_are_enforced_per_object(
    db: Session, make_actor: Callable[..., Actor], api_client: Client, extra: dict[str, Any], words: str | None
) -> None:
    good = indicator(2, confidence=100, valid_until="2026-03-02T00:00:00.000Z", pattern=_nested_pattern(20))
    bad = indicator(1, **extra)
    status = _post(api_client(make_actor()), [good, bad])
    if words is None:
        assert status["success_count"] == 2
        return
    assert [s["id"] for s in status["successes"]] == [good["id"]]
    assert words in _failure(status, bad["id"])
