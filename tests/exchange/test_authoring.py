"""Sharing an item: validation, screening before publish, revisions, withdrawal, attachments."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, OrgKind, Role
from signalfire.audit.models import AuditEvent
from signalfire.exchange import authoring, service
from signalfire.exchange.models import ExchangeItem, ItemRevision, ItemStatus, ScreeningOverride
from signalfire.exchange.vocab import AudienceKind, Tlp
from tests.exchange import factories as xf

Client = Callable[[Actor | None], TestClient]


def _count(db: Session, model: Any) -> int:
    return int(db.execute(select(func.count()).select_from(model)).scalar_one())


def _body(**overrides: Any) -> dict[str, Any]:
    body = xf.item_in().model_dump(mode="json")
    body.update(overrides)
    return body


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"category": None}, "category"),
        ({"category": ["threat", "vulnerability"]}, "category"),
        ({"category": "incident"}, "category"),
        ({"permitted_uses": ["threat_detection", "marketing"]}, "permitted_uses[1]"),
        ({"permitted_uses": []}, "permitted_uses"),
        ({"tlp": "RED", "audience": ["all_members"]}, "audience"),
        ({"tlp": "RED", "audience": ["government_partners"]}, "audience"),
        ({"tlp": "PURPLE"}, "tlp"),
        ({"technique_refs": ["LLM01"]}, "technique_refs"),
        ({"audience": ["named_orgs"]}, "audience_org_ids"),
        ({"title": " "}, "title"),
        ({"colour": "red"}, "colour"),
    ],
    ids=[
        "no-category",
        "two-categories",
        "unknown-category",
        "use-outside-the-nine",
        "no-use",
        "red-to-all-members",
        "red-to-government",
        "unknown-tlp",
        "owasp-without-edition",
        "named-orgs-empty",
        "blank-title",
        "unknown-field",
    ],
)
def test_bad_input_is_a_clear_422_and_stores_nothing(
    db: Session, make_actor: Callable[..., Actor], api_client: Client, overrides: dict[str, Any], field: str
) -> None:
    client = api_client(make_actor())
    before = (_count(db, ExchangeItem), _count(db, AuditEvent))
    resp = client.post("/api/v1/exchange/items", json=_body(**overrides))
    assert resp.status_code == 422, resp.text
    problem = resp.json()
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert any(e["field"].startswith(field) for e in problem["errors"]), problem
    db.expire_all()
    assert (_count(db, ExchangeItem), _count(db, AuditEvent)) == before


def test_ui_form_refuses_two_categories_and_keeps_the_input(
    db: Session, make_actor: Callable[..., Actor], browser_client: Client
) -> None:
    actor = make_actor()
    form = {
        "category": ["threat", "vulnerability"],
        "title": "Kept title",
        "severity": "low",
        "tlp": "GREEN",
        "permitted_uses": ["safeguards"],
        "audience": ["all_members"],
    }
    resp = browser_client(actor).post("/exchange/items", data=form)
    assert resp.status_code == 422
    assert "exactly one category" in resp.text and 'value="Kept title"' in resp.text
    assert _count(db, ExchangeItem) == 0


def test_draft_then_publish_keeps_a_revision_with_its_snapshot(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    actor = make_actor()
    client = api_client(actor)
    created = client.post("/api/v1/exchange/items", json=_body(title="Refusal bypass via tool output"))
    assert created.status_code == 201, created.text
    item_id = created.json()["item"]["id"]
    assert created.json()["item"]["status"] == "draft" and created.json()["screening"] == []
    published = client.post(f"/api/v1/exchange/items/{item_id}/publish", json={})
    assert published.status_code == 200, published.text
    assert published.json()["version"] == 1
    rev = db.execute(select(ItemRevision).where(ItemRevision.item_id == uuid.UUID(item_id))).scalar_one()
    snapshot = service.revision_snapshot(rev)
    assert snapshot.title == "Refusal bypass via tool output" and snapshot.version == 1
    assert snapshot.contributor.kind == "org" and snapshot.contributor.name == actor.org_name
    again = client.post(f"/api/v1/exchange/items/{item_id}/publish", json={})
    assert again.status_code == 409


def test_screening_blocks_publish_until_an_override_reason_is_given(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    actor = make_actor()
    client = api_client(actor)
    draft = client.post(
        "/api/v1/exchange/items",
        json=_body(details="We will move to $2.50 per million tokens next quarter. Contact +44 20 7946 0958."),
    )
    item_id = draft.json()["item"]["id"]
    kinds = {f["kind"] for f in draft.json()["screening"]}
    assert {"antitrust", "personal_data"} <= kinds
    blocked = client.post(f"/api/v1/exchange/items/{item_id}/publish", json={})
    assert blocked.status_code == 409 and blocked.json()["errors"]
    db.expire_all()
    assert db.get_one(ExchangeItem, uuid.UUID(item_id)).status == ItemStatus.DRAFT
    assert _count(db, ScreeningOverride) == 0
    short = client.post(f"/api/v1/exchange/items/{item_id}/publish", json={"screening_override_reason": "ok"})
    assert short.status_code == 422
    reason = {"screening_override_reason": "The number is the public switchboard of a CERT."}
    # The findings include commercially sensitive content: an override also needs counsel's sign-off.
    needs_counsel = client.post(f"/api/v1/exchange/items/{item_id}/publish", json=reason)
    assert needs_counsel.status_code == 409 and "counsel" in needs_counsel.json()["detail"]
    counsel = make_actor(organization=db.get_one(Organization, actor.org_id), role=Role.counsel)
    signed = api_client(counsel).post(
        f"/api/v1/exchange/items/{item_id}/counsel-sign-off", json={"reason": "Example price, not a real plan."}
    )
    assert signed.status_code == 201, signed.text
    ok = client.post(f"/api/v1/exchange/items/{item_id}/publish", json=reason)
    assert ok.status_code == 200, ok.text
    override = db.execute(select(ScreeningOverride)).scalar_one()
    assert override.version == 1 and "switchboard" in override.reason
    assert {f["kind"] for f in override.findings} == kinds
    assert db.execute(select(AuditEvent).where(AuditEvent.action == "exchange.item.screening_overridden")).first()


def test_revisions_keep_every_version_and_withdrawal_revokes(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    actor = make_actor()
    client = api_client(actor)
    with time_machine.travel("2026-11-01T10:00:00Z", tick=False):
        item = xf.published(db, actor, title="First title")
        db.commit()
    with time_machine.travel("2026-11-02T10:00:00Z", tick=False):
        resp = client.post(
            f"/api/v1/exchange/items/{item.id}/revisions",
            json={**_body(title="Second title"), "change_note": "Sharper title."},
        )
        assert resp.status_code == 201, resp.text
        assert client.post(f"/api/v1/exchange/items/{item.id}/revisions", json=_body()).status_code == 422
    with time_machine.travel("2026-11-03T10:00:00Z", tick=False):
        assert (
            client.post(f"/api/v1/exchange/items/{item.id}/withdraw", json={"reason": "Fixed upstream"}).status_code
            == 200
        )
    revisions = client.get(f"/api/v1/exchange/items/{item.id}/revisions").json()
    assert [r["version"] for r in revisions] == [3, 2, 1]
    assert [r["revoked"] for r in revisions] == [True, False, False]
    rows = (
        db.execute(select(ItemRevision).where(ItemRevision.item_id == item.id).order_by(ItemRevision.version))
        .scalars()
        .all()
    )
    titles = [service.revision_snapshot(r).title for r in rows]
    assert titles == ["First title", "Second title", "Second title"]
    assert rows[0].modified < rows[1].modified < rows[2].modified
    assert service.revision_snapshot(rows[2]).revoked
    assert (
        client.post(f"/api/v1/exchange/items/{item.id}/revisions", json={**_body(), "change_note": "x"}).status_code
        == 409
    )


def test_a_revision_cannot_change_attribution(db: Session, make_actor: Callable[..., Actor]) -> None:
    actor = make_actor()
    item = xf.published(db, actor, attribution="pseudonymous")
    with pytest.raises(Exception) as err:
        authoring.revise(db, actor, item.id, xf.item_in(attribution="named"), change_note="unmask")
    assert getattr(err.value, "status", None) == 422


def test_roles_and_other_orgs(db: Session, make_actor: Callable[..., Actor], api_client: Client) -> None:
    owner = make_actor()
    analyst = make_actor(organization=None, role=Role.analyst)
    item = xf.draft(db, owner)
    db.commit()
    # An analyst of another org cannot see or publish the draft; the draft is simply not there for them.
    assert api_client(analyst).post(f"/api/v1/exchange/items/{item.id}/publish", json={}).status_code == 403
    other_admin = make_actor()
    assert api_client(other_admin).post(f"/api/v1/exchange/items/{item.id}/publish", json={}).status_code == 404
    assert api_client(other_admin).get(f"/api/v1/exchange/items/{item.id}").status_code == 404


def test_attachments_are_limited_screened_and_gated(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    owner = make_actor()
    reader = make_actor()
    item = xf.draft(db, owner)
    db.commit()
    client = api_client(owner)
    too_big = client.post(
        f"/api/v1/exchange/items/{item.id}/attachments",
        files={"file": ("big.txt", b"a" * (authoring.ATTACHMENT_MAX_BYTES + 1), "text/plain")},
    )
    assert too_big.status_code == 413
    wrong = client.post(
        f"/api/v1/exchange/items/{item.id}/attachments", files={"file": ("x.exe", b"MZ", "application/x-msdownload")}
    )
    assert wrong.status_code == 422
    secret = b"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8s7Lm2Qa"
    ok = client.post(
        f"/api/v1/exchange/items/{item.id}/attachments", files={"file": ("repro.txt", secret, "text/plain")}
    )
    assert ok.status_code == 201, ok.text
    findings = authoring.screen_item(db, db.get_one(ExchangeItem, item.id))
    assert any(f.field == "attachment:repro.txt" and f.kind == "secret" for f in findings)
    authoring.publish(db, owner, item.id, override_reason="Key is revoked; kept as a reproduction sample.")
    db.commit()
    att = ok.json()["id"]
    reader_client = api_client(reader)
    assert reader_client.get(f"/api/v1/exchange/items/{item.id}/attachments/{att}").status_code == 403
    got = reader_client.get(
        f"/api/v1/exchange/items/{item.id}/attachments/{att}", params={"purpose": "threat_detection"}
    )
    assert got.status_code == 200 and got.content == secret
    assert got.headers["content-disposition"].startswith("attachment;")


def test_pseudonymous_items_never_name_the_org_to_others(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    owner = make_actor(name="Owner")
    reader = make_actor()
    item = xf.published(db, owner, attribution="pseudonymous", tlp=Tlp.AMBER)
    named = xf.published(db, owner, attribution="named")
    db.commit()
    as_reader = api_client(reader)
    listed = {row["id"]: row for row in as_reader.get("/api/v1/exchange/items").json()}
    assert listed[str(item.id)]["contributor"]["kind"] == "pseudonym"
    assert owner.org_name not in str(listed[str(item.id)])
    details = as_reader.get(f"/api/v1/exchange/items/{item.id}/details", params={"purpose": "safeguards"}).json()
    assert owner.org_name not in str(details) and str(owner.org_id) not in str(details)
    # Filtering by the org's identity finds its named items only, never its pseudonymous ones.
    org_identity = listed[str(named.id)]["contributor"]["stix_identity_id"]
    by_org = as_reader.get("/api/v1/exchange/items", params={"contributor": org_identity}).json()
    assert [r["id"] for r in by_org] == [str(named.id)]
    pseudonym = listed[str(item.id)]["contributor"]["stix_identity_id"]
    by_pseudonym = as_reader.get("/api/v1/exchange/items", params={"contributor": pseudonym}).json()
    assert [r["id"] for r in by_pseudonym] == [str(item.id)]
    # The contributor's own people see their org; the stored public snapshot names the pseudonym.
    mine = api_client(owner).get(f"/api/v1/exchange/items/{item.id}").json()
    assert mine["contributor"]["name"] == owner.org_name
    rev = db.execute(select(ItemRevision).where(ItemRevision.item_id == item.id)).scalar_one()
    assert service.revision_snapshot(rev).contributor.kind == "pseudonym"
    assert service.snapshot_of(db, item, None).contributor.stix_identity_id == pseudonym


def test_authority_cannot_share(db: Session, make_actor: Callable[..., Actor], api_client: Client) -> None:
    officer = make_actor(OrgKind.authority)
    assert api_client(officer).post("/api/v1/exchange/items", json=_body()).status_code == 403


def test_listing_pages_with_a_cursor(db: Session, make_actor: Callable[..., Actor], api_client: Client) -> None:
    owner = make_actor()
    reader = make_actor()
    for i in range(5):
        with time_machine.travel(f"2026-10-0{i + 1}T08:00:00Z", tick=False):
            xf.published(db, owner, title=f"item {i}", audience=[AudienceKind.ALL_MEMBERS])
    db.commit()
    client = api_client(reader)
    first = client.get("/api/v1/exchange/items", params={"limit": 2})
    second = client.get("/api/v1/exchange/items", params={"limit": 2, "cursor": first.headers["x-next-cursor"]})
    third = client.get("/api/v1/exchange/items", params={"limit": 2, "cursor": second.headers["x-next-cursor"]})
    titles = [r["title"] for page in (first, second, third) for r in page.json()]
    assert titles == ["item 4", "item 3", "item 2", "item 1", "item 0"]
    assert "x-next-cursor" not in third.headers
    assert client.get("/api/v1/exchange/items", params={"cursor": "garbage"}).status_code == 422
