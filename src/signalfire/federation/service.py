"""Managing peers: register, change, remove, choose collections, test the connection. Never commits.

Only the owning org's admins (``federation:peer:manage``) reach a peer; another org's peer is a 404.
Every change is audited (credentials never appear in the audit summary). Pushing lives in
``federation.push``, pulling in ``federation.pull``, health in ``federation.health``.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from signalfire.access.actor import Actor
from signalfire.access.permissions import Permission
from signalfire.access.policy import first_or_404, require
from signalfire.access.policy.federation import readable_peer_collections, readable_peers
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.db.session import unit_of_work
from signalfire.core.errors import Conflict, NotFound, ValidationFailed
from signalfire.exchange.service import org_identity_id
from signalfire.exchange.vocab import AudienceKind
from signalfire.federation import client as taxii_client
from signalfire.federation import crypto
from signalfire.federation.models import EventKind, Peer, PeerCollection, PeerEvent, PushLedger, PushState
from signalfire.federation.schemas import CollectionIn, PeerIn, PeerUpdate, TestOut

MAX_PEERS_PER_ORG = 50
MAX_COLLECTIONS_PER_PEER = 50


def get_peer(session: Session, actor: Actor, peer_id: uuid.UUID) -> Peer:
    return first_or_404(session, readable_peers(actor).where(Peer.id == peer_id), "No such peer.")


def get_collection(session: Session, actor: Actor, peer_id: uuid.UUID, collection_id: uuid.UUID) -> PeerCollection:
    stmt = readable_peer_collections(actor).where(PeerCollection.id == collection_id, PeerCollection.peer_id == peer_id)
    return first_or_404(session, stmt, "No such peer collection.")


def _check_identity(remote_identity: str | None, remote_org_id: uuid.UUID | None) -> str | None:
    """For a Signalfire peer named by org id, its identity follows from the id; a different one is refused."""
    if remote_org_id is None:
        return remote_identity
    derived = org_identity_id(remote_org_id)
    if remote_identity is not None and remote_identity != derived:
        raise ValidationFailed.single(
            "remote_identity",
            f"a Signalfire org {remote_org_id} signs as {derived}, not {remote_identity}; leave it empty or correct it",
        )
    return derived


def create_peer(session: Session, actor: Actor, data: PeerIn) -> Peer:
    require(actor, Permission.federation_peer_manage)
    count = len(session.execute(readable_peers(actor).with_only_columns(Peer.id)).all())
    if count >= MAX_PEERS_PER_ORG:
        raise Conflict(f"An organisation may register at most {MAX_PEERS_PER_ORG} peers.")
    if session.execute(readable_peers(actor).where(Peer.name == data.name)).first() is not None:
        raise Conflict(f"A peer named {data.name!r} is already registered.", slug="peer-name-taken")
    identity = _check_identity(data.remote_identity, data.remote_org_id)
    peer = Peer(
        org_id=actor.org_id,
        name=data.name,
        discovery_url=data.discovery_url,
        api_root_url=data.api_root_url,
        username=data.username or None,
        secret_encrypted=crypto.encrypt(data.secret),
        remote_identity=identity,
        remote_org_id=data.remote_org_id,
        remote_name=data.remote_name or data.name,
        signalfire=data.signalfire,
        purpose=data.purpose,
        created_by_id=actor.user_id,
        last_test_detail={},
    )
    session.add(peer)
    session.flush()
    record(
        session,
        action="federation.peer.create",
        target_type="federation_peer",
        target_id=peer.id,
        actor=actor,
        summary={
            "name": peer.name,
            "api_root_url": peer.api_root_url,
            "remote_identity": identity,
            "signalfire": peer.signalfire,
            "purpose": peer.purpose.value,
        },
    )
    return peer


def update_peer(session: Session, actor: Actor, peer_id: uuid.UUID, data: PeerUpdate) -> Peer:
    peer = get_peer(session, actor, peer_id)
    changed: dict[str, Any] = {}
    for name in ("discovery_url", "api_root_url", "username", "remote_name", "purpose", "active"):
        value = getattr(data, name)
        if value is not None and value != getattr(peer, name):
            setattr(peer, name, value)
            changed[name] = value.value if hasattr(value, "value") else value
    if data.remote_identity is not None:
        peer.remote_identity = _check_identity(data.remote_identity, peer.remote_org_id)
        changed["remote_identity"] = peer.remote_identity
    if data.secret is not None:
        peer.secret_encrypted = crypto.encrypt(data.secret)
        changed["secret"] = "replaced"  # noqa: S105 (a note for the audit log, not a secret)
    record(
        session,
        action="federation.peer.update",
        target_type="federation_peer",
        target_id=peer.id,
        actor=actor,
        summary={"changed": changed},
    )
    return peer


def delete_peer(session: Session, actor: Actor, peer_id: uuid.UUID) -> None:
    peer = get_peer(session, actor, peer_id)
    record(
        session,
        action="federation.peer.delete",
        target_type="federation_peer",
        target_id=peer.id,
        actor=actor,
        summary={"name": peer.name, "api_root_url": peer.api_root_url},
    )
    session.delete(peer)


def set_collection(session: Session, actor: Actor, peer_id: uuid.UUID, data: CollectionIn) -> PeerCollection:
    """Add a remote collection to a peer, or change its direction and audiences (keyed by remote id)."""
    peer = get_peer(session, actor, peer_id)
    if peer.signalfire and data.direction.pushes and data.push_audience is AudienceKind.NAMED_ORGS:
        # A Signalfire instance takes adds only in its group collections (members, government partners,
        # researchers): a push there would widen a named-orgs (TLP:AMBER) item to the whole group.
        raise ValidationFailed.single(
            "push_audience",
            "a Signalfire peer has no writable collection limited to named orgs; push TLP:AMBER items "
            "to a TAXII server whose collection is limited to those orgs",
        )
    existing = session.execute(
        select(PeerCollection).where(PeerCollection.peer_id == peer.id, PeerCollection.remote_id == data.remote_id)
    ).scalar_one_or_none()
    if existing is None:
        count = len(session.execute(select(PeerCollection.id).where(PeerCollection.peer_id == peer.id)).all())
        if count >= MAX_COLLECTIONS_PER_PEER:
            raise Conflict(f"A peer may have at most {MAX_COLLECTIONS_PER_PEER} collections.")
        existing = PeerCollection(peer_id=peer.id, remote_id=data.remote_id)
        session.add(existing)
    existing.title = data.title or existing.title or data.remote_id
    existing.direction = data.direction
    existing.push_audience = data.push_audience if data.direction.pushes else None
    existing.push_org_ids = [str(o) for o in data.push_org_ids] if data.direction.pushes else []
    existing.pull_audience = data.pull_audience if data.direction.pulls else None
    existing.pull_org_ids = [str(o) for o in data.pull_org_ids] if data.direction.pulls else []
    session.flush()
    record(
        session,
        action="federation.collection.set",
        target_type="federation_peer_collection",
        target_id=existing.id,
        actor=actor,
        summary={
            "peer": peer.name,
            "remote_id": data.remote_id,
            "direction": data.direction.value,
            "push_audience": existing.push_audience.value if existing.push_audience else None,
            "push_org_ids": existing.push_org_ids,
            "pull_audience": existing.pull_audience.value if existing.pull_audience else None,
        },
    )
    return existing


def remove_collection(session: Session, actor: Actor, peer_id: uuid.UUID, collection_id: uuid.UUID) -> None:
    collection = get_collection(session, actor, peer_id, collection_id)
    record(
        session,
        action="federation.collection.remove",
        target_type="federation_peer_collection",
        target_id=collection.id,
        actor=actor,
        summary={"remote_id": collection.remote_id},
    )
    session.delete(collection)


def connection_for(peer: Peer, reader: str | None = None) -> taxii_client.Connection:
    return taxii_client.Connection(
        discovery_url=peer.discovery_url,
        api_root_url=peer.api_root_url,
        username=peer.username,
        secret=crypto.decrypt(peer.secret_encrypted),
        signalfire=peer.signalfire,
        purpose=peer.purpose.value,
        reader=reader,
    )


def probe(conn: taxii_client.Connection) -> TestOut:
    """Discovery, API root and collections, outside any transaction."""
    try:
        with taxii_client.TaxiiClient(conn) as c:
            disc = c.discovery()
            root = c.api_root()
            found = c.collections()
    except taxii_client.PeerError as exc:
        return TestOut(ok=False, error=exc.reason)
    return TestOut(
        ok=True,
        discovery_title=str(disc.get("title"))[:200],
        api_root_title=str(root.get("title"))[:200],
        collections=[
            {
                "id": str(col["id"])[:200],
                "title": str(col.get("title", ""))[:300],
                "can_read": bool(col.get("can_read")),
                "can_write": bool(col.get("can_write")),
            }
            for col in found[:200]
        ],
    )


def record_test(session: Session, actor: Actor, peer_id: uuid.UUID, result: TestOut) -> Peer:
    peer = get_peer(session, actor, peer_id)
    peer.last_test_at = utcnow()
    peer.last_test_ok = result.ok
    peer.last_test_detail = result.model_dump(mode="json")
    session.add(
        PeerEvent(
            peer_id=peer.id,
            at=peer.last_test_at,
            kind=EventKind.TEST_OK if result.ok else EventKind.TEST_FAILED,
            reason=result.error or f"{len(result.collections)} collections",
            detail={},
        )
    )
    record(
        session,
        action="federation.peer.test",
        target_type="federation_peer",
        target_id=peer.id,
        actor=actor,
        summary={"ok": result.ok, "error": result.error, "collections": len(result.collections)},
    )
    return peer


def retry_push(session: Session, actor: Actor, peer_id: uuid.UUID, ledger_id: uuid.UUID) -> PushLedger:
    """Send a dead or refused push again (the dead-letter view's action)."""
    from signalfire.federation import push
    from signalfire.federation.queries import ledger_row

    get_peer(session, actor, peer_id)
    ledger = ledger_row(session, actor, peer_id, ledger_id)
    if ledger is None:
        raise NotFound("No such push.")
    if ledger.state not in (PushState.DEAD, PushState.REFUSED):
        raise Conflict("Only a dead or refused push can be retried.", slug="not-dead")
    push.retry_dead(session, ledger)
    record(
        session,
        action="federation.push.retry",
        target_type="federation_push_ledger",
        target_id=ledger.id,
        actor=actor,
        summary={"item_id": str(ledger.item_id), "version": ledger.item_version},
    )
    return ledger


def test_connection(factory: sessionmaker[Session], actor: Actor, peer_id: uuid.UUID) -> TestOut:
    """Read the peer's settings, probe it with no transaction open, then record the outcome."""
    with unit_of_work(factory) as session:
        conn = connection_for(get_peer(session, actor, peer_id), reader=actor.email)
    result = probe(conn)
    with unit_of_work(factory) as session:
        record_test(session, actor, peer_id, result)
    return result
