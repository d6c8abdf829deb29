"""Access-matrix cases for hub moderation and community membership (pages and API).

Hub-only routes run with a hub-operator owning org; "other_org" is then another hub operator's admin, who
is a moderator too. Items under moderation belong to a third org (a member lab), as in real use.
"""

from __future__ import annotations

from typing import Any

from signalfire.access.models import OrgKind, Role
from signalfire.access.permissions import Permission as P
from signalfire.exchange.moderation import membership
from signalfire.exchange.moderation import service as moderation
from signalfire.exchange.moderation.models import ReviewMode
from signalfire.exchange.vocab import Category
from tests import factories
from tests.exchange import factories as xf
from tests.matrix import MatrixContext, RouteCase

HUB = OrgKind.hub_operator
REASON = "Off-topic for the community; please share it bilaterally."


def _members_item(ctx: MatrixContext) -> dict[str, Any]:
    """A published all-members item of another member lab (in every moderator's scope)."""
    contributor = factories.actor(ctx.db, kind=OrgKind.frontier_developer)
    return {"item_id": xf.published(ctx.db, contributor).id}


def _own_pending(ctx: MatrixContext) -> dict[str, Any]:
    """An item of the owning org held for review: its people see its moderation, nobody else does."""
    hub = factories.actor(ctx.db, kind=HUB)
    moderation.set_review_mode(ctx.db, hub, ReviewMode.ALL)
    item = xf.published(ctx.db, ctx.admin)
    moderation.set_review_mode(ctx.db, hub, ReviewMode.OFF)
    ctx.db.flush()
    return {"item_id": item.id}


def _applicant(ctx: MatrixContext) -> dict[str, Any]:
    org = factories.org(ctx.db, OrgKind.frontier_developer, exchange_member=False)
    admin = factories.actor_for(ctx.db, factories.member(ctx.db, org, Role.admin), org)
    membership.apply(ctx.db, admin, "We want to share red-team findings.", {c: [admin.user_id] for c in Category})
    ctx.db.flush()
    return {"org_id": org.id}


def _application(ctx: MatrixContext, params: dict[str, Any]) -> dict[str, Any]:
    return {
        "statement": "We want to share red-team findings.",
        "contacts": {c.value: [str(ctx.admin.user_id)] for c in Category},
    }


def _application_form(ctx: MatrixContext, params: dict[str, Any]) -> dict[str, Any]:
    return {
        "statement": "We want to share red-team findings.",
        **{f"contact_{c.value}": str(ctx.admin.user_id) for c in Category},
    }


# The matrix's owning orgs are already members: an admin who applies is told so (409), whoever's org it is.
ALREADY_MEMBER = {"role:admin": 409, "other_org": 409}

CASES = [
    # -- pages ------------------------------------------------------------------------------------------
    RouteCase("GET", "/exchange/moderation", P.exchange_moderation_manage, org_kind=HUB, denied=404),
    RouteCase(
        "POST",
        "/exchange/moderation/settings",
        P.exchange_moderation_manage,
        org_kind=HUB,
        denied=404,
        form=lambda c, p: {"review_mode": "all"},
    ),
    RouteCase("GET", "/exchange/moderation/log", P.exchange_item_read),
    RouteCase(
        "GET",
        "/exchange/moderation/items/{item_id}",
        P.exchange_moderation_manage,
        org_kind=HUB,
        denied=404,
        setup=_members_item,
    ),
    RouteCase(
        "POST",
        "/exchange/moderation/items/{item_id}",
        P.exchange_moderation_manage,
        org_kind=HUB,
        denied=404,
        setup=_members_item,
        form=lambda c, p: {"action": "flag", "reason": REASON},
    ),
    RouteCase("GET", "/exchange/membership", P.exchange_item_read),
    RouteCase("POST", "/exchange/membership/apply", P.org_member_manage, form=_application_form, expect=ALREADY_MEMBER),
    RouteCase(
        "POST",
        "/exchange/membership/{org_id}/decision",
        P.exchange_moderation_manage,
        org_kind=HUB,
        denied=404,
        setup=_applicant,
        form=lambda c, p: {"decision": "admit"},
    ),
    # -- API --------------------------------------------------------------------------------------------
    RouteCase("GET", "/api/v1/exchange/moderation/settings", P.exchange_moderation_manage, org_kind=HUB, denied=404),
    RouteCase(
        "PUT",
        "/api/v1/exchange/moderation/settings",
        P.exchange_moderation_manage,
        org_kind=HUB,
        denied=404,
        json=lambda c, p: {"review_mode": "off"},
    ),
    RouteCase("GET", "/api/v1/exchange/moderation/items", P.exchange_moderation_manage, org_kind=HUB, denied=404),
    # The contributor's people see their held item's moderation; another org gets a 404.
    RouteCase(
        "GET",
        "/api/v1/exchange/moderation/items/{item_id}",
        P.exchange_item_read,
        owned=True,
        denied=404,
        setup=_own_pending,
    ),
    RouteCase(
        "POST",
        "/api/v1/exchange/moderation/items/{item_id}/decisions",
        P.exchange_moderation_manage,
        org_kind=HUB,
        denied=404,
        setup=_members_item,
        json=lambda c, p: {"action": "flag", "reason": REASON},
    ),
    RouteCase("GET", "/api/v1/exchange/moderation/log", P.exchange_item_read),
    RouteCase("GET", "/api/v1/exchange/membership", P.exchange_item_read),
    RouteCase("POST", "/api/v1/exchange/membership", P.org_member_manage, json=_application, expect=ALREADY_MEMBER),
    RouteCase("GET", "/api/v1/exchange/memberships", P.exchange_moderation_manage, org_kind=HUB, denied=404),
    RouteCase(
        "POST",
        "/api/v1/exchange/memberships/{org_id}/decisions",
        P.exchange_moderation_manage,
        org_kind=HUB,
        denied=404,
        setup=_applicant,
        json=lambda c, p: {"decision": "admit"},
    ),
]
