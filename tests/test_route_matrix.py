"""Runs every RouteCase for every subject; fails for any route that no matrix lists."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Role
from tests import factories
from tests.matrix import ROLES, SUBJECTS, MatrixContext, RouteCase, run_case

HERE = Path(__file__).resolve().parent
# Framework routes that are not ours to police (docs are public by design).
EXEMPT = {("GET", "/api/v1/openapi.json"), ("GET", "/api/v1/docs"), ("GET", "/docs/oauth2-redirect")}


def _all_cases() -> list[RouteCase]:
    cases: list[RouteCase] = []
    for module in pkgutil.walk_packages([str(HERE)], prefix="tests."):
        if module.name.endswith("routes_matrix"):
            cases.extend(importlib.import_module(module.name).CASES)
    return cases


CASES = _all_cases()


def _routes(app: FastAPI) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()

    def walk(routes: list[Any], prefix: str = "") -> None:
        for r in routes:
            inner = getattr(r, "original_router", None)
            if inner is not None:
                context = getattr(r, "include_context", None)
                walk(inner.routes, prefix + (context.prefix if context is not None else ""))
            elif isinstance(r, APIRoute):
                for m in r.methods:
                    found.add((m, prefix + r.path))
            elif hasattr(r, "methods") and hasattr(r, "path"):
                for m in r.methods or []:
                    if m != "HEAD":
                        found.add((m, prefix + r.path))

    walk(app.routes)
    return found


def test_every_route_is_in_a_matrix(app: FastAPI) -> None:
    listed = {(c.method, c.path) for c in CASES}
    missing = sorted(_routes(app) - listed - EXEMPT)
    assert not missing, f"routes with no access-matrix case (add them to tests/<domain>/routes_matrix.py): {missing}"


@pytest.fixture()
def matrix_ctx(db: Session, request: pytest.FixtureRequest) -> MatrixContext:
    case: RouteCase = request.param
    org = factories.org(db, case.org_kind)
    actors: dict[Role, Actor] = {}
    for role in ROLES:
        person = factories.member(db, org, role)
        actors[role] = factories.actor_for(db, person, org)
    other_org = factories.org(db, case.org_kind)
    other = factories.actor_for(db, factories.member(db, other_org, Role.admin), other_org)
    db.commit()
    return MatrixContext(db=db, org=org, actors=actors, other=other)


@pytest.mark.parametrize(
    ("matrix_ctx", "case", "subject"),
    [pytest.param(c, c, s, id=f"{c.id}|{s}") for c in CASES for s in SUBJECTS],
    indirect=["matrix_ctx"],
)
def test_route_access(matrix_ctx: MatrixContext, case: RouteCase, subject: str,
                      browser_client: Callable[[Actor | None], TestClient], db: Session) -> None:
    params = case.setup(matrix_ctx)
    db.commit()
    status = run_case(case, subject, matrix_ctx, browser_client, params)
    expected = case.expected(subject)
    if isinstance(expected, set):
        assert status in expected, f"{case.id} as {subject}: got {status}, expected one of {sorted(expected)}"
    else:
        assert status == expected, f"{case.id} as {subject}: got {status}, expected {expected}"
