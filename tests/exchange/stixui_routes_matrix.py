"""Access-matrix cases for the STIX and TAXII pages of the exchange (exchange/stix/pages.py)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from signalfire.access.permissions import Permission as P
from signalfire.exchange.stix.convert import TLP2_MARKING_IDS
from signalfire.exchange.vocab import Tlp
from tests.exchange import factories as xf
from tests.matrix import MatrixContext, RouteCase


def _published(ctx: MatrixContext) -> dict[str, Any]:
    return {"item_id": xf.published(ctx.db, ctx.admin).id}


def _bundle() -> str:
    report = {
        "type": "report",
        "spec_version": "2.1",
        "id": f"report--{uuid.uuid4()}",
        "created": "2026-02-01T00:00:00.000Z",
        "modified": "2026-02-01T00:00:00.000Z",
        "name": "Matrix report",
        "published": "2026-02-01T00:00:00.000Z",
        "object_refs": [f"identity--{uuid.uuid4()}"],
        "object_marking_refs": [TLP2_MARKING_IDS[Tlp.GREEN]],
    }
    return json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [report]})


CASES = [
    RouteCase("GET", "/exchange/import", P.exchange_item_write),
    # A dry run of a one-report bundle posted as the form field the dry run's page posts back.
    RouteCase(
        "POST",
        "/exchange/import",
        P.exchange_item_write,
        form=lambda c, p: {"bundle": _bundle(), "dry_run": "true", "permitted_uses": "safeguards"},
    ),
    RouteCase("GET", "/exchange/export", P.exchange_item_read),
    # The item is GREEN to all members and permits threat detection: another member may export it too.
    RouteCase(
        "POST",
        "/exchange/export.stix",
        P.exchange_item_read,
        setup=_published,
        form=lambda c, p: {"purpose": "threat_detection", "item": str(p["item_id"])},
    ),
    RouteCase("GET", "/exchange/collections", P.exchange_item_read),
]
