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
