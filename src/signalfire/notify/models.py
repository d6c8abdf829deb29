"""The outbox (durable jobs written in the same transaction as the change that causes them),
webhook endpoints, and the scheduler's state."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from signalfire.core.clock import utcnow
from signalfire.core.db.base import Base, IdMixin, enum_column


class JobKind(StrEnum):
    email = "email"
    webhook = "webhook"
    task = "task"
    # A person's own chat incoming webhook (Slack-compatible JSON: {"text": ...}).
    chat = "chat"


class JobStatus(StrEnum):
    pending = "pending"
    running = "running"
    done = "done"
    dead = "dead"


class OutboxJob(IdMixin, Base):
    __tablename__ = "outbox_job"
    __table_args__ = (
        Index("ix_outbox_job_claim", "status", "run_after"),
        Index("ix_outbox_job_finished", "status", "completed_at"),  # pruning
    )

    kind: Mapped[JobKind] = mapped_column(enum_column(JobKind, "job_kind"))
    topic: Mapped[str] = mapped_column(String(100))
    org_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    payload: Mapped[dict[str, Any]]
    status: Mapped[JobStatus] = mapped_column(enum_column(JobStatus, "job_status"), default=JobStatus.pending)
    attempts: Mapped[int] = mapped_column(default=0)
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]  # when it finished: done, or dead
    # Makes "notify X about Y once" idempotent (e.g. one reminder per obligation and lead time).
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)


class WorkerRegistration(Base):
    """A worker process that holds (or held) jobs: who it is, where it runs, when it last showed signs of life.

    A lease names the worker by ``id``; the watchdog reads this row to tell a dead holder (no heartbeat for
    the grace, or its process on this host gone) from a live one. ``host_key`` pins the host, its boot and
    its PID namespace, so a pid is only ever checked where it means the same process; ``proc_start`` is the
    process's start time as the kernel counts it, so a reused pid is not taken for the worker."""

    __tablename__ = "worker_registry"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    host_key: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int]
    proc_start: Mapped[str | None] = mapped_column(String(40))
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime] = mapped_column(index=True)


class WebhookEndpoint(IdMixin, Base):
    __tablename__ = "webhook_endpoint"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    # Shared HMAC secret; the receiver needs the same value to verify our signature.
    secret: Mapped[str] = mapped_column(String(200))
    events: Mapped[list[str]] = mapped_column(default=list)  # ["*"] or event names / prefixes
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SchedulerState(Base):
    __tablename__ = "scheduler_state"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    next_run_at: Mapped[datetime]
    last_run_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class NotificationPreference(Base):
    """How one person wants one kind of notification (a topic or a topic prefix such as
    ``reporting.*``) in one org: in the app, by e-mail, in their chat. No row: in the app and by e-mail."""

    __tablename__ = "notify_preference"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(100), primary_key=True)
    in_app: Mapped[bool] = mapped_column(default=True)
    email: Mapped[bool] = mapped_column(default=True)
    chat: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChatWebhook(Base):
    """A person's chat incoming-webhook URL in one org (a secret: it lets anyone post to their channel)."""

    __tablename__ = "notify_chat_webhook"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notification(IdMixin, Base):
    """An in-app notification for one person, shown in My work until read."""

    __tablename__ = "notify_notification"
    __table_args__ = (Index("ix_notify_notification_inbox", "user_id", "org_id", "read_at", "created_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
