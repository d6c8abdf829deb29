"""A synchronous sync run of one peer (for admins, the CLI and tests): send its queued pushes, then pull.

Pushes that went dead are sent again (an admin asking to sync now is asking for that), and failures of a
run now do not use up the worker's attempts. A transient failure stops the pushes of this run (the peer is
down: the rest would fail the same way) and the pull is still tried.

The worker does the same work in the background (``federation.tasks``); running both at once is safe:
a push row is settled only while pending, and pull pages are keyed by (peer, id, version).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from signalfire.access.actor import Actor
from signalfire.audit.chain import record
from signalfire.core.db.session import unit_of_work
from signalfire.core.settings import get_settings
from signalfire.federation import pull, push
from signalfire.federation.client import PeerError
from signalfire.federation.models import PushLedger, PushState
from signalfire.federation.schemas import SyncOut
from signalfire.federation.service import get_peer


def sync_peer(
    factory: sessionmaker[Session],
    actor: Actor | None,
    peer_id: uuid.UUID,
    *,
    push_only: bool = False,
    pull_only: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> SyncOut:
    """Push what is pending for the peer, then pull its pull collections. ``actor`` None: the system.

    ``progress(done, total)``, if given, counts the run's units: each pending push (its own request and
    transaction), then each pull collection (all its pages). It is told once before the first, after each
    push settled, once for the pushes left for a later run when a transient failure stops them, and after
    each collection pulled."""
    with unit_of_work(factory) as session:
        if actor is not None:
            get_peer(session, actor, peer_id)  # the policy: another org's peer is a 404
            record(
                session,
                action="federation.peer.sync",
                target_type="federation_peer",
                target_id=peer_id,
                actor=actor,
                summary={"push": not pull_only, "pull": not push_only},
            )
        if not pull_only:
            push.revive_dead(session, peer_id)
        pending = [] if pull_only else push.pending_for(session, peer_id)
        collections = [] if push_only else pull.pull_collections_of(session, peer_id)
    out = SyncOut(peer_id=peer_id)
    total, done = len(pending) + len(collections), 0
    if progress is not None:
        progress(0, total)
    settings = get_settings()
    max_attempts = settings.jobs.max_attempts
    for ledger_id in pending:
        try:
            store = push.send(
                factory,
                ledger_id,
                max_attempts=max_attempts,
                count_attempt=False,
                batch_size=settings.federation.push_batch_size,
            )
        except PeerError as exc:
            out.push_failed += 1
            out.errors.append(exc.reason)
            break
        with unit_of_work(factory) as session:
            store(session)
            state = session.get_one(PushLedger, ledger_id).state
        if state == PushState.SENT:
            out.pushed += 1
        elif state != PushState.PENDING:
            out.push_failed += 1
        done += 1
        if progress is not None:
            progress(done, total)
    if done < len(pending):  # the peer is down: the rest wait for the next run
        done = len(pending)
        if progress is not None:
            progress(done, total)
    reader = actor.email if actor is not None else None
    for collection_id in collections:
        result = pull.pull_collection(factory, collection_id, reader=reader)
        out.pulled += result.pulled
        out.refused += result.refused
        out.pages += result.pages
        out.errors += result.errors
        done += 1
        if progress is not None:
            progress(done, total)
    return out
