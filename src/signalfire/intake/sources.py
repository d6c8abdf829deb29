"""Configuring where signals come from: the org's intake settings (public form, model names) and feeds."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.permissions import Permission
from signalfire.access.policy import first_or_404, require
from signalfire.access.policy.intake import readable_feeds
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import Conflict, ValidationFailed
from signalfire.intake.models import Feed, IntakeSettings
from signalfire.intake.schemas import FeedIn, IntakeSettingsIn
from signalfire.notify.outbox import enqueue_task

POLL_TASK = "intake.poll_feed"


def settings_for(session: Session, org_id: uuid.UUID) -> IntakeSettings:
    """The org's settings row; defaults (public form off) when it has none yet. Not added to the session."""
    found = session.get(IntakeSettings, org_id)
    return (
        found
        if found is not None
        else IntakeSettings(
            org_id=org_id, public_form_enabled=False, intro="", allow_anonymous=True, min_fill_seconds=3, model_names=[]
        )
    )


def update_settings(session: Session, actor: Actor, data: IntakeSettingsIn) -> IntakeSettings:
    require(actor, Permission.intake_source_manage)
    row = session.get(IntakeSettings, actor.org_id)
    if row is None:
        row = settings_for(session, actor.org_id)
        session.add(row)
    changes = data.model_dump(exclude_none=True)
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    session.flush()
    record(
        session,
        action="intake.settings.update",
        target_type="intake_settings",
        target_id=actor.org_id,
        actor=actor,
        summary={"changed": sorted(changes)},
    )
    return row


def _check_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed.single("url", "must be an http:// or https:// address")
    if parts.username or parts.password:
        raise ValidationFailed.single("url", "must not carry credentials")
    return url


def add_feed(session: Session, actor: Actor, data: FeedIn) -> Feed:
    require(actor, Permission.intake_source_manage)
    return create_feed(session, actor.org_id, data, actor=actor)


def create_feed(
    session: Session, org_id: uuid.UUID, data: FeedIn, *, actor: Actor | None = None, actor_label: str | None = None
) -> Feed:
    """Add a feed to an org (the CLI calls this directly, as the operator, without an actor)."""
    url = _check_url(data.url)
    if session.execute(select(Feed.id).where(Feed.org_id == org_id, Feed.url == url)).first():
        raise Conflict("This feed is already configured.", slug="feed-exists")
    now = utcnow()
    feed = Feed(
        id=uuid.uuid4(),
        org_id=org_id,
        url=url,
        kind=data.kind,
        title=data.title.strip(),
        active=True,
        poll_interval_seconds=data.poll_interval_seconds,
        next_poll_at=now,
        created_at=now,
    )
    session.add(feed)
    session.flush()
    record(
        session,
        action="intake.feed.add",
        target_type="intake_feed",
        target_id=feed.id,
        actor=actor,
        actor_label=actor_label,
        org_id=org_id,
        summary={"url": url, "kind": data.kind},
    )
    return feed


def get_feed(session: Session, actor: Actor, feed_id: uuid.UUID) -> Feed:
    return first_or_404(session, readable_feeds(actor).where(Feed.id == feed_id), "No such feed.")


def set_feed_active(session: Session, actor: Actor, feed: Feed, active: bool) -> Feed:
    require(actor, Permission.intake_source_manage)
    feed.active = active
    if active:
        feed.next_poll_at = utcnow()
        feed.consecutive_failures = 0
    record(
        session,
        action="intake.feed.resume" if active else "intake.feed.pause",
        target_type="intake_feed",
        target_id=feed.id,
        actor=actor,
        summary={"url": feed.url},
    )
    return feed


def poll_now(session: Session, actor: Actor, feed: Feed) -> None:
    """Queue a poll at once (the worker runs it); the poll itself is recorded when it runs."""
    require(actor, Permission.intake_source_manage)
    if not feed.active:
        raise Conflict("The feed is paused; resume it first.", slug="feed-paused")
    now = utcnow()
    enqueue_task(
        session,
        POLL_TASK,
        {"feed_id": str(feed.id)},
        org_id=feed.org_id,
        dedupe_key=f"{POLL_TASK}:{feed.id}:manual:{int(now.timestamp())}",
    )
    record(
        session,
        action="intake.feed.poll_requested",
        target_type="intake_feed",
        target_id=feed.id,
        actor=actor,
        summary={"url": feed.url},
    )
