"""Access-matrix cases for federation: peers are settings of the owning org, for its admins only
(``federation:peer:manage``). Another org's peer is a 404, as are its collections, ledger and events;
the lists are simply empty for others. A connection test reaches a closed local port (fails fast)."""

from __future__ import annotations

import uuid
from typing import Any

from signalfire.access.models import OrgKind
from signalfire.access.permissions import Permission as P
from signalfire.exchange.vocab import AudienceKind
from signalfire.federation import service
from signalfire.federation.models import Direction, PushLedger, PushState
from signalfire.federation.schemas import CollectionIn, PeerIn
from tests.exchange import factories as xf
from tests.matrix import MatrixContext, RouteCase

CLOSED = "http://127.0.0.1:9/taxii2/"


def peer_in(name: str | None = None) -> dict[str, Any]:
    return {
        "name": name or f"peer-{uuid.uuid4().hex[:8]}",
        "discovery_url": CLOSED,
        "api_root_url": CLOSED + "exchange/",
        "secret": "sf_not_a_real_token",
    }


def _peer(ctx: MatrixContext) -> dict[str, Any]:
    peer = service.create_peer(ctx.db, ctx.admin, PeerIn.model_validate(peer_in()))
    collection = service.set_collection(
        ctx.db,
        ctx.admin,
        peer.id,
        CollectionIn(remote_id="remote-1", direction=Direction.PUSH, push_audience=AudienceKind.ALL_MEMBERS),
    )
    item = xf.published(ctx.db, ctx.admin)
    ledger = PushLedger(
        collection_id=collection.id,
        peer_id=peer.id,
        item_id=item.id,
        item_version=99,
        stix_id="report--x",
        stix_version="v",
        change="published",
        state=PushState.DEAD,
        remote_status={},
    )
    ctx.db.add(ledger)
    ctx.db.flush()
    return {"peer_id": peer.id, "collection_id": collection.id, "ledger_id": ledger.id}


def _collection_form(ctx: MatrixContext, params: dict[str, Any]) -> dict[str, Any]:
    return {"remote_id": "remote-2", "direction": "push", "push_audience": "all_members"}


def _collection_json(ctx: MatrixContext, params: dict[str, Any]) -> dict[str, Any]:
    return {"remote_id": "remote-2", "direction": "pull", "pull_audience": "all_members"}


M = P.federation_peer_manage
ADMIN_ROUTES = [
    ("GET", "/federation", {"denied": 403}),
    ("POST", "/federation", {"denied": 403, "form": lambda ctx, p: peer_in()}),
    ("GET", "/federation/{peer_id}", {"owned": True, "denied": 404}),
    ("POST", "/federation/{peer_id}/collections", {"owned": True, "denied": 404, "form": _collection_form}),
    ("POST", "/federation/{peer_id}/collections/{collection_id}/remove", {"owned": True, "denied": 404}),
    ("POST", "/federation/{peer_id}/test", {"owned": True, "denied": 404}),
    ("POST", "/federation/{peer_id}/sync", {"owned": True, "denied": 404}),
    ("POST", "/federation/{peer_id}/ledger/{ledger_id}/retry", {"owned": True, "denied": 404}),
    ("POST", "/federation/{peer_id}/delete", {"owned": True, "denied": 404}),
    ("GET", "/api/v1/federation/peers", {"denied": 200}),
    ("POST", "/api/v1/federation/peers", {"denied": 403, "json": lambda ctx, p: peer_in()}),
    ("GET", "/api/v1/federation/peers/{peer_id}", {"owned": True, "denied": 404}),
    (
        "PATCH",
        "/api/v1/federation/peers/{peer_id}",
        {"owned": True, "denied": 404, "json": lambda c, p: {"active": False}},
    ),
    ("DELETE", "/api/v1/federation/peers/{peer_id}", {"owned": True, "denied": 404}),
    ("PUT", "/api/v1/federation/peers/{peer_id}/collections", {"owned": True, "denied": 404, "json": _collection_json}),
    ("DELETE", "/api/v1/federation/peers/{peer_id}/collections/{collection_id}", {"owned": True, "denied": 404}),
    ("POST", "/api/v1/federation/peers/{peer_id}/test", {"owned": True, "denied": 404}),
    ("POST", "/api/v1/federation/peers/{peer_id}/sync", {"owned": True, "denied": 404}),
    ("GET", "/api/v1/federation/peers/{peer_id}/ledger", {"owned": True, "denied": 404}),
    ("POST", "/api/v1/federation/peers/{peer_id}/ledger/{ledger_id}/retry", {"owned": True, "denied": 404}),
    ("GET", "/api/v1/federation/peers/{peer_id}/events", {"owned": True, "denied": 404}),
    ("GET", "/api/v1/federation/peers/{peer_id}/pulled", {"owned": True, "denied": 404}),
    ("GET", "/api/v1/federation/health", {"denied": 200}),
]

CASES: list[RouteCase] = [
    RouteCase(method, path, M, org_kind=kind, setup=_peer, **opts)  # type: ignore[arg-type]
    for kind in (OrgKind.frontier_developer, OrgKind.hub_operator)
    for method, path, opts in ADMIN_ROUTES
]
