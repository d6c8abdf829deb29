"""A lesson's sanitisation: preview, second-person sign-off (audited), publishing gate, access."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, Role
from signalfire.audit.models import AuditEvent
from signalfire.core.errors import Conflict
from signalfire.exchange import authoring
from signalfire.exchange.models import ExchangeItem, ItemStatus
from signalfire.exchange.sanitise.service import content_hash, current_hash, sanitisation_of, signoff_hash
from tests.exchange import factories as xf

Client = Callable[[Actor | None], TestClient]


def _lesson(db: Session, lab: Actor, api_client: Client) -> ExchangeItem:
    review = xf.closed_review(db, lab, reference="INC-2026-0311")
    review.went_badly = (
        "Alert 5be0c3a9d1f27e84 with env=prod paged through https://alerts.corp/x; acme-lm-4.2.1 was served "
        "from 10.8.0.12 while Dr. Maya Chen watched."
    )
    db.commit()
    resp = api_client(lab).post(
        "/api/v1/exchange/lessons",
        json={"review_id": str(review.id), "category": "vulnerability", "permitted_uses": ["safeguards"]},
    )
    assert resp.status_code == 201, resp.text
    return db.get_one(ExchangeItem, uuid.UUID(resp.json()["id"]))


def _second_person_signs_off(
    make_actor: Callable[..., Actor], api_client: Client, org: Organization, item: ExchangeItem
) -> None:
    """A member of the lab other than the drafter signs the sanitisation off, for the item as it is now."""
    reviewer = make_actor(organization=org)
    signed = api_client(reviewer).post(f"/api/v1/exchange/items/{item.id}/sanitisation/sign-off")
    assert signed.status_code == 200, signed.text
    assert signed.json()["signed_off_current"] is True


def _signed_off_lesson(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> tuple[Actor, Organization, ExchangeItem]:
    """A lesson whose sanitisation a second person of the lab has signed off (the item as loaded since)."""
    lab = make_actor()
    org = db.get_one(Organization, lab.org_id)
    item = _lesson(db, lab, api_client)
    _second_person_signs_off(make_actor, api_client, org, item)
    db.expire_all()
    return lab, org, db.get_one(ExchangeItem, item.id)


def test_preview_sign_off_and_publish(db: Session, make_actor: Callable[..., Actor], api_client: Client) -> None:
    lab = make_actor()
    org = db.get_one(Organization, lab.org_id)
    item = _lesson(db, lab, api_client)
    assert item.details.split("What made it worse\n")[1].startswith(
        "Alert [alert-fingerprint-1] with env=[redacted] paged through [internal-url-1]; [model-version-1] was "
        "served from [ip-1] while [person-1] watched."
    )
    preview = api_client(lab).get(f"/api/v1/exchange/items/{item.id}/sanitisation")
    assert preview.status_code == 200, preview.text
    body = preview.json()
    originals = {(c["entity"], c["original"]) for c in body["changes"]}
    assert {
        ("INCIDENT_REF", "INC-2026-0311"),
        ("ALERT_FINGERPRINT", "5be0c3a9d1f27e84"),
        ("ALERT_LABEL", "env=prod"),
        ("INTERNAL_URL", "https://alerts.corp/x"),
        ("MODEL_VERSION", "acme-lm-4.2.1"),
        ("IP_ADDRESS", "10.8.0.12"),
        ("PERSON", "Dr. Maya Chen"),
        ("HOSTNAME", "build-runner-7.internal"),
    } <= originals
    assert body["remaining"] == [] and body["can_sign_off"] is False  # the drafter cannot sign off

    # Not signed off: publishing is refused.
    assert api_client(lab).post(f"/api/v1/exchange/items/{item.id}/publish", json={}).status_code == 409
    # The drafter cannot sign off their own sanitisation.
    assert api_client(lab).post(f"/api/v1/exchange/items/{item.id}/sanitisation/sign-off").status_code == 403

    reviewer = make_actor(organization=org)
    signed = api_client(reviewer).post(f"/api/v1/exchange/items/{item.id}/sanitisation/sign-off")
    assert signed.status_code == 200, signed.text
    assert signed.json()["signed_off_current"] is True
    published = api_client(lab).post(f"/api/v1/exchange/items/{item.id}/publish", json={})
    assert published.status_code == 200, published.text
    db.expire_all()
    assert db.get_one(ExchangeItem, item.id).status == ItemStatus.PUBLISHED
    actions = db.execute(select(AuditEvent.action).where(AuditEvent.target_id == str(item.id))).scalars().all()
    assert {
        "exchange.item.sanitised",
        "exchange.item.sanitisation_signed_off",
        "exchange.item.sanitisation_viewed",
    } <= set(actions)


def test_editing_after_sign_off_voids_it_and_screening_reports_reinserted_identifiers(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    lab, _org, item = _signed_off_lesson(db, make_actor, api_client)
    item.summary = item.summary + " Follow-up in INC-2026-0312 on gpu-node-4."
    db.commit()
    rules = {f.rule_id for f in authoring.screen_item(db, item)}
    assert {"sanitise.incident_ref", "sanitise.hostname"} <= rules
    blocked = api_client(lab).post(
        f"/api/v1/exchange/items/{item.id}/publish", json={"screening_override_reason": "reviewed by hand already"}
    )
    assert blocked.status_code == 409  # the sign-off no longer matches the text
    again = api_client(lab).post(f"/api/v1/exchange/items/{item.id}/sanitisation/again")
    assert again.status_code == 200 and again.json()["remaining"] == [] and again.json()["signed_off_current"] is False


def test_the_preview_is_only_for_the_owning_org(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    lab = make_actor()
    item = _lesson(db, lab, api_client)
    other_org = make_actor()
    viewer = make_actor(organization=db.get_one(Organization, lab.org_id), role=Role.viewer)
    path = f"/api/v1/exchange/items/{item.id}/sanitisation"
    assert api_client(other_org).get(path).status_code == 404
    assert api_client(viewer).get(path).status_code in (403, 404)
    assert api_client(None).get(path).status_code == 401
    assert api_client(other_org).post(path + "/sign-off").status_code == 404


def test_the_preview_page_shows_every_change_and_a_second_person_signs_off(
    db: Session, make_actor: Callable[..., Actor], api_client: Client, browser_client: Client
) -> None:
    lab = make_actor()
    org = db.get_one(Organization, lab.org_id)
    item = _lesson(db, lab, api_client)
    page = browser_client(lab).get(f"/exchange/items/{item.id}/sanitisation")
    assert page.status_code == 200
    html = page.text
    assert 'id="sanitisation-changes"' in html and "<script" not in html.split("</header>")[-1]
    for original, replacement in (
        ("INC-2026-0311", "[incident-ref-1]"),
        ("5be0c3a9d1f27e84", "[alert-fingerprint-1]"),
        ("env=prod", "env=[redacted]"),
        ("Dr. Maya Chen", "[person-1]"),
    ):
        assert f'<td class="mono break-all">{original}</td><td class="mono break-all">{replacement}</td>' in html
    assert "sanitisation/sign-off" not in html  # the drafter gets no sign-off button
    draft_page = browser_client(lab).get(f"/exchange/items/{item.id}")
    assert 'data-testid="sanitisation-link"' in draft_page.text

    reviewer = make_actor(organization=org)
    reviewer_client = browser_client(reviewer)
    review_page = reviewer_client.get(f"/exchange/items/{item.id}/sanitisation")
    assert f'action="/exchange/items/{item.id}/sanitisation/sign-off"' in review_page.text
    signed = reviewer_client.post(f"/exchange/items/{item.id}/sanitisation/sign-off", follow_redirects=False)
    assert signed.status_code == 303
    after = reviewer_client.get(f"/exchange/items/{item.id}/sanitisation")
    assert 'id="sanitisation-signed"' in after.text


def test_a_draft_promoted_from_intake_is_sanitised_and_waits_for_sign_off(
    db: Session, make_actor: Callable[..., Actor]
) -> None:
    from signalfire.intake import service as intake_service
    from signalfire.intake.schemas import PromoteExchangeIn
    from tests.intake import factories as intake_factories

    lab = make_actor()
    signal = intake_factories.signal(
        db,
        lab.org_id,
        title="Prompt injection via calendar invites",
        text="Seen on agent-worker-12.acme.internal; contact ops at +44 20 7946 0958 or 198.51.100.23.",
    )
    done = intake_service.promote_to_exchange(db, lab, signal, PromoteExchangeIn())
    item = db.get_one(ExchangeItem, done.exchange_item_id)
    everything = " ".join([item.title, item.summary, item.details])
    for leaked in ("agent-worker-12.acme.internal", "+44 20 7946 0958", "198.51.100.23", signal.reference):
        assert leaked not in everything
    assert "[host-1]" in item.summary and "[intake-ref-1]" in item.details
    record = sanitisation_of(db, item.id)
    assert record is not None and record.source == "intake"
    with pytest.raises(Conflict):
        authoring.publish(db, lab, item.id)


def _as_signed_off_before_files_were_checked(db: Session, item: ExchangeItem) -> None:
    """A sign-off stored for the item as it is now, files included, without sign_off's check of the files
    (as sign-offs given before it read them): the publishing gate must still stop what the files hold."""
    record = sanitisation_of(db, item.id)
    assert record is not None and record.signed_off_by_id is not None
    record.signed_off_hash = current_hash(db, item)
    db.commit()


def test_identifiers_in_a_file_attached_to_a_signed_off_lesson_stop_publishing(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    lab, _org, item = _signed_off_lesson(db, make_actor, api_client)
    # The raw alert text, pasted into a file after the sign-off: it would be published with the lesson.
    raw = "Alert 5be0c3a9d1f27e84 fired on build-runner-7.internal; acme-lm-4.2.1 rolled back."
    authoring.add_attachment(db, lab, item.id, filename="timeline.txt", content_type="text/plain", data=raw.encode())
    db.commit()
    # The file voids the sign-off, and sign_off now refuses it (below); a sign-off that holds anyway meets the
    # identifier check at publishing.
    _as_signed_off_before_files_were_checked(db, item)
    blocked = api_client(lab).post(f"/api/v1/exchange/items/{item.id}/publish", json={})
    assert blocked.status_code == 409, blocked.text
    flagged = [(e["field"], e["message"]) for e in blocked.json()["errors"]]
    assert [field for field, _ in flagged] == ["attachment:timeline.txt"] * 3
    for label, value in (
        ("Alert fingerprint", "5be0c3a9d1f27e84"),
        ("Hostname", "build-runner-7.internal"),
        ("Model version", "acme-lm-4.2.1"),
    ):
        assert any(label in message and value in message for _, message in flagged), (label, flagged)
    db.expire_all()
    assert db.get_one(ExchangeItem, item.id).status == ItemStatus.DRAFT


def test_a_file_too_large_for_the_identifier_check_is_refused_not_published_unchecked(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    from signalfire.exchange.sanitise.engine import MAX_SANITISE_CHARS

    lab, org, item = _signed_off_lesson(db, make_actor, api_client)
    big = ("Nothing to see in this line of the log.\n" * (MAX_SANITISE_CHARS // 40 + 1)).encode()
    authoring.add_attachment(db, lab, item.id, filename="log.txt", content_type="text/plain", data=big)
    db.commit()
    # Not signed off unchecked: a 422 naming the file, and the earlier sign-off stays void.
    reviewer = make_actor(organization=org)
    refused = api_client(reviewer).post(f"/api/v1/exchange/items/{item.id}/sanitisation/sign-off")
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in refused.json()["errors"]] == ["attachment:log.txt"]
    assert "too large for the identifier check" in refused.text
    preview = api_client(reviewer).get(f"/api/v1/exchange/items/{item.id}/sanitisation")
    assert preview.status_code == 200, preview.text  # the preview still opens, and says why
    assert list(preview.json()["too_large"]) == ["attachment:log.txt"]
    assert preview.json()["signed_off_current"] is False
    # Nor published unchecked under a sign-off that holds anyway.
    _as_signed_off_before_files_were_checked(db, item)
    refused = api_client(lab).post(f"/api/v1/exchange/items/{item.id}/publish", json={})
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "attachment:log.txt" in refused.text
    db.expire_all()
    assert db.get_one(ExchangeItem, item.id).status == ItemStatus.DRAFT


def test_identifiers_in_an_attached_text_file_stop_the_sign_off(
    db: Session, make_actor: Callable[..., Actor], api_client: Client, browser_client: Client
) -> None:
    lab = make_actor()
    org = db.get_one(Organization, lab.org_id)
    item = _lesson(db, lab, api_client)
    raw = "Paged ops-lead@acme-lab.example.org, then blocked 198.51.100.23 at the edge."
    authoring.add_attachment(db, lab, item.id, filename="notes.txt", content_type="text/plain", data=raw.encode())
    db.commit()
    reviewer = make_actor(organization=org)
    sign_off = f"/api/v1/exchange/items/{item.id}/sanitisation/sign-off"

    refused = api_client(reviewer).post(sign_off)
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"].endswith("identifiers-remain")
    detail = refused.json()["detail"]
    for label in ("E-mail address", "IP address"):
        assert f"{label} in a file attached to a text: notes.txt" in detail, detail
    record = sanitisation_of(db, item.id)
    assert record is not None and record.signed_off_hash is None and record.signed_off_by_id is None

    # The preview lists them with the texts' and offers no sign-off.
    preview = api_client(reviewer).get(f"/api/v1/exchange/items/{item.id}/sanitisation").json()
    remaining = {(r["field"], r["entity"], r["text"]) for r in preview["remaining"]}
    assert remaining == {
        ("attachment:notes.txt", "EMAIL_ADDRESS", "ops-lead@acme-lab.example.org"),
        ("attachment:notes.txt", "IP_ADDRESS", "198.51.100.23"),
    }
    page_client = browser_client(reviewer)
    page = page_client.get(f"/exchange/items/{item.id}/sanitisation").text
    assert 'id="sanitisation-remaining"' in page and "attachment:notes.txt" in page and "198.51.100.23" in page
    assert f'action="/exchange/items/{item.id}/sanitisation/sign-off"' not in page
    assert 'action="/exchange/items/{item.id}/sanitisation/again"' not in page  # the sanitiser won't fix a file
    # A form posted anyway (an older page) is refused, and the page says which file.
    posted = page_client.post(f"/exchange/items/{item.id}/sanitisation/sign-off", follow_redirects=False)
    assert posted.status_code == 409
    assert "a file attached to a text: notes.txt" in posted.text
    assert api_client(lab).post(f"/api/v1/exchange/items/{item.id}/publish", json={}).status_code == 409

    # A lesson whose file is clean is signed off (here another lab's lesson; removing the file is tested in
    # test_remove_attachment.py).
    other = make_actor()
    clean = _lesson(db, other, api_client)
    note = b"Rolled the filter back, then retrained it on the new prompts."
    authoring.add_attachment(db, other, clean.id, filename="notes.txt", content_type="text/plain", data=note)
    db.commit()
    _second_person_signs_off(make_actor, api_client, db.get_one(Organization, other.org_id), clean)
    published = api_client(other).post(f"/api/v1/exchange/items/{clean.id}/publish", json={})
    assert published.status_code == 200, published.text


# -- what the sign-off covers: the texts and every file attached (sanitise.service.signoff_hash) -------------


@pytest.mark.parametrize(
    ("filename", "content_type", "data"),
    [
        ("timeline.txt", "text/plain", b"Rolled the filter back, then retrained it on the new prompts."),
        ("chart.png", "image/png", b"\x89PNG\r\n\x1a\n a chart nobody screened"),
    ],
    ids=["text", "image"],
)
def test_a_file_attached_after_the_sign_off_voids_it_until_signed_off_again(
    db: Session,
    make_actor: Callable[..., Actor],
    api_client: Client,
    browser_client: Client,
    filename: str,
    content_type: str,
    data: bytes,
) -> None:
    lab, org, item = _signed_off_lesson(db, make_actor, api_client)
    preview = f"/api/v1/exchange/items/{item.id}/sanitisation"
    authoring.add_attachment(db, lab, item.id, filename=filename, content_type=content_type, data=data)
    db.commit()

    # Published with the lesson, but never seen by the person who signed off: the sign-off no longer holds.
    refused = api_client(lab).post(f"/api/v1/exchange/items/{item.id}/publish", json={})
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"].endswith("sanitisation-not-signed-off")
    state = api_client(lab).get(preview).json()
    assert state["signed_off_at"] is not None and state["signed_off_current"] is False
    reviewer = make_actor(organization=org)
    page = browser_client(reviewer).get(f"/exchange/items/{item.id}/sanitisation").text
    assert 'id="sanitisation-signed"' not in page and "no longer matches" in page
    assert f'action="/exchange/items/{item.id}/sanitisation/sign-off"' in page
    db.expire_all()
    assert db.get_one(ExchangeItem, item.id).status == ItemStatus.DRAFT

    # Signed off again, with the file: it goes out.
    _second_person_signs_off(make_actor, api_client, org, item)
    assert api_client(lab).get(preview).json()["signed_off_current"] is True
    published = api_client(lab).post(f"/api/v1/exchange/items/{item.id}/publish", json={})
    assert published.status_code == 200, published.text
    db.expire_all()
    assert db.get_one(ExchangeItem, item.id).status == ItemStatus.PUBLISHED


def _texts_hash(item: ExchangeItem) -> str:
    """The hash sign-offs were bound to before files counted, written out here rather than imported."""
    texts = {"title": item.title, "summary": item.summary, "details": item.details, "indicators": item.indicators}
    texts |= {f"mitigations[{i}]": mitigation for i, mitigation in enumerate(item.mitigations)}
    canonical = json.dumps(texts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_a_lesson_without_files_keeps_the_hash_sign_offs_were_given_for(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    lab, _org, item = _signed_off_lesson(db, make_actor, api_client)
    record = sanitisation_of(db, item.id)
    # Signed off without files, the stored hash is the texts' alone, as every sign-off stored before files counted.
    assert record is not None and record.signed_off_hash == _texts_hash(item) == content_hash(item)
    # So those still hold: the preview shows the sign-off current and the lesson goes out.
    assert api_client(lab).get(f"/api/v1/exchange/items/{item.id}/sanitisation").json()["signed_off_current"] is True
    published = api_client(lab).post(f"/api/v1/exchange/items/{item.id}/publish", json={})
    assert published.status_code == 200, published.text


def test_the_sign_off_hash_follows_each_file_and_its_order() -> None:
    item = ExchangeItem(title="t", summary="s", details="d", indicators="", mitigations=["m"])
    assert signoff_hash(item, []) == _texts_hash(item)
    one = signoff_hash(item, [("a.txt", "0" * 64)])
    two = signoff_hash(item, [("a.txt", "0" * 64), ("b.png", "1" * 64)])
    renamed, changed = signoff_hash(item, [("b.txt", "0" * 64)]), signoff_hash(item, [("a.txt", "1" * 64)])
    assert len({_texts_hash(item), one, two, renamed, changed}) == 5
    assert signoff_hash(item, [("b.png", "1" * 64), ("a.txt", "0" * 64)]) != two


# -- what the signer sees: every file the sign-off covers, in the order its hash takes them ------------------

_FILES = (  # uploaded in this order, which is neither the names' nor the types' order
    ("timeline.txt", "text/plain", b"Rolled the filter back, then retrained it on the new prompts."),
    ("chart.png", "image/png", b"\x89PNG\r\n\x1a\n a chart the sanitiser cannot read"),
    ("after.csv", "text/csv", b"day,refusals\n1,12\n2,40\n"),
)


def test_the_signer_sees_every_file_the_sign_off_covers_in_its_order(
    db: Session, make_actor: Callable[..., Actor], api_client: Client, browser_client: Client
) -> None:
    lab = make_actor()
    org = db.get_one(Organization, lab.org_id)
    item = _lesson(db, lab, api_client)
    reviewer = make_actor(organization=org)
    page_path, api_path = f"/exchange/items/{item.id}/sanitisation", f"/api/v1/exchange/items/{item.id}/sanitisation"
    assert api_client(reviewer).get(api_path).json()["files"] == []
    assert 'data-testid="signed-files-none"' in browser_client(reviewer).get(page_path).text
    for filename, content_type, data in _FILES:
        authoring.add_attachment(db, lab, item.id, filename=filename, content_type=content_type, data=data)
    db.commit()
    expected = [
        {"filename": name, "content_type": ctype, "size_bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        for name, ctype, data in _FILES
    ]

    assert api_client(reviewer).get(api_path).json()["files"] == expected
    page = browser_client(reviewer).get(page_path)
    assert page.status_code == 200
    html = page.text
    table = html.split('data-testid="signed-files"', 1)[1].split("</table>", 1)[0]
    rows = table.split("<tr>")[2:]  # after the header row
    assert len(rows) == len(expected)
    for row, file in zip(rows, expected, strict=True):
        for shown in (file["filename"], file["content_type"], f"{file['size_bytes']} bytes", file["sha256"]):
            assert str(shown) in row, (shown, row)
    # Strict CSP: the page carries no inline script or style.
    body = html.split("</header>")[-1]
    assert "<script" not in body and "style=" not in html and "<style" not in html

    # What the page lists is what the sign-off is bound to: the texts, then these files in this order.
    _second_person_signs_off(make_actor, api_client, org, item)
    db.expire_all()
    record = sanitisation_of(db, item.id)
    pairs = [(str(file["filename"]), str(file["sha256"])) for file in expected]
    assert record is not None and record.signed_off_hash == signoff_hash(db.get_one(ExchangeItem, item.id), pairs)


def test_the_openapi_documents_the_files_of_the_sanitisation(api_client: Client) -> None:
    schema = api_client(None).get("/api/v1/openapi.json").json()["components"]["schemas"]
    files = schema["SanitisationOut"]["properties"]["files"]
    assert files["items"]["$ref"].endswith("/SignedFileOut")
    assert set(schema["SignedFileOut"]["required"]) == {"filename", "content_type", "size_bytes", "sha256"}
