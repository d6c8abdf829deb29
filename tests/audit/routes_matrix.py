"""Access-matrix cases for the audit log's routes: the checkpoint and consistency proofs are public
(hashes and signatures only); an inclusion proof carries the entry, so only the org's audit readers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from signalfire.access.permissions import Permission as P
from signalfire.audit import keys
from signalfire.audit.chain import record
from signalfire.audit.models import AuditCheckpoint
from signalfire.audit.sequencer import integrate
from tests.conftest import make_settings
from tests.matrix import MatrixContext, RouteCase


def _integrated(ctx: MatrixContext) -> dict[str, Any]:
    entry = record(ctx.db, action="test.matrix", target_type="thing", actor=ctx.admin)
    ctx.db.flush()
    settings = make_settings()
    integrate(ctx.db, signer=keys.signer(settings), origin=keys.origin(settings), holder="matrix", lease_seconds=0)
    ctx.db.flush()
    size = ctx.db.execute(select(func.max(AuditCheckpoint.size))).scalar_one()
    return {"entry_id": entry.id, "old": size, "new": size}


CASES = [
    RouteCase("GET", "/.well-known/signalfire/checkpoint", public=True, setup=_integrated),
    RouteCase("GET", "/api/v1/audit/checkpoint", public=True, setup=_integrated),
    RouteCase("GET", "/api/v1/audit/consistency/{old}/{new}", public=True, setup=_integrated),
    RouteCase(
        "GET", "/api/v1/audit/entries/{entry_id}/proof", P.audit_log_read, owned=True, denied=404, setup=_integrated
    ),
]
