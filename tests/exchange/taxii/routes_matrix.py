"""Access-matrix cases for the TAXII server (/taxii2/) and the STIX export and import routes.

The owning org is a member frontier lab; "other_org" is another member lab, so it reads the members
collection (and the owning org's objects there) but not the owning org's statuses, and cannot delete
its objects. Adding to a collection needs exchange:item:publish; reading needs exchange:item:read and a
declared purpose. Anything else under /taxii2/ is a TAXII 404 for everyone.
"""

from __future__ import annotations

from typing import Any

from signalfire.access.models import Role
from signalfire.access.permissions import Permission as P
from signalfire.exchange.taxii import ingest as taxii_ingest
from signalfire.exchange.taxii.collections import MEMBERS_ID, collections_for
from signalfire.exchange.vocab import CoveredUse
from tests.exchange import factories as xf
from tests.exchange.taxii.helpers import TAXII, indicator
from tests.matrix import MatrixContext, RouteCase

ROLES = tuple(Role)
READ = {"Accept": TAXII, "X-Signalfire-Purpose": "threat_detection"}
WRITE = {**READ, "Content-Type": TAXII, "X-Signalfire-Permitted-Uses": "threat_detection"}
C = "/taxii2/exchange/collections/{collection_id}/"


def _members(ctx: MatrixContext) -> dict[str, Any]:
    return {"collection_id": MEMBERS_ID}


def _posted(ctx: MatrixContext) -> dict[str, Any]:
    obj = indicator(1)
    members = next(c for c in collections_for(ctx.db, ctx.admin) if c.id == MEMBERS_ID)
    result = taxii_ingest.add_objects(
        ctx.db, ctx.admin, members, [obj], permitted_uses=[CoveredUse.THREAT_DETECTION], override_reason=None
    )
    ctx.db.flush()
    return {"collection_id": MEMBERS_ID, "object_id": obj["id"], "status_id": result.status.id}


def _published(ctx: MatrixContext) -> dict[str, Any]:
    return {"item_id": xf.published(ctx.db, ctx.admin).id}


class _PathParam(str):
    """Formats into the route's own pattern "/taxii2/{rest:path}" (a plain str rejects the ':path' spec)."""

    __slots__ = ()

    def __format__(self, spec: str) -> str:
        return str(self)


def _unknown(ctx: MatrixContext) -> dict[str, Any]:
    return {"rest": _PathParam("nowhere/")}


def _envelope(ctx: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    return {"objects": [indicator(2)]}


def _bundle(ctx: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    report = {
        k: v for k, v in indicator(3).items() if k not in ("pattern", "pattern_type", "valid_from", "indicator_types")
    }
    report.update(
        type="report",
        id=report["id"].replace("indicator--", "report--"),
        published=report["created"],
        object_refs=[report["id"]],
    )
    return {"type": "bundle", "id": "bundle--5d0f4c2e-7a1b-4c3d-9e8f-0a1b2c3d4e5f", "objects": [report]}


def _everyone(code: int) -> dict[str, int]:
    return {"anonymous": code, "other_org": code, **{f"role:{r.value}": code for r in ROLES}}


_BODY_ROUTE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

CASES = [
    RouteCase("GET", "/taxii2/", headers=READ),
    RouteCase("GET", "/taxii2/exchange/", headers=READ),
    RouteCase(
        "GET",
        "/taxii2/exchange/status/{status_id}/",
        P.exchange_item_read,
        owned=True,
        denied=404,
        setup=_posted,
        headers=READ,
    ),
    RouteCase(
        "GET",
        "/taxii2/exchange/status/{status_id}",
        P.exchange_item_read,
        owned=True,
        denied=404,
        setup=_posted,
        headers=READ,
    ),
    RouteCase("GET", "/taxii2/exchange/collections/", headers=READ),
    RouteCase("GET", C, P.exchange_item_read, denied=404, setup=_members, headers=READ),
    RouteCase("GET", C + "objects/", P.exchange_item_read, denied=404, setup=_members, headers=READ),
    RouteCase("POST", C + "objects/", P.exchange_item_publish, setup=_members, headers=WRITE, json=_envelope),
    RouteCase("GET", C + "objects/{object_id}/", P.exchange_item_read, denied=404, setup=_posted, headers=READ),
    RouteCase("DELETE", C + "objects/{object_id}/", P.exchange_item_publish, owned=True, setup=_posted, headers=READ),
    RouteCase(
        "GET", C + "objects/{object_id}/versions/", P.exchange_item_read, denied=404, setup=_posted, headers=READ
    ),
    RouteCase("GET", C + "manifest/", P.exchange_item_read, denied=404, setup=_members, headers=READ),
    *[
        RouteCase(method, "/taxii2/{rest:path}", setup=_unknown, headers=READ, expect=_everyone(404))
        for method in _BODY_ROUTE_METHODS
    ],
    # Exports: the owning org's own published item is always exportable to it; the other member lab reads it too.
    RouteCase("GET", "/api/v1/exchange/export.stix", P.exchange_item_read, setup=_published, headers=READ),
    RouteCase(
        "POST",
        "/api/v1/exchange/import",
        P.exchange_item_write,
        json=_bundle,
        headers={"Content-Type": "application/json"},
    ),
]
