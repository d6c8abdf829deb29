"""Access-matrix cases for the STIX and TAXII pages of the exchange (exchange/stix/pages.py)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from signalfire.access.permissions import Permission as P
from signalfire.exchange.stix import jobs
from signalfire.exchange.stix.convert import TLP2_MARKING_IDS
from signalfire.exchange.vocab import CoveredUse, Tlp
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


def _import_job(ctx: MatrixContext) -> dict[str, Any]:
    """An import job of the owning org, started by its admin (queued: the matrix runs no worker)."""
    job = jobs.submit_import(ctx.db, ctx.admin, _bundle().encode(), default_uses=[CoveredUse.SAFEGUARDS])
    ctx.db.commit()
    return {"job_id": job.id}


CASES = [
    RouteCase("GET", "/exchange/import", P.exchange_item_write),
    # A dry run of a one-report bundle posted as the form field the dry run's page posts back.
    RouteCase(
        "POST",
        "/exchange/import",
        P.exchange_item_write,
        form=lambda c, p: {"bundle": _bundle(), "dry_run": "true", "permitted_uses": "safeguards"},
    ),
    # An import job is seen by the people of its org who may import; anyone else gets the missing page.
    RouteCase(
        "GET", "/exchange/import/jobs/{job_id}", P.exchange_item_write, owned=True, denied=404, setup=_import_job
    ),
    RouteCase(
        "POST",
        "/api/v1/exchange/imports",
        P.exchange_item_write,
        json=lambda c, p: json.loads(_bundle()),
        headers={"Content-Type": "application/json"},
    ),
    RouteCase(
        "GET", "/api/v1/exchange/imports/{job_id}", P.exchange_item_write, owned=True, denied=404, setup=_import_job
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
