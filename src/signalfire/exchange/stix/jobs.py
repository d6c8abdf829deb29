"""STIX imports as background jobs: acknowledged at once, run by the worker in committed batches.

:func:`submit_import` (the page's "Import" and ``POST /api/v1/exchange/imports``) reads the bundle whole, so a
whole-bundle fault (size, objects, reports, STIX version, duplicate ids, unknown markings) is refused in the
request with nothing stored, then stores the job with its bundle, enqueues the worker task through the outbox
and audits the request, all in the request's transaction.

The task (:func:`run_import`, registered in ``exchange.tasks``) imports the bundle in batches of
:data:`BATCH_SIZE` objects, each one transaction holding the batch's drafts, its part of the per-object
outcome and ``done``, so readers see the progress and a retry after a crash (the worker's watchdog
re-queues a job whose worker died) goes on from ``done``, with the report a single run makes: a batch is
planned against the drafts as they are when it runs, and no two objects of a bundle share a draft. The
job row is locked for each batch (``FOR UPDATE``; SQLite's writer lock) so two workers never do one batch.
A task runs for at most :data:`RUN_BUDGET_SECONDS`, well inside the worker's lease, and hands the rest to
a task of its own (as federation pulls do). The last step marks the job done, drops the stored bundle and
audits the outcome, in the transaction that completes the outbox job.

A job fails, clearly and for good, when the person who asked may no longer import (left the org, lost the
role, revoked the token), or when its outbox task dies (its retries used up): :func:`fail_abandoned`,
a worker sweep, marks such jobs failed. The drafts made before a failure stay; importing the bundle again
finishes the rest and leaves those unchanged.

Retention (:func:`prune_bundles`, :func:`prune_jobs`, run by the worker's periodic
``exchange.prune_import_jobs``): a finished job's stored bundle goes after
``SIGNALFIRE_RETENTION__IMPORT_BUNDLE_DAYS`` (a done job has already dropped it; a failed one keeps it
that long), its row, with the outcome its page shows, after ``__IMPORT_JOB_DAYS``; queued and running jobs
are never touched. Each batch is one bounded DELETE per table, oldest finished first, and writes one audit
entry per job (``exchange.stix.import_bundle_pruned``, ``exchange.stix.import_job_pruned``), so the job's
trail in the log says where its bundle and its report went.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, delete, or_, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from signalfire.access.actor import Actor
from signalfire.access.permissions import Permission
from signalfire.access.policy import require
from signalfire.access.service import actor_for_job
from signalfire.audit.chain import Entry, record, record_many
from signalfire.core.clock import utcnow
from signalfire.core.db.base import new_id
from signalfire.core.db.prune import in_batches
from signalfire.core.db.session import unit_of_work
from signalfire.core.errors import AppError
from signalfire.core.settings import RetentionSettings
from signalfire.exchange.stix.bundles import (
    MAX_IMPORT_ITEMS,
    AudienceChecks,
    ImportAudience,
    ImportOutcome,
    PlannedObject,
    import_part,
    read_bundle,
    refusals,
)
from signalfire.exchange.stix.convert import ImportedItem
from signalfire.exchange.stix.models import ImportJobState, StixImportBundle, StixImportJob
from signalfire.exchange.vocab import CoveredUse
from signalfire.notify.models import JobStatus, OutboxJob
from signalfire.notify.outbox import enqueue_task

log = logging.getLogger("signalfire.exchange.stix")

TASK = "exchange.stix_import"
# Objects per committed batch: the progress step a reader sees (about 1.5 s of work on PostgreSQL).
BATCH_SIZE = 25
# One task's share of an import: well inside the worker's lease (120 s by default), so the watchdog never
# hands a running import to a second worker; the rest is the next task.
RUN_BUDGET_SECONDS = 30.0
# SQLite has one writer, and every transaction here takes the write lock as it begins (core.db.session): a
# pause between batches lets the requests waiting for it in (the progress polls among them) instead of the
# import taking it back at once and holding the whole app until it ends. PostgreSQL needs none.
SQLITE_PAUSE_SECONDS = 0.15
AUDIT_TARGET = "exchange_import_job"

Store = Callable[[Session], None]


class ImportJobFailed(Exception):
    """Why an import cannot go on, in words for the person who asked (stored as the job's error)."""


def submit_import(
    session: Session,
    actor: Actor,
    raw: bytes,
    *,
    default_uses: Sequence[CoveredUse] = (),
    audience: ImportAudience = ImportAudience.ONLY_ME,
    filename: str = "",
    max_items: int = MAX_IMPORT_ITEMS,
) -> StixImportJob:
    """Acknowledge an import: the job and its bundle stored, its task enqueued, in the caller's transaction.

    Raises AppError (413, 422) for a bundle that cannot be imported at all, as the synchronous import does.
    """
    require(actor, Permission.exchange_item_write)
    result = read_bundle(raw, max_items)
    job = StixImportJob(
        id=new_id(),
        org_id=actor.org_id,
        user_id=actor.user_id,
        token_id=actor.token_id,
        state=ImportJobState.QUEUED,
        filename=filename[:255],
        bundle_bytes=len(raw),
        bundle_sha256=hashlib.sha256(raw).hexdigest(),
        default_uses=[u.value for u in dict.fromkeys(default_uses)],
        audience=audience.value,
        max_items=max_items,
        total=len(result.errors) + len(result.items),
        done=0,
        outcome={"objects": [], "ignored": list(result.ignored)},
    )
    session.add(job)
    session.flush()  # the job's row before its bundle's, which refers to it (no relationship orders them)
    session.add(StixImportBundle(job_id=job.id, content=raw))
    _enqueue(session, job)
    record(
        session,
        action="exchange.stix.import_queued",
        target_type=AUDIT_TARGET,
        target_id=job.id,
        actor=actor,
        summary={
            "bytes": job.bundle_bytes,
            "sha256": job.bundle_sha256,
            "filename": job.filename,
            "objects": job.total,
            "ignored": len(result.ignored),
            "audience": job.audience,
            "permitted_uses": job.default_uses,
        },
    )
    return job


def _enqueue(session: Session, job: StixImportJob) -> None:
    outbox = enqueue_task(session, TASK, {"job_id": str(job.id)}, org_id=job.org_id)
    assert outbox is not None  # no dedupe key: always enqueued
    session.flush()  # the outbox job's id, which the import job names for the watchdog sweep
    job.outbox_job_id = outbox.id


def _locked(session: Session, job_id: uuid.UUID) -> StixImportJob | None:
    return session.execute(
        select(StixImportJob).where(StixImportJob.id == job_id).with_for_update()
    ).scalar_one_or_none()


def _actor(session: Session, job: StixImportJob) -> Actor:
    actor = actor_for_job(session, job.user_id, job.org_id, job.token_id)
    if actor is None:
        raise ImportJobFailed(
            "The person who started the import is no longer an active member of the organisation, "
            "or the API token they used was revoked or has expired."
        )
    if not actor.can(Permission.exchange_item_write):
        raise ImportJobFailed("The person who started the import may no longer write exchange items.")
    return actor


def _nothing(session: Session) -> None:
    return None


def run_import(
    factory: sessionmaker[Session],
    job_id: uuid.UUID,
    *,
    batch_size: int | None = None,
    budget_seconds: float | None = None,
) -> Store:
    """Import the job's objects from ``done`` on, one committed batch at a time; returns what the worker
    stores with the outbox job's completion (the job done, failed, or its next task).

    ``batch_size`` and ``budget_seconds`` default to BATCH_SIZE and RUN_BUDGET_SECONDS as they are now."""
    began = time.monotonic()
    batch_size = batch_size or BATCH_SIZE
    budget_seconds = RUN_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    with unit_of_work(factory) as session:
        job = _locked(session, job_id)
        if job is None or job.state.finished:
            return _nothing
        if job.state is ImportJobState.QUEUED:  # readers see it started before its first batch is in
            job.state, job.started_at = ImportJobState.RUNNING, utcnow()
        bundle = session.get(StixImportBundle, job_id)
        raw = bundle.content if bundle is not None else None
        max_items, uses = job.max_items, [CoveredUse(u) for u in job.default_uses]
        audience = ImportAudience(job.audience)
    try:
        if raw is None:
            raise ImportJobFailed("The bundle of this import is missing.")
        try:
            result = read_bundle(raw, max_items)
        except AppError as exc:  # the limits changed since it was accepted
            raise ImportJobFailed(f"{exc.title}: {exc.detail}") from None
        units: list[PlannedObject | ImportedItem] = [*refusals(raw, result), *result.items]
        checked: AudienceChecks = {}
        while True:
            with unit_of_work(factory) as session:
                job = _locked(session, job_id)
                if job is None or job.state.finished:
                    return _nothing
                if job.total != len(units):
                    raise ImportJobFailed("The stored bundle no longer reads as it did when it was accepted.")
                actor = _actor(session, job)
                start = job.done
                part = units[start : start + batch_size]
                done = import_part(session, actor, part, default_uses=uses, audience=audience, checked=checked)
                job.outcome = {
                    **job.outcome,
                    "objects": [*job.outcome.get("objects", []), *(o.as_json() for o in done)],
                }
                job.done = start + len(part)
                finished = job.done >= job.total
                pause = SQLITE_PAUSE_SECONDS if session.get_bind().dialect.name == "sqlite" else 0.0
            if finished:
                return _complete(job_id)
            if time.monotonic() - began >= budget_seconds:
                return _next_part(job_id)
            time.sleep(pause)
    except ImportJobFailed as exc:
        return _fail(job_id, str(exc))


def _complete(job_id: uuid.UUID) -> Store:
    def store(session: Session) -> None:
        job = _locked(session, job_id)
        if job is None or job.state.finished:
            return
        job.state, job.finished_at, job.error = ImportJobState.DONE, utcnow(), None
        # The drafts hold what was imported: no second copy of the bundle (TLP:RED included) is kept.
        session.execute(delete(StixImportBundle).where(StixImportBundle.job_id == job_id))
        outcome = ImportOutcome.from_stored(job.outcome)
        actor = actor_for_job(session, job.user_id, job.org_id, job.token_id)
        record(
            session,
            action="exchange.stix.imported",
            target_type=AUDIT_TARGET,
            target_id=job.id,
            actor=actor,
            actor_user_id=job.user_id,
            org_id=job.org_id,
            summary=outcome.audit_summary(),
        )

    return store


def _next_part(job_id: uuid.UUID) -> Store:
    def store(session: Session) -> None:
        job = _locked(session, job_id)
        if job is not None and not job.state.finished:
            _enqueue(session, job)

    return store


def _mark_failed(session: Session, job: StixImportJob, error: str, detail: str | None = None) -> None:
    job.state, job.finished_at, job.error = ImportJobState.FAILED, utcnow(), error[:2000]
    summary: dict[str, object] = {"error": job.error, "done": job.done, "total": job.total}
    if detail:
        summary["detail"] = detail[:2000]
    record(
        session,
        action="exchange.stix.import_failed",
        target_type=AUDIT_TARGET,
        target_id=job.id,
        actor_user_id=job.user_id,
        org_id=job.org_id,
        summary=summary,
    )


def _fail(job_id: uuid.UUID, error: str) -> Store:
    def store(session: Session) -> None:
        job = _locked(session, job_id)
        if job is not None and not job.state.finished:
            _mark_failed(session, job, error)

    return store


def fail_abandoned(session: Session, limit: int = 100) -> int:
    """Jobs still queued or running whose task is gone for good (dead after its retries, or finished or
    pruned without finishing the job): failed, with the reason. Returns how many."""
    rows = session.execute(
        select(StixImportJob, OutboxJob.status, OutboxJob.attempts, OutboxJob.last_error)
        .outerjoin(OutboxJob, OutboxJob.id == StixImportJob.outbox_job_id)
        .where(
            StixImportJob.state.in_([ImportJobState.QUEUED, ImportJobState.RUNNING]),
            or_(OutboxJob.id.is_(None), OutboxJob.status.in_([JobStatus.dead, JobStatus.done])),
        )
        .limit(limit)
        .with_for_update(of=StixImportJob, skip_locked=True)
    ).all()
    for job, status, attempts, last_error in rows:
        if status is JobStatus.dead:
            error = (
                f"The import stopped after {attempts} attempt(s) and will not be retried: the worker failed or "
                f"was stopped each time. {job.done} of {job.total} objects were imported; import the bundle "
                "again to finish (what is already imported is left unchanged)."
            )
        else:
            error = (
                f"The import's background task ended without finishing it ({job.done} of {job.total} objects). "
                "Import the bundle again to finish (what is already imported is left unchanged)."
            )
        log.warning("STIX import %s failed: %s (%s)", job.id, error, last_error)
        _mark_failed(session, job, error, detail=last_error)
    return len(rows)


# --- retention ------------------------------------------------------------------------------------------

# The partial index ix_exchange_import_job_finished names these values: changing them needs a migration.
FINISHED_STATES = (ImportJobState.DONE, ImportJobState.FAILED)


def _finished_before(before: datetime) -> tuple[ColumnElement[bool], ...]:
    return (StixImportJob.state.in_(FINISHED_STATES), StixImportJob.finished_at < before)


def _oldest(limit: int, *where: ColumnElement[bool]) -> Select[uuid.UUID]:
    # The id breaks ties, so the same statement names the same jobs each time it runs in a batch.
    return select(StixImportJob.id).where(*where).order_by(StixImportJob.finished_at, StixImportJob.id).limit(limit)


def prune_bundles(session: Session, before: datetime, limit: int, *, days: float | None = None) -> int:
    """Drop the stored bundles of up to ``limit`` jobs finished before ``before``, oldest first; the job rows
    (and the outcome their page shows) stay. One bounded DELETE and one audit entry per job. Returns how many."""
    stored = aliased(StixImportBundle)
    oldest = _oldest(limit, *_finished_before(before), StixImportJob.id.in_(select(stored.job_id)))
    found = {
        row.id: row
        for row in session.execute(
            select(
                StixImportJob.id,
                StixImportJob.org_id,
                StixImportJob.state,
                StixImportJob.finished_at,
                StixImportJob.bundle_bytes,
                StixImportJob.bundle_sha256,
            ).where(StixImportJob.id.in_(oldest))
        )
    }
    gone = (
        session.execute(
            delete(StixImportBundle)
            .where(StixImportBundle.job_id.in_(oldest))
            .returning(StixImportBundle.job_id)
            .execution_options(synchronize_session=False)
        )
        .scalars()
        .all()
    )
    entries = [
        Entry(
            action="exchange.stix.import_bundle_pruned",
            target_type=AUDIT_TARGET,
            target_id=job.id,
            org_id=job.org_id,
            actor_label="retention (worker)",
            summary={
                "state": job.state.value,
                "finished_at": job.finished_at,
                "bytes": job.bundle_bytes,
                "sha256": job.bundle_sha256,
                "retention_days": days,
            },
        )
        for job_id in gone
        if (job := found.get(job_id)) is not None
    ]
    record_many(session, entries)
    return len(gone)


def prune_jobs(session: Session, before: datetime, limit: int, *, days: float | None = None) -> int:
    """Delete up to ``limit`` jobs finished before ``before``, oldest first, with any bundle still stored;
    their pages and API then answer 404 like any missing job. One audit entry per job. Returns how many."""
    oldest = _oldest(limit, *_finished_before(before))
    # Normally gone already (a shorter retention); the foreign key would cascade, but say it here.
    session.execute(
        delete(StixImportBundle).where(StixImportBundle.job_id.in_(oldest)).execution_options(synchronize_session=False)
    )
    gone = session.execute(
        delete(StixImportJob)
        .where(StixImportJob.id.in_(oldest))
        .returning(
            StixImportJob.id,
            StixImportJob.org_id,
            StixImportJob.state,
            StixImportJob.created_at,
            StixImportJob.finished_at,
            StixImportJob.filename,
            StixImportJob.bundle_sha256,
            StixImportJob.total,
            StixImportJob.done,
        )
        .execution_options(synchronize_session=False)
    ).all()
    record_many(
        session,
        [
            Entry(
                action="exchange.stix.import_job_pruned",
                target_type=AUDIT_TARGET,
                target_id=row.id,
                org_id=row.org_id,
                actor_label="retention (worker)",
                summary={
                    "state": ImportJobState(row.state).value,
                    "created_at": row.created_at,
                    "finished_at": row.finished_at,
                    "filename": row.filename,
                    "sha256": row.bundle_sha256,
                    "objects": row.total,
                    "done": row.done,
                    "retention_days": days,
                },
            )
            for row in gone
        ],
    )
    return len(gone)


def prune_finished(session: Session, now: datetime, settings: RetentionSettings) -> dict[str, int]:
    """What has outlived its retention, in batches of ``settings.batch_size`` (at most ``max_batches``
    each): bundles first, then job rows. Returns how many went, per kind."""
    bundle_days, job_days = settings.import_bundle_days, settings.import_job_days
    bundle_cutoff = now - timedelta(days=bundle_days)
    job_cutoff = now - timedelta(days=job_days)
    return {
        "import_bundles": in_batches(
            lambda n: prune_bundles(session, bundle_cutoff, n, days=bundle_days),
            settings.batch_size,
            settings.max_batches,
        ),
        "import_jobs": in_batches(
            lambda n: prune_jobs(session, job_cutoff, n, days=job_days), settings.batch_size, settings.max_batches
        ),
    }
