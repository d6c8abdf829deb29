"""The outbox worker and the scheduler.

Claiming: one UPDATE over a sub-select with FOR UPDATE SKIP LOCKED (PostgreSQL), so several workers
never take the same job; a claim is a lease, and a job whose worker died is taken again when the lease
runs out. Completion is fenced on locked_by, so a worker whose lease was taken over cannot mark it done.
Tasks (database-only work) run in the same transaction that marks them done: exactly-once effect.
Every attempt ends with an outcome: done, or an error recorded on the job (retried with backoff, or dead
at once when retrying cannot help, e.g. a message that cannot be built). A dead job alerts its org's
admins through the outbox, in the transaction that marks it dead; alerts that die alert nobody, so
nothing loops. The watchdog (each loop, before claiming) finds jobs still `running` past their lease,
because their worker died or stalled, and returns them to the queue, or marks them dead once their
attempts are used up, recording why either way.
Emails and webhooks carry the job id (Message-ID, Signalfire-Delivery) so receivers can drop the rare
redelivery that only a crash between sending and recording can cause.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from signalfire.access.models import Membership, Role, User
from signalfire.core.clock import utcnow
from signalfire.core.db.session import unit_of_work
from signalfire.core.settings import JobSettings
from signalfire.notify import wakeup
from signalfire.notify.models import JobKind, JobStatus, OutboxJob, SchedulerState, WebhookEndpoint
from signalfire.notify.outbox import enqueue_email
from signalfire.notify.preferences import chat_url_for
from signalfire.notify.registry import PERIODIC, STAGED_TASKS, SWEEPS, TASKS, load_domain_tasks
from signalfire.notify.transports import DeliveryError, Mailer, MessageNotBuilt, post_chat, post_webhook

log = logging.getLogger("signalfire.worker")


ALERT_TOPIC = "notify.job_dead"


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    kind: JobKind
    topic: str
    payload: dict[str, Any]
    attempts: int
    org_id: uuid.UUID | None = None


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
            # Jobs whose lease ran out are not taken here: the watchdog records why and counts the attempt.
            claimable = (
                select(OutboxJob.id)
                .where(OutboxJob.status == JobStatus.pending, OutboxJob.run_after <= now)
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
                .returning(
                    OutboxJob.id,
                    OutboxJob.kind,
                    OutboxJob.topic,
                    OutboxJob.payload,
                    OutboxJob.attempts,
                    OutboxJob.org_id,
                )
                .execution_options(synchronize_session=False)
            ).all()
            return [Claimed(r.id, JobKind(r.kind), r.topic, r.payload, r.attempts, r.org_id) for r in rows]

    # -- the watchdog ---------------------------------------------------------------------------------
    def recover_stalled(self) -> int:
        """Jobs still `running` after their lease: back to the queue, or dead once out of attempts."""
        now = utcnow()
        recovered = 0
        with unit_of_work(self.factory) as session:
            stalled = session.execute(
                select(
                    OutboxJob.id,
                    OutboxJob.topic,
                    OutboxJob.org_id,
                    OutboxJob.attempts,
                    OutboxJob.locked_by,
                    OutboxJob.locked_until,
                )
                .where(OutboxJob.status == JobStatus.running, OutboxJob.locked_until < now)
                .order_by(OutboxJob.locked_until)
                .limit(100)
                .with_for_update(skip_locked=True)
            ).all()
            for row in stalled:
                assert row.locked_until is not None
                error = (
                    f"attempt {row.attempts} did not finish: the lease of worker {row.locked_by} ran out at "
                    f"{row.locked_until.isoformat()} (the worker stopped or stalled)"
                )
                dead = row.attempts >= self.settings.max_attempts
                values: dict[str, Any] = {"last_error": error, "locked_by": None, "locked_until": None}
                # Not the job's fault, so no backoff: the next claim may take it at once.
                values |= (
                    {"status": JobStatus.dead, "completed_at": now}
                    if dead
                    else {"status": JobStatus.pending, "run_after": now}
                )
                done = session.execute(
                    update(OutboxJob)
                    .where(
                        OutboxJob.id == row.id,
                        OutboxJob.status == JobStatus.running,
                        OutboxJob.locked_by == row.locked_by,
                        OutboxJob.locked_until == row.locked_until,
                    )
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
                if not getattr(done, "rowcount", 0):
                    continue
                recovered += 1
                log.warning("job %s (%s): %s", row.id, row.topic, error)
                if dead:
                    _alert_admins(session, row.id, row.topic, row.org_id, error)
        return recovered

    def _finish(
        self, session: Session, job: Claimed, *, error: str | None, permanent: bool = False, alert: bool = True
    ) -> bool:
        """Record the outcome, only if we still hold the lease. Returns False when fenced out.

        A job that goes dead alerts its org's admins in this transaction (unless ``alert`` is off).
        """
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
            values = {
                "status": JobStatus.dead,
                "completed_at": now,
                "last_error": error[:2000],
                "locked_by": None,
                "locked_until": None,
            }
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
        finished = bool(getattr(result, "rowcount", 0))
        if finished and error is not None and alert and values["status"] == JobStatus.dead:
            _alert_admins(session, job.id, job.topic, job.org_id, error)
        return finished

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
                self._finish(session, job, error=str(exc), permanent=exc.permanent, alert=exc.alert)
            return
        except Exception as exc:  # a bug must still end the attempt with its error, never leave it running
            log.exception("job %s (%s) failed unexpectedly", job.id, job.topic)
            with unit_of_work(self.factory) as session:
                self._finish(session, job, error=f"{exc.__class__.__name__}: {exc}")
            return
        with unit_of_work(self.factory) as session:
            if not self._finish(session, job, error=None):
                log.error("job %s delivered but our lease was taken over", job.id)

    def _deliver(self, job: Claimed) -> None:
        if job.kind == JobKind.email:
            try:
                to, subject, body = job.payload["to"], job.payload["subject"], job.payload["body"]
            except (KeyError, TypeError) as exc:
                raise MessageNotBuilt(f"the job has no {exc} to build the message from") from exc
            if not isinstance(to, list) or not all(isinstance(a, str) for a in to) or not to:
                raise MessageNotBuilt("the job's recipients are not a list of addresses")
            if not isinstance(subject, str) or not isinstance(body, str):
                raise MessageNotBuilt("the job's subject and body must be text")
            self.mailer.send(job_id=str(job.id), to=list(to), subject=subject, body=body)
        elif job.kind == JobKind.webhook:
            with unit_of_work(self.factory) as session:
                endpoint = session.get(WebhookEndpoint, uuid.UUID(job.payload["endpoint_id"]))
                target = (endpoint.url, endpoint.secret, endpoint.active) if endpoint else None
            if target is None or not target[2]:
                # The org removed or disabled it itself: nothing to alert its admins about.
                raise DeliveryError("webhook endpoint removed or disabled", permanent=True, alert=False)
            post_webhook(
                self.http,
                url=target[0],
                secret=target[1],
                event=job.payload["event"],
                delivery_id=str(job.id),
                data=job.payload["data"],
            )
        else:  # chat: the kinds are a closed enum, and tasks never get here
            with unit_of_work(self.factory) as session:
                url = chat_url_for(session, uuid.UUID(job.payload["user_id"]), uuid.UUID(job.payload["org_id"]))
            if url is None:
                raise DeliveryError("chat webhook removed", permanent=True)
            post_chat(self.http, url=url, text=job.payload["text"])

    def _run_task(self, job: Claimed) -> None:
        name = job.payload.get("task", "")
        staged = STAGED_TASKS.get(name)
        fn = TASKS.get(name)
        if fn is None and staged is None:
            with unit_of_work(self.factory) as session:
                self._finish(session, job, error=f"no task registered as {job.payload.get('task')!r}", permanent=True)
            return
        args = job.payload.get("args", {})
        try:
            if staged is not None:
                store = staged(self.factory, args)  # its outside work, with no transaction of ours open
            with unit_of_work(self.factory) as session:
                if staged is not None:
                    store(session)
                else:
                    assert fn is not None
                    fn(session, args)
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
                error = f"{exc.__class__.__name__}: {exc}"[:2000]
                with unit_of_work(self.factory) as session:
                    # On a first run the row was inserted in the transaction that rolled back: put it back,
                    # due now, so the next tick retries (it is already there on every later run).
                    with contextlib.suppress(IntegrityError), session.begin_nested():
                        session.add(SchedulerState(name=job.name, next_run_at=now))
                    session.execute(
                        update(SchedulerState).where(SchedulerState.name == job.name).values(last_error=error)
                    )
        return ran

    # -- sweeps --------------------------------------------------------------------------------------
    def run_sweeps(self) -> int:
        """One pass of every registered sweep, each in its own transaction; a failure is logged and the
        sweep's items stay queued (the sweep itself must set aside an item that keeps failing)."""
        handled = 0
        for name, fn in list(SWEEPS.items()):
            try:
                with unit_of_work(self.factory) as session:
                    handled += fn(session)
            except Exception:
                log.exception("sweep %s failed", name)
        return handled

    # -- loops ---------------------------------------------------------------------------------------
    def run_once(self, limit: int = 10) -> int:
        self.run_due_periodic()
        self.recover_stalled()
        swept = self.run_sweeps()
        jobs = self.claim(limit)
        for job in jobs:
            self.process(job)
        # Jobs the sweeps enqueued (events) are claimed on the next loop, which runs at once while busy.
        return len(jobs) + swept

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


def _alert_admins(session: Session, job_id: uuid.UUID, topic: str, org_id: uuid.UUID | None, error: str) -> None:
    """Tell the org's admins that a job died, through the outbox; an alert that dies tells nobody."""
    if topic == ALERT_TOPIC or org_id is None:
        return
    admins = sorted(
        session.execute(
            select(User.email)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.org_id == org_id, Membership.role == Role.admin, User.is_active.is_(True))
        ).scalars()
    )
    if not admins:
        log.error("job %s (%s) is dead and org %s has no active admin to tell", job_id, topic, org_id)
        return
    enqueue_email(
        session,
        to=admins,
        topic=ALERT_TOPIC,
        org_id=org_id,
        subject=f"Signalfire could not deliver a notification ({topic})",
        body=(
            f"A background job of your organisation failed for good and will not be retried.\n\n"
            f"Job: {job_id}\nKind of notification: {topic}\nError: {error[:1000]}\n\n"
            "Whoever it was meant for has not been told. Check the cause (for example an address or a "
            "webhook endpoint) and send the information another way if it is still needed."
        ),
        dedupe_key=f"{ALERT_TOPIC}:{job_id}",
    )
