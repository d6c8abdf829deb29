"""Overriding antitrust findings needs competition counsel's sign-off: the counsel role, never the item's author,
and a person other than the publisher (audited). Admins do not sign off (docs/access.md "Counsel")."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access import service as access_service
from signalfire.access.actor import Actor
from signalfire.access.models import Organization, Role, User
from signalfire.audit.models import AuditEvent
from signalfire.core.clock import utcnow
from signalfire.exchange import antitrust, authoring, screening
from signalfire.exchange.antitrust import counsel as counsel_service
from signalfire.exchange.models import ExchangeItem, ItemStatus
from signalfire.exchange.sanitise.models import CounselSignoff
from signalfire.exchange.sanitise.service import content_hash, signoff_hash
from signalfire.exchange.screening import Finding
from tests import factories
from tests.exchange import factories as xf

Client = Callable[[Actor | None], TestClient]
SENSITIVE = "The fix ships as a paid add-on. We will hold the fix's price below competitors until next quarter."
REASON = {"reason": "Reviewed: no agreement, remove before sending."}


def _signoff_path(item: ExchangeItem) -> str:
    return f"/api/v1/exchange/items/{item.id}/counsel-sign-off"


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

    counsel = make_actor(organization=org, role=Role.counsel)
    signed = api_client(counsel).post(_signoff_path(item), json=REASON)
    assert signed.status_code == 201, signed.text
    assert signed.json()["findings"] == ["antitrust.family.prices@details"]
    assert signed.json()["user_id"] == str(counsel.user_id)

    published = api_client(admin).post(publish, json={"screening_override_reason": "Counsel signed off on this."})
    assert published.status_code == 200, published.text
    db.expire_all()
    assert db.get_one(ExchangeItem, item.id).status == ItemStatus.PUBLISHED
    actions = set(db.execute(select(AuditEvent.action).where(AuditEvent.target_id == str(item.id))).scalars())
    assert {"exchange.item.counsel_signed_off", "exchange.item.screening_overridden"} <= actions


def test_the_sign_off_is_audited_with_the_counsel_and_the_reason(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    admin = make_actor()
    counsel = make_actor(organization=db.get_one(Organization, admin.org_id), role=Role.counsel, name="Cora Counsel")
    item = xf.draft(db, admin, details=SENSITIVE)
    db.commit()
    assert api_client(counsel).post(_signoff_path(item), json=REASON).status_code == 201
    event = db.execute(
        select(AuditEvent).where(
            AuditEvent.target_id == str(item.id), AuditEvent.action == "exchange.item.counsel_signed_off"
        )
    ).scalar_one()
    assert event.actor_user_id == counsel.user_id
    assert event.org_id == counsel.org_id
    assert event.summary["reason"] == REASON["reason"]
    assert event.summary["findings"] == ["antitrust.family.prices@details"]
    stored = db.execute(select(CounselSignoff).where(CounselSignoff.item_id == item.id)).scalar_one()
    assert stored.user_id == counsel.user_id


# Who may not sign off a colleague's draft, and what they get: 403 where they can see the draft (it is no secret
# to those who may write items), 404 where they cannot (drafts are hidden from them: forbidden looks like missing).
@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.admin, 403), (Role.analyst, 403), (Role.responder, 404), (Role.reporter, 404), (Role.viewer, 404)],
    ids=lambda v: getattr(v, "value", str(v)),
)
def test_other_roles_cannot_sign_off(
    db: Session,
    make_actor: Callable[..., Actor],
    api_client: Client,
    browser_client: Client,
    role: Role,
    status: int,
) -> None:
    author = make_actor()
    org = db.get_one(Organization, author.org_id)
    item = xf.draft(db, author, details=SENSITIVE)
    member = make_actor(organization=org, role=role)
    db.commit()
    resp = api_client(member).post(_signoff_path(item), json=REASON)
    assert resp.status_code == status, resp.text
    if status == 403:
        assert resp.json()["detail"] == f"Your role ({role.value}) in {org.name} does not allow this."
    else:
        assert resp.json()["detail"] == "No such item."
    assert db.execute(select(CounselSignoff).where(CounselSignoff.item_id == item.id)).first() is None
    # The page route answers the same, and the item page offers the form to none of them.
    browser = browser_client(member)
    form = browser.post(f"/exchange/items/{item.id}/counsel-sign-off", data=REASON, follow_redirects=False)
    assert form.status_code == status
    page = browser.get(f"/exchange/items/{item.id}")
    assert page.status_code == (200 if status == 403 else 404)
    assert 'data-testid="counsel-sign-off"' not in page.text


def test_a_published_item_is_no_secret_so_a_viewer_gets_a_403(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    admin = make_actor()
    org = db.get_one(Organization, admin.org_id)
    item = xf.published(db, admin)
    viewer = make_actor(organization=org, role=Role.viewer)
    counsel = make_actor(organization=org, role=Role.counsel)
    db.commit()
    assert api_client(viewer).post(_signoff_path(item), json=REASON).status_code == 403
    # Counsel may try, but screening finds nothing to sign off.
    nothing = api_client(counsel).post(_signoff_path(item), json=REASON)
    assert nothing.status_code == 409 and nothing.json()["detail"].startswith("Screening finds nothing")


def test_the_author_cannot_sign_off_their_own_item(
    db: Session, make_actor: Callable[..., Actor], api_client: Client, browser_client: Client
) -> None:
    admin = make_actor()
    org = db.get_one(Organization, admin.org_id)
    analyst = make_actor(organization=org, role=Role.analyst)
    item = xf.draft(db, analyst, details=SENSITIVE)
    # The analyst who drafted it is made counsel afterwards: still not the second person it needs.
    membership = factories.membership(db, analyst)
    access_service.change_role(db, actor=admin, membership_id=membership.id, role=Role.counsel)
    author = factories.actor_for(db, db.get_one(User, analyst.user_id), org)
    assert author.role == Role.counsel
    db.commit()
    resp = api_client(author).post(_signoff_path(item), json=REASON)
    assert resp.status_code == 403
    assert resp.json()["detail"] == "Counsel's sign-off must come from someone other than the item's author."
    assert db.execute(select(CounselSignoff).where(CounselSignoff.item_id == item.id)).first() is None
    # The author reads the draft but is not offered the form.
    page = browser_client(author).get(f"/exchange/items/{item.id}")
    assert page.status_code == 200 and 'data-testid="screening"' in page.text
    assert 'data-testid="counsel-sign-off"' not in page.text


def test_counsel_reads_the_draft_and_gets_the_form(
    db: Session, make_actor: Callable[..., Actor], api_client: Client, browser_client: Client
) -> None:
    admin = make_actor()
    org = db.get_one(Organization, admin.org_id)
    item = xf.draft(db, admin, details=SENSITIVE)
    counsel = make_actor(organization=org, role=Role.counsel)
    viewer = make_actor(organization=org, role=Role.viewer)
    db.commit()
    assert api_client(counsel).get(f"/api/v1/exchange/items/{item.id}").status_code == 200
    drafts = api_client(counsel).get("/api/v1/exchange/items", params={"status": "draft"})
    assert drafts.status_code == 200 and str(item.id) in drafts.text
    # A viewer of the same org still does not see drafts.
    assert api_client(viewer).get(f"/api/v1/exchange/items/{item.id}").status_code == 404
    page = browser_client(counsel).get(f"/exchange/items/{item.id}")
    assert page.status_code == 200
    assert "Prices and discounts" in page.text
    assert 'data-testid="counsel-sign-off"' in page.text
    # The admin sees the findings but is not offered the counsel form.
    admin_page = browser_client(admin).get(f"/exchange/items/{item.id}")
    assert admin_page.status_code == 200 and 'data-testid="counsel-sign-off"' not in admin_page.text


def test_counsel_of_another_org_can_neither_see_nor_sign_off(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    admin = make_actor()
    item = xf.draft(db, admin, details=SENSITIVE)
    outsider = make_actor(role=Role.counsel)
    db.commit()
    assert api_client(outsider).get(f"/api/v1/exchange/items/{item.id}").status_code == 404
    listed = api_client(outsider).get("/api/v1/exchange/items", params={"status": "draft"})
    assert str(item.id) not in listed.text
    resp = api_client(outsider).post(_signoff_path(item), json=REASON)
    assert resp.status_code == 404 and resp.json()["detail"] == "No such item."
    assert api_client(None).post(_signoff_path(item), json=REASON).status_code == 401
    # Even an item the outsider may read (published to all members) is not theirs to sign off: a revision's
    # sign-off belongs to the contributor's own counsel.
    shared = xf.published(db, admin)
    shared.details = SENSITIVE  # as a revision would bring it
    db.commit()
    assert api_client(outsider).get(f"/api/v1/exchange/items/{shared.id}").status_code == 200
    assert api_client(outsider).post(_signoff_path(shared), json=REASON).status_code == 404
    assert db.execute(select(CounselSignoff).where(CounselSignoff.item_id == shared.id)).first() is None


def test_counsel_changes_nothing_else(db: Session, make_actor: Callable[..., Actor], api_client: Client) -> None:
    admin = make_actor()
    org = db.get_one(Organization, admin.org_id)
    item = xf.draft(db, admin, details="A jailbreak that works on every model we tried.")
    counsel = make_actor(organization=org, role=Role.counsel)
    db.commit()
    client = api_client(counsel)
    # No member management.
    added = client.post("/api/v1/members", json={"email": "new@example.test", "role": "counsel"})
    assert added.status_code == 403
    promoted = client.patch(f"/api/v1/members/{factories.membership(db, counsel).id}", json={"role": "admin"})
    assert promoted.status_code == 403
    # No incident writing, though counsel reads the org's incidents and reports.
    incident = client.post(
        "/api/v1/response/incidents",
        json={
            "title": "Jailbreak seen",
            "severity": "sev2",
            "risk_domain": "misuse",
            "aware_at": (utcnow() - timedelta(hours=1)).isoformat(),
        },
    )
    assert incident.status_code == 403
    assert client.get("/api/v1/response/incidents").status_code == 200
    # No writing, publishing or responding in the exchange.
    assert (
        client.patch(f"/api/v1/exchange/items/{item.id}", json=xf.item_in().model_dump(mode="json")).status_code == 403
    )
    assert client.post(f"/api/v1/exchange/items/{item.id}/publish", json={}).status_code == 403
    assert client.post("/api/v1/exchange/items", json=xf.item_in().model_dump(mode="json")).status_code == 403
    # The audit log is the admins': counsel reads none of it.
    audit = client.get("/api/v1/audit")
    assert audit.status_code == 200 and audit.json() == []


def test_a_self_sign_off_does_not_let_the_signer_publish_and_edits_void_it(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    admin = make_actor()
    org = db.get_one(Organization, admin.org_id)
    item = xf.draft(db, admin, details=SENSITIVE)
    # A sign-off stored before counsel existed (an admin's, or anyone's on their own behalf) never lets the same
    # person's override through: require_counsel counts only someone else's.
    db.add(
        CounselSignoff(
            item_id=item.id,
            org_id=org.id,
            user_id=admin.user_id,
            content_hash=content_hash(item),
            reason="I am counsel and I approve.",
            findings=[],
        )
    )
    db.commit()
    publish = f"/api/v1/exchange/items/{item.id}/publish"
    assert api_client(admin).post(publish, json={"screening_override_reason": "Approved by myself."}).status_code == 409
    counsel = make_actor(organization=org, role=Role.counsel)
    db.commit()
    assert api_client(counsel).post(_signoff_path(item), json=REASON).status_code == 201
    db.expire_all()
    edited = db.get_one(ExchangeItem, item.id)
    edited.details = SENSITIVE + " Discounts stay the same for everyone, we agreed."
    db.commit()
    stale = api_client(admin).post(publish, json={"screening_override_reason": "Counsel signed off earlier."})
    assert stale.status_code == 409 and "counsel" in stale.json()["detail"]


# -- "My work" list of drafts awaiting sign-off: unchanged drafts are screened once (counsel._FindingsCache) --

WAGES = "We agreed with the other labs not to poach each other's red-teamers."
CLEAN = "A jailbreak that works on every model we tried."


@pytest.fixture()
def screenings(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    """The fields of every screening awaiting_sign_off runs (it screens through screening.screen)."""
    calls: list[dict[str, str]] = []
    real = screening.screen

    def counting(fields: dict[str, str], **kwargs: Any) -> list[Finding]:
        calls.append(dict(fields))
        return real(fields, **kwargs)

    monkeypatch.setattr(screening, "screen", counting)
    return calls


def _awaiting(db: Session, actor: Actor) -> dict[str, list[str]]:
    return {
        w.item.title: [f"{f.rule_id}@{f.field}" for f in w.findings]
        for w in counsel_service.awaiting_sign_off(db, actor)
    }


def _org_with_counsel(db: Session, make_actor: Callable[..., Actor]) -> tuple[Actor, Actor]:
    admin = make_actor()
    return admin, make_actor(organization=db.get_one(Organization, admin.org_id), role=Role.counsel)


def test_awaiting_sign_off_does_not_screen_unchanged_drafts_again(
    db: Session, make_actor: Callable[..., Actor], screenings: list[dict[str, str]]
) -> None:
    admin, counsel = _org_with_counsel(db, make_actor)
    xf.draft(db, admin, title="Price note", details=SENSITIVE)
    xf.draft(db, admin, title="Second note", details=WAGES)
    xf.draft(db, admin, title="Clean note", details=CLEAN)
    db.commit()
    expected = {"Price note": ["antitrust.family.prices@details"], "Second note": ["antitrust.family.wages@details"]}
    assert _awaiting(db, counsel) == expected
    assert len(screenings) == 3
    # The next poll, even in a new request, finds the same drafts without screening any of them.
    db.expire_all()
    assert _awaiting(db, counsel) == expected
    assert _awaiting(db, counsel) == expected
    assert len(screenings) == 3


def test_an_edited_draft_is_screened_again_and_shows_its_new_findings(
    db: Session, make_actor: Callable[..., Actor], screenings: list[dict[str, str]]
) -> None:
    admin, counsel = _org_with_counsel(db, make_actor)
    price = xf.draft(db, admin, title="Price note", details=SENSITIVE)
    clean = xf.draft(db, admin, title="Clean note", details=CLEAN)
    db.commit()
    assert _awaiting(db, counsel) == {"Price note": ["antitrust.family.prices@details"]}
    authoring.update_draft(db, admin, price.id, xf.item_in(title="Price note", details=WAGES))
    db.get_one(ExchangeItem, clean.id).mitigations = [SENSITIVE]
    db.commit()
    screened_before = len(screenings)
    assert _awaiting(db, counsel) == {
        "Price note": ["antitrust.family.wages@details"],
        "Clean note": ["antitrust.family.prices@mitigations[0]"],
    }
    assert len(screenings) == screened_before + 2
    # Back to the first text: its findings again, never the last ones seen for this draft.
    authoring.update_draft(db, admin, price.id, xf.item_in(title="Price note", details=CLEAN))
    db.commit()
    assert _awaiting(db, counsel) == {"Clean note": ["antitrust.family.prices@mitigations[0]"]}


def test_a_signed_off_draft_leaves_the_list_and_an_edit_brings_it_back(
    db: Session, make_actor: Callable[..., Actor], screenings: list[dict[str, str]]
) -> None:
    admin, counsel = _org_with_counsel(db, make_actor)
    item = xf.draft(db, admin, title="Price note", details=SENSITIVE)
    db.commit()
    assert _awaiting(db, counsel) == {"Price note": ["antitrust.family.prices@details"]}
    counsel_service.sign_off(db, counsel, item.id, REASON["reason"])
    db.commit()
    assert _awaiting(db, counsel) == {}
    db.get_one(ExchangeItem, item.id).details = SENSITIVE + " " + WAGES
    db.commit()
    assert _awaiting(db, counsel) == {
        "Price note": ["antitrust.family.prices@details", "antitrust.family.wages@details"]
    }


def test_a_text_attachment_counts_though_the_sign_off_hash_leaves_it_out(
    db: Session, make_actor: Callable[..., Actor], screenings: list[dict[str, str]]
) -> None:
    admin, counsel = _org_with_counsel(db, make_actor)
    item = xf.draft(db, admin, title="Clean note", details=CLEAN)
    db.commit()
    assert _awaiting(db, counsel) == {}
    before = content_hash(item)
    authoring.add_attachment(
        db, admin, item.id, filename="plan.txt", content_type="text/plain", data=SENSITIVE.encode()
    )
    db.commit()
    assert content_hash(item) == before  # so the cache cannot key on content_hash alone
    assert _awaiting(db, counsel) == {"Clean note": ["antitrust.family.prices@attachment:plan.txt"]}
    assert screenings[-1]["attachment:plan.txt"] == SENSITIVE


def test_the_same_text_in_another_org_is_screened_for_that_org(
    db: Session, make_actor: Callable[..., Actor], screenings: list[dict[str, str]]
) -> None:
    admin, counsel = _org_with_counsel(db, make_actor)
    other_admin, other_counsel = _org_with_counsel(db, make_actor)
    mine = xf.draft(db, admin, title="Price note", details=SENSITIVE)
    theirs = xf.draft(db, other_admin, title="Price note", details=SENSITIVE)
    db.commit()
    assert [w.item.id for w in counsel_service.awaiting_sign_off(db, counsel)] == [mine.id]
    assert len(screenings) == 1
    # Nothing cached for the first org serves the second, not even the same text's findings.
    assert [w.item.id for w in counsel_service.awaiting_sign_off(db, other_counsel)] == [theirs.id]
    assert len(screenings) == 2


def test_new_screening_rules_screen_the_drafts_again(
    db: Session,
    make_actor: Callable[..., Actor],
    screenings: list[dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin, counsel = _org_with_counsel(db, make_actor)
    xf.draft(db, admin, title="Price note", details=SENSITIVE)
    db.commit()
    assert _awaiting(db, counsel) == {"Price note": ["antitrust.family.prices@details"]}
    assert len(screenings) == 1
    # Rules without the family rules' prices family: the cached finding must not outlive them.
    rules = antitrust.default_family_rules()
    fewer = dataclasses.replace(rules, families=tuple(f for f in rules.families if f.id != "prices"))
    monkeypatch.setattr(antitrust, "default_family_rules", lambda: fewer)
    found = _awaiting(db, counsel)
    assert len(screenings) == 2
    assert "antitrust.family.prices@details" not in found.get("Price note", [])
    # Recompiled keyword rules, too, are new rules: screened once more, then cached again.
    recompiled = screening.load_rules()
    monkeypatch.setattr(screening, "default_rules", lambda: recompiled)
    assert _awaiting(db, counsel) == found
    assert _awaiting(db, counsel) == found
    assert len(screenings) == 3


def test_a_draft_too_large_to_screen_is_left_out_and_not_screened_again(
    db: Session, make_actor: Callable[..., Actor], screenings: list[dict[str, str]]
) -> None:
    admin, counsel = _org_with_counsel(db, make_actor)
    item = xf.draft(db, admin, title="Price note", details=SENSITIVE)
    big = (SENSITIVE + "\n").encode() * (screening.MAX_SCREEN_CHARS // len(SENSITIVE) + 1)
    authoring.add_attachment(db, admin, item.id, filename="dump.txt", content_type="text/plain", data=big)
    db.commit()
    assert _awaiting(db, counsel) == {}
    assert _awaiting(db, counsel) == {}
    assert len(screenings) == 1


def test_findings_follow_the_order_of_the_fields() -> None:
    # Screening reports findings field by field, so fields in another order are another entry.
    org_id = uuid.uuid4()
    first = counsel_service._findings_cache.antitrust(org_id, {"a": SENSITIVE, "b": WAGES})
    second = counsel_service._findings_cache.antitrust(org_id, {"b": WAGES, "a": SENSITIVE})
    assert first is not None and second is not None
    assert [f.field for f in first] == ["a", "b"] and [f.field for f in second] == ["b", "a"]


# -- what a sign-off covers: the texts and the files attached (sanitise.service.signoff_hash) ----------------


def _publish(api_client: Client, actor: Actor, item: ExchangeItem) -> Any:
    path = f"/api/v1/exchange/items/{item.id}/publish"
    return api_client(actor).post(path, json={"screening_override_reason": "Counsel signed off on this."})


def test_a_file_attached_after_the_sign_off_voids_it(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    admin, counsel = _org_with_counsel(db, make_actor)
    item = xf.draft(db, admin, title="Price note", details=SENSITIVE)
    db.commit()
    assert api_client(counsel).post(_signoff_path(item), json=REASON).status_code == 201
    # Text counsel never saw, in a file attached after the sign-off: publishing under that sign-off is refused.
    authoring.add_attachment(db, admin, item.id, filename="plan.txt", content_type="text/plain", data=WAGES.encode())
    db.commit()
    refused = _publish(api_client, admin, item)
    assert refused.status_code == 409 and "counsel" in refused.json()["detail"]
    assert _awaiting(db, counsel) == {
        "Price note": ["antitrust.family.prices@details", "antitrust.family.wages@attachment:plan.txt"]
    }
    # Counsel signs off the item as it now is, and it goes out.
    assert api_client(counsel).post(_signoff_path(item), json=REASON).status_code == 201
    assert _awaiting(db, counsel) == {}
    assert _publish(api_client, admin, item).status_code == 200


def test_any_attached_file_voids_the_sign_off_not_only_text(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    # An image is not screened, but counsel signed off the item as it was: a file added since is not covered.
    admin, counsel = _org_with_counsel(db, make_actor)
    item = xf.draft(db, admin, title="Price note", details=SENSITIVE)
    db.commit()
    assert api_client(counsel).post(_signoff_path(item), json=REASON).status_code == 201
    authoring.add_attachment(db, admin, item.id, filename="chart.png", content_type="image/png", data=b"\x89PNG...")
    db.commit()
    assert _publish(api_client, admin, item).status_code == 409


def test_counsel_sees_the_files_the_sign_off_covers_in_its_order(
    db: Session, make_actor: Callable[..., Actor], api_client: Client, browser_client: Client
) -> None:
    admin, counsel = _org_with_counsel(db, make_actor)
    item = xf.draft(db, admin, title="Price note", details=SENSITIVE)
    db.commit()
    page = browser_client(counsel).get(f"/exchange/items/{item.id}").text
    form = page.split('data-testid="counsel-sign-off"', 1)[1].split("</form>", 1)[0]
    assert 'data-testid="signed-files-none"' in form
    files = [("plan.txt", "text/plain", b"Roll the fix out next week."), ("chart.png", "image/png", b"\x89PNG chart")]
    for filename, content_type, data in files:
        authoring.add_attachment(db, admin, item.id, filename=filename, content_type=content_type, data=data)
    db.commit()
    page = browser_client(counsel).get(f"/exchange/items/{item.id}").text
    form = page.split('data-testid="counsel-sign-off"', 1)[1].split("</form>", 1)[0]
    rows = form.split('data-testid="signed-files"', 1)[1].split("</table>", 1)[0].split("<tr>")[2:]
    digests = [hashlib.sha256(data).hexdigest() for _, _, data in files]
    assert len(rows) == len(files)
    for row, (filename, content_type, data), digest in zip(rows, files, digests, strict=True):
        for shown in (filename, content_type, f"{len(data)} bytes", digest):
            assert shown in row, (shown, row)
    # The list is what the sign-off is bound to: the text, then these files in this order.
    assert api_client(counsel).post(_signoff_path(item), json=REASON).status_code == 201
    signoff = db.execute(select(CounselSignoff).where(CounselSignoff.item_id == item.id)).scalar_one()
    db.expire_all()
    pairs = [(name, digest) for (name, _, _), digest in zip(files, digests, strict=True)]
    assert signoff.content_hash == signoff_hash(db.get_one(ExchangeItem, item.id), pairs)
    # The admin, who is not counsel, gets neither the form nor the list.
    admin_page = browser_client(admin).get(f"/exchange/items/{item.id}").text
    assert 'data-testid="signed-files"' not in admin_page


def test_an_item_without_files_keeps_the_hash_sign_offs_were_given_for() -> None:
    # Sign-offs stored before files counted were bound to content_hash; for items with no files they still hold.
    item = ExchangeItem(title="t", summary="s", details=SENSITIVE, indicators="", mitigations=["m"])
    assert signoff_hash(item, []) == content_hash(item)
    with_file = signoff_hash(item, [("plan.txt", "0" * 64)])
    assert with_file != content_hash(item)
    assert signoff_hash(item, [("plan.txt", "1" * 64)]) != with_file
    assert signoff_hash(item, [("other.txt", "0" * 64)]) != with_file


def test_two_text_files_of_one_name_are_both_screened(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    # Under one field name the second file would hide the first from screening, though both are published.
    admin, counsel = _org_with_counsel(db, make_actor)
    item = xf.draft(db, admin, title="Clean note", details=CLEAN)
    for text in (SENSITIVE, CLEAN):
        authoring.add_attachment(
            db, admin, item.id, filename="notes.txt", content_type="text/plain", data=text.encode()
        )
    db.commit()
    findings = [f"{f.rule_id}@{f.field}" for f in authoring.screen_item(db, item)]
    assert "antitrust.family.prices@attachment:notes.txt" in findings
    assert api_client(admin).post(f"/api/v1/exchange/items/{item.id}/publish", json={}).status_code == 409
    authoring.add_attachment(db, admin, item.id, filename="notes.txt", content_type="text/plain", data=WAGES.encode())
    db.commit()
    assert _awaiting(db, counsel) == {
        "Clean note": [
            "antitrust.family.prices@attachment:notes.txt",
            "antitrust.family.wages@attachment:notes.txt (3)",
        ]
    }
