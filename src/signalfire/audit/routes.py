"""The published checkpoint (a well-known URL and the API), consistency proofs (hashes only, public)
and inclusion proofs of entries the caller may read (they carry the entry's content, so it is an
audited read through the audit access policy)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Path, Query
from fastapi.responses import PlainTextResponse, Response

from signalfire.access.deps import ActorDep
from signalfire.audit import service
from signalfire.core.errors import NotFound
from signalfire.core.web.deps import SessionDep, protected_router, public_router

WELL_KNOWN = "/.well-known/signalfire/checkpoint"

public = public_router(tags=["audit"])
api = protected_router(prefix="/api/v1", tags=["audit"])


@public.get(WELL_KNOWN, response_class=PlainTextResponse)
def well_known_checkpoint(session: SessionDep) -> Response:
    """The latest signed checkpoint, as a C2SP signed note with witness cosignatures."""
    cp = service.latest_checkpoint(session)
    if cp is None:
        raise NotFound("no checkpoint yet")
    return PlainTextResponse(service.checkpoint_with_cosignatures(session, cp), media_type="text/plain; charset=utf-8")


@public.get("/api/v1/audit/checkpoint")
def api_checkpoint(session: SessionDep) -> dict[str, Any]:
    cp = service.latest_checkpoint(session)
    if cp is None:
        raise NotFound("no checkpoint yet")
    return service.checkpoint_out(session, cp)


@public.get("/api/v1/audit/consistency/{old}/{new}")
def api_consistency(
    session: SessionDep, old: Annotated[int, Path(ge=1, le=2**62)], new: Annotated[int, Path(ge=1, le=2**62)]
) -> dict[str, Any]:
    return service.consistency(session, old, new)


@api.get("/audit/entries/{entry_id}/proof")
def api_inclusion(
    session: SessionDep, actor: ActorDep, entry_id: uuid.UUID, size: int | None = Query(default=None, ge=1)
) -> dict[str, Any]:
    return service.inclusion_for(session, actor, entry_id, size=size)


routers = [public, api]
