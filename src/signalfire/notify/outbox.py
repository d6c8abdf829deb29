"""Enqueue notifications in the caller's transaction: they exist if and only if the change commits."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from signalfire.audit.chain import jsonable
from signalfire.core.clock import utcnow
from signalfire.core.db.prune import delete_oldest
from signalfire.core.db.session import after_commit
from signalfire.notify.models import JobKind, JobStatus, OutboxJob, WebhookEndpoint
from signalfire.notify.preferences import route
from signalfire.notify.wakeup import wake_workers


def _add(session: Session, job: OutboxJob) -> OutboxJob | None:
    if job.dedupe_key is not None:
        existing = session.execute(select(OutboxJob.id).where(OutboxJob.dedupe_key == job.dedupe_key)).first()
        if existing is not None:
            return None
        try:
            with session.begin_nested():
                session.add(job)
        except IntegrityError:  # a concurrent transaction enqueued the same notification first
            return None
    else:
        session.add(job)
    after_commit(session, wake_workers)
    return job


def enqueue_email(
    session: Session,
    *,
    to: list[str],
    subject: str,
    body: str,
    topic: str,
    org_id: uuid.UUID | None = None,
    dedupe_key: str | None = None,
    run_after: datetime | None = None,
) -> OutboxJob | None:
    """An e-mail to ``to``, after each recipient's preferences for ``topic`` (in the app, e-mail, chat):
    returns None when nobody wants it by e-mail, or when ``dedupe_key`` was already used."""
    if (
        dedupe_key is not None
        and session.execute(select(OutboxJob.id).where(OutboxJob.dedupe_key == dedupe_key)).first()
    ):
        return None  # notified already: not again, in any channel
    to = route(session, org_id=org_id, to=to, topic=topic, subject=subject, body=body)
    after_commit(session, wake_workers)  # chat jobs too
    if not to:
        return None
    return _add(
        session,
        OutboxJob(
            kind=JobKind.email,
            topic=topic,
            org_id=org_id,
            payload={"to": to, "subject": subject, "body": body},
            dedupe_key=dedupe_key,
            run_after=run_after or utcnow(),
        ),
    )


def enqueue_task(
    session: Session,
    name: str,
    args: dict[str, Any],
    *,
    run_after: datetime | None = None,
    dedupe_key: str | None = None,
    org_id: uuid.UUID | None = None,
) -> OutboxJob | None:
    return _add(
        session,
        OutboxJob(
            kind=JobKind.task,
            topic=name,
            org_id=org_id,
            payload={"task": name, "args": jsonable(args)},
            run_after=run_after or utcnow(),
            dedupe_key=dedupe_key,
        ),
    )


def _subscribed(endpoint: WebhookEndpoint, event: str) -> bool:
    """Patterns: "*", an exact event name, or a prefix ending in "*" ("reporting.*")."""
    for pattern in endpoint.events:
        if pattern in ("*", event) or (pattern.endswith("*") and event.startswith(pattern[:-1])):
            return True
    return False


def publish_event(
    session: Session,
    *,
    org_id: uuid.UUID,
    event: str,
    data: dict[str, Any],
    dedupe_key: str | None = None,
) -> list[OutboxJob]:
    """Fan an event out to the org's active webhook endpoints subscribed to it."""
    endpoints = session.execute(
        select(WebhookEndpoint).where(WebhookEndpoint.org_id == org_id, WebhookEndpoint.active.is_(True))
    ).scalars()
    jobs = []
    for ep in endpoints:
        if not _subscribed(ep, event):
            continue
        job = _add(
            session,
            OutboxJob(
                kind=JobKind.webhook,
                topic=event,
                org_id=org_id,
                payload={"endpoint_id": str(ep.id), "event": event, "data": jsonable(data)},
                dedupe_key=f"{dedupe_key}:{ep.id}" if dedupe_key else None,
            ),
        )
        if job is not None:
            jobs.append(job)
    return jobs


def prune_finished(session: Session, status: JobStatus, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` jobs that finished with ``status`` (done or dead) before ``before``."""
    if status not in (JobStatus.done, JobStatus.dead):
        raise ValueError("only finished jobs are pruned")
    keys = (OutboxJob.id,)
    return delete_oldest(session, OutboxJob, keys, OutboxJob.completed_at, before, limit, OutboxJob.status == status)
