"""Who may see federation peers and everything hanging off them, as SQL.

Peers are an org's own configuration: the admins of the owning org (``federation:peer:manage``) see
its peers, their collections, ledgers, provenance and events; nobody else does, and a peer of another
org looks missing (404).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from signalfire.access.actor import Actor
from signalfire.access.permissions import Permission
from signalfire.access.policy import nothing
from signalfire.federation.models import Peer, PeerCollection, PeerEvent, PulledObject, PushLedger


def _own(actor: Actor, stmt: Select[Any]) -> Select[Any]:
    if not actor.can(Permission.federation_peer_manage):
        return nothing(stmt)
    return stmt.where(Peer.org_id == actor.org_id)


def readable_peers(actor: Actor) -> Select[Peer]:
    return _own(actor, select(Peer))


def readable_peer_collections(actor: Actor) -> Select[PeerCollection]:
    return _own(actor, select(PeerCollection).join(Peer, Peer.id == PeerCollection.peer_id))


def readable_push_ledger(actor: Actor) -> Select[PushLedger]:
    return _own(actor, select(PushLedger).join(Peer, Peer.id == PushLedger.peer_id))


def readable_pulled(actor: Actor) -> Select[PulledObject]:
    return _own(actor, select(PulledObject).join(Peer, Peer.id == PulledObject.peer_id))


def readable_peer_events(actor: Actor) -> Select[PeerEvent]:
    return _own(actor, select(PeerEvent).join(Peer, Peer.id == PeerEvent.peer_id))
