"""Every detail route audits its reads, for the owning org too, or is exempt with a reason."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Role
from signalfire.audit.models import AuditEvent
from signalfire.audit.reads import AUDITED, EXEMPT
from tests.matrix import MatrixContext, run_case
from tests.test_route_matrix import CASES, _routes, matrix_ctx, matrix_worlds  # noqa: F401 (fixtures)


def _detail_routes(app: FastAPI) -> set[str]:
    return {path for method, path in _routes(app) if method == "GET" and "{" in path}


def test_every_detail_route_audits_or_is_exempt(app: FastAPI) -> None:
    details = _detail_routes(app)
    unlisted = sorted(details - set(AUDITED) - set(EXEMPT))
    assert not unlisted, f"detail routes neither audited nor exempt (add to audit/reads.py): {unlisted}"
    assert not set(AUDITED) & set(EXEMPT)
    assert all(reason.strip() for reason in EXEMPT.values())
    stale = sorted((set(AUDITED) | set(EXEMPT)) - details)
    assert not stale, f"listed in audit/reads.py but no such route: {stale}"


AUDITED_CASES = [c for c in CASES if c.method == "GET" and c.path in AUDITED]


def test_every_audited_route_has_a_matrix_case() -> None:
    assert {c.path for c in AUDITED_CASES} == set(AUDITED)


def _entries(db: Session, actor: Actor) -> list[AuditEvent]:
    db.expire_all()
    return list(db.execute(select(AuditEvent).where(AuditEvent.actor_user_id == actor.user_id)).scalars())


@pytest.mark.parametrize(
    ("matrix_ctx", "case"), [pytest.param(c, c, id=c.id) for c in AUDITED_CASES], indirect=["matrix_ctx"]
)
def test_the_owning_org_reading_a_detail_is_audited(
    matrix_ctx: MatrixContext,  # noqa: F811 (the fixture imported above)
    case: object,
    browser_client: Callable[[Actor | None], TestClient],
    db: Session,
) -> None:
    from tests.matrix import RouteCase

    assert isinstance(case, RouteCase)
    params = case.setup(matrix_ctx)
    db.commit()
    reader = matrix_ctx.admin
    before = {e.id for e in _entries(db, reader)}
    status = run_case(case, f"role:{Role.admin.value}", matrix_ctx, browser_client, params)
    assert status == 200, f"{case.id}: {status}"
    new = [e for e in _entries(db, reader) if e.id not in before]
    assert new, f"{case.id}: the owner's read left no audit entry"
    assert any(e.org_id == reader.org_id for e in new)
