"""Access-matrix cases for tags and correlation (exchange.correlation.routes).

The owning org's published item is GREEN to all members, so another member org may ask for its related
items; a role without exchange read sees it as missing (404). Vocabulary additions are the org's own.
"""

from __future__ import annotations

import uuid
from typing import Any

from signalfire.access.models import Role
from signalfire.access.permissions import Permission as P
from tests.exchange import factories as xf
from tests.matrix import MatrixContext, RouteCase


def _published(ctx: MatrixContext) -> dict[str, Any]:
    return {"item_id": xf.published(ctx.db, ctx.admin).id}


def _family(ctx: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    return {"name": f"matrix family {uuid.uuid4().hex[:8]}"}


# The search needs a value: without one every authenticated caller gets a 422 problem.
_NO_VALUE = {"other_org": 422, **{f"role:{r.value}": 422 for r in Role}}

CASES = [
    RouteCase("GET", "/exchange/search", P.exchange_item_read),
    RouteCase("POST", "/exchange/model-families", P.exchange_item_write, form=_family),
    RouteCase("GET", "/api/v1/exchange/items/{item_id}/related", P.exchange_item_read, denied=404, setup=_published),
    RouteCase("GET", "/api/v1/exchange/correlations", P.exchange_item_read, expect=_NO_VALUE),
    RouteCase("GET", "/api/v1/exchange/vocabularies"),
    RouteCase("POST", "/api/v1/exchange/vocabularies/model-families", P.exchange_item_write, json=_family),
]
