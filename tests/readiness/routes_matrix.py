"""Access-matrix cases for the readiness pages and API.

The owning org is a frontier developer. Every role but counsel reads its own scorecard (counsel gets an
empty list and 404s); only admins publish it or
change the risk domains in scope. A live published snapshot is readable by another org; a withdrawn one
only by the owning org (404 for others).
"""

from __future__ import annotations

from typing import Any

from signalfire.access.permissions import Permission as P
from signalfire.readiness import publication
from tests.matrix import MatrixContext, RouteCase

API = "/api/v1/readiness"
READ = P.readiness_scorecard_read
PUBLISH = P.readiness_scorecard_publish


def _published(ctx: MatrixContext) -> dict[str, Any]:
    return {"snapshot_id": publication.publish(ctx.db, ctx.admin).id}


def _withdrawn(ctx: MatrixContext) -> dict[str, Any]:
    snapshot = publication.publish(ctx.db, ctx.admin)
    publication.withdraw(ctx.db, ctx.admin)
    return {"snapshot_id": snapshot.id}


CASES = [
    RouteCase("GET", "/readiness", READ),
    RouteCase("GET", "/readiness/scorecard.json", READ),
    RouteCase("GET", "/readiness/scorecard/print", READ),
    RouteCase("GET", "/readiness/landscape", READ),
    RouteCase("GET", "/readiness/dashboard", READ),
    RouteCase(
        "GET",
        "/readiness/published/{snapshot_id}",
        READ,
        denied=404,
        setup=_published,
        id="GET /readiness/published/{snapshot_id} (live)",
    ),
    RouteCase(
        "GET",
        "/readiness/published/{snapshot_id}",
        READ,
        owned=True,
        denied=404,
        setup=_withdrawn,
        id="GET /readiness/published/{snapshot_id} (withdrawn)",
    ),
    RouteCase("POST", "/readiness/publication", PUBLISH, form=lambda c, p: {"publish": "true"}),
    RouteCase("POST", "/readiness/settings", PUBLISH, form=lambda c, p: {"risk_domains": ["misuse", "cbrn"]}),
    RouteCase("GET", f"{API}/scorecard", READ),
    RouteCase("GET", f"{API}/landscape", READ),
    RouteCase("GET", f"{API}/dashboard", READ),
    RouteCase("GET", f"{API}/published", READ, denied=200),  # without READ (counsel): an empty list
    RouteCase(
        "GET",
        f"{API}/published/{{snapshot_id}}",
        READ,
        denied=404,
        setup=_published,
        id=f"GET {API}/published/{{snapshot_id}} (live)",
    ),
    RouteCase(
        "GET",
        f"{API}/published/{{snapshot_id}}",
        READ,
        owned=True,
        denied=404,
        setup=_withdrawn,
        id=f"GET {API}/published/{{snapshot_id}} (withdrawn)",
    ),
    RouteCase("POST", f"{API}/publication", PUBLISH, json=lambda c, p: {"publish": True}),
    RouteCase("GET", f"{API}/settings", READ),
    RouteCase("PUT", f"{API}/settings", PUBLISH, json=lambda c, p: {"risk_domains": ["misuse"]}),
]
