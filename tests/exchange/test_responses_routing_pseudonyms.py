"""Responses to items, routing to designated recipients, and pseudonym resolution by the hub."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind, Role
from signalfire.audit.models import AuditEvent
from signalfire.core.errors import AppError
from signalfire.exchange import pseudonyms, responses, routing
from signalfire.exchange.models import Pseudonym, PseudonymResolution, ResponseKind
from signalfire.exchange.vocab import AudienceKind, Category, Tlp
from signalfire.notify.models import OutboxJob
from tests import factories
from tests.exchange import factories as xf

Client = Callable[[Actor | None], TestClient]


def _details(client: TestClient, item_id: object) -> dict[str, Any]:
    resp = client.get(f"/api/v1/exchange/items/{item_id}/details", params={"purpose": "threat_detection"})
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


# -- responses -----------------------------------------------------------------------------------------


def test_responses_follow_the_item_and_corrections_go_to_the_contributor_only(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    owner = make_actor()
    sighter = make_actor(name="Sid")
    proposer = make_actor(name="Pat")
    bystander = make_actor()
    outsider = make_actor(OrgKind.authority)
    item = xf.published(db, owner, tlp=Tlp.AMBER)
    db.commit()
    assert (
        api_client(sighter)
        .post(f"/api/v1/exchange/items/{item.id}/responses", json={"kind": "sighting", "body": "Seen it too."})
        .status_code
        == 201
    )
    assert (
        api_client(sighter)
        .post(f"/api/v1/exchange/items/{item.id}/responses", json={"kind": "comment", "body": "  "})
        .status_code
        == 422
    )
    made = api_client(proposer).post(
        f"/api/v1/exchange/items/{item.id}/responses",
        json={"kind": "correction", "body": "Severity should be critical."},
    )
    assert made.status_code == 201 and made.json()["correction_status"] == "open"
    assert api_client(outsider).post(
        f"/api/v1/exchange/items/{item.id}/responses", json={"kind": "sighting"}
    ).status_code in (403, 404)

    def kinds(actor: Actor) -> list[str]:
        return [r["kind"] for r in _details(api_client(actor), item.id)["responses"]]

    assert kinds(owner) == ["sighting", "correction"]
    assert kinds(proposer) == ["sighting", "correction"]
    assert kinds(bystander) == ["sighting"]
    # Only the contributor decides, once.
    rid = made.json()["id"]
    assert (
        api_client(proposer).post(f"/api/v1/exchange/responses/{rid}/decision", json={"accept": True}).status_code
        == 403
    )
    decided = api_client(owner).post(
        f"/api/v1/exchange/responses/{rid}/decision", json={"accept": True, "note": "Raised in v2."}
    )
    assert decided.status_code == 200 and decided.json()["correction_status"] == "accepted"
    assert (
        api_client(owner).post(f"/api/v1/exchange/responses/{rid}/decision", json={"accept": False}).status_code == 409
    )


def test_pseudonymous_responses_and_no_unmasking_by_reply(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    owner = make_actor()
    reader = make_actor()
    item = xf.published(db, owner, attribution="pseudonymous")
    db.commit()
    api_client(reader).post(
        f"/api/v1/exchange/items/{item.id}/responses",
        json={"kind": "comment", "body": "Same here.", "pseudonymous": True},
    )
    # The contributor replies without ticking "pseudonymous": it is still shown under the pseudonym.
    api_client(owner).post(
        f"/api/v1/exchange/items/{item.id}/responses", json={"kind": "comment", "body": "Thanks, fixed in our stack."}
    )
    third = make_actor()
    shown = _details(api_client(third), item.id)["responses"]
    authors = [r["author"] for r in shown]
    assert owner.org_name not in str(authors) and reader.org_name not in str(authors)
    labels = {p.org_id: p.label for p in db.execute(select(Pseudonym)).scalars()}
    assert authors == [labels[reader.org_id], labels[owner.org_id]]


# -- routing -------------------------------------------------------------------------------------------


def test_publish_notifies_designated_people_the_audience_reaches(db: Session, make_actor: Callable[..., Actor]) -> None:
    owner = make_actor()
    near = make_actor(name="Near")
    far = make_actor(name="Far")
    officer = make_actor(OrgKind.authority)
    for person in (near, far):
        routing.designate(db, person, Category.THREAT, person.user_id)
    routing.designate(db, near, Category.VULNERABILITY, near.user_id)
    with pytest.raises(AppError):
        routing.designate(db, officer, Category.THREAT, officer.user_id)
    with pytest.raises(AppError) as dup:
        routing.designate(db, near, Category.THREAT, near.user_id)
    assert dup.value.status == 409
    with pytest.raises(AppError) as foreign:
        routing.designate(db, near, Category.THREAT, far.user_id)
    assert foreign.value.status == 422

    def mails() -> list[OutboxJob]:
        return list(
            db.execute(
                select(OutboxJob).where(OutboxJob.topic == "exchange.item.new").order_by(OutboxJob.created_at)
            ).scalars()
        )

    xf.published(db, owner, title="Green thing", tlp=Tlp.GREEN)
    assert sorted(j.payload["to"][0] for j in mails()) == sorted([near.email, far.email])
    assert "Green thing" in mails()[0].payload["body"]
    before = len(mails())
    xf.published(
        db,
        owner,
        title="Secret thing",
        tlp=Tlp.RED,
        audience=[AudienceKind.NAMED_PEOPLE],
        audience_people=xf.people(near),
    )
    new = mails()[before:]
    assert [j.payload["to"] for j in new] == [[near.email]]
    assert "Secret thing" not in new[0].payload["body"] + new[0].payload["subject"]


def test_hub_sees_coverage_gaps_others_do_not(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    hub = make_actor(OrgKind.hub_operator)
    lab = make_actor()
    routing.designate(db, lab, Category.THREAT, lab.user_id)
    db.commit()
    cells = api_client(hub).get("/api/v1/exchange/coverage").json()
    mine = {c["category"]: c["designated"] for c in cells if c["org_id"] == str(lab.org_id)}
    assert mine == {"vulnerability": 0, "threat": 1, "capability_of_concern": 0}
    assert all(c["org"] for c in cells)
    assert api_client(lab).get("/api/v1/exchange/coverage").status_code == 403


# -- pseudonyms ----------------------------------------------------------------------------------------


def test_only_the_hub_resolves_and_the_contributor_sees_it(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    owner = make_actor()
    reader = make_actor()
    hub = make_actor(OrgKind.hub_operator)
    hub_viewer = factories.actor(db, kind=OrgKind.hub_operator, role=Role.analyst)
    item = xf.published(db, owner, attribution="pseudonymous")
    db.commit()
    pseudonym = db.execute(select(Pseudonym).where(Pseudonym.org_id == owner.org_id)).scalar_one()
    assert str(owner.org_id) not in pseudonym.stix_identity_id
    path = f"/api/v1/exchange/pseudonyms/{pseudonym.id}/resolve"
    body = {"reason": "Coordinating disclosure with the affected maintainer.", "item_id": str(item.id)}
    assert api_client(reader).post(path, json=body).status_code == 404
    assert api_client(hub_viewer).post(path, json=body).status_code == 404
    assert api_client(hub).post(path, json={"reason": "why"}).status_code == 422
    assert db.execute(select(PseudonymResolution)).first() is None
    resolved = api_client(hub).post(path, json=body)
    assert resolved.status_code == 200 and resolved.json()["org"] == owner.org_name
    audit = db.execute(select(AuditEvent).where(AuditEvent.action == "exchange.pseudonym.resolved")).scalars().all()
    assert {a.org_id for a in audit} == {hub.org_id, owner.org_id}
    seen = api_client(owner).get("/api/v1/exchange/resolutions").json()
    assert [(r["pseudonym"], r["reason"]) for r in seen] == [(pseudonym.label, body["reason"])]
    assert api_client(reader).get("/api/v1/exchange/resolutions").json() == []
    mails = db.execute(select(OutboxJob).where(OutboxJob.topic == "exchange.pseudonym.resolved")).scalars().all()
    assert len(mails) == 1 and mails[0].payload["to"] == [owner.email]


def test_pseudonym_is_stable_per_org(db: Session, make_actor: Callable[..., Actor]) -> None:
    owner = make_actor()
    first = pseudonyms.ensure_pseudonym(db, owner.org_id)
    assert pseudonyms.ensure_pseudonym(db, owner.org_id).id == first.id
    a = xf.published(db, owner, attribution="pseudonymous")
    b = xf.published(db, owner, attribution="pseudonymous")
    assert a.pseudonym_id == b.pseudonym_id == first.id
    responses.respond(db, make_actor(), a.id, ResponseKind.SIGHTING)
