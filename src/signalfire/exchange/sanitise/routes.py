"""Pages and API for the sanitisation preview and its sign-off (thin: everything is in the service)."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from signalfire.access.deps import ActorDep
from signalfire.core.web.deps import SessionDep, protected_router
from signalfire.core.web.templating import redirect, render
from signalfire.exchange.sanitise import service

pages = protected_router(include_in_schema=False)
api = protected_router(prefix="/api/v1/exchange", tags=["exchange"])


class ChangeOut(BaseModel):
    field: str
    start: int
    end: int
    original: str
    entity: str
    label: str
    replacement: str


class RemainingOut(BaseModel):
    field: str
    start: int
    end: int
    text: str
    entity: str


class SignedFileOut(BaseModel):
    filename: str
    content_type: str
    size_bytes: int
    sha256: str


class SanitisationOut(BaseModel):
    item_id: uuid.UUID
    source: str
    changes: list[ChangeOut]
    files: list[SignedFileOut] = Field(
        description="Every file attached, in the order the sign-off's hash takes them: the sign-off covers them "
        "with the texts, and attaching another voids it."
    )
    remaining: list[RemainingOut]
    too_large: dict[str, str] = Field(
        description="Text files too large for the identifier check (field -> why); they stop the sign-off."
    )
    signed_off_by_id: uuid.UUID | None
    signed_off_at: datetime | None
    signed_off_current: bool
    can_sign_off: bool


def _out(view: service.SanitisationView) -> SanitisationOut:
    record = view.record
    return SanitisationOut(
        item_id=view.item.id,
        source=record.source,
        changes=[ChangeOut.model_validate(change) for change in record.changes],
        files=[
            SignedFileOut(filename=f.filename, content_type=f.content_type, size_bytes=f.size_bytes, sha256=f.sha256)
            for f in view.files
        ],
        remaining=[
            RemainingOut(field=name, start=d.start, end=d.end, text=d.text, entity=d.entity)
            for name, d in view.remaining
        ],
        too_large=view.too_large,
        signed_off_by_id=record.signed_off_by_id,
        signed_off_at=record.signed_off_at,
        signed_off_current=view.signed_off_current,
        can_sign_off=view.can_sign_off,
    )


@pages.get("/exchange/items/{item_id}/sanitisation")
def sanitisation_page(request: Request, session: SessionDep, actor: ActorDep, item_id: uuid.UUID) -> Response:
    view = service.view(session, actor, item_id)
    return render(request, "exchange/sanitisation.html", {"view": view, "out": _out(view)})


@pages.post("/exchange/items/{item_id}/sanitisation/sign-off")
def sanitisation_sign_off_page(request: Request, session: SessionDep, actor: ActorDep, item_id: uuid.UUID) -> Response:
    service.sign_off(session, actor, item_id)
    return redirect(request, f"/exchange/items/{item_id}", flash="Sanitisation signed off. The draft can be published.")


@pages.post("/exchange/items/{item_id}/sanitisation/again")
def sanitisation_again_page(request: Request, session: SessionDep, actor: ActorDep, item_id: uuid.UUID) -> Response:
    service.resanitise(session, actor, item_id)
    return redirect(
        request, f"/exchange/items/{item_id}/sanitisation", flash="Sanitised again; a second person signs off."
    )


@api.get("/items/{item_id}/sanitisation", response_model=SanitisationOut)
def api_sanitisation(session: SessionDep, actor: ActorDep, item_id: uuid.UUID) -> SanitisationOut:
    return _out(service.view(session, actor, item_id))


@api.post("/items/{item_id}/sanitisation/sign-off", response_model=SanitisationOut)
def api_sanitisation_sign_off(session: SessionDep, actor: ActorDep, item_id: uuid.UUID) -> SanitisationOut:
    service.sign_off(session, actor, item_id)
    return _out(service.view(session, actor, item_id))


@api.post("/items/{item_id}/sanitisation/again", response_model=SanitisationOut)
def api_sanitisation_again(session: SessionDep, actor: ActorDep, item_id: uuid.UUID) -> SanitisationOut:
    service.resanitise(session, actor, item_id)
    return _out(service.view(session, actor, item_id))


routers = [pages, api]
