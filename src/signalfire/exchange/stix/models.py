"""STIX imports that run in the background: the job (who, what, how far, the outcome) and its bundle.

A bundle is stored with its job in the transaction that acknowledges it (and enqueues the worker task
through the outbox), so nothing acknowledged is lost if a process dies; the bundle row goes once the
import is done (the drafts hold its content), and stays with a failed job until the retention drops it
(``SIGNALFIRE_RETENTION__IMPORT_BUNDLE_DAYS``; the job row itself goes after ``__IMPORT_JOB_DAYS``, see
``jobs.prune_finished``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from signalfire.core.clock import utcnow
from signalfire.core.db.base import Base, IdMixin, enum_column


class ImportJobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (ImportJobState.DONE, ImportJobState.FAILED)


class StixImportJob(IdMixin, Base):
    """One import of one bundle into one org, run by the worker (task ``exchange.stix_import``).

    ``total`` objects are planned (refused ones included); ``done`` counts those whose outcome is in
    ``outcome`` and whose drafts are committed: each batch commits its drafts, its outcome and ``done``
    together, so a retry after a crash goes on from ``done`` and the report is the one a single run makes.
    """

    __tablename__ = "exchange_import_job"
    __table_args__ = (
        Index("ix_exchange_import_job_org_created", "org_id", "created_at"),
        # The retention sweep (jobs.prune_jobs): finished jobs in the sweep's order. Partial on the states
        # the sweep names (jobs.FINISHED_STATES), which PostgreSQL matches only when it plans with the
        # sweep's values, so a generic plan of the bundle sweep never walks it (see migration 0029).
        Index(
            "ix_exchange_import_job_finished",
            "finished_at",
            "id",
            postgresql_where=text("state IN ('done', 'failed')"),
            sqlite_where=text("state IN ('done', 'failed')"),
        ),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    # Set when an API token asked: the import then runs with that token's scopes, and stops if it is revoked.
    token_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_token.id", ondelete="SET NULL"))
    state: Mapped[ImportJobState] = mapped_column(
        enum_column(ImportJobState, "import_job_state"), default=ImportJobState.QUEUED, index=True
    )
    filename: Mapped[str] = mapped_column(String(255), default="")
    bundle_bytes: Mapped[int]
    bundle_sha256: Mapped[str] = mapped_column(String(64))
    # What the import was asked to do: permitted uses for reports whose bundle has none, the drafts' audience,
    # and the most reports it takes (the page's bound or the API's).
    default_uses: Mapped[list[str]] = mapped_column(default=list)
    audience: Mapped[str] = mapped_column(String(40))
    max_items: Mapped[int]
    total: Mapped[int]
    done: Mapped[int] = mapped_column(default=0)
    # ImportOutcome.as_json() of the objects done so far (all of them once done).
    outcome: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    # The outbox job that runs (or will run) the next part of the import; the watchdog sweep reads it.
    outbox_job_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class StixImportBundle(Base):
    """The bundle of an import, as received (kept apart so that polling the job never reads it)."""

    __tablename__ = "exchange_import_bundle"

    job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exchange_import_job.id", ondelete="CASCADE"), primary_key=True
    )
    content: Mapped[bytes] = mapped_column(LargeBinary)
