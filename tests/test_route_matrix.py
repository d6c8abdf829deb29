"""Runs every RouteCase for every subject; fails for any route that no matrix lists."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, OrgKind, Role
from signalfire.core.db.session import session_factory, unit_of_work
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
                assert r.methods is not None
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


@dataclass
class _World:
    org: Organization
    actors: dict[Role, Actor]
    other: Actor


@pytest.fixture(scope="session")
def matrix_worlds(engine: Engine) -> dict[OrgKind, _World]:
    """Per org kind, an org with one member per role plus another org's admin, committed once for the whole
    run (each test still runs in its own rolled-back transaction on top)."""
    worlds: dict[OrgKind, _World] = {}
    factory = session_factory(engine)
    with unit_of_work(factory) as s:
        for kind in {c.org_kind for c in CASES}:
            org = factories.org(s, kind)
            actors = {role: factories.actor_for(s, factories.member(s, org, role), org) for role in ROLES}
            other_org = factories.org(s, kind)
            other = factories.actor_for(s, factories.member(s, other_org, Role.admin), other_org)
            s.expunge(org)
            worlds[kind] = _World(org, actors, other)
    return worlds


@pytest.fixture()
def matrix_ctx(db: Session, request: pytest.FixtureRequest, matrix_worlds: dict[OrgKind, _World]) -> MatrixContext:
    case: RouteCase = request.param
    world = matrix_worlds[case.org_kind]
    org = db.get(Organization, world.org.id)
    assert org is not None
    return MatrixContext(db=db, org=org, actors=world.actors, other=world.other)


@pytest.mark.parametrize(
    ("matrix_ctx", "case", "subject"),
    [pytest.param(c, c, s, id=f"{c.id}|{s}") for c in CASES for s in SUBJECTS],
    indirect=["matrix_ctx"],
)
def test_route_access(
    matrix_ctx: MatrixContext,
    case: RouteCase,
    subject: str,
    browser_client: Callable[[Actor | None], TestClient],
    db: Session,
) -> None:
    params = case.setup(matrix_ctx)
    db.commit()
    status = run_case(case, subject, matrix_ctx, browser_client, params)
    expected = case.expected(subject)
    if isinstance(expected, set):
        assert status in expected, f"{case.id} as {subject}: got {status}, expected one of {sorted(expected)}"
    else:
        assert status == expected, f"{case.id} as {subject}: got {status}, expected {expected}"
