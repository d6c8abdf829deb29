"""Overriding antitrust findings needs competition counsel's sign-off by another person (audited)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, Role
from signalfire.audit.models import AuditEvent
from signalfire.exchange.models import ExchangeItem, ItemStatus
from tests.exchange import factories as xf

Client = Callable[[Actor | None], TestClient]
SENSITIVE = "The fix ships as a paid add-on. We will hold the fix's price below competitors until next quarter."


def test_override_of_antitrust_findings_needs_counsel(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    admin = make_actor()
    org = db.get_one(Organization, admin.org_id)
    item = xf.draft(db, admin, details=SENSITIVE)
    db.commit()
    publish = f"/api/v1/exchange/items/{item.id}/publish"
    blocked = api_client(admin).post(publish, json={})
    assert blocked.status_code == 409
    assert "Why flagged: Prices and discounts" in blocked.text
    # An override reason alone is not enough.
    refused = api_client(admin).post(publish, json={"screening_override_reason": "It is only about the safety fix."})
    assert refused.status_code == 409 and "counsel" in refused.json()["detail"]

    # Counsel (another admin holds the permission; an analyst or a reporter does not) signs off with a reason.
    analyst = make_actor(organization=org, role=Role.analyst)
    path = f"/api/v1/exchange/items/{item.id}/counsel-sign-off"
    assert api_client(analyst).post(path, json={"reason": "fine by me, honestly"}).status_code == 403
    reporter = make_actor(organization=org, role=Role.reporter)
    assert api_client(reporter).post(path, json={"reason": "fine by me, honestly"}).status_code == 403
    other_org_counsel = make_actor()
    assert api_client(other_org_counsel).post(path, json={"reason": "fine by me, honestly"}).status_code == 404
    assert api_client(None).post(path, json={"reason": "fine by me, honestly"}).status_code == 401
    counsel = make_actor(organization=org)
    signed = api_client(counsel).post(path, json={"reason": "Reviewed: no agreement, remove before sending."})
    assert signed.status_code == 201, signed.text
    assert signed.json()["findings"] == ["antitrust.family.prices@details"]

    published = api_client(admin).post(publish, json={"screening_override_reason": "Counsel signed off on this."})
    assert published.status_code == 200, published.text
    db.expire_all()
    assert db.get_one(ExchangeItem, item.id).status == ItemStatus.PUBLISHED
    actions = set(db.execute(select(AuditEvent.action).where(AuditEvent.target_id == str(item.id))).scalars())
    assert {"exchange.item.counsel_signed_off", "exchange.item.screening_overridden"} <= actions


def test_counsel_cannot_sign_off_their_own_override_and_edits_void_it(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    admin = make_actor()
    org = db.get_one(Organization, admin.org_id)
    item = xf.draft(db, admin, details=SENSITIVE)
    db.commit()
    path = f"/api/v1/exchange/items/{item.id}/counsel-sign-off"
    publish = f"/api/v1/exchange/items/{item.id}/publish"
    # The admin holds the counsel permission too, but a self-sign-off does not let their own override through.
    assert api_client(admin).post(path, json={"reason": "I am counsel and I approve."}).status_code == 201
    assert api_client(admin).post(publish, json={"screening_override_reason": "Approved by myself."}).status_code == 409
    counsel = make_actor(organization=org)
    assert api_client(counsel).post(path, json={"reason": "Reviewed and approved for sharing."}).status_code == 201
    db.expire_all()
    edited = db.get_one(ExchangeItem, item.id)
    edited.details = SENSITIVE + " Discounts stay the same for everyone, we agreed."
    db.commit()
    stale = api_client(admin).post(publish, json={"screening_override_reason": "Counsel signed off earlier."})
    assert stale.status_code == 409 and "counsel" in stale.json()["detail"]
