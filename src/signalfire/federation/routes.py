"""Federation pages (/federation) and the JSON API (/api/v1/federation). Routes parse, call one service, render.

Testing a connection and a sync run go over the network: they end the request's transaction first
(so no database lock is held while a peer answers), then record the outcome in a new one.
"""

from __future__ import annotations

import uuid

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session, sessionmaker

from signalfire.access.deps import ActorDep
from signalfire.access.permissions import Permission
from signalfire.access.policy import require
from signalfire.core.clock import utcnow
from signalfire.core.errors import ValidationFailed
from signalfire.core.schemas import text_problem
from signalfire.core.web.deps import SessionDep, protected_router
from signalfire.core.web.templating import redirect, render
from signalfire.exchange.vocab import AudienceKind, CoveredUse
from signalfire.federation import crypto, health, queries, service
from signalfire.federation.models import Direction, PushState
from signalfire.federation.schemas import (
    CollectionIn,
    CollectionOut,
    EventOut,
    HealthOut,
    LedgerOut,
    PeerDetailOut,
    PeerIn,
    PeerOut,
    PeerUpdate,
    PulledOut,
    SyncOut,
    TestOut,
)
from signalfire.federation.sync import sync_peer
from signalfire.response.forms import FormDep, parse

pages = protected_router(prefix="/federation", include_in_schema=False)
api = protected_router(prefix="/api/v1/federation", tags=["federation"])


def _factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


def _end_transaction(session: Session) -> None:
    """Commit what the request did so far (reads, the actor's token use) before going over the network."""
    session.commit()  # lint: allow-commit the network call that follows must not hold the request's locks


def _probe(session: Session, actor: ActorDep, peer_id: uuid.UUID) -> TestOut:
    try:
        conn = service.connection_for(service.get_peer(session, actor, peer_id), reader=actor.email)
    except crypto.CredentialUnreadable as exc:
        return TestOut(ok=False, error=f"{exc}; enter the credential again")
    _end_transaction(session)
    return service.probe(conn)


def _detail(session: Session, actor: ActorDep, peer_id: uuid.UUID) -> PeerDetailOut:
    peer = service.get_peer(session, actor, peer_id)
    out = PeerDetailOut.model_validate(
        {**PeerOut.model_validate(peer).model_dump(), "collections": queries.collections_of(session, actor, peer_id)}
    )
    return out


# -- pages ---------------------------------------------------------------------------------------------------


@pages.get("")
def peers_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    require(actor, Permission.federation_peer_manage)
    return render(
        request,
        "federation/index.html",
        {
            "peers": queries.list_peers(session, actor),
            "health": {h.peer_id: h for h in health.health(session, actor)},
            "uses": list(CoveredUse),
        },
    )


@pages.post("")
def peer_add(request: Request, session: SessionDep, actor: ActorDep, form: FormDep) -> Response:
    peer = service.create_peer(session, actor, parse(PeerIn, form, flags=("signalfire",)))
    return redirect(request, f"/federation/{peer.id}", flash=f"Peer {peer.name} registered. Test the connection next.")


@pages.get("/{peer_id}")
def peer_page(request: Request, session: SessionDep, actor: ActorDep, peer_id: uuid.UUID) -> Response:
    peer = service.get_peer(session, actor, peer_id)
    return render(
        request,
        "federation/peer.html",
        {
            "peer": peer,
            "collections": queries.collections_of(session, actor, peer_id),
            "dead": queries.ledger_of(session, actor, peer_id, PushState.DEAD),
            "refused": queries.ledger_of(session, actor, peer_id, PushState.REFUSED, limit=20),
            "recent": queries.ledger_of(session, actor, peer_id, limit=20),
            "events": queries.events_of(session, actor, peer_id),
            "health": next((h for h in health.health(session, actor) if h.peer_id == peer_id), None),
            "directions": list(Direction),
            "audiences": [a for a in AudienceKind if a is not AudienceKind.NAMED_PEOPLE],
            "uses": list(CoveredUse),
            "now": utcnow(),
        },
    )


@pages.post("/{peer_id}/collections")
def collection_set(
    request: Request, session: SessionDep, actor: ActorDep, peer_id: uuid.UUID, form: FormDep
) -> Response:
    data = parse(CollectionIn, form, lists=("push_org_ids", "pull_org_ids"))
    service.set_collection(session, actor, peer_id, data)
    return redirect(
        request, f"/federation/{peer_id}", flash=f"Collection {data.remote_id} set to {data.direction.value}."
    )


@pages.post("/{peer_id}/collections/{collection_id}/remove")
def collection_remove(
    request: Request, session: SessionDep, actor: ActorDep, peer_id: uuid.UUID, collection_id: uuid.UUID
) -> Response:
    service.remove_collection(session, actor, peer_id, collection_id)
    return redirect(request, f"/federation/{peer_id}", flash="Collection removed.")


@pages.post("/{peer_id}/test")
def peer_test(request: Request, session: SessionDep, actor: ActorDep, peer_id: uuid.UUID) -> Response:
    result = _probe(session, actor, peer_id)
    service.record_test(session, actor, peer_id, result)
    flash = f"Connected: {len(result.collections)} collections." if result.ok else f"Failed: {result.error}"
    return redirect(request, f"/federation/{peer_id}", flash=flash)


@pages.post("/{peer_id}/sync")
def peer_sync(request: Request, session: SessionDep, actor: ActorDep, peer_id: uuid.UUID) -> Response:
    service.get_peer(session, actor, peer_id)
    _end_transaction(session)
    out = sync_peer(_factory(request), actor, peer_id)
    return redirect(
        request,
        f"/federation/{peer_id}",
        flash=f"Sync: {out.pushed} pushed, {out.pulled} pulled, {out.refused} refused"
        + (f"; {out.errors[0]}" if out.errors else "."),
    )


@pages.post("/{peer_id}/ledger/{ledger_id}/retry")
def ledger_retry(
    request: Request, session: SessionDep, actor: ActorDep, peer_id: uuid.UUID, ledger_id: uuid.UUID
) -> Response:
    service.retry_push(session, actor, peer_id, ledger_id)
    return redirect(request, f"/federation/{peer_id}", flash="Queued again.")


@pages.post("/{peer_id}/delete")
def peer_delete(request: Request, session: SessionDep, actor: ActorDep, peer_id: uuid.UUID) -> Response:
    service.delete_peer(session, actor, peer_id)
    return redirect(request, "/federation", flash="Peer removed.")


# -- API -----------------------------------------------------------------------------------------------------


@api.get("/peers", response_model=list[PeerOut])
def api_peers(session: SessionDep, actor: ActorDep) -> list[PeerOut]:
    return [PeerOut.model_validate(p) for p in queries.list_peers(session, actor)]


@api.post("/peers", response_model=PeerDetailOut, status_code=201)
def api_create_peer(body: PeerIn, session: SessionDep, actor: ActorDep) -> PeerDetailOut:
    peer = service.create_peer(session, actor, body)
    return _detail(session, actor, peer.id)


@api.get("/peers/{peer_id}", response_model=PeerDetailOut)
def api_peer(peer_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> PeerDetailOut:
    return _detail(session, actor, peer_id)


@api.patch("/peers/{peer_id}", response_model=PeerDetailOut)
def api_update_peer(peer_id: uuid.UUID, body: PeerUpdate, session: SessionDep, actor: ActorDep) -> PeerDetailOut:
    service.update_peer(session, actor, peer_id, body)
    return _detail(session, actor, peer_id)


@api.delete("/peers/{peer_id}", status_code=204)
def api_delete_peer(peer_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    service.delete_peer(session, actor, peer_id)
    return Response(status_code=204)


@api.put("/peers/{peer_id}/collections", response_model=CollectionOut)
def api_set_collection(peer_id: uuid.UUID, body: CollectionIn, session: SessionDep, actor: ActorDep) -> CollectionOut:
    return CollectionOut.model_validate(service.set_collection(session, actor, peer_id, body))


@api.delete("/peers/{peer_id}/collections/{collection_id}", status_code=204)
def api_remove_collection(
    peer_id: uuid.UUID, collection_id: uuid.UUID, session: SessionDep, actor: ActorDep
) -> Response:
    service.remove_collection(session, actor, peer_id, collection_id)
    return Response(status_code=204)


@api.post("/peers/{peer_id}/test", response_model=TestOut)
def api_test(peer_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> TestOut:
    """Discovery, API root and collections of the peer; the outcome is recorded on the peer."""
    result = _probe(session, actor, peer_id)
    service.record_test(session, actor, peer_id, result)
    return result


@api.post("/peers/{peer_id}/sync", response_model=SyncOut)
def api_sync(request: Request, peer_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> SyncOut:
    """Run the peer's queued pushes and pull its pull collections now, and say what happened."""
    service.get_peer(session, actor, peer_id)
    _end_transaction(session)
    return sync_peer(_factory(request), actor, peer_id)


@api.get("/peers/{peer_id}/ledger", response_model=list[LedgerOut])
def api_ledger(
    peer_id: uuid.UUID, session: SessionDep, actor: ActorDep, state: PushState | None = None
) -> list[LedgerOut]:
    service.get_peer(session, actor, peer_id)
    return [LedgerOut.model_validate(r) for r in queries.ledger_of(session, actor, peer_id, state, limit=500)]


@api.post("/peers/{peer_id}/ledger/{ledger_id}/retry", response_model=LedgerOut)
def api_retry(peer_id: uuid.UUID, ledger_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> LedgerOut:
    return LedgerOut.model_validate(service.retry_push(session, actor, peer_id, ledger_id))


@api.get("/peers/{peer_id}/events", response_model=list[EventOut])
def api_events(peer_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> list[EventOut]:
    service.get_peer(session, actor, peer_id)
    return [EventOut.model_validate(e) for e in queries.events_of(session, actor, peer_id, limit=200)]


@api.get("/peers/{peer_id}/pulled", response_model=list[PulledOut])
def api_pulled(
    peer_id: uuid.UUID, session: SessionDep, actor: ActorDep, stix_id: str | None = None, limit: int = 100
) -> list[PulledOut]:
    """Provenance of pulled objects (newest first), optionally of one STIX id."""
    service.get_peer(session, actor, peer_id)
    if stix_id is not None and (len(stix_id) > 300 or text_problem(stix_id)):
        raise ValidationFailed.single("stix_id", "at most 300 characters, and storable text")
    if not 1 <= limit <= 500:
        raise ValidationFailed.single("limit", "between 1 and 500")
    return [PulledOut.model_validate(p) for p in queries.pulled_of(session, actor, peer_id, stix_id, limit)]


@api.get("/health", response_model=list[HealthOut])
def api_health(session: SessionDep, actor: ActorDep) -> list[HealthOut]:
    return health.health(session, actor)


routers = [pages, api]
