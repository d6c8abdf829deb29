"""Push: each published version of an item goes, through the outbox, to every peer collection it may go to.

:func:`queue_revision` runs in the transaction that publishes, revises or withdraws the item (called by
``exchange.authoring``): it writes one :class:`PushLedger` row per matching collection (unique on
collection, item, version: a second call is a no-op) and one outbox task per row. The task
(:func:`send_job`, a staged task) builds the STIX objects of the row and of the other pending rows of its
collection (one envelope of up to ``BATCH_SIZE`` rows), POSTs them to the peer with no
transaction open, and records the outcome: sent, refused (the peer answered no: retrying cannot help),
or a failure that the worker retries with backoff until the attempts run out (then dead, shown in the
dead-letter view and retryable by an admin). A SIGKILL between the POST and the record leaves the job
running until the watchdog takes it back (at once when a worker sees the holder's process gone, see
``notify.worker``; at the latest when its lease ends); it is then sent again, which the peer answers
"already present" (TAXII adds are idempotent on id and version), so nothing is lost and nothing is stored
twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from signalfire.audit.chain import Entry, record_many
from signalfire.core.clock import utcnow
from signalfire.core.db.session import unit_of_work
from signalfire.core.settings import get_settings
from signalfire.exchange.models import ExchangeItem, ItemRevision, mask_to_uses
from signalfire.exchange.service import hub_identity
from signalfire.exchange.taxii.store import revision_rows
from signalfire.exchange.vocab import AudienceKind, Tlp
from signalfire.federation import client as taxii_client
from signalfire.federation import crypto
from signalfire.federation.health import note_failure, note_success
from signalfire.federation.models import EventKind, Peer, PeerCollection, PeerEvent, PushLedger, PushState
from signalfire.federation.rules import push_refusal
from signalfire.notify.outbox import enqueue_task

TASK = "federation.push"


def _job_key(ledger_id: uuid.UUID) -> str:
    return f"{TASK}:{ledger_id}:0"


def queue_revision(session: Session, item: ExchangeItem, revision: ItemRevision, change: str) -> list[PushLedger]:
    """Queue the version for every active peer collection of the item's org that it may go to."""
    targets = session.execute(
        select(PeerCollection, Peer)
        .join(Peer, Peer.id == PeerCollection.peer_id)
        .where(Peer.org_id == item.org_id, Peer.active.is_(True))
    ).all()
    if not targets:
        return []
    audience = revision.audience or {}
    kinds = [AudienceKind(k) for k in audience.get("kinds") or []]
    org_ids = [str(o) for o in audience.get("org_ids") or []]
    queued = []
    for collection, peer in targets:
        if not collection.direction.pushes:
            continue
        refusal = push_refusal(
            Tlp(revision.tlp),
            kinds,
            org_ids,
            collection.push_audience,
            collection.push_org_ids,
            from_this_peer=peer.import_org_id is not None and peer.import_org_id == item.org_id,
        )
        if refusal is not None:
            continue
        ledger = PushLedger(
            id=uuid.uuid4(),
            collection_id=collection.id,
            peer_id=peer.id,
            item_id=item.id,
            item_version=revision.version,
            stix_id=f"report--{item.id}",
            stix_version=revision.modified.isoformat(),
            change=change,
            state=PushState.PENDING,
            remote_status={},
        )
        try:
            with session.begin_nested():
                session.add(ledger)
        except IntegrityError:  # this version is queued for this collection already
            continue
        enqueue_task(session, TASK, {"ledger_id": str(ledger.id)}, dedupe_key=_job_key(ledger.id), org_id=item.org_id)
        queued.append(ledger)
    return queued


# Rows sent in one TAXII envelope (one POST): the job of any pending row sends every pending row of its peer
# collection up to this many; the jobs of the others then find theirs settled and send nothing. The worker
# takes it from SIGNALFIRE_FEDERATION__PUSH_BATCH_SIZE (the same default).
BATCH_SIZE = 500
# How far down the pending queue a batch looks for rows it may take (later versions of an item already in
# the batch, or rows with other permitted uses, are skipped and wait for a later batch).
_SCAN_LIMIT = 4 * BATCH_SIZE
FOLLOW_UP_DELAY = timedelta(seconds=2)


def _objects(
    session: Session, ledger: PushLedger, *, signalfire: bool = True
) -> tuple[list[dict[str, Any]], list[str], str, str]:
    """The version's STIX objects as the local TAXII server serves them, its permitted uses, and its key.

    A plain TAXII server gets no extension-definition objects (the extension ids in the objects are enough
    for a reader that knows them; medallion 3.0.0 fails every unfiltered read of a collection holding one).
    """
    import json

    revision = session.execute(
        select(ItemRevision).where(ItemRevision.item_id == ledger.item_id, ItemRevision.version == ledger.item_version)
    ).scalar_one()
    item = session.get_one(ExchangeItem, ledger.item_id)
    rows = revision_rows(session, revision, item.org_id, hub_identity(session))
    owned = [r for r in rows if r.item_id is not None]
    # The item's own object (a report, or a vulnerability) carries the item's id: it names the version.
    main = [r for r in owned if r.stix_id.endswith(str(item.id))]
    key_row = (main or owned or rows)[0]
    stix_version = key_row.version.isoformat() if key_row.version else ledger.stix_version
    if not signalfire:
        rows = [r for r in rows if not r.stix_id.startswith("extension-definition--")]
    return (
        [json.loads(r.body) for r in rows],
        [u.value for u in mask_to_uses(item.permitted_uses_mask)],
        key_row.stix_id,
        stix_version,
    )


# Reference objects the peer may already hold in its own form (identities, markings, extension definitions):
# a refusal of one of them does not stop the item's own objects.
_REFERENCE_PREFIXES = ("identity--", "marking-definition--", "extension-definition--")


def _object_key(obj: dict[str, Any]) -> tuple[str, str]:
    version = obj.get("modified") or obj.get("created") or ""
    return str(obj.get("id", "")), str(version)


def _outcome_of(status: dict[str, Any], ids: set[str] | None = None) -> tuple[bool, str | None]:
    """Whether the peer took one row's objects, and if not why (from the TAXII status resource).

    ``ids``: the row's object ids within a batch (None: the status is of this row alone). A failure of one
    of its own objects refuses the row; failures of reference objects only do when nothing of the row was
    taken.
    """
    failures = [f for f in status.get("failures") or [] if isinstance(f, dict)]
    if ids is None:
        mine_failed = failures
        taken = bool(status.get("success_count"))
    else:
        mine_failed = [f for f in failures if str(f.get("id", "")) in ids]
        succeeded = [s for s in status.get("successes") or [] if isinstance(s, dict)]
        taken = any(str(s.get("id", "")) in ids for s in succeeded) or (
            not succeeded and bool(status.get("success_count"))
        )
    fatal = [f for f in mine_failed if not str(f.get("id", "")).startswith(_REFERENCE_PREFIXES)]
    if fatal or (mine_failed and not taken):
        shown = fatal or mine_failed
        reasons = "; ".join(f"{f.get('id', '?')}: {str(f.get('message', ''))[:200]}" for f in shown[:5])
        return False, f"the peer refused {len(shown)} object(s): {reasons}"
    return True, None


@dataclass
class _Row:
    ledger_id: uuid.UUID
    ids: set[str]
    stix_id: str
    stix_version: str


def _batch(
    session: Session, trigger: PushLedger, *, signalfire: bool, size: int
) -> tuple[list[_Row], list[dict[str, Any]], list[str]]:
    """The trigger row and the other pending rows of its collection that go with it in one envelope.

    Rows are taken oldest first; only the oldest pending version of an item is taken (a later version goes
    in a later envelope, after the earlier one is settled, so versions arrive in order), and only rows with
    the trigger's permitted uses (the envelope declares them once). Objects shared by several rows
    (identities, markings) are in the envelope once.
    """
    candidates = list(
        session.execute(
            select(PushLedger)
            .where(PushLedger.collection_id == trigger.collection_id, PushLedger.state == PushState.PENDING)
            .order_by(PushLedger.created_at, PushLedger.item_version)
            .limit(_SCAN_LIMIT)
        ).scalars()
    )
    # The batch starts with the oldest pending version of the trigger's item (the trigger itself unless an
    # earlier version waits: then that one goes first, and the trigger's job runs again for the trigger).
    head = session.execute(
        select(PushLedger)
        .where(
            PushLedger.collection_id == trigger.collection_id,
            PushLedger.item_id == trigger.item_id,
            PushLedger.state == PushState.PENDING,
        )
        .order_by(PushLedger.item_version)
        .limit(1)
    ).scalar_one()
    uses: list[str] | None = None
    rows: list[_Row] = []
    envelope: list[dict[str, Any]] = []
    seen_objects: set[tuple[str, str]] = set()
    seen_items: set[uuid.UUID] = set()
    ordered = [head, *(c for c in candidates if c is not head)]
    for ledger in ordered:
        if len(rows) >= size:
            break
        if ledger.item_id in seen_items:
            continue
        seen_items.add(ledger.item_id)
        objects, row_uses, stix_id, stix_version = _objects(session, ledger, signalfire=signalfire)
        if uses is None:
            uses = row_uses
        elif row_uses != uses:
            continue
        for obj in objects:
            key = _object_key(obj)
            if key not in seen_objects:
                seen_objects.add(key)
                envelope.append(obj)
        rows.append(_Row(ledger.id, {str(o.get("id", "")) for o in objects}, stix_id, stix_version))
    return rows, envelope, uses or []


def send(
    factory: sessionmaker[Session],
    ledger_id: uuid.UUID,
    *,
    max_attempts: int,
    count_attempt: bool = True,
    batch_size: int | None = None,
) -> Callable[[Session], None]:
    """Send one ledger row, with the other pending rows of its collection in the same envelope (up to
    ``batch_size``); returns what to record (or raises to have the worker retry the row with backoff).

    Each row is settled on its own from the status resource: a refused object refuses its row only. A
    transient failure counts an attempt on the trigger row only (each row's own job counts its own), so
    the dead letters stay per row. ``count_attempt`` False (a sync an admin runs now): a failure is
    recorded on the peer but does not use up the worker's attempts, so polling a peer that is coming back
    never sends rows to the dead letters.
    """
    size = BATCH_SIZE if batch_size is None else max(1, batch_size)
    with unit_of_work(factory) as session:
        ledger = session.get(PushLedger, ledger_id)
        if ledger is None or ledger.state != PushState.PENDING:
            return lambda s: None  # sent or settled already: nothing to do, nothing sent twice
        peer = session.get_one(Peer, ledger.peer_id)
        collection = session.get_one(PeerCollection, ledger.collection_id)
        rows, envelope, uses = _batch(session, ledger, signalfire=peer.signalfire, size=size)
        try:
            conn = taxii_client.Connection(
                discovery_url=peer.discovery_url,
                api_root_url=peer.api_root_url,
                username=peer.username,
                secret=crypto.decrypt(peer.secret_encrypted),
                signalfire=peer.signalfire,
            )
        except crypto.CredentialUnreadable as exc:
            conn = None
            unreadable = str(exc)
        remote_collection = collection.remote_id
        peer_id = peer.id
    if conn is None:
        return _settle(ledger_id, peer_id, PushState.DEAD, unreadable, {})
    try:
        with taxii_client.TaxiiClient(conn) as c:
            status = c.add_objects(remote_collection, envelope, permitted_uses=uses)
    except taxii_client.PeerError as exc:
        if exc.permanent:
            # The whole envelope was refused (a 4xx): every row in it, each with the reason.
            return _settle_many(peer_id, [(r.ledger_id, PushState.REFUSED, exc.reason, {}) for r in rows])
        with unit_of_work(factory) as session:
            ledger = session.get_one(PushLedger, ledger_id)
            ledger.attempts += 1 if count_attempt else 0
            ledger.last_error = exc.reason[:2000]
            note_failure(session, session.get_one(Peer, peer_id), EventKind.PUSH_FAILED, exc.reason)
            out_of_attempts = count_attempt and ledger.attempts >= max_attempts
        if out_of_attempts:
            return _settle(ledger_id, peer_id, PushState.DEAD, exc.reason, {})
        raise
    common: dict[str, Any] = {
        k: status.get(k) for k in ("id", "status", "success_count", "failure_count") if k in status
    }
    if len(rows) > 1:
        common["batch"] = len(rows)
    outcomes: list[tuple[uuid.UUID, PushState, str | None, dict[str, Any]]] = []
    for row in rows:
        ok, why = _outcome_of(status, row.ids if len(rows) > 1 else None)
        summary = common | {"stix_id": row.stix_id, "stix_version": row.stix_version}
        if ok:
            outcomes.append((row.ledger_id, PushState.SENT, None, summary))
        else:
            outcomes.append((row.ledger_id, PushState.REFUSED, why or "refused", summary))
    store = _settle_many(peer_id, outcomes)
    if any(r.ledger_id == ledger_id for r in rows):
        return store

    def store_and_follow(session: Session) -> None:
        store(session)
        _follow_up(session, ledger_id)

    return store_and_follow


def _follow_up(session: Session, ledger_id: uuid.UUID) -> None:
    """The trigger waited for an earlier version of its item: a fresh job sends it after that one."""
    ledger = session.get(PushLedger, ledger_id)
    if ledger is None or ledger.state != PushState.PENDING:
        return
    peer = session.get_one(Peer, ledger.peer_id)
    enqueue_task(
        session,
        TASK,
        {"ledger_id": str(ledger.id)},
        run_after=utcnow() + FOLLOW_UP_DELAY,
        dedupe_key=f"{TASK}:{ledger.id}:{uuid.uuid4().hex[:12]}",
        org_id=peer.org_id,
    )


def _settle(
    ledger_id: uuid.UUID, peer_id: uuid.UUID, state: PushState, error: str | None, remote: dict[str, Any]
) -> Callable[[Session], None]:
    return _settle_many(peer_id, [(ledger_id, state, error, remote)])


def _settle_many(
    peer_id: uuid.UUID, outcomes: list[tuple[uuid.UUID, PushState, str | None, dict[str, Any]]]
) -> Callable[[Session], None]:
    """Record each row's outcome (only rows still pending: a row settled by another run stays as it is)."""

    def store(session: Session) -> None:
        peer = session.get_one(Peer, peer_id)
        by_id = {
            row.id: row
            for row in session.execute(select(PushLedger).where(PushLedger.id.in_([o[0] for o in outcomes]))).scalars()
        }
        entries: list[Entry] = []
        sent_any = False
        for ledger_id, state, error, remote in outcomes:
            ledger = by_id.get(ledger_id)
            if ledger is None or ledger.state != PushState.PENDING:
                continue
            ledger.state = state
            ledger.last_error = error[:2000] if error else None
            ledger.remote_status = remote
            if state == PushState.SENT:
                ledger.attempts += 1
                ledger.sent_at = utcnow()
                if "stix_id" in remote:
                    ledger.stix_id = str(remote["stix_id"])[:300]
                    ledger.stix_version = str(remote["stix_version"])[:40]
                peer.pushed_count += 1
                sent_any = True
            elif state == PushState.REFUSED:
                peer.refused_count += 1
                session.add(
                    PeerEvent(
                        peer_id=peer.id,
                        kind=EventKind.PUSH_REFUSED,
                        reason=(error or "refused")[:2000],
                        detail={"item_id": str(ledger.item_id), "version": ledger.item_version},
                    )
                )
            else:
                note_failure(session, peer, EventKind.PUSH_FAILED, f"dead after {ledger.attempts} attempts: {error}")
            entries.append(
                Entry(
                    action=f"federation.push.{state.value}",
                    target_type="federation_push_ledger",
                    target_id=ledger.id,
                    org_id=peer.org_id,
                    actor_label=f"federation worker (peer {peer.name})",
                    summary={
                        "peer": peer.name,
                        "item_id": str(ledger.item_id),
                        "version": ledger.item_version,
                        "error": ledger.last_error,
                        "status_id": remote.get("id"),
                    },
                )
            )
        if sent_any:
            note_success(session, peer)
        record_many(session, entries)

    return store


def send_job(factory: sessionmaker[Session], args: dict[str, Any]) -> Callable[[Session], None]:
    settings = get_settings()
    return send(
        factory,
        uuid.UUID(str(args["ledger_id"])),
        max_attempts=settings.jobs.max_attempts,
        batch_size=settings.federation.push_batch_size,
    )


def retry_dead(session: Session, ledger: PushLedger) -> None:
    """An admin sends a dead (or refused) row again: back to pending, with a fresh outbox job."""
    ledger.state = PushState.PENDING
    ledger.attempts = 0
    ledger.last_error = None
    peer = session.get_one(Peer, ledger.peer_id)
    enqueue_task(
        session,
        TASK,
        {"ledger_id": str(ledger.id)},
        dedupe_key=f"{TASK}:{ledger.id}:{uuid.uuid4().hex[:12]}",
        org_id=peer.org_id,
    )


def requeue_dead(session: Session, peer: Peer) -> int:
    """After an outage: every dead push of the peer goes back to the queue, each with a fresh outbox job."""
    dead = list(
        session.execute(
            select(PushLedger).where(PushLedger.peer_id == peer.id, PushLedger.state == PushState.DEAD)
        ).scalars()
    )
    for ledger in dead:
        retry_dead(session, ledger)
    return len(dead)


def revive_dead(session: Session, peer_id: uuid.UUID) -> int:
    """A sync an admin runs now sends dead rows again too (back to pending, attempts from zero)."""
    dead = list(
        session.execute(
            select(PushLedger).where(PushLedger.peer_id == peer_id, PushLedger.state == PushState.DEAD)
        ).scalars()
    )
    for ledger in dead:
        retry_dead(session, ledger)  # with a job of its own, in case this run cannot send it
    return len(dead)


def pending_for(session: Session, peer_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        session.execute(
            select(PushLedger.id)
            .where(PushLedger.peer_id == peer_id, PushLedger.state == PushState.PENDING)
            .order_by(PushLedger.created_at)
        ).scalars()
    )
