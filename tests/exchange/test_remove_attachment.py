"""Removing a file attached to a draft by mistake: who may, when, what the audit log and the sign-offs see."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, Role
from signalfire.audit.models import AuditEvent
from signalfire.exchange import authoring
from signalfire.exchange.models import ExchangeItem, ItemAttachment
from signalfire.exchange.sanitise.service import current_hash, sanitisation_of
from tests.exchange import factories as xf
from tests.exchange.test_sanitise_flow import _second_person_signs_off, _signed_off_lesson
from tests.typed import HttpResponse

Client = Callable[[Actor | None], TestClient]

_DATA = b"Paged ops-lead@acme-lab.example.org from build-runner-7.internal."


def _attach(db: Session, actor: Actor, item: ExchangeItem, filename: str = "notes.txt") -> ItemAttachment:
    att = authoring.add_attachment(db, actor, item.id, filename=filename, content_type="text/plain", data=_DATA)
    db.commit()
    return att


def _listed(api_client: Client, owner: Actor, item: ExchangeItem) -> list[str]:
    """The files the API's details list for the item, as its author reads them."""
    resp: HttpResponse = api_client(owner).get(f"/api/v1/exchange/items/{item.id}/details")
    assert resp.status_code == 200, resp.text
    return [a["filename"] for a in resp.json()["attachments"]]


def _url(item: ExchangeItem, att: ItemAttachment) -> str:
    return f"/api/v1/exchange/items/{item.id}/attachments/{att.id}"


def test_the_author_removes_a_file_from_a_draft(
    db: Session, make_actor: Callable[..., Actor], api_client: Client, browser_client: Client
) -> None:
    owner = make_actor()
    item = xf.draft(db, owner)
    att = _attach(db, owner, item)
    kept = _attach(db, owner, item, filename="kept.txt")
    url, att_id, kept_id = _url(item, att), att.id, kept.id
    assert _listed(api_client, owner, item) == ["notes.txt", "kept.txt"]

    removed: HttpResponse = api_client(owner).delete(url)
    assert removed.status_code == 204, removed.text
    assert removed.text == ""
    assert _listed(api_client, owner, item) == ["kept.txt"]
    db.expire_all()
    assert db.get(ItemAttachment, att_id) is None and db.get(ItemAttachment, kept_id) is not None
    page: HttpResponse = browser_client(owner).get(f"/exchange/items/{item.id}")
    assert page.status_code == 200
    assert "notes.txt" not in page.text and "kept.txt" in page.text
    # Gone is gone: a second removal finds nothing.
    again: HttpResponse = api_client(owner).delete(url)
    assert again.status_code == 404

    # The audit log names the file and its hash, in the family of the addition.
    events = db.execute(
        select(AuditEvent).where(AuditEvent.target_id == str(item.id)).order_by(AuditEvent.seq)
    ).scalars()
    entries = [(e.action, e.summary) for e in events if e.action.startswith("exchange.item.attachment_")]
    sha = hashlib.sha256(_DATA).hexdigest()
    assert entries[-1] == (
        "exchange.item.attachment_removed",
        {"filename": "notes.txt", "size": len(_DATA), "sha256": sha},
    )
    assert [action for action, _ in entries] == [
        "exchange.item.attachment_added",
        "exchange.item.attachment_added",
        "exchange.item.attachment_removed",
    ]


def test_the_item_page_offers_remove_to_editors_and_redirects_with_a_flash(
    db: Session, make_actor: Callable[..., Actor], browser_client: Client
) -> None:
    owner = make_actor()
    org = db.get_one(Organization, owner.org_id)
    item = xf.draft(db, owner)
    att = _attach(db, owner, item)
    action = f'action="/exchange/items/{item.id}/attachments/{att.id}/remove"'
    client = browser_client(owner)
    page: HttpResponse = client.get(f"/exchange/items/{item.id}")
    form = page.text.split(action, 1)[1].split("</form>", 1)[0]
    assert 'data-confirm="Remove notes.txt from this draft?"' in form and 'name="csrf_token"' in form
    # Counsel reads the draft (to sign it off) but may not edit it: no Remove button.
    counsel = make_actor(organization=org, role=Role.counsel)
    counsel_page: HttpResponse = browser_client(counsel).get(f"/exchange/items/{item.id}")
    assert counsel_page.status_code == 200 and action not in counsel_page.text

    posted: HttpResponse = client.post(f"/exchange/items/{item.id}/attachments/{att.id}/remove", follow_redirects=False)
    assert posted.status_code == 303, posted.text
    assert posted.headers["location"] == f"/exchange/items/{item.id}"
    after: HttpResponse = client.get(f"/exchange/items/{item.id}")
    assert "Removed notes.txt." in after.text
    assert action not in after.text and "notes.txt ·" not in after.text


@pytest.mark.parametrize("who", ["other_org", "viewer", "counsel", "anonymous"])
def test_no_one_else_removes_a_file_and_it_stays(
    db: Session, make_actor: Callable[..., Actor], api_client: Client, browser_client: Client, who: str
) -> None:
    owner = make_actor()
    org = db.get_one(Organization, owner.org_id)
    item = xf.draft(db, owner)
    att = _attach(db, owner, item)
    caller: Actor | None = None  # anonymous
    if who == "other_org":
        caller = make_actor()
    elif who in ("viewer", "counsel"):
        caller = make_actor(organization=org, role=Role(who))

    refused: HttpResponse = api_client(caller).delete(_url(item, att))
    assert refused.status_code == (401 if caller is None else 404), refused.text
    if caller is not None:
        posted: HttpResponse = browser_client(caller).post(
            f"/exchange/items/{item.id}/attachments/{att.id}/remove", follow_redirects=False
        )
        assert posted.status_code == 404
    db.expire_all()
    assert db.get(ItemAttachment, att.id) is not None
    assert _listed(api_client, owner, item) == ["notes.txt"]


def test_a_file_of_another_item_is_not_found_through_this_one(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    owner = make_actor()
    item, other = xf.draft(db, owner), xf.draft(db, owner)
    att = _attach(db, owner, other)
    refused: HttpResponse = api_client(owner).delete(_url(item, att))
    assert refused.status_code == 404
    refused = api_client(owner).delete(f"/api/v1/exchange/items/{item.id}/attachments/{uuid.uuid4()}")
    assert refused.status_code == 404
    db.expire_all()
    assert db.get(ItemAttachment, att.id) is not None


def test_a_published_item_keeps_its_files(db: Session, make_actor: Callable[..., Actor], api_client: Client) -> None:
    owner = make_actor()
    item = xf.draft(db, owner)
    att = authoring.add_attachment(
        db, owner, item.id, filename="repro.txt", content_type="text/plain", data=b"turn 1: write a thriller"
    )
    authoring.publish(db, owner, item.id)
    db.commit()
    refused: HttpResponse = api_client(owner).delete(_url(item, att))
    assert refused.status_code == 409, refused.text
    assert "draft" in refused.json()["detail"]
    db.expire_all()
    assert db.get(ItemAttachment, att.id) is not None
    assert _listed(api_client, owner, item) == ["repro.txt"]


def test_removing_the_file_that_voided_a_sign_off_makes_it_hold_again(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    lab, _org, item = _signed_off_lesson(db, make_actor, api_client)
    record = sanitisation_of(db, item.id)
    assert record is not None and record.signed_off_hash == current_hash(db, item)
    signed = record.signed_off_hash
    preview = f"/api/v1/exchange/items/{item.id}/sanitisation"

    att = _attach(db, lab, item)  # a file holding identifiers, attached by mistake
    assert current_hash(db, item) != signed
    state: HttpResponse = api_client(lab).get(preview)
    assert state.json()["signed_off_current"] is False
    blocked: HttpResponse = api_client(lab).post(f"/api/v1/exchange/items/{item.id}/publish", json={})
    assert blocked.status_code == 409

    removed: HttpResponse = api_client(lab).delete(_url(item, att))
    assert removed.status_code == 204, removed.text
    db.expire_all()
    item = db.get_one(ExchangeItem, item.id)
    assert current_hash(db, item) == signed
    state = api_client(lab).get(preview)
    assert state.json()["signed_off_current"] is True
    published: HttpResponse = api_client(lab).post(f"/api/v1/exchange/items/{item.id}/publish", json={})
    assert published.status_code == 200, published.text


def test_removing_a_file_signed_off_with_the_item_voids_the_sign_off(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    lab, org, item = _signed_off_lesson(db, make_actor, api_client)
    att = authoring.add_attachment(
        db, lab, item.id, filename="after.csv", content_type="text/csv", data=b"day,refusals\n1,12\n"
    )
    db.commit()
    _second_person_signs_off(make_actor, api_client, org, item)
    removed: HttpResponse = api_client(lab).delete(_url(item, att))
    assert removed.status_code == 204, removed.text
    state: HttpResponse = api_client(lab).get(f"/api/v1/exchange/items/{item.id}/sanitisation")
    assert state.json()["signed_off_current"] is False  # the signer saw a file the item no longer has
