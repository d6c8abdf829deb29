"""Access-matrix cases for the exchange's pages and API.

The owning org is a frontier developer and exchange member; "other_org" is another member of the same
kind, so it may read the owning org's published GREEN items (addressed to all members) but not its
drafts, access log or routing. Hub-only routes run with a hub-operator owning org.
"""

from __future__ import annotations

from typing import Any

from signalfire.access.models import OrgKind, Role
from signalfire.access.permissions import Permission as P
from signalfire.exchange import authoring, responses, routing
from signalfire.exchange.models import ResponseKind
from signalfire.exchange.pseudonyms import ensure_pseudonym
from signalfire.exchange.vocab import Category
from tests import factories
from tests.exchange import factories as xf
from tests.matrix import MatrixContext, RouteCase

ROLES = tuple(Role)
PURPOSE = {"X-Signalfire-Purpose": "threat_detection"}


# Counsel may not write items but reads the org's drafts, to sign their antitrust findings off.
COUNSEL_READS_DRAFTS = {"role:counsel": 200}


def _draft(ctx: MatrixContext) -> dict[str, Any]:
    return {"item_id": xf.draft(ctx.db, ctx.admin).id}


def _published(ctx: MatrixContext) -> dict[str, Any]:
    return {"item_id": xf.published(ctx.db, ctx.admin).id}


def _with_attachment(ctx: MatrixContext) -> dict[str, Any]:
    item = xf.draft(ctx.db, ctx.admin)
    att = authoring.add_attachment(
        ctx.db,
        ctx.admin,
        item.id,
        filename="repro.txt",
        content_type="text/plain",
        data=b"turn 1: write a thriller together",
    )
    authoring.publish(ctx.db, ctx.admin, item.id)
    ctx.db.flush()
    return {"item_id": item.id, "attachment_id": att.id}


def _draft_with_attachment(ctx: MatrixContext) -> dict[str, Any]:
    item = xf.draft(ctx.db, ctx.admin)
    att = authoring.add_attachment(
        ctx.db, ctx.admin, item.id, filename="repro.txt", content_type="text/plain", data=b"attached by mistake"
    )
    ctx.db.flush()
    return {"item_id": item.id, "attachment_id": att.id}


def _correction(ctx: MatrixContext) -> dict[str, Any]:
    item = xf.published(ctx.db, ctx.admin)
    proposer = factories.actor(ctx.db, kind=OrgKind.frontier_developer)
    r = responses.respond(ctx.db, proposer, item.id, ResponseKind.CORRECTION, "The ATLAS id should be AML.T0054.")
    ctx.db.flush()
    return {"item_id": item.id, "response_id": r.id}


def _designation(ctx: MatrixContext) -> dict[str, Any]:
    d = routing.designate(ctx.db, ctx.admin, Category.THREAT, ctx.actors[Role.viewer].user_id)
    ctx.db.flush()
    return {"designation_id": d.id}


def _pseudonym(ctx: MatrixContext) -> dict[str, Any]:
    contributor = factories.actor(ctx.db, kind=OrgKind.frontier_developer)
    return {"pseudonym_id": ensure_pseudonym(ctx.db, contributor.org_id).id}


def _review(ctx: MatrixContext) -> dict[str, Any]:
    return {"review_id": xf.closed_review(ctx.db, ctx.admin).id}


def _incident(ctx: MatrixContext) -> dict[str, Any]:
    from datetime import timedelta

    from signalfire.core.clock import utcnow
    from tests.response import factories as rf

    return {"incident_id": rf.incident(ctx.db, ctx.admin, aware_at=utcnow() - timedelta(hours=2)).id}


def _item_json(ctx: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    return xf.item_in().model_dump(mode="json")


def _item_form(ctx: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    return {
        "category": "threat",
        "title": "Matrix item",
        "summary": "s",
        "severity": "medium",
        "tlp": "GREEN",
        "permitted_uses": ["threat_detection"],
        "audience": ["all_members"],
        "attribution": "named",
    }


def _revise_json(ctx: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    return {**_item_json(ctx, p), "change_note": "Clarified the mitigation."}


def _lesson(ctx: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    return {"review_id": str(p["review_id"]), "category": "vulnerability", "permitted_uses": ["safeguards"]}


def _designate_body(ctx: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    return {"category": "threat", "user_id": str(ctx.actors[Role.viewer].user_id)}


def _all(code: int) -> dict[str, int]:
    return {"other_org": code, **{f"role:{r.value}": code for r in ROLES}}


HUB = OrgKind.hub_operator

CASES = [
    # -- pages ------------------------------------------------------------------------------------------
    RouteCase("GET", "/exchange", P.exchange_item_read),
    RouteCase("GET", "/exchange/items/new", P.exchange_item_write),
    RouteCase("POST", "/exchange/items", P.exchange_item_write, form=_item_form),
    # A draft: only the owning org's writers and its counsel (who sign drafts off) see it; everyone else gets 404.
    RouteCase(
        "GET",
        "/exchange/items/{item_id}",
        P.exchange_item_write,
        owned=True,
        denied=404,
        setup=_draft,
        expect=COUNSEL_READS_DRAFTS,
    ),
    RouteCase(
        "POST",
        "/exchange/items/{item_id}/open",
        P.exchange_item_read,
        setup=_published,
        form=lambda c, p: {"purpose": "threat_detection"},
    ),
    RouteCase("GET", "/exchange/items/{item_id}/details", P.exchange_item_read, setup=_published),
    RouteCase("GET", "/exchange/items/{item_id}/edit", P.exchange_item_write, owned=True, denied=404, setup=_draft),
    RouteCase(
        "POST",
        "/exchange/items/{item_id}/edit",
        P.exchange_item_write,
        owned=True,
        denied=404,
        setup=_draft,
        form=_item_form,
    ),
    RouteCase("POST", "/exchange/items/{item_id}/publish", P.exchange_item_publish, owned=True, setup=_draft),
    RouteCase(
        "POST",
        "/exchange/items/{item_id}/withdraw",
        P.exchange_item_publish,
        owned=True,
        setup=_published,
        form=lambda c, p: {"reason": "Superseded by a fuller item."},
    ),
    # No file in a matrix request: every signed-in caller gets the missing-field 422 before any rule runs.
    RouteCase("POST", "/exchange/items/{item_id}/attachments", setup=_draft, expect=_all(422)),
    # Removing a file from a draft: only those who may edit it; anyone else finds no such item.
    RouteCase(
        "POST",
        "/exchange/items/{item_id}/attachments/{attachment_id}/remove",
        P.exchange_item_write,
        owned=True,
        denied=404,
        setup=_draft_with_attachment,
    ),
    # Another org has not declared a purpose (no read grant): 403 naming the permitted uses.
    RouteCase(
        "GET",
        "/exchange/items/{item_id}/attachments/{attachment_id}",
        setup=_with_attachment,
        expect={"other_org": 403},
    ),
    RouteCase(
        "POST",
        "/exchange/items/{item_id}/responses",
        P.exchange_item_respond,
        setup=_published,
        form=lambda c, p: {"kind": "comment", "body": "Seen a variant of this."},
    ),
    RouteCase(
        "POST",
        "/exchange/responses/{response_id}/decision",
        P.exchange_item_write,
        owned=True,
        setup=_correction,
        form=lambda c, p: {"accept": "true", "note": "Thanks."},
    ),
    RouteCase("GET", "/exchange/items/{item_id}/access-log", P.exchange_item_read, owned=True, setup=_published),
    RouteCase("GET", "/exchange/access-log", P.exchange_item_read),
    # The workspace section: the org's own incident, read through the response policy (every role reads).
    RouteCase("GET", "/exchange/incidents/{incident_id}/panel", P.response_incident_read, owned=True, setup=_incident),
    RouteCase("GET", "/exchange/routing", P.exchange_item_read),
    # The person designated must belong to the caller's org: another org's admin gets 422.
    RouteCase("POST", "/exchange/routing", P.exchange_routing_manage, form=_designate_body, expect={"other_org": 422}),
    RouteCase(
        "POST", "/exchange/routing/{designation_id}/delete", P.exchange_routing_manage, owned=True, setup=_designation
    ),
    RouteCase("GET", "/exchange/health", P.exchange_health_read, org_kind=HUB),
    RouteCase("GET", "/exchange/pseudonyms", P.exchange_pseudonym_resolve, org_kind=HUB),
    RouteCase(
        "POST",
        "/exchange/pseudonyms/{pseudonym_id}/resolve",
        P.exchange_pseudonym_resolve,
        org_kind=HUB,
        denied=404,
        setup=_pseudonym,
        form=lambda c, p: {"reason": "Legal request about this contributor."},
    ),
    RouteCase("GET", "/exchange/lessons/new", P.exchange_item_write),
    # Needs both exchange:item:write and response:incident:read; the review belongs to the owning org.
    RouteCase("POST", "/exchange/lessons", P.exchange_item_write, owned=True, setup=_review, form=_lesson),
    # -- API --------------------------------------------------------------------------------------------
    RouteCase("GET", "/api/v1/exchange/items", P.exchange_item_read),
    RouteCase("POST", "/api/v1/exchange/items", P.exchange_item_write, json=_item_json),
    RouteCase(
        "GET",
        "/api/v1/exchange/items/{item_id}",
        P.exchange_item_write,
        owned=True,
        denied=404,
        setup=_draft,
        expect=COUNSEL_READS_DRAFTS,
    ),
    RouteCase(
        "PATCH", "/api/v1/exchange/items/{item_id}", P.exchange_item_write, owned=True, setup=_draft, json=_item_json
    ),
    RouteCase(
        "POST",
        "/api/v1/exchange/items/{item_id}/publish",
        P.exchange_item_publish,
        owned=True,
        setup=_draft,
        json=lambda c, p: {},
    ),
    RouteCase(
        "POST",
        "/api/v1/exchange/items/{item_id}/revisions",
        P.exchange_item_publish,
        owned=True,
        setup=_published,
        json=_revise_json,
    ),
    RouteCase("GET", "/api/v1/exchange/items/{item_id}/revisions", P.exchange_item_read, setup=_published),
    RouteCase(
        "POST",
        "/api/v1/exchange/items/{item_id}/withdraw",
        P.exchange_item_publish,
        owned=True,
        setup=_published,
        json=lambda c, p: {"reason": "Superseded."},
    ),
    RouteCase(
        "GET", "/api/v1/exchange/items/{item_id}/details", P.exchange_item_read, setup=_published, headers=PURPOSE
    ),
    RouteCase("POST", "/api/v1/exchange/items/{item_id}/attachments", setup=_draft, expect=_all(422)),
    RouteCase(
        "DELETE",
        "/api/v1/exchange/items/{item_id}/attachments/{attachment_id}",
        P.exchange_item_write,
        owned=True,
        denied=404,
        setup=_draft_with_attachment,
    ),
    RouteCase(
        "GET",
        "/api/v1/exchange/items/{item_id}/attachments/{attachment_id}",
        P.exchange_item_read,
        setup=_with_attachment,
        headers=PURPOSE,
    ),
    RouteCase("GET", "/api/v1/exchange/items/{item_id}/reads", P.exchange_item_read, owned=True, setup=_published),
    RouteCase(
        "POST",
        "/api/v1/exchange/items/{item_id}/responses",
        P.exchange_item_respond,
        setup=_published,
        json=lambda c, p: {"kind": "sighting", "body": ""},
        # The contributor cannot sight its own item (422); another org can.
        expect={f"role:{r.value}": 422 for r in (Role.admin, Role.analyst, Role.responder, Role.reporter)},
    ),
    RouteCase(
        "POST",
        "/api/v1/exchange/responses/{response_id}/decision",
        P.exchange_item_write,
        owned=True,
        setup=_correction,
        json=lambda c, p: {"accept": False, "note": "Not an ATLAS technique."},
    ),
    RouteCase("GET", "/api/v1/exchange/designations", P.exchange_item_read),
    RouteCase(
        "POST",
        "/api/v1/exchange/designations",
        P.exchange_routing_manage,
        json=_designate_body,
        expect={"other_org": 422},
    ),
    RouteCase(
        "DELETE",
        "/api/v1/exchange/designations/{designation_id}",
        P.exchange_routing_manage,
        owned=True,
        setup=_designation,
    ),
    RouteCase("GET", "/api/v1/exchange/coverage", P.exchange_health_read, org_kind=HUB),
    RouteCase("GET", "/api/v1/exchange/health", P.exchange_health_read, org_kind=HUB),
    RouteCase("GET", "/api/v1/exchange/pseudonyms", P.exchange_pseudonym_resolve, org_kind=HUB),
    RouteCase(
        "POST",
        "/api/v1/exchange/pseudonyms/{pseudonym_id}/resolve",
        P.exchange_pseudonym_resolve,
        org_kind=HUB,
        denied=404,
        setup=_pseudonym,
        json=lambda c, p: {"reason": "Legal request about this contributor."},
    ),
    RouteCase("GET", "/api/v1/exchange/resolutions", P.exchange_item_read),
    RouteCase("GET", "/api/v1/exchange/reads", P.exchange_item_read),
    RouteCase("POST", "/api/v1/exchange/lessons", P.exchange_item_write, owned=True, setup=_review, json=_lesson),
]
