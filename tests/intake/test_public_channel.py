"""The public form, receipts and status page, and the downstream developers' report API."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, OrgKind
from signalfire.audit.models import AuditEvent
from signalfire.core.web.idempotency import IdempotencyRecord
from signalfire.intake import service
from signalfire.intake.models import Attachment, Signal, SourceKind, TriageState
from signalfire.intake.schemas import DismissIn
from tests.intake import factories as f

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
JSON = {"Accept": "application/json"}


def _slug(db: Session, actor: Actor) -> str:
    org = db.get(Organization, actor.org_id)
    assert org is not None
    return org.slug


def _form(client: TestClient, slug: str) -> dict[str, str]:
    page = client.get(f"/report/{slug}")
    assert page.status_code == 200, page.text
    return {"csrf_token": CSRF.findall(page.text)[0], "form_token": FORM_TOKEN.findall(page.text)[0]}


def _report(**over: Any) -> dict[str, Any]:
    return {
        "title": "Model gave dangerous advice",
        "description": "It explained how to bypass a safety lock.",
        "contact": "me@example.com",
        "reporter_name": "Pat",
        **over,
    }


@pytest.fixture()
def channel(db: Session, make_actor: Callable[..., Actor]) -> tuple[Actor, str]:
    admin = make_actor()
    f.open_channel(db, admin)
    db.commit()
    return admin, _slug(db, admin)


def test_public_report_gets_a_receipt_and_the_reporter_sees_only_their_status(
    client: TestClient, db: Session, channel: tuple[Actor, str]
) -> None:
    admin, slug = channel
    tokens = _form(client, slug)
    resp = client.post(f"/report/{slug}", data={**tokens, **_report()})
    assert resp.status_code == 201, resp.text
    ref = re.search(r'data-testid="receipt-reference">([^<]+)<', resp.text)
    secret = re.search(r'data-testid="receipt-secret">([^<]+)<', resp.text)
    assert ref and secret
    signal = db.execute(select(Signal).where(Signal.reference == ref.group(1))).scalar_one()
    assert signal.source_kind is SourceKind.public_form and signal.reporter_contact == "me@example.com"
    assert signal.raw_payload["description"] == _report()["description"]

    service.dismiss(db, admin, signal, DismissIn(reason="internal-only reason XYZZY"))
    db.commit()
    status = client.post(
        "/report/status",
        data={"csrf_token": tokens["csrf_token"], "reference": ref.group(1), "secret": secret.group(1)},
    )
    assert status.status_code == 200
    assert "Closed" in status.text and "XYZZY" not in status.text and str(signal.id) not in status.text
    wrong = client.post(
        "/report/status", data={"csrf_token": tokens["csrf_token"], "reference": ref.group(1), "secret": "wrong-secret"}
    )
    assert wrong.status_code == 404 and "Model gave dangerous advice" not in wrong.text

    added = client.post(
        "/report/status/add",
        data={
            "csrf_token": tokens["csrf_token"],
            "reference": ref.group(1),
            "secret": secret.group(1),
            "body": "Also on mobile.",
        },
    )
    assert added.status_code == 200 and "Also on mobile." in added.text
    assert [a.body for a in service.additions_of(db, signal)] == ["Also on mobile."]


def test_json_receipt_and_idempotent_retry(client: TestClient, db: Session, channel: tuple[Actor, str]) -> None:
    _, slug = channel
    tokens = _form(client, slug)
    headers = {**JSON, "Idempotency-Key": "retry-1"}
    first = client.post(f"/report/{slug}", data={**tokens, **_report()}, headers=headers)
    again = client.post(f"/report/{slug}", data={**tokens, **_report()}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert first.json()["reference"].startswith("SF-R-")
    count = db.execute(select(func.count()).select_from(Signal).where(Signal.reference == first.json()["reference"]))
    assert count.scalar() == 1
    # The stored answer holds no receipt secret; it is recomputed.
    stored = db.execute(select(IdempotencyRecord).where(IdempotencyRecord.key == "retry-1")).scalar_one()
    assert "receipt_secret" not in stored.response
    reused = client.post(f"/report/{slug}", data={**tokens, **_report(title="Something else")}, headers=headers)
    assert reused.status_code == 422 and reused.json()["type"].endswith("idempotency-key-reused")


def test_idempotency_key_is_bound_to_the_reporters_browser(
    client: TestClient, app: Any, db: Session, channel: tuple[Actor, str]
) -> None:
    _, slug = channel
    tokens = _form(client, slug)
    mine = client.post(f"/report/{slug}", data={**tokens, **_report()}, headers={**JSON, "Idempotency-Key": "k"})
    with TestClient(app, base_url="http://testserver") as other:
        theirs = other.post(
            f"/report/{slug}", data={**_form(other, slug), **_report()}, headers={**JSON, "Idempotency-Key": "k"}
        )
    assert theirs.status_code == 201 and theirs.json()["reference"] != mine.json()["reference"]


@pytest.mark.parametrize(
    ("extra", "status", "slug_part"),
    [
        ({"website": "http://spam.example"}, 422, "submission-refused"),
        ({"form_token": "123.deadbeef"}, 422, "validation-failed"),
        ({"form_token": ""}, 422, "validation-failed"),
        ({"title": "x"}, 422, "validation-failed"),
        ({"description": ""}, 422, "validation-failed"),
        ({"url": "javascript:alert(1)"}, 422, "validation-failed"),
    ],
)
def test_bad_submissions_are_refused_and_nothing_is_stored(
    client: TestClient, db: Session, channel: tuple[Actor, str], extra: dict[str, str], status: int, slug_part: str
) -> None:
    admin, slug = channel
    tokens = _form(client, slug)
    resp = client.post(f"/report/{slug}", data={**tokens, **_report(), **extra}, headers=JSON)
    assert resp.status_code == status, resp.text
    assert resp.json()["type"].endswith(slug_part)
    assert db.execute(select(func.count()).select_from(Signal).where(Signal.org_id == admin.org_id)).scalar() == 0


def test_a_form_sent_faster_than_a_person_types_is_refused(
    client: TestClient, db: Session, make_actor: Callable[..., Actor]
) -> None:
    admin = make_actor()
    f.open_channel(db, admin, min_fill_seconds=5)
    db.commit()
    slug = _slug(db, admin)
    start = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        tokens = _form(client, slug)
        fast = client.post(f"/report/{slug}", data={**tokens, **_report()}, headers=JSON)
    assert fast.status_code == 422 and "too quickly" in fast.json()["detail"]
    with time_machine.travel(start + timedelta(seconds=6), tick=False):
        ok = client.post(f"/report/{slug}", data={**tokens, **_report()}, headers=JSON)
    assert ok.status_code == 201


def test_public_form_is_rate_limited_per_address(
    client: TestClient, db: Session, channel: tuple[Actor, str], app: Any
) -> None:
    _, slug = channel
    app.state.settings.limits.public_submissions_per_minute = 2
    tokens = _form(client, slug)
    codes = [
        client.post(f"/report/{slug}", data={**tokens, **_report(title=f"Report {i}")}, headers=JSON).status_code
        for i in range(3)
    ]
    assert codes == [201, 201, 429]


def test_form_needs_the_anonymous_csrf_cookie(app: Any, channel: tuple[Actor, str]) -> None:
    _, slug = channel
    with TestClient(app, base_url="http://testserver") as fresh:
        resp = fresh.post(f"/report/{slug}", data=_report(), headers=JSON)
    assert resp.status_code == 403


def test_closed_or_unknown_channel_is_404(client: TestClient, db: Session, make_actor: Callable[..., Actor]) -> None:
    closed = make_actor()
    db.commit()
    assert client.get(f"/report/{_slug(db, closed)}").status_code == 404
    assert client.get("/report/no-such-org-here").status_code == 404


def test_anonymous_report_keeps_no_identity_and_attachments_are_limited(
    client: TestClient, db: Session, channel: tuple[Actor, str], app: Any, place: Callable[[], int]
) -> None:
    _, slug = channel
    tokens = _form(client, slug)
    files = [
        ("attachments", ("shot.png", b"\x89PNG fake", "image/png")),
        ("attachments", ("../../etc/passwd", b"root:x", "text/plain")),
    ]
    resp = client.post(f"/report/{slug}", data={**tokens, **_report(), "anonymous": "true"}, files=files, headers=JSON)
    assert resp.status_code == 201, resp.text
    signal = db.execute(select(Signal).where(Signal.reference == resp.json()["reference"])).scalar_one()
    assert signal.anonymous and signal.reporter_contact is None and signal.reporter_name is None
    assert signal.raw_payload["contact"] is None
    names = sorted(
        a.filename for a in db.execute(select(Attachment).where(Attachment.signal_id == signal.id)).scalars()
    )
    assert names == ["passwd", "shot.png"]
    assert place() == 1  # the audit entry is written when the worker places the signal
    audit = db.execute(select(AuditEvent).where(AuditEvent.target_id == str(signal.id))).scalar_one()
    assert audit.actor_label == "anonymous reporter" and audit.actor_user_id is None

    app.state.settings.limits.max_attachment_bytes = 10
    big = client.post(
        f"/report/{slug}",
        data={**tokens, **_report(title="Second report")},
        files=[("attachments", ("big.bin", b"x" * 11, "application/octet-stream"))],
        headers=JSON,
    )
    assert big.status_code == 422 and big.json()["errors"][0]["field"] == "attachments[0]"


def test_an_attachment_larger_than_the_ordinary_body_limit_is_accepted_up_to_its_own_limit(
    client: TestClient, db: Session, channel: tuple[Actor, str], app: Any
) -> None:
    """The attachment setting (5 MiB) is the cap, not the 2 MiB body limit of other requests."""
    _, slug = channel
    limits = app.state.settings.limits
    assert limits.max_attachment_bytes > limits.max_body_bytes
    size = limits.max_body_bytes + 512 * 1024
    resp = client.post(
        f"/report/{slug}",
        data={**_form(client, slug), **_report(title="Screen recording")},
        files=[("attachments", ("recording.webm", b"v" * size, "video/webm"))],
        headers=JSON,
    )
    assert resp.status_code == 201, resp.text
    signal = db.execute(select(Signal).where(Signal.reference == resp.json()["reference"])).scalar_one()
    stored = db.execute(select(Attachment).where(Attachment.signal_id == signal.id)).scalar_one()
    assert stored.size == size
    # Past what three attachments could need, the body is refused before anything is read.
    huge = client.post(
        f"/report/{slug}",
        content=b"x" * (limits.max_body_bytes + 4 * limits.max_attachment_bytes * 4 // 3),
        headers={**JSON, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert huge.status_code == 413 and huge.headers["content-type"].startswith("application/problem+json")


def test_non_utf8_form_text_does_not_break_the_form(
    client: TestClient, db: Session, channel: tuple[Actor, str]
) -> None:
    _, slug = channel
    tokens = _form(client, slug)
    body = (
        f"csrf_token={tokens['csrf_token']}&form_token={tokens['form_token']}&title=Caf%E9+broken"
        "&description=%FF%FE+bytes"
    ).encode()
    resp = client.post(
        f"/report/{slug}", content=body, headers={**JSON, "Content-Type": "application/x-www-form-urlencoded"}
    )
    assert resp.status_code == 201, resp.text
    stored = db.execute(select(Signal).where(Signal.reference == resp.json()["reference"])).scalar_one()
    assert stored.title.startswith("Caf") and stored.title.endswith("broken")


# -- downstream API -----------------------------------------------------------------------------------------


def test_downstream_report_by_api_with_status_and_additions(
    db: Session,
    channel: tuple[Actor, str],
    make_actor: Callable[..., Actor],
    api_client: Callable[[Actor | None], TestClient],
) -> None:
    admin, slug = channel
    dev = make_actor(kind=OrgKind.downstream)
    other = make_actor(kind=OrgKind.downstream)
    client = api_client(dev)
    body = {
        "org": slug,
        "title": "Support bot leaks system prompt",
        "description": "Ask it for a poem.",
        "model": "small-2",
        "contact": "sec@dev.example",
        "attachments": [
            {"filename": "log.txt", "content_type": "text/plain", "data_base64": base64.b64encode(b"trace").decode()}
        ],
    }
    resp = client.post("/api/v1/intake/reports", json=body, headers={"Idempotency-Key": "d-1"})
    assert resp.status_code == 201, resp.text
    ref = resp.json()["reference"]
    assert (
        client.post("/api/v1/intake/reports", json=body, headers={"Idempotency-Key": "d-1"}).json()["reference"] == ref
    )
    signal = db.execute(select(Signal).where(Signal.reference == ref)).scalar_one()
    assert signal.org_id == admin.org_id and signal.source_kind is SourceKind.downstream_api
    assert signal.submitter_org_id == dev.org_id and "Model or product: small-2" in signal.text

    status = client.get(f"/api/v1/intake/reports/{ref}")
    assert status.status_code == 200 and status.json()["status"] == "received"
    assert set(status.json()) == {
        "reference",
        "title",
        "status",
        "status_label",
        "received_at",
        "additions",
        "messages",
    }
    added = client.post(f"/api/v1/intake/reports/{ref}/additions", json={"body": "Also in French."})
    assert added.status_code == 201 and added.json()["additions"][0]["body"] == "Also in French."
    assert api_client(other).get(f"/api/v1/intake/reports/{ref}").status_code == 404
    assert api_client(None).get(f"/api/v1/intake/reports/{ref}").status_code == 401


def test_downstream_api_bad_input(
    db: Session,
    channel: tuple[Actor, str],
    make_actor: Callable[..., Actor],
    api_client: Callable[[Actor | None], TestClient],
) -> None:
    _, slug = channel
    client = api_client(make_actor(kind=OrgKind.downstream))
    ok = {"org": slug, "title": "Title here", "description": "d"}
    assert client.post("/api/v1/intake/reports", json={**ok, "org": "nobody-here"}).status_code == 404
    assert client.post("/api/v1/intake/reports", json={**ok, "surprise": 1}).status_code == 422
    bad64 = {**ok, "attachments": [{"filename": "a", "data_base64": "!!!"}]}
    resp = client.post("/api/v1/intake/reports", json=bad64)
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "attachments[0].data_base64"
    assert (
        client.post(
            "/api/v1/intake/reports", content=b"{not json", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )


def test_anonymous_downstream_report_hides_the_sender_from_the_receiver(
    db: Session,
    channel: tuple[Actor, str],
    make_actor: Callable[..., Actor],
    api_client: Callable[[Actor | None], TestClient],
) -> None:
    admin, slug = channel
    dev = make_actor(kind=OrgKind.downstream)
    resp = api_client(dev).post(
        "/api/v1/intake/reports",
        json={"org": slug, "title": "Anonymous tip", "description": "d", "anonymous": True, "contact": "x@y.z"},
    )
    assert resp.status_code == 201
    ref = resp.json()["reference"]
    detail = api_client(admin).get("/api/v1/intake/signals", params={"state": "all"}).json()
    mine = next(s for s in detail if s["reference"] == ref)
    full = api_client(admin).get(f"/api/v1/intake/signals/{mine['id']}").json()
    assert full["anonymous"] and full["reporter_contact"] is None and full["reporter_name"] is None
    events = db.execute(select(AuditEvent).where(AuditEvent.target_id == mine["id"])).scalars().all()
    # No entry names the sender (the receiver's own reads of the signal are audited under the receiver).
    assert events and all(e.actor_user_id != dev.user_id and e.org_id != dev.org_id for e in events)
    assert all(e.actor_user_id in (None, admin.user_id) for e in events)
    # The sending org can still follow it up.
    assert api_client(dev).get(f"/api/v1/intake/reports/{ref}").json()["status"] == "received"
    assert mine["state"] == TriageState.new.value


def test_signed_in_reporters_do_not_share_idempotency_keys(
    db: Session,
    channel: tuple[Actor, str],
    make_actor: Callable[..., Actor],
    browser_client: Callable[[Actor | None], TestClient],
) -> None:
    _, slug = channel
    refs = []
    for person in (make_actor(), make_actor()):
        c = browser_client(person)
        resp = c.post(
            f"/report/{slug}", data={**_form(c, slug), **_report()}, headers={**JSON, "Idempotency-Key": "same"}
        )
        assert resp.status_code == 201, resp.text
        refs.append(resp.json()["reference"])
    assert refs[0] != refs[1]
