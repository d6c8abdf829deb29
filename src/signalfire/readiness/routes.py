"""Readiness pages (/readiness ...) and API (/api/v1/readiness ...). Thin: parse, call a service, render."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Form, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.deps import ActorDep
from signalfire.access.permissions import Permission
from signalfire.access.policy import require
from signalfire.core.clock import utcnow
from signalfire.core.web.deps import SessionDep, protected_router
from signalfire.core.web.templating import redirect, render
from signalfire.readiness import dashboard, landscape, publication, service
from signalfire.readiness.export import scorecard_out
from signalfire.readiness.schemas import (
    PublicationIn,
    PublicationOut,
    ScorecardOut,
    SettingsIn,
    SettingsOut,
    SnapshotOut,
)
from signalfire.readiness.scorecard import Scorecard
from signalfire.readiness.service import parse_at
from signalfire.response.vocab import RiskDomain

pages = protected_router(prefix="/readiness", include_in_schema=False)
api = protected_router(prefix="/api/v1/readiness", tags=["readiness"])

AtQuery = Annotated[
    str | None,
    Query(max_length=40, description="A date (end of that day, UTC) or an ISO datetime with a time zone; default now"),
]


def _own(session: Session, actor: Actor, at: str | None) -> tuple[Scorecard, ScorecardOut]:
    """The actor's org's scorecard, and its export with the live publication, if any."""
    card = service.scorecard_for(session, actor, parse_at(at))
    live = publication.publication_out(publication.current(session, actor.org_id))
    return card, scorecard_out(card, actor, live)


# -- pages ---------------------------------------------------------------------------------------------------


@pages.get("")
def scorecard_page(request: Request, session: SessionDep, actor: ActorDep, at: AtQuery = None) -> Response:
    require(actor, Permission.readiness_scorecard_read)
    ctx: dict[str, Any] = {
        "scored": service.applies_to(actor.org_kind),
        "domains": list(RiskDomain),
        "can_publish": actor.can(Permission.readiness_scorecard_publish),
        "labels": landscape.labels(),
        "at_value": (at or "").strip(),
    }
    if ctx["scored"]:
        ctx["card"], ctx["out"] = _own(session, actor, at)
        ctx["historic"] = bool(ctx["at_value"])
    return render(request, "readiness/scorecard.html", ctx)


@pages.get("/scorecard.json")
def scorecard_json(session: SessionDep, actor: ActorDep, at: AtQuery = None) -> Response:
    card, out = _own(session, actor, at)
    name = f"scorecard-{card.org_slug}-{card.at:%Y%m%d}.json"
    return JSONResponse(out.model_dump(mode="json"), headers={"Content-Disposition": f'attachment; filename="{name}"'})


@pages.get("/scorecard/print")
def scorecard_print(request: Request, session: SessionDep, actor: ActorDep, at: AtQuery = None) -> Response:
    card, out = _own(session, actor, at)
    return render(
        request,
        "readiness/print.html",
        {"card": card, "out": out, "labels": landscape.labels(), "printed_at": utcnow()},
    )


@pages.get("/landscape")
def landscape_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    require(actor, Permission.readiness_scorecard_read)
    card = service.scorecard_for(session, actor) if service.applies_to(actor.org_kind) else None
    return render(
        request,
        "readiness/landscape.html",
        {
            "landscape": landscape.load(),
            "card": card,
            "dimensions": landscape.by_dimension(card) if card else [],
            "capabilities": landscape.by_capability(card) if card else [],
            "published": publication.list_published(session, actor),
        },
    )


@pages.get("/published/{snapshot_id}")
def published_page(request: Request, session: SessionDep, actor: ActorDep, snapshot_id: uuid.UUID) -> Response:
    found = publication.get_snapshot(session, actor, snapshot_id)
    return render(
        request, "readiness/published.html", {"snap": publication.snapshot_out(found), "labels": landscape.labels()}
    )


@pages.get("/dashboard")
def dashboard_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    require(actor, Permission.readiness_scorecard_read)
    board = dashboard.build(session, actor, utcnow())
    return render(request, "readiness/dashboard.html", {"board": board})


@pages.post("/publication")
def publication_form(
    request: Request, session: SessionDep, actor: ActorDep, publish: Annotated[bool, Form()]
) -> Response:
    if publish:
        publication.publish(session, actor)
        return redirect(request, "/readiness", flash="Scorecard published: other organisations can now see it.")
    publication.withdraw(session, actor)
    return redirect(request, "/readiness", flash="Scorecard withdrawn: other organisations no longer see it.")


@pages.post("/settings")
def settings_form(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    risk_domains: Annotated[list[RiskDomain], Form(max_length=len(RiskDomain))],
) -> Response:
    service.update_risk_domains(session, actor, risk_domains)
    return redirect(request, "/readiness", flash="Risk domains in scope updated.")


# -- API -----------------------------------------------------------------------------------------------------


@api.get("/scorecard", response_model=ScorecardOut)
def api_scorecard(session: SessionDep, actor: ActorDep, at: AtQuery = None) -> ScorecardOut:
    return _own(session, actor, at)[1]


@api.get("/landscape", response_model=landscape.Landscape)
def api_landscape(actor: ActorDep) -> landscape.Landscape:
    require(actor, Permission.readiness_scorecard_read)
    return landscape.load()


@api.get("/dashboard")
def api_dashboard(session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    require(actor, Permission.readiness_scorecard_read)
    board = dashboard.build(session, actor, utcnow())
    return {
        "at": board.at,
        "months": board.months,
        "series": board.series,
        "stats": [{"label": s.label, "value": s.value, "meta": s.meta} for s in board.stats],
    }


@api.get("/published", response_model=list[SnapshotOut])
def api_published(session: SessionDep, actor: ActorDep) -> list[SnapshotOut]:
    return [publication.snapshot_out(p) for p in publication.list_published(session, actor)]


@api.get("/published/{snapshot_id}", response_model=SnapshotOut)
def api_published_one(session: SessionDep, actor: ActorDep, snapshot_id: uuid.UUID) -> SnapshotOut:
    return publication.snapshot_out(publication.get_snapshot(session, actor, snapshot_id))


@api.post("/publication", response_model=PublicationOut | None)
def api_publication(session: SessionDep, actor: ActorDep, body: PublicationIn) -> PublicationOut | None:
    if body.publish:
        return publication.publication_out(publication.publish(session, actor))
    publication.withdraw(session, actor)
    return None


@api.get("/settings", response_model=SettingsOut)
def api_settings(session: SessionDep, actor: ActorDep) -> SettingsOut:
    require(actor, Permission.readiness_scorecard_read)
    scope = service.domain_scope(session, actor.org_id)
    return SettingsOut(risk_domains=list(scope.domains), is_default=scope.is_default)


@api.put("/settings", response_model=SettingsOut)
def api_settings_update(session: SessionDep, actor: ActorDep, body: SettingsIn) -> SettingsOut:
    service.update_risk_domains(session, actor, body.risk_domains)
    scope = service.domain_scope(session, actor.org_id)
    return SettingsOut(risk_domains=list(scope.domains), is_default=scope.is_default)


routers = [pages, api]
