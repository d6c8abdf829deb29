"""Per-person notification preferences: in the app, by e-mail, in the person's chat.

Every e-mail the channels send names a topic (``reporting.obligation.reminder``, ``response.page`` ...).
``route`` applies each recipient's preference for that topic (the most specific of an exact topic, a
prefix ending in ``*``, or ``*``) in the same transaction as the change: e-mail recipients who turned
e-mail off are dropped, an in-app notification is stored for those who keep it, and a chat job is queued
for those who turned chat on and registered their chat's incoming webhook. People who are not members of
the org (an external address) and topics nobody chose keep the default: in the app and by e-mail.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Membership, User
from signalfire.core.clock import utcnow
from signalfire.core.errors import FieldError, ValidationFailed
from signalfire.notify.models import ChatWebhook, JobKind, Notification, NotificationPreference, OutboxJob

# The kinds a person can set, with their words. A prefix covers its topics; "*" covers everything.
KINDS: Mapping[str, str] = {
    "*": "Everything else",
    "response.page": "Pages (escalations) on incidents",
    "response.*": "Other response notifications",
    "reporting.obligation.*": "Reports owed: new obligations, reminders, overdue",
    "reporting.assessment.needed": "Serious incidents not yet assessed for reportability",
    "reporting.question.*": "Authority questions on reports",
    "reporting.*": "Other reporting notifications",
    "notices.*": "Capability-threshold notices: reminders, overdue",
    "exchange.*": "Exchange: items, responses, pseudonym resolutions",
    "intake.*": "Intake: signals and alerts",
}
MAX_URL = 2000
INBOX_LIMIT = 50


@dataclass(frozen=True)
class Choice:
    in_app: bool = True
    email: bool = True
    chat: bool = False


DEFAULT = Choice()


def _matches(kind: str, topic: str) -> bool:
    return kind in ("*", topic) or (kind.endswith("*") and topic.startswith(kind[:-1]))


def choice_for(prefs: Sequence[NotificationPreference], topic: str) -> Choice:
    """The most specific preference that covers ``topic`` (an exact topic beats the longest prefix)."""
    covering = [p for p in prefs if _matches(p.kind, topic)]
    if not covering:
        return DEFAULT
    best = max(covering, key=lambda p: (p.kind == topic, len(p.kind)))
    return Choice(best.in_app, best.email, best.chat)


def route(
    session: Session, *, org_id: uuid.UUID | None, to: list[str], topic: str, subject: str, body: str
) -> list[str]:
    """Apply the recipients' preferences; returns the addresses that still get the e-mail."""
    if org_id is None or not to:
        return to
    wanted = {e.strip().lower() for e in to}
    members: dict[str, uuid.UUID] = dict(
        session.execute(
            select(func.lower(User.email), User.id)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.org_id == org_id, func.lower(User.email).in_(wanted))
        ).all()
    )
    if not members:
        return to
    prefs: dict[uuid.UUID, list[NotificationPreference]] = {}
    for p in session.execute(
        select(NotificationPreference).where(
            NotificationPreference.org_id == org_id, NotificationPreference.user_id.in_(list(members.values()))
        )
    ).scalars():
        prefs.setdefault(p.user_id, []).append(p)
    chats = dict(
        session.execute(
            select(ChatWebhook.user_id, ChatWebhook.url).where(
                ChatWebhook.org_id == org_id, ChatWebhook.user_id.in_(list(members.values()))
            )
        ).all()
    )
    keep: list[str] = []
    for address in to:
        user_id = members.get(address.strip().lower())
        if user_id is None:
            keep.append(address)
            continue
        choice = choice_for(prefs.get(user_id, []), topic)
        if choice.email:
            keep.append(address)
        if choice.in_app:
            session.add(Notification(user_id=user_id, org_id=org_id, topic=topic, subject=subject[:300], body=body))
        if choice.chat and user_id in chats:
            session.add(
                OutboxJob(
                    kind=JobKind.chat,
                    topic=topic,
                    org_id=org_id,
                    payload={"user_id": str(user_id), "org_id": str(org_id), "text": f"*{subject}*\n{body}"[:3000]},
                    run_after=utcnow(),
                )
            )
    return keep


# -- the person's own settings and in-app list -----------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    choices: dict[str, Choice]
    chat_url_set: bool


def get_settings(session: Session, actor: Actor) -> Settings:
    rows = session.execute(
        select(NotificationPreference).where(
            NotificationPreference.user_id == actor.user_id, NotificationPreference.org_id == actor.org_id
        )
    ).scalars()
    stored = {r.kind: Choice(r.in_app, r.email, r.chat) for r in rows}
    chat = session.get(ChatWebhook, (actor.user_id, actor.org_id))
    return Settings({k: stored.get(k, DEFAULT) for k in KINDS}, chat is not None)


def update_settings(
    session: Session, actor: Actor, choices: Mapping[str, Choice], *, chat_url: str | None = None
) -> Settings:
    """Set the actor's own preferences in the active org (only the kinds given). ``chat_url``: "" removes
    the chat webhook, None leaves it. Audited without the URL (it is a secret)."""
    from signalfire.audit.chain import record

    errors = [FieldError(f"choices.{k}", "Not a notification kind.") for k in choices if k not in KINDS]
    if chat_url:
        chat_url = chat_url.strip()
        if len(chat_url) > MAX_URL or not chat_url.startswith("https://"):
            errors.append(
                FieldError("chat_url", "An https:// incoming-webhook URL of your chat (at most 2000 characters).")
            )
    keeps_url = chat_url is None and session.get(ChatWebhook, (actor.user_id, actor.org_id)) is not None
    if any(c.chat for c in choices.values()) and not chat_url and not keeps_url:
        errors.append(FieldError("chat_url", "Give your chat's incoming-webhook URL to receive notifications there."))
    if errors:
        raise ValidationFailed(errors)
    now = utcnow()
    for kind, c in choices.items():
        session.execute(
            delete(NotificationPreference).where(
                NotificationPreference.user_id == actor.user_id,
                NotificationPreference.org_id == actor.org_id,
                NotificationPreference.kind == kind,
            )
        )
        session.add(
            NotificationPreference(
                user_id=actor.user_id,
                org_id=actor.org_id,
                kind=kind,
                in_app=c.in_app,
                email=c.email,
                chat=c.chat,
                updated_at=now,
            )
        )
    if chat_url is not None:
        existing = session.get(ChatWebhook, (actor.user_id, actor.org_id))
        if chat_url == "" and existing is not None:
            session.delete(existing)
        elif chat_url:
            if existing is None:
                session.add(ChatWebhook(user_id=actor.user_id, org_id=actor.org_id, url=chat_url, updated_at=now))
            else:
                existing.url, existing.updated_at = chat_url, now
    session.flush()
    record(
        session,
        action="notify.preferences.update",
        target_type="user_account",
        target_id=actor.user_id,
        actor=actor,
        summary={
            "choices": {k: vars(c) for k, c in choices.items()},
            "chat_webhook": None if chat_url is None else ("removed" if chat_url == "" else "set"),
        },
    )
    return get_settings(session, actor)


def inbox(session: Session, actor: Actor, *, unread_only: bool = True) -> list[Notification]:
    stmt = select(Notification).where(Notification.user_id == actor.user_id, Notification.org_id == actor.org_id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return list(session.execute(stmt.order_by(Notification.created_at.desc()).limit(INBOX_LIMIT)).scalars())


def mark_read(session: Session, actor: Actor, notification_id: uuid.UUID | None = None) -> int:
    """Mark one of the actor's own notifications read (or all of them); another's is "not found"."""
    stmt = update(Notification).where(
        Notification.user_id == actor.user_id, Notification.org_id == actor.org_id, Notification.read_at.is_(None)
    )
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    result = session.execute(stmt.values(read_at=utcnow()).execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


def chat_url_for(session: Session, user_id: uuid.UUID, org_id: uuid.UUID) -> str | None:
    row = session.get(ChatWebhook, (user_id, org_id))
    return row.url if row is not None else None
