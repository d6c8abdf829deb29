"""Counsel sign-off on antitrust findings: a form on the item page and its API equivalent."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from signalfire.access.deps import ActorDep
from signalfire.core.schemas import SafeText
from signalfire.core.web.deps import SessionDep, protected_router
from signalfire.core.web.templating import redirect
from signalfire.exchange.antitrust import counsel

pages = protected_router(include_in_schema=False)
api = protected_router(prefix="/api/v1/exchange", tags=["exchange"])


class CounselSignoffIn(BaseModel):
    model_config = {"extra": "forbid"}
    reason: str = Field(min_length=counsel.REASON_MIN, max_length=counsel.REASON_MAX)


class CounselSignoffOut(BaseModel):
    id: uuid.UUID
    item_id: uuid.UUID
    user_id: uuid.UUID
    reason: str
    findings: list[str]
    created_at: datetime


@pages.post("/exchange/items/{item_id}/counsel-sign-off")
def counsel_sign_off_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    item_id: uuid.UUID,
    reason: Annotated[SafeText, Form(max_length=counsel.REASON_MAX)],
) -> Response:
    counsel.sign_off(session, actor, item_id, reason)
    return redirect(request, f"/exchange/items/{item_id}", flash="Counsel sign-off recorded for the text as it is now.")


@api.post("/items/{item_id}/counsel-sign-off", response_model=CounselSignoffOut, status_code=201)
def api_counsel_sign_off(
    item_id: uuid.UUID, body: CounselSignoffIn, session: SessionDep, actor: ActorDep
) -> CounselSignoffOut:
    signoff = counsel.sign_off(session, actor, item_id, body.reason)
    return CounselSignoffOut(
        id=signoff.id,
        item_id=signoff.item_id,
        user_id=signoff.user_id,
        reason=signoff.reason,
        findings=[f"{f['rule_id']}@{f['field']}" for f in signoff.findings],
        created_at=signoff.created_at,
    )


routers = [pages, api]
