"""Moderation and membership pages (/exchange/moderation, /exchange/membership) and API
(/api/v1/exchange/moderation, /api/v1/exchange/membership[s]). Thin: parse, call a service, render."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import Response

from signalfire.access.deps import ActorDep
from signalfire.access.policy.moderation import can_moderate
from signalfire.core.errors import NotFound, ValidationFailed
from signalfire.core.schemas import SafeText
from signalfire.core.web.deps import SessionDep, protected_router
from signalfire.core.web.templating import redirect, render
from signalfire.exchange import queries as exchange_queries
from signalfire.exchange import service as exchange_service
from signalfire.exchange.models import ItemStatus
from signalfire.exchange.moderation import membership, queries, service, views
from signalfire.exchange.moderation.membership import MemberDecision
from signalfire.exchange.moderation.models import MemberStatus, ReviewMode
from signalfire.exchange.moderation.schemas import (
    ApplyIn,
    EntryOut,
    ItemDecisionIn,
    ItemModerationOut,
    MemberDecisionIn,
    MembershipOut,
    ModeratedItemOut,
    SettingsIn,
    SettingsOut,
)
from signalfire.exchange.moderation.service import ItemDecision
from signalfire.exchange.vocab import Category

pages = protected_router(include_in_schema=False)
api = protected_router(prefix="/api/v1/exchange", tags=["exchange"])

QUEUE_STATES = (ItemStatus.PENDING_REVIEW,)
HIDDEN_STATES = (ItemStatus.HIDDEN,)


def _require_moderator_page(actor: ActorDep) -> None:
    if not can_moderate(actor):
        raise NotFound("No such page.")


def _moderation_out(session: SessionDep, actor: ActorDep, item_id: uuid.UUID) -> ItemModerationOut:
    item = service.item_for_view(session, actor, item_id)
    found = views.item_moderation(session, actor, item)
    return found or ItemModerationOut(item_id=item.id, status=item.status, notice=None, out_of_scope=None, history=[])


def _membership_out(session: SessionDep, actor: ActorDep) -> MembershipOut:
    standing = membership.own_standing(session, actor)
    return views.membership_out(standing, queries.users_by_id(session, actor, views.contact_ids(standing)))


def _standings_out(session: SessionDep, actor: ActorDep) -> list[MembershipOut]:
    return [
        views.membership_out(s, queries.contact_names(session, s.org.id, views.contact_ids(s)))
        for s in membership.standings(session, actor)
    ]


# -- pages: moderation ---------------------------------------------------------------------------------


@pages.get("/exchange/moderation")
def moderation_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    _require_moderator_page(actor)
    return render(
        request,
        "exchange/moderation/queue.html",
        {
            "settings": views.settings_out(session),
            "pending": views.items_out(session, actor, queries.moderation_items(session, actor, QUEUE_STATES)),
            "hidden": views.items_out(session, actor, queries.moderation_items(session, actor, HIDDEN_STATES)),
            "flagged": views.items_out(session, actor, [(i, f) for i, f in queries.flagged_items(session, actor)]),
            "log": views.log_out(session, actor, limit=20),
            "modes": list(ReviewMode),
        },
    )


@pages.post("/exchange/moderation/settings")
def settings_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    review_mode: Annotated[SafeText, Form(max_length=20)] = "",
) -> Response:
    try:
        mode = ReviewMode(review_mode)
    except ValueError:
        raise ValidationFailed.single("review_mode", "is not one of off, new_members, all") from None
    service.set_review_mode(session, actor, mode)
    return redirect(request, "/exchange/moderation", flash=f"Pre-publication review: {mode.label}.")


@pages.get("/exchange/moderation/log")
def log_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return render(
        request,
        "exchange/moderation/log.html",
        {"entries": views.log_out(session, actor, limit=500), "moderator": can_moderate(actor)},
    )


@pages.get("/exchange/moderation/items/{item_id}")
def review_page(request: Request, session: SessionDep, actor: ActorDep, item_id: uuid.UUID) -> Response:
    item = service.review(session, actor, item_id)
    contributor = exchange_service.contributors_for(session, [item], actor)[item.id]
    return render(
        request,
        "exchange/moderation/review.html",
        {
            "item": item,
            "contributor": contributor.name,
            "moderation": views.item_moderation(session, actor, item),
            "decisions": list(ItemDecision),
        },
    )


@pages.post("/exchange/moderation/items/{item_id}")
def decide_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    item_id: uuid.UUID,
    action: Annotated[SafeText, Form(max_length=20)] = "",
    reason: Annotated[SafeText, Form(max_length=2000)] = "",
) -> Response:
    try:
        decision = ItemDecision(action)
    except ValueError:
        raise ValidationFailed.single("action", "is not a moderation action") from None
    item = service.decide(session, actor, item_id, decision, reason)
    return redirect(request, f"/exchange/moderation/items/{item.id}", flash=f"Done: {decision.value}.")


# -- pages: membership ---------------------------------------------------------------------------------


@pages.get("/exchange/membership")
def membership_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    moderator = can_moderate(actor)
    own = _membership_out(session, actor)
    return render(
        request,
        "exchange/moderation/membership.html",
        {
            "own": own,
            "moderator": moderator,
            "standings": _standings_out(session, actor) if moderator else [],
            "categories": list(Category),
            "people": [u for _m, u in exchange_queries.member_users(session, actor)],
            "can_apply": actor.org_kind in membership.APPLICANT_KINDS and own.status in (None, MemberStatus.REFUSED),
            "decisions": list(MemberDecision),
        },
    )


@pages.post("/exchange/membership/apply")
def apply_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    statement: Annotated[SafeText, Form(max_length=4000)] = "",
    contact_vulnerability: Annotated[SafeText, Form(max_length=40)] = "",
    contact_threat: Annotated[SafeText, Form(max_length=40)] = "",
    contact_capability_of_concern: Annotated[SafeText, Form(max_length=40)] = "",
) -> Response:
    raw = {
        Category.VULNERABILITY: contact_vulnerability,
        Category.THREAT: contact_threat,
        Category.CAPABILITY_OF_CONCERN: contact_capability_of_concern,
    }
    contacts: dict[Category, list[uuid.UUID]] = {}
    for category, value in raw.items():
        try:
            contacts[category] = [uuid.UUID(value)] if value else []
        except ValueError:
            raise ValidationFailed.single(f"contact_{category.value}", "is not a person of your organisation") from None
    membership.apply(session, actor, statement, contacts)
    return redirect(request, "/exchange/membership", flash="Application sent to the hub operator.")


@pages.post("/exchange/membership/{org_id}/decision")
def member_decision_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    org_id: uuid.UUID,
    decision: Annotated[SafeText, Form(max_length=20)] = "",
    reason: Annotated[SafeText, Form(max_length=2000)] = "",
) -> Response:
    try:
        chosen = MemberDecision(decision)
    except ValueError:
        raise ValidationFailed.single("decision", "is not a membership decision") from None
    membership.decide(session, actor, org_id, chosen, reason)
    return redirect(request, "/exchange/membership", flash=f"Done: {chosen.value}.")


# -- API -----------------------------------------------------------------------------------------------


@api.get("/moderation/settings", response_model=SettingsOut)
def api_settings(session: SessionDep, actor: ActorDep) -> SettingsOut:
    _require_moderator_page(actor)
    return views.settings_out(session)


@api.put("/moderation/settings", response_model=SettingsOut)
def api_put_settings(body: SettingsIn, session: SessionDep, actor: ActorDep) -> SettingsOut:
    service.set_review_mode(session, actor, body.review_mode)
    return views.settings_out(session)


@api.get("/moderation/items", response_model=list[ModeratedItemOut])
def api_moderation_items(
    session: SessionDep, actor: ActorDep, status: ItemStatus = ItemStatus.PENDING_REVIEW
) -> list[ModeratedItemOut]:
    _require_moderator_page(actor)
    return views.items_out(session, actor, queries.moderation_items(session, actor, (status,)))


@api.get("/moderation/items/{item_id}", response_model=ItemModerationOut)
def api_item_moderation(item_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> ItemModerationOut:
    return _moderation_out(session, actor, item_id)


@api.post("/moderation/items/{item_id}/decisions", response_model=ItemModerationOut)
def api_decide(item_id: uuid.UUID, body: ItemDecisionIn, session: SessionDep, actor: ActorDep) -> ItemModerationOut:
    service.decide(session, actor, item_id, body.action, body.reason)
    return _moderation_out(session, actor, item_id)


@api.get("/moderation/log", response_model=list[EntryOut])
def api_log(session: SessionDep, actor: ActorDep, limit: int = Query(200, ge=1, le=500)) -> list[EntryOut]:
    return views.log_out(session, actor, limit=limit)


@api.get("/membership", response_model=MembershipOut)
def api_membership(session: SessionDep, actor: ActorDep) -> MembershipOut:
    return _membership_out(session, actor)


@api.post("/membership", response_model=MembershipOut, status_code=201)
def api_apply(body: ApplyIn, session: SessionDep, actor: ActorDep) -> MembershipOut:
    membership.apply(session, actor, body.statement, body.contact_lists())
    return _membership_out(session, actor)


@api.get("/memberships", response_model=list[MembershipOut])
def api_memberships(session: SessionDep, actor: ActorDep) -> list[MembershipOut]:
    return _standings_out(session, actor)


@api.post("/memberships/{org_id}/decisions", response_model=MembershipOut)
def api_member_decision(
    org_id: uuid.UUID, body: MemberDecisionIn, session: SessionDep, actor: ActorDep
) -> MembershipOut:
    membership.decide(session, actor, org_id, body.decision, body.reason)
    standing = next((s for s in membership.standings(session, actor) if s.org.id == org_id), None)
    if standing is None:
        raise NotFound("No such organisation.")
    return views.membership_out(standing, queries.contact_names(session, org_id, views.contact_ids(standing)))


routers = [pages, api]
