"""Webhook endpoint management for an org's admins."""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.permissions import Permission
from signalfire.access.policy import first_or_404, nothing, require
from signalfire.audit.chain import record
from signalfire.notify.models import WebhookEndpoint


def readable_webhooks(actor: Actor) -> Select[WebhookEndpoint]:
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.org_id == actor.org_id)
    return stmt if actor.can(Permission.org_webhook_manage) else nothing(stmt)


def create_webhook(session: Session, *, actor: Actor, url: str, events: list[str]) -> WebhookEndpoint:
    require(actor, Permission.org_webhook_manage)
    ep = WebhookEndpoint(org_id=actor.org_id, url=url, events=events, secret=secrets.token_urlsafe(32))
    session.add(ep)
    session.flush()
    record(
        session,
        action="webhook.create",
        target_type="webhook_endpoint",
        target_id=ep.id,
        actor=actor,
        summary={"url": url, "events": events},
    )
    return ep


def delete_webhook(session: Session, *, actor: Actor, webhook_id: uuid.UUID) -> None:
    ep = first_or_404(session, readable_webhooks(actor).where(WebhookEndpoint.id == webhook_id), "No such webhook.")
    record(
        session,
        action="webhook.delete",
        target_type="webhook_endpoint",
        target_id=ep.id,
        actor=actor,
        summary={"url": ep.url},
    )
    session.delete(ep)
