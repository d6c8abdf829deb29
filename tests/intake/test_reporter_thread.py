"""Answering reporters: the lab's answer reaches the reporter on the status page (and by e-mail when they
left an address), the reporter replies, internal notes never reach either, anonymity is kept."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, OrgKind, Role
from signalfire.audit.models import AuditEvent
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.core.errors import Conflict, Forbidden
from signalfire.core.settings import DEV_SECRET, JobSettings, MailSettings
from signalfire.intake import public, service, thread
from signalfire.intake.models import IntakeSettings, Signal, SourceKind, ThreadMessage
from signalfire.intake.receipts import receipt_secret
from signalfire.intake.schemas import DismissIn
from signalfire.notify.models import OutboxJob
from signalfire.notify.transports import SmtpMailer
from signalfire.notify.worker import Worker
from tests import factories
from tests.conftest import SmtpSink
from tests.intake import factories as f

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ANSWER = "Thank you: we reproduced it and shipped a fix to the refusal filter."
NOTE = "INTERNAL-ONLY: reporter may be the researcher from the March case, check with counsel"


def _report(db: Session, admin: Actor, *, anonymous: bool = False, contact: str | None = "pat@example.com") -> Signal:
    org = db.get(Organization, admin.org_id)
    channel = db.get(IntakeSettings, admin.org_id)
    assert org is not None and channel is not None
    return public.submit(
        db,
        org=org,
        settings=channel,
        report=public.Report(
            title="Model gave dangerous advice",
            description="It explained how to bypass a safety lock.",
            reporter_name="Pat",
            contact=contact,
            anonymous=anonymous,
        ),
        source_kind=SourceKind.public_form,
    )


@pytest.fixture()
def admin(db: Session) -> Actor:
    a = factories.actor(db)
    f.open_channel(db, a)
    return a


def _status(client: TestClient, signal: Signal, secret: str | None = None) -> str:
    page = client.get("/report/status")
    token = CSRF.findall(page.text)[0]
    resp = client.post(
        "/report/status",
        data={
            "csrf_token": token,
            "reference": signal.reference,
            "secret": secret or receipt_secret(DEV_SECRET, signal.id),
        },
    )
    return f"{resp.status_code}\n{resp.text}"


def test_reporter_sees_the_answer_and_never_an_internal_note(
    db: Session, admin: Actor, client: TestClient, browser_client: Callable[[Actor | None], TestClient]
) -> None:
    signal = _report(db, admin)
    db.commit()
    lab = browser_client(admin)
    note = lab.post(
        f"/intake/signals/{signal.id}/messages", data={"body": NOTE, "internal": "true"}, follow_redirects=False
    )
    answer = lab.post(f"/intake/signals/{signal.id}/messages", data={"body": ANSWER}, follow_redirects=False)
    assert note.status_code == answer.status_code == 303
    # The lab sees both, the note marked internal.
    page = lab.get(f"/intake/signals/{signal.id}").text
    assert NOTE in page and ANSWER in page and "Internal note" in page
    # The reporter, with the receipt's secret, sees the answer signed by the org and no note.
    seen = _status(client, signal)
    assert seen.startswith("200") and ANSWER in seen and "INTERNAL-ONLY" not in seen
    assert db.get(Organization, admin.org_id).name in seen  # type: ignore[union-attr]
    assert admin.label not in seen  # the member who wrote it is not named
    # A wrong secret shows nothing.
    wrong = _status(client, signal, "not-the-secret")
    assert wrong.startswith("404") and ANSWER not in wrong
    # E-mail: only the answer went out, to the address the reporter left.
    jobs = db.execute(select(OutboxJob).where(OutboxJob.topic == thread.TOPIC)).scalars().all()
    assert len(jobs) == 1 and jobs[0].payload["to"] == ["pat@example.com"]
    assert ANSWER in jobs[0].payload["body"] and "INTERNAL-ONLY" not in jobs[0].payload["body"]
    assert receipt_secret(DEV_SECRET, signal.id) not in jobs[0].payload["body"]
    actions = set(db.execute(select(AuditEvent.action).where(AuditEvent.target_id == str(signal.id))).scalars())
    assert {"intake.thread.note", "intake.thread.answer"} <= actions


def test_reporter_replies_until_the_report_is_closed(db: Session, admin: Actor, client: TestClient) -> None:
    signal = _report(db, admin)
    thread.post(db, admin, signal, ANSWER, internal=False)
    db.commit()
    token = CSRF.findall(client.get("/report/status").text)[0]
    form = {"csrf_token": token, "reference": signal.reference, "secret": receipt_secret(DEV_SECRET, signal.id)}
    replied = client.post("/report/status/reply", data={**form, "body": "It still happens on mobile."})
    assert replied.status_code == 200 and "It still happens on mobile." in replied.text
    assert [m.side.value for m in thread.reporter_messages(db, signal)] == ["lab", "reporter"]
    too_long = client.post(
        "/report/status/reply", data={**form, "body": "x" * 20_001}, headers={"accept": "application/json"}
    )
    hostile = client.post(
        "/report/status/reply", data={**form, "body": "nul\u0000byte"}, headers={"accept": "application/json"}
    )
    assert too_long.status_code == hostile.status_code == 422
    assert hostile.headers["content-type"].startswith("application/problem+json")
    assert len(thread.reporter_messages(db, signal)) == 2  # refused replies store nothing
    service.dismiss(db, admin, signal, DismissIn(reason="fixed"))
    db.commit()
    closed = client.post(
        "/report/status/reply", data={**form, "body": "One more thing"}, headers={"accept": "application/json"}
    )
    assert closed.status_code == 409 and closed.headers["content-type"].startswith("application/problem+json")
    assert "closed" in closed.json()["detail"]
    assert db.execute(select(func.count()).select_from(ThreadMessage)).scalar_one() == 2  # nothing lost, nothing added
    page = _status(client, signal)
    assert "takes no more replies" in page and "It still happens on mobile." in page


def test_anonymous_reporter_gets_no_email_and_stays_anonymous(db: Session, admin: Actor) -> None:
    signal = _report(db, admin, anonymous=True, contact="anon@example.com")
    assert signal.reporter_contact is None  # not kept at all
    answer = thread.post(db, admin, signal, ANSWER, internal=False)
    assert answer.emailed is False
    assert (
        db.execute(select(func.count()).select_from(OutboxJob).where(OutboxJob.topic == thread.TOPIC)).scalar_one() == 0
    )
    reply = thread.reply(db, signal, "Thanks.")
    event = db.execute(
        select(AuditEvent).where(AuditEvent.action == "intake.thread.reply", AuditEvent.target_id == str(signal.id))
    ).scalar_one()
    assert event.actor_user_id is None and event.actor_label == "anonymous reporter"
    assert reply.author_user_id is None


def test_a_contact_that_is_not_an_address_gets_no_email(db: Session, admin: Actor) -> None:
    signal = _report(db, admin, contact="call me: +44 20 0000 0000")
    assert thread.post(db, admin, signal, ANSWER, internal=False).emailed is False


def test_who_may_answer(db: Session, admin: Actor) -> None:
    signal = _report(db, admin)
    viewer = factories.actor(db, organization=db.get(Organization, admin.org_id), role=Role.viewer)
    with pytest.raises(Forbidden):
        thread.post(db, viewer, signal, ANSWER, internal=False)
    manual = f.signal(db, admin.org_id)
    with pytest.raises(Conflict):  # a manual signal has no reporter to answer; notes are fine
        thread.post(db, admin, manual, ANSWER, internal=False)
    assert thread.post(db, admin, manual, NOTE, internal=True).internal


def test_api_answer_and_downstream_reply(
    db: Session, admin: Actor, api_client: Callable[[Actor | None], TestClient]
) -> None:
    downstream = factories.actor(db, kind=OrgKind.downstream)
    org = db.get(Organization, admin.org_id)
    channel = db.get(IntakeSettings, admin.org_id)
    assert org is not None and channel is not None
    signal = public.submit(
        db,
        org=org,
        settings=channel,
        report=public.Report(
            title="Refusal bypass via our app", description="Seen in our logs.", contact="sec@down.example"
        ),
        source_kind=SourceKind.downstream_api,
        submitter=downstream,
    )
    db.commit()
    lab = api_client(admin)
    body = {"body": ANSWER}
    first = lab.post(f"/api/v1/intake/signals/{signal.id}/messages", json=body, headers={"Idempotency-Key": "a-1"})
    again = lab.post(f"/api/v1/intake/signals/{signal.id}/messages", json=body, headers={"Idempotency-Key": "a-1"})
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert (
        lab.post(f"/api/v1/intake/signals/{signal.id}/messages", json={"body": NOTE, "internal": True}).status_code
        == 201
    )
    assert lab.post(f"/api/v1/intake/signals/{signal.id}/messages", json={"body": "x" * 20_001}).status_code == 422
    hostile = lab.post(f"/api/v1/intake/signals/{signal.id}/messages", json={"body": "bad\u0000byte"})
    assert hostile.status_code == 422 and hostile.headers["content-type"].startswith("application/problem+json")
    assert len(lab.get(f"/api/v1/intake/signals/{signal.id}/messages").json()) == 2
    sender = api_client(downstream)
    status = sender.get(f"/api/v1/intake/reports/{signal.reference}").json()
    assert [m["body"] for m in status["messages"]] == [ANSWER]  # no note
    reply = sender.post(f"/api/v1/intake/reports/{signal.reference}/replies", json={"body": "Thanks, confirmed fixed."})
    assert reply.status_code == 201 and [m["side"] for m in reply.json()["messages"]] == ["lab", "reporter"]
    stranger = api_client(factories.actor(db, kind=OrgKind.downstream))
    assert stranger.post(f"/api/v1/intake/reports/{signal.reference}/replies", json={"body": "hi"}).status_code == 404
    assert api_client(factories.actor(db)).get(f"/api/v1/intake/signals/{signal.id}/messages").status_code == 404


def test_the_answer_is_delivered_by_smtp(fresh_db: str, smtp: tuple[SmtpSink, int]) -> None:
    sink, port = smtp
    factory = session_factory(make_engine(fresh_db))
    with unit_of_work(factory) as s:
        admin = factories.actor(s)
        f.open_channel(s, admin)
        signal = _report(s, admin)
        thread.post(s, admin, signal, NOTE, internal=True)
        thread.post(s, admin, signal, ANSWER, internal=False)
    worker = Worker(
        factory,
        settings=JobSettings(backoff_base_seconds=10, max_attempts=2, lease_seconds=60),
        mailer=SmtpMailer(MailSettings(host="127.0.0.1", port=port, enabled=True)),
    )
    worker.drain()
    assert len(sink.messages) == 1
    msg = sink.messages[0]
    text = (
        msg.get_payload(decode=True).decode()
        if not msg.is_multipart()
        else msg.get_payload(0).get_payload(decode=True).decode()
    )
    assert msg["To"] == "pat@example.com" and ANSWER in text and "INTERNAL-ONLY" not in text
