"""Per-person notification preferences (issue 18): in the app, e-mail and a chat webhook, per kind of event,
through the outbox; delivered for real (SMTP on loopback, HTTP on loopback)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind, Role
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.notify import preferences
from signalfire.notify.models import ChatWebhook, JobKind, Notification, OutboxJob
from signalfire.notify.outbox import enqueue_email
from tests import factories
from tests.foundation.test_worker import Receiver, _worker
from tests.foundation.test_worker import receiver as receiver

Client = Callable[[Actor | None], TestClient]


def test_each_recipient_gets_what_they_chose(db: Session) -> None:
    org = factories.org(db, OrgKind.frontier_developer)
    alice = factories.actor(db, organization=org, role=Role.admin)
    raj = factories.actor(db, organization=org, role=Role.responder)
    preferences.update_settings(
        db, raj, {"reporting.obligation.*": preferences.Choice(in_app=True, email=False, chat=False)}
    )
    job = enqueue_email(
        db,
        to=[alice.email, raj.email.upper(), "counsel@outside.example"],
        subject="Initial report due in 24 h",
        body="...",
        topic="reporting.obligation.reminder",
        org_id=org.id,
    )
    assert job is not None and sorted(job.payload["to"]) == sorted([alice.email, "counsel@outside.example"])
    inbox = {n.user_id for n in db.execute(select(Notification)).scalars()}
    assert inbox == {alice.user_id, raj.user_id}  # the default keeps the app too; an outsider has no inbox
    # Another topic keeps raj's default: e-mail.
    page = enqueue_email(db, to=[raj.email], subject="Page", body="", topic="response.page", org_id=org.id)
    assert page is not None and page.payload["to"] == [raj.email]
    # Nobody left for e-mail: no e-mail job at all, the in-app one stays.
    preferences.update_settings(db, raj, {"*": preferences.Choice(in_app=True, email=False, chat=False)})
    assert enqueue_email(db, to=[raj.email], subject="Other", body="", topic="exchange.item", org_id=org.id) is None
    assert next(n.subject for n in preferences.inbox(db, raj)) == "Other"
    # A dedupe key already used notifies nobody again, in any channel.
    before = len(preferences.inbox(db, alice))
    enqueue_email(db, to=[alice.email], subject="x", body="", topic="t", org_id=org.id, dedupe_key="once")
    enqueue_email(db, to=[alice.email], subject="x", body="", topic="t", org_id=org.id, dedupe_key="once")
    assert len(preferences.inbox(db, alice)) == before + 1


def test_the_most_specific_preference_wins() -> None:
    def pref(kind: str, email: bool) -> Any:
        return type("P", (), {"kind": kind, "in_app": True, "email": email, "chat": False})()

    prefs = [pref("*", False), pref("reporting.*", True), pref("reporting.obligation.reminder", False)]
    assert preferences.choice_for(prefs, "reporting.obligation.reminder").email is False  # exact
    assert preferences.choice_for(prefs, "reporting.question.received").email is True  # longest prefix
    assert preferences.choice_for(prefs, "intake.signal").email is False  # "*"
    assert preferences.choice_for([], "anything") == preferences.DEFAULT


def test_chat_notifications_are_posted_to_the_persons_webhook(
    fresh_db: str,
    receiver: tuple[Receiver, str],
) -> None:
    rec, hook = receiver
    factory = session_factory(make_engine(fresh_db))
    with unit_of_work(factory) as s:
        org = factories.org(s, OrgKind.frontier_developer)
        raj = factories.actor(s, organization=org, role=Role.responder)
        preferences.update_settings(
            s,
            raj,
            {"response.page": preferences.Choice(in_app=False, email=False, chat=True)},
            chat_url="https://hooks.example.test/T000/B000/x",
        )
        # The test's receiver listens on loopback over HTTP: point the stored URL at it.
        row = s.get(ChatWebhook, (raj.user_id, org.id))
        assert row is not None
        row.url = hook
        enqueue_email(
            s, to=[raj.email], subject="SEV1: weights", body="Acknowledge.", topic="response.page", org_id=org.id
        )
    w = _worker(fresh_db)
    assert w.drain() == 1
    assert len(rec.requests) == 1 and json.loads(rec.requests[0]["body"]) == {"text": "*SEV1: weights*\nAcknowledge."}
    with unit_of_work(factory) as s:
        kinds = [j.kind for j in s.execute(select(OutboxJob)).scalars()]
    assert kinds == [JobKind.chat]  # no e-mail, as chosen


def test_preferences_over_the_api_and_the_page(db: Session, api_client: Client, browser_client: Client) -> None:
    raj = factories.actor(db, role=Role.responder)
    c = api_client(raj)
    body = c.get("/api/v1/me/notification-preferences").json()
    assert body["choices"]["*"] == {"in_app": True, "email": True, "chat": False} and not body["chat_url_set"]
    bad = c.put("/api/v1/me/notification-preferences", json={"choices": {"response.page": {"chat": True}}})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert {e["field"] for e in bad.json()["errors"]} == {"chat_url"}
    bad = c.put("/api/v1/me/notification-preferences", json={"choices": {"nonsense": {}}})
    assert bad.status_code == 422
    ok = c.put(
        "/api/v1/me/notification-preferences",
        json={"choices": {"response.page": {"chat": True, "email": False}}, "chat_url": "https://hooks.example.test/x"},
    )
    assert ok.status_code == 200 and ok.json()["chat_url_set"] and ok.json()["choices"]["response.page"]["chat"]
    assert "hooks.example.test" not in ok.text  # the URL is a secret: never shown back
    assert api_client(None).get("/api/v1/me/notification-preferences").status_code == 401
    other = factories.actor(db)
    assert api_client(other).get("/api/v1/me/notification-preferences").json()["chat_url_set"] is False
    page = browser_client(raj).get("/my-work/notifications")
    assert page.status_code == 200 and 'name="response.page:chat" value="1" checked' in page.text
    typed = browser_client(raj).post("/my-work/notifications", data={"chat_url": "ftp://nope", "*:chat": "1"})
    assert typed.status_code == 422  # the form again, with what was typed and the error beside the field
    assert 'value="ftp://nope"' in typed.text and 'id="chat-url-error"' in typed.text
    assert 'name="*:chat" value="1" checked' in typed.text
    removed = browser_client(raj).post("/my-work/notifications", data={"remove_chat": "1", "response.page:chat": "1"})
    assert removed.status_code == 422  # chat chosen while its webhook is removed: refused, nothing changed
    assert c.get("/api/v1/me/notification-preferences").json()["chat_url_set"]


def test_one_cannot_mark_anothers_notification_read(db: Session, api_client: Client) -> None:
    org = factories.org(db, OrgKind.frontier_developer)
    alice = factories.actor(db, organization=org, role=Role.admin)
    raj = factories.actor(db, organization=org, role=Role.responder)
    enqueue_email(db, to=[alice.email], subject="For Alice", body="", topic="t", org_id=org.id)
    note = preferences.inbox(db, alice)[0]
    assert api_client(raj).post("/api/v1/me/notifications/read", json={"id": str(note.id)}).json() == {"marked": 0}
    assert [n["subject"] for n in api_client(alice).get("/api/v1/me/notifications").json()] == ["For Alice"]
    assert api_client(raj).get("/api/v1/me/notifications").json() == []
    assert preferences.inbox(db, alice)[0].id == note.id
    assert api_client(alice).post("/api/v1/me/notifications/read", json={"id": str(note.id)}).json() == {"marked": 1}
