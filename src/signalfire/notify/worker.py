"""The outbox worker and the scheduler.

Claiming: one UPDATE over a sub-select with FOR UPDATE SKIP LOCKED (PostgreSQL), so several workers
never take the same job; a claim is a lease, and a job whose worker died is taken again when the lease
runs out. Completion is fenced on locked_by, so a worker whose lease was taken over cannot mark it done.
Tasks (database-only work) run in the same transaction that marks them done: exactly-once effect.
Emails and webhooks carry the job id (Message-ID, Signalfire-Delivery) so receivers can drop the rare
redelivery that only a crash between sending and recording can cause.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from signalfire.core.clock import utcnow
from signalfire.core.db.session import unit_of_work
from signalfire.core.settings import JobSettings
from signalfire.notify import wakeup
from signalfire.notify.models import JobKind, JobStatus, OutboxJob, SchedulerState, WebhookEndpoint
from signalfire.notify.preferences import chat_url_for
from signalfire.notify.registry import PERIODIC, TASKS, load_domain_tasks
from signalfire.notify.transports import DeliveryError, Mailer, post_chat, post_webhook

log = logging.getLogger("signalfire.worker")


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    kind: JobKind
    topic: str
    payload: dict[str, Any]
    attempts: int


def backoff(attempts: int, settings: JobSettings) -> timedelta:
    seconds = min(settings.backoff_base_seconds * (2 ** max(attempts - 1, 0)), settings.backoff_max_seconds)
    return timedelta(seconds=seconds)


class Worker:
    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        settings: JobSettings,
        mailer: Mailer,
        http: httpx.Client | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.mailer = mailer
        self.http = http or httpx.Client(timeout=settings.webhook_timeout_seconds, follow_redirects=False)
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        load_domain_tasks()

    # -- claiming -------------------------------------------------------------------------------------
    def claim(self, limit: int = 10) -> list[Claimed]:
        now = utcnow()
        with unit_of_work(self.factory) as session:
            claimable = (
                select(OutboxJob.id)
                .where(
                    or_(
                        and_(OutboxJob.status == JobStatus.pending, OutboxJob.run_after <= now),
                        and_(OutboxJob.status == JobStatus.running, OutboxJob.locked_until < now),
                    )
                )
                .order_by(OutboxJob.run_after)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            rows = session.execute(
                update(OutboxJob)
                .where(OutboxJob.id.in_(claimable.scalar_subquery()))
                .values(
                    status=JobStatus.running,
                    locked_by=self.worker_id,
                    locked_until=now + timedelta(seconds=self.settings.lease_seconds),
                    attempts=OutboxJob.attempts + 1,
                )
                .returning(OutboxJob.id, OutboxJob.kind, OutboxJob.topic, OutboxJob.payload, OutboxJob.attempts)
                .execution_options(synchronize_session=False)
            ).all()
            return [Claimed(r.id, JobKind(r.kind), r.topic, r.payload, r.attempts) for r in rows]

    def _finish(self, session: Session, job: Claimed, *, error: str | None, permanent: bool = False) -> bool:
        """Record the outcome, only if we still hold the lease. Returns False when fenced out."""
        now = utcnow()
        values: dict[str, Any]
        if error is None:
            values = {
                "status": JobStatus.done,
                "completed_at": now,
                "locked_by": None,
                "locked_until": None,
                "last_error": None,
            }
        elif permanent or job.attempts >= self.settings.max_attempts:
            values = {"status": JobStatus.dead, "last_error": error[:2000], "locked_by": None, "locked_until": None}
        else:
            values = {
                "status": JobStatus.pending,
                "last_error": error[:2000],
                "locked_by": None,
                "locked_until": None,
                "run_after": now + backoff(job.attempts, self.settings),
            }
        result = session.execute(
            update(OutboxJob)
            .where(OutboxJob.id == job.id, OutboxJob.locked_by == self.worker_id, OutboxJob.status == JobStatus.running)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    # -- delivery -------------------------------------------------------------------------------------
    def process(self, job: Claimed) -> None:
        if job.kind == JobKind.task:
            self._run_task(job)
            return
        try:
            self._deliver(job)
        except DeliveryError as exc:
            log.warning("job %s (%s) failed: %s", job.id, job.topic, exc)
            with unit_of_work(self.factory) as session:
                self._finish(session, job, error=str(exc), permanent=exc.permanent)
            return
        with unit_of_work(self.factory) as session:
            if not self._finish(session, job, error=None):
                log.error("job %s delivered but our lease was taken over", job.id)

    def _deliver(self, job: Claimed) -> None:
        if job.kind == JobKind.email:
            self.mailer.send(
                job_id=str(job.id), to=list(job.payload["to"]), subject=job.payload["subject"], body=job.payload["body"]
            )
        elif job.kind == JobKind.webhook:
            with unit_of_work(self.factory) as session:
                endpoint = session.get(WebhookEndpoint, uuid.UUID(job.payload["endpoint_id"]))
                target = (endpoint.url, endpoint.secret, endpoint.active) if endpoint else None
            if target is None or not target[2]:
                raise DeliveryError("webhook endpoint removed or disabled", permanent=True)
            post_webhook(
                self.http,
                url=target[0],
                secret=target[1],
                event=job.payload["event"],
                delivery_id=str(job.id),
                data=job.payload["data"],
            )
        elif job.kind == JobKind.chat:
            with unit_of_work(self.factory) as session:
                url = chat_url_for(session, uuid.UUID(job.payload["user_id"]), uuid.UUID(job.payload["org_id"]))
            if url is None:
                raise DeliveryError("chat webhook removed", permanent=True)
            post_chat(self.http, url=url, text=job.payload["text"])
        else:  # pragma: no cover - enum is closed
            raise DeliveryError(f"unknown job kind {job.kind}", permanent=True)

    def _run_task(self, job: Claimed) -> None:
        fn = TASKS.get(job.payload.get("task", ""))
        if fn is None:
            with unit_of_work(self.factory) as session:
                self._finish(session, job, error=f"no task registered as {job.payload.get('task')!r}", permanent=True)
            return
        try:
            with unit_of_work(self.factory) as session:
                fn(session, job.payload.get("args", {}))
                if not self._finish(session, job, error=None):
                    raise _FencedOut()
        except _FencedOut:
            log.error("task job %s: lease lost, rolled back", job.id)
        except Exception as exc:  # a task bug must not kill the worker; it is retried with backoff
            log.exception("task job %s failed", job.id)
            with unit_of_work(self.factory) as session:
                self._finish(session, job, error=f"{exc.__class__.__name__}: {exc}")

    # -- scheduler -----------------------------------------------------------------------------------
    def run_due_periodic(self) -> list[str]:
        """Run each registered periodic job whose time has come; the conditional UPDATE makes exactly one
        worker win each run, and the job's work commits with the claim (a failure retries next tick)."""
        ran: list[str] = []
        for job in list(PERIODIC.values()):
            now = utcnow()
            try:
                with unit_of_work(self.factory) as session:
                    if session.get(SchedulerState, job.name) is None:
                        try:
                            with session.begin_nested():
                                session.execute(insert(SchedulerState).values(name=job.name, next_run_at=now))
                        except IntegrityError:
                            pass
                    won = session.execute(
                        update(SchedulerState)
                        .where(SchedulerState.name == job.name, SchedulerState.next_run_at <= now)
                        .values(next_run_at=now + job.every, last_run_at=now, last_error=None)
                        .execution_options(synchronize_session=False)
                    )
                    if not getattr(won, "rowcount", 0):
                        continue
                    job.fn(session, now)
                ran.append(job.name)
            except Exception as exc:
                log.exception("periodic job %s failed", job.name)
                with unit_of_work(self.factory) as session:
                    session.execute(
                        update(SchedulerState)
                        .where(SchedulerState.name == job.name)
                        .values(last_error=f"{exc.__class__.__name__}: {exc}"[:2000])
                    )
        return ran

    # -- loops ---------------------------------------------------------------------------------------
    def run_once(self, limit: int = 10) -> int:
        self.run_due_periodic()
        jobs = self.claim(limit)
        for job in jobs:
            self.process(job)
        return len(jobs)

    def drain(self, max_rounds: int = 100) -> int:
        """Process until nothing is claimable now (used by tests and `signalfire worker --once`)."""
        total = 0
        for _ in range(max_rounds):
            n = self.run_once()
            total += n
            if n == 0:
                break
        return total

    def run_forever(self, stop: threading.Event) -> None:
        log.info("worker %s started", self.worker_id)
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # the database may be briefly unavailable; keep the loop alive
                log.exception("worker loop error")
                busy = 0
            if not busy:
                wakeup.wait(self.settings.poll_interval_seconds)
        log.info("worker %s stopped", self.worker_id)


class _FencedOut(Exception):
    pass


def next_wakeup_hint(now: datetime) -> datetime:
    return now + timedelta(seconds=1)
