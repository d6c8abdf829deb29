"""Related items, tag and value search, and the tag vocabularies: pages and JSON API. Thin."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import Response

from signalfire.access.deps import ActorDep
from signalfire.core.schemas import SafeText
from signalfire.core.web.deps import SessionDep, protected_router
from signalfire.core.web.templating import redirect, render
from signalfire.exchange import tags
from signalfire.exchange.correlation import service, views
from signalfire.exchange.correlation.schemas import (
    ModelFamilyIn,
    NamedRef,
    RelatedOut,
    SearchHitOut,
    VocabulariesOut,
)
from signalfire.exchange.correlation.values import Kind
from signalfire.exchange.vocab import Category, CoveredUse

pages = protected_router(include_in_schema=False)
api = protected_router(prefix="/api/v1/exchange", tags=["exchange"])


@pages.get("/exchange/search")
def search_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    value: str = Query("", max_length=service.SEARCH_VALUE_MAX),
    kind: Kind | None = None,
    purpose: CoveredUse | None = None,
) -> Response:
    hits = views.hits_out(service.search(session, actor, kind, value, purpose=purpose), actor) if value else []
    return render(
        request,
        "exchange/search.html",
        {
            "hits": hits,
            "value": value,
            "kind": kind,
            "purpose": purpose,
            "kinds": list(Kind),
            "uses": list(CoveredUse),
            "families": tags.model_families(session, actor),
        },
    )


@pages.post("/exchange/model-families")
def add_family_page(
    request: Request, session: SessionDep, actor: ActorDep, name: Annotated[SafeText, Form(max_length=100)] = ""
) -> Response:
    family = tags.add_model_family(session, actor, name)
    return redirect(request, "/exchange/search", flash=f"Added {family.name} to your model families.")


@api.get("/items/{item_id}/related", response_model=list[RelatedOut])
def api_related(
    item_id: uuid.UUID, session: SessionDep, actor: ActorDep, limit: int = Query(20, ge=1, le=service.RELATED_LIMIT_MAX)
) -> list[RelatedOut]:
    """Items you may read that share indicators, techniques, CVE/CWE ids, references, model families or tags
    with this one, strongest first, with the reasons. Items you may not read are never mentioned."""
    return views.related_out(service.related_items(session, actor, item_id, limit), actor)


@api.get("/correlations", response_model=list[SearchHitOut])
def api_search(
    session: SessionDep,
    actor: ActorDep,
    value: str = Query(min_length=1, max_length=service.SEARCH_VALUE_MAX),
    kind: Kind | None = None,
    purpose: CoveredUse | None = None,
    limit: int = Query(50, ge=1, le=service.SEARCH_LIMIT_MAX),
) -> list[SearchHitOut]:
    """Items you may read that carry a tag or value. Indicator values match other orgs' items only for a
    declared covered use (`purpose`) the item permits."""
    return views.hits_out(service.search(session, actor, kind, value, purpose=purpose, limit=limit), actor)


@api.get("/vocabularies", response_model=VocabulariesOut)
def api_vocabularies(session: SessionDep, actor: ActorDep) -> VocabulariesOut:
    return VocabulariesOut(
        categories=[c.value for c in Category],
        atlas_techniques=[NamedRef(id=k, name=v) for k, v in tags.atlas_techniques().items()],
        cwe=[NamedRef(id=k, name=v) for k, v in tags.cwe_names().items()],
        model_families=tags.model_families(session, actor),
        sources=tags.source_notes(),
    )


@api.post("/vocabularies/model-families", status_code=201)
def api_add_family(body: ModelFamilyIn, session: SessionDep, actor: ActorDep) -> dict[str, str]:
    family = tags.add_model_family(session, actor, body.name)
    return {"id": str(family.id), "name": family.name}


routers = [pages, api]
