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
Dead holders are found sooner: a worker writes its row in the worker registry (host, pid, start) in the
transaction that claims, and a thread of its own refreshes the heartbeat while it works on what it
claimed. A holder whose process on this host is gone, or silent for longer than the grace, is dead, and
the watchdog takes its jobs back at once instead of waiting out their lease (a worker SIGKILLed mid-push
is resumed within a loop of its restart). A live holder is never judged dead by a long job, and the lease
stays the last resort for holders that cannot be judged (no registry row, a hung job on a live worker).
Holder clocks must agree within a few seconds of the grace (as they must already for the lease).
Emails and webhooks carry the job id (Message-ID, Signalfire-Delivery) so receivers can drop the rare
redelivery that only a crash between sending and recording can cause.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from signalfire.access.models import Membership, Role, User
from signalfire.core.clock import utcnow
from signalfire.core.db.session import unit_of_work
from signalfire.core.settings import JobSettings
from signalfire.notify import liveness, wakeup
from signalfire.notify.models import (
    JobKind,
    JobStatus,
    OutboxJob,
    SchedulerState,
    WebhookEndpoint,
    WorkerRegistration,
)
from signalfire.notify.outbox import enqueue_email
from signalfire.notify.preferences import chat_url_for
from signalfire.notify.registry import DEAD_TASK_ALERTS, PERIODIC, STAGED_TASKS, SWEEPS, TASKS, load_domain_tasks
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


def holder_dead(
    holder: WorkerRegistration,
    *,
    now: datetime,
    grace_seconds: float,
    host_key: str | None,
    gone: Callable[[int, str | None], bool] = liveness.pid_gone,
) -> str | None:
    """Why the lease holder is surely dead, or None when it may be alive (its jobs then wait for it).

    Dead: no heartbeat for longer than the grace (its heartbeat thread beats while it holds jobs, however
    long they take), or its process is gone from this very host (same boot and PID namespace)."""
    # A process seen gone is the surer reason, so it is named first even when the silence is long too
    # (a restart that took longer than the grace).
    if host_key is not None and holder.host_key == host_key and gone(holder.pid, holder.proc_start):
        return f"is gone: its process {holder.pid} on {holder.host} no longer runs"
    silent = now - holder.heartbeat_at
    if silent > timedelta(seconds=grace_seconds):
        return (
            f"sent no heartbeat since {holder.heartbeat_at.isoformat()} "
            f"({silent.total_seconds():.0f} s, over the {grace_seconds:g} s grace)"
        )
    return None


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
        self.identity = liveness.this_process()
        self.started_at = utcnow()
        self._beat_ok = float("-inf")  # time.monotonic() of the last heartbeat known committed
        load_domain_tasks()

    # -- the registry: who holds leases, and are they alive -------------------------------------------
    def _beat(self, session: Session, now: datetime) -> None:
        """This worker's registry row, heartbeat ``now`` (inserted the first time)."""
        beat = update(WorkerRegistration).where(WorkerRegistration.id == self.worker_id).values(heartbeat_at=now)
        if getattr(session.execute(beat.execution_options(synchronize_session=False)), "rowcount", 0):
            return
        me = self.identity
        row = {
            "id": self.worker_id,
            "host": me.host[:255],
            "host_key": me.host_key,
            "pid": me.pid,
            "proc_start": me.proc_start,
            "started_at": self.started_at,
            "heartbeat_at": now,
        }
        try:
            with session.begin_nested():
                session.execute(insert(WorkerRegistration).values(**row))
        except IntegrityError:  # another Worker object with our id registered first
            session.execute(beat.execution_options(synchronize_session=False))

    def heartbeat(self) -> None:
        with unit_of_work(self.factory) as session:
            self._beat(session, utcnow())
        self._beat_ok = time.monotonic()

    def _heartbeat_fresh(self) -> bool:
        """Whether others still see us alive for a while: if not, beat now before starting another job,
        and start none if even that fails (another worker may be about to take our jobs back)."""
        margin = self.settings.heartbeat_grace_seconds - self.settings.heartbeat_seconds
        if time.monotonic() - self._beat_ok < margin:
            return True
        try:
            self.heartbeat()
        except Exception:
            log.exception("worker %s: heartbeat failed; not starting another job", self.worker_id)
            return False
        return True

    @contextlib.contextmanager
    def _beating(self) -> Iterator[None]:
        """Heartbeats from a thread of their own while the body runs, so a long job keeps us alive."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.settings.heartbeat_seconds):
                try:
                    self.heartbeat()
                except Exception:  # the database may be briefly away; the grace spans a few misses
                    log.exception("worker %s: heartbeat failed", self.worker_id)

        thread = threading.Thread(target=beat, name="signalfire-worker-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=self.settings.heartbeat_seconds)

    def register(self) -> None:
        """On start: our row, and rows of workers silent for long enough that none of their leases can
        still run (a lease starts at a claim, which beats) are removed."""
        now = utcnow()
        horizon = now - timedelta(seconds=max(self.settings.lease_seconds * 2, 3600))
        with unit_of_work(self.factory) as session:
            session.execute(
                delete(WorkerRegistration)
                .where(WorkerRegistration.heartbeat_at < horizon)
                .execution_options(synchronize_session=False)
            )
            self._beat(session, now)
        self._beat_ok = time.monotonic()

    def unregister(self) -> None:
        """On a clean stop: nothing is held any more, so the row goes."""
        with unit_of_work(self.factory) as session:
            session.execute(
                delete(WorkerRegistration)
                .where(WorkerRegistration.id == self.worker_id)
                .execution_options(synchronize_session=False)
            )

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
                    OutboxJob.run_after,
                )
                .execution_options(synchronize_session=False)
            ).all()
            if rows:
                # In the claiming transaction: no lease ever names a worker the registry does not know.
                self._beat(session, now)
        if rows:
            self._beat_ok = time.monotonic()
        # RETURNING keeps no order (PostgreSQL returns rows as the update met them): jobs run in due order.
        rows = sorted(rows, key=lambda r: (r.run_after, str(r.id)))
        return [Claimed(r.id, JobKind(r.kind), r.topic, r.payload, r.attempts, r.org_id) for r in rows]

    # -- the watchdog ---------------------------------------------------------------------------------
    _STALLED_COLUMNS = (
        OutboxJob.id,
        OutboxJob.kind,
        OutboxJob.topic,
        OutboxJob.payload,
        OutboxJob.org_id,
        OutboxJob.attempts,
        OutboxJob.locked_by,
        OutboxJob.locked_until,
    )

    def recover_stalled(self) -> int:
        """Jobs still `running` after their lease, or held by a dead worker: back to the queue, or dead
        once out of attempts."""
        now = utcnow()
        return self._recover_expired(now) + self._recover_from_dead_holders(now)

    def _recover_expired(self, now: datetime) -> int:
        recovered = 0
        with unit_of_work(self.factory) as session:
            stalled = session.execute(
                select(*self._STALLED_COLUMNS)
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
                recovered += self._requeue(session, row, now, error)
        return recovered

    def _recover_from_dead_holders(self, now: datetime) -> int:
        """Jobs whose lease still runs but whose holder is provably dead (see :func:`holder_dead`)."""
        recovered = 0
        with unit_of_work(self.factory) as session:
            leased = (
                select(OutboxJob.locked_by)
                .where(OutboxJob.status == JobStatus.running, OutboxJob.locked_until >= now)
                .distinct()
            )
            holders = session.execute(
                select(WorkerRegistration).where(
                    WorkerRegistration.id.in_(leased.scalar_subquery()), WorkerRegistration.id != self.worker_id
                )
            ).scalars()
            dead = {
                h.id: why
                for h in holders
                if (
                    why := holder_dead(
                        h,
                        now=now,
                        grace_seconds=self.settings.heartbeat_grace_seconds,
                        host_key=self.identity.host_key,
                    )
                )
                is not None
            }
            if not dead:
                return 0
            orphaned = session.execute(
                select(*self._STALLED_COLUMNS)
                .where(
                    OutboxJob.status == JobStatus.running,
                    OutboxJob.locked_by.in_(list(dead)),
                    OutboxJob.locked_until >= now,
                )
                .order_by(OutboxJob.locked_until)
                .limit(100)
                .with_for_update(skip_locked=True)
            ).all()
            for row in orphaned:
                assert row.locked_until is not None and row.locked_by is not None
                error = (
                    f"attempt {row.attempts} did not finish: worker {row.locked_by} {dead[row.locked_by]}, so its "
                    f"lease (to {row.locked_until.isoformat()}) was taken back early"
                )
                recovered += self._requeue(session, row, now, error)
        return recovered

    def _requeue(self, session: Session, row: Any, now: datetime, error: str) -> int:
        """Back to the queue (or dead when out of attempts), fenced on the lease we saw. 1 if it moved."""
        dead = row.attempts >= self.settings.max_attempts
        values: dict[str, Any] = {"last_error": error, "locked_by": None, "locked_until": None}
        # Not the job's fault, so no backoff: the next claim may take it at once.
        values |= (
            {"status": JobStatus.dead, "completed_at": now} if dead else {"status": JobStatus.pending, "run_after": now}
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
            return 0
        log.warning("job %s (%s): %s", row.id, row.topic, error)
        if dead:
            _alert_admins(session, Claimed(row.id, row.kind, row.topic, row.payload, row.attempts, row.org_id), error)
        return 1

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
            _alert_admins(session, job, error)
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
        if jobs:
            with self._beating():
                for job in jobs:
                    if not self._heartbeat_fresh():
                        break  # the rest stay ours until the watchdog of a healthy worker takes them back
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
        try:
            self.register()
        except Exception:  # registered by its first claim instead
            log.exception("worker %s could not register", self.worker_id)
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # the database may be briefly unavailable; keep the loop alive
                log.exception("worker loop error")
                busy = 0
            if not busy:
                wakeup.wait(self.settings.poll_interval_seconds)
        with contextlib.suppress(Exception):  # left behind, the row is pruned by a later start
            self.unregister()
        log.info("worker %s stopped", self.worker_id)


class _FencedOut(Exception):
    pass


def _alert_admins(session: Session, job: Claimed, error: str) -> None:
    """Tell the org's admins that a job died, through the outbox; an alert that dies tells nobody.

    A task of a kind registered with a :class:`DeadTaskAlert` is named as such (what it was, after how many
    attempts, and what to do); notifications (emails, webhooks, chat) and undescribed tasks keep the
    notification wording.
    """
    job_id, topic, org_id = job.id, job.topic, job.org_id
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
    described = _task_alert(job, error)
    subject, body = described or (
        f"Signalfire could not deliver a notification ({topic})",
        (
            f"A background job of your organisation failed for good and will not be retried.\n\n"
            f"Job: {job_id}\nKind of notification: {topic}\nError: {error[:1000]}\n\n"
            "Whoever it was meant for has not been told. Check the cause (for example an address or a "
            "webhook endpoint) and send the information another way if it is still needed."
        ),
    )
    enqueue_email(
        session,
        to=admins,
        topic=ALERT_TOPIC,
        org_id=org_id,
        subject=subject,
        body=body,
        dedupe_key=f"{ALERT_TOPIC}:{job_id}",
    )


def _task_alert(job: Claimed, error: str) -> tuple[str, str] | None:
    """(subject, body) of the alert for a dead task of a described kind; None for anything else."""
    if job.kind != JobKind.task:
        return None
    payload = job.payload if isinstance(job.payload, dict) else {}
    alert = DEAD_TASK_ALERTS.get(str(payload.get("task", job.topic)))
    if alert is None:
        return None
    args = payload.get("args")
    try:
        then = alert.then(args if isinstance(args, dict) else {})
    except Exception:  # the alert must go out (and the job be marked dead) even if its arguments are odd
        log.exception("job %s (%s): could not describe what to do", job.id, job.topic)
        then = "Check the error above and the worker's log."
    attempts = f"{job.attempts} attempt{'' if job.attempts == 1 else 's'}"
    subject = f"Signalfire: {alert.what} failed after {attempts} ({job.topic})"
    body = (
        f"A background task of your organisation failed after {attempts} and will not be retried.\n\n"
        f"Task: {alert.what} ({job.topic})\nJob: {job.id}\nError: {error[:1000]}\n\n{then}"
    )
    return subject, body
