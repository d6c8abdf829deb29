"""Background work of federation: push jobs (outbox), scheduled pulls, and the failing-peer alert."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from signalfire.core.db.session import unit_of_work
from signalfire.core.settings import get_settings
from signalfire.federation import crypto, pull, push, service
from signalfire.federation.health import alert_failing, note_success
from signalfire.federation.models import Peer, PeerCollection
from signalfire.notify.outbox import enqueue_task
from signalfire.notify.registry import DeadTaskAlert, periodic, staged_task

PULL_TASK = "federation.pull"
SCHEDULE_EVERY = timedelta(seconds=15)


PUSH_DEAD = DeadTaskAlert(
    "a push of an exchange item to a federation peer",
    lambda args: (
        "The item version it carried may not have reached the peer. Open Federation, then the peer, to see its "
        "pending and dead pushes; retry them there once the cause is fixed (when a failing peer answers again, "
        "its dead pushes are queued again by themselves)."
    ),
)


@staged_task(push.TASK, alert=PUSH_DEAD)
def push_job(factory: sessionmaker[Session], args: dict[str, Any]) -> Callable[[Session], None]:
    return push.send_job(factory, args)


# Pages per job: a long backlog is read by a chain of jobs, each well inside the worker's lease, so the
# watchdog never hands a running pull to a second worker.
PAGES_PER_JOB = 20


@staged_task(
    PULL_TASK,
    alert=DeadTaskAlert(
        "a pull from a federation peer",
        lambda args: (
            "Nothing is lost: the next scheduled pull of the collection asks the peer again. If pulls keep "
            "failing, open Federation, then the peer, for its last error and health."
        ),
    ),
)
def pull_job(factory: sessionmaker[Session], args: dict[str, Any]) -> Callable[[Session], None]:
    """Pages commit as they are imported; what is left to store is the next job when the backlog goes on."""
    collection_id = uuid.UUID(str(args["collection_id"]))
    result = pull.pull_collection(factory, collection_id, max_pages=PAGES_PER_JOB)

    def store(session: Session) -> None:
        if result.more:
            org_id = session.execute(
                select(Peer.org_id)
                .join(PeerCollection, PeerCollection.peer_id == Peer.id)
                .where(PeerCollection.id == collection_id)
            ).scalar_one_or_none()
            enqueue_task(
                session,
                PULL_TASK,
                {"collection_id": str(collection_id)},
                dedupe_key=f"{PULL_TASK}:{collection_id}:more:{uuid.uuid4().hex[:12]}",
                org_id=org_id,
            )

    return store


@periodic("federation.schedule_pulls", every=SCHEDULE_EVERY)
def schedule_pulls(session: Session, now: datetime) -> None:
    """Queue a pull of every pull collection of an active peer whose last pull is older than the interval."""
    every = timedelta(seconds=get_settings().federation.pull_every_seconds)
    rows = session.execute(
        select(PeerCollection, Peer.org_id).join(Peer, Peer.id == PeerCollection.peer_id).where(Peer.active.is_(True))
    ).all()
    slot = int(now.timestamp() // max(every.total_seconds(), 1))
    for collection, org_id in rows:
        if not collection.direction.pulls:
            continue
        if collection.last_pulled_at is not None and collection.last_pulled_at > now - every:
            continue
        enqueue_task(
            session,
            PULL_TASK,
            {"collection_id": str(collection.id)},
            dedupe_key=f"{PULL_TASK}:{collection.id}:{slot}",
            org_id=org_id,
        )


PROBE_TASK = "federation.probe"


@staged_task(
    PROBE_TASK,
    alert=DeadTaskAlert(
        "a check whether a failing federation peer is back",
        lambda args: (
            "The peer stays marked failing and is checked again within minutes. Open Federation, then the peer, "
            "for its last error."
        ),
    ),
)
def probe_job(factory: sessionmaker[Session], args: dict[str, Any]) -> Callable[[Session], None]:
    """Is a failing peer back? A good answer ends its failing spell (and re-queues its dead pushes)."""
    peer_id = uuid.UUID(str(args["peer_id"]))
    with unit_of_work(factory) as session:
        peer = session.get(Peer, peer_id)
        if peer is None or peer.failing_since is None:
            return lambda s: None
        try:
            conn = service.connection_for(peer)
        except crypto.CredentialUnreadable:
            return lambda s: None
    result = service.probe(conn)

    def store(session: Session) -> None:
        peer = session.get(Peer, peer_id)
        if peer is None:
            return
        if result.ok:
            note_success(session, peer)
        else:
            peer.last_error = (result.error or "probe failed")[:2000]

    return store


@periodic("federation.probe_failing", every=timedelta(minutes=1))
def probe_failing(session: Session, now: datetime) -> None:
    slot = int(now.timestamp() // 60)
    for peer_id, org_id in session.execute(
        select(Peer.id, Peer.org_id).where(Peer.active.is_(True), Peer.failing_since.is_not(None))
    ).all():
        enqueue_task(
            session, PROBE_TASK, {"peer_id": str(peer_id)}, dedupe_key=f"{PROBE_TASK}:{peer_id}:{slot}", org_id=org_id
        )


@periodic("federation.alert_failing", every=timedelta(minutes=1))
def alert_failing_job(session: Session, now: datetime) -> None:
    alert_failing(session, now, timedelta(minutes=get_settings().federation.alert_after_minutes))
