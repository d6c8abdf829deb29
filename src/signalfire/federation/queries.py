"""Reading federation rows through the policy (the owning org's admins only)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.policy.federation import (
    readable_peer_collections,
    readable_peer_events,
    readable_peers,
    readable_pulled,
    readable_push_ledger,
)
from signalfire.federation.models import Peer, PeerCollection, PeerEvent, PulledObject, PushLedger, PushState

MAX_ROWS = 500


def list_peers(session: Session, actor: Actor) -> list[Peer]:
    return list(session.execute(readable_peers(actor).order_by(Peer.name)).scalars())


def collections_of(session: Session, actor: Actor, peer_id: uuid.UUID) -> list[PeerCollection]:
    stmt = readable_peer_collections(actor).where(PeerCollection.peer_id == peer_id).order_by(PeerCollection.title)
    return list(session.execute(stmt).scalars())


def ledger_of(
    session: Session, actor: Actor, peer_id: uuid.UUID, state: PushState | None = None, limit: int = 100
) -> list[PushLedger]:
    stmt = readable_push_ledger(actor).where(PushLedger.peer_id == peer_id)
    if state is not None:
        stmt = stmt.where(PushLedger.state == state)
    stmt = stmt.order_by(PushLedger.created_at.desc()).limit(min(limit, MAX_ROWS))
    return list(session.execute(stmt).scalars())


def ledger_row(session: Session, actor: Actor, peer_id: uuid.UUID, ledger_id: uuid.UUID) -> PushLedger | None:
    stmt = readable_push_ledger(actor).where(PushLedger.peer_id == peer_id, PushLedger.id == ledger_id)
    return session.execute(stmt).scalars().first()


def events_of(session: Session, actor: Actor, peer_id: uuid.UUID, limit: int = 50) -> list[PeerEvent]:
    stmt = (
        readable_peer_events(actor)
        .where(PeerEvent.peer_id == peer_id)
        .order_by(PeerEvent.at.desc())
        .limit(min(limit, MAX_ROWS))
    )
    return list(session.execute(stmt).scalars())


def pulled_of(
    session: Session, actor: Actor, peer_id: uuid.UUID, stix_id: str | None = None, limit: int = 100
) -> list[PulledObject]:
    """Provenance: which objects came from the peer, when, and the local item each became."""
    stmt = readable_pulled(actor).where(PulledObject.peer_id == peer_id)
    if stix_id:
        stmt = stmt.where(PulledObject.stix_id == stix_id)
    stmt = stmt.order_by(PulledObject.fetched_at.desc()).limit(min(limit, MAX_ROWS))
    return list(session.execute(stmt).scalars())
