"""Access-matrix cases for the sanitisation preview/sign-off and the counsel sign-off routes.

The lesson is drafted by the owning org's analyst, so its admin (who may also write items) is the
second person who can sign the sanitisation off (the analyst, as the drafter, gets 403 there). The
counsel sign-off needs the counsel permission (the counsel role only): the admin and the analyst, who see
the draft, get 403; the viewer, reporter and responder, from whom drafts are hidden, get 404.
"""

from __future__ import annotations

from typing import Any

from signalfire.access.models import Role
from signalfire.access.permissions import Permission as P
from signalfire.exchange import lessons
from signalfire.exchange.schemas import LessonIn
from signalfire.exchange.vocab import Category, CoveredUse
from tests.exchange import factories as xf
from tests.matrix import MatrixContext, RouteCase

SENSITIVE = "We will hold the fix's price below competitors until next quarter."
# Roles that see the org's drafts without being counsel: told 403, where the others get 404.
SEES_DRAFTS = {"role:admin": 403, "role:analyst": 403}


def _lesson_draft(ctx: MatrixContext) -> dict[str, Any]:
    analyst = ctx.actors[Role.analyst]
    review = xf.closed_review(ctx.db, analyst)
    item = lessons.draft_from_review(
        ctx.db,
        analyst,
        LessonIn(review_id=review.id, category=Category.VULNERABILITY, permitted_uses=[CoveredUse.SAFEGUARDS]),
    )
    return {"item_id": item.id}


def _sensitive_draft(ctx: MatrixContext) -> dict[str, Any]:
    return {"item_id": xf.draft(ctx.db, ctx.admin, details=SENSITIVE).id}


def _reason(ctx: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    return {"reason": "Reviewed by counsel: safety content only."}


CASES = [
    RouteCase("GET", "/exchange/items/{item_id}/sanitisation", P.exchange_item_write, owned=True, setup=_lesson_draft),
    RouteCase(
        "POST",
        "/exchange/items/{item_id}/sanitisation/sign-off",
        P.exchange_item_write,
        owned=True,
        setup=_lesson_draft,
        expect={"role:analyst": 403},
    ),
    RouteCase(
        "POST", "/exchange/items/{item_id}/sanitisation/again", P.exchange_item_write, owned=True, setup=_lesson_draft
    ),
    RouteCase(
        "GET", "/api/v1/exchange/items/{item_id}/sanitisation", P.exchange_item_write, owned=True, setup=_lesson_draft
    ),
    RouteCase(
        "POST",
        "/api/v1/exchange/items/{item_id}/sanitisation/sign-off",
        P.exchange_item_write,
        owned=True,
        setup=_lesson_draft,
        expect={"role:analyst": 403},
    ),
    RouteCase(
        "POST",
        "/api/v1/exchange/items/{item_id}/sanitisation/again",
        P.exchange_item_write,
        owned=True,
        setup=_lesson_draft,
    ),
    RouteCase(
        "POST",
        "/exchange/items/{item_id}/counsel-sign-off",
        P.exchange_screening_counsel,
        owned=True,
        denied=404,
        setup=_sensitive_draft,
        form=_reason,
        expect=SEES_DRAFTS,
    ),
    RouteCase(
        "POST",
        "/api/v1/exchange/items/{item_id}/counsel-sign-off",
        P.exchange_screening_counsel,
        owned=True,
        denied=404,
        setup=_sensitive_draft,
        json=_reason,
        expect=SEES_DRAFTS,
    ),
]
