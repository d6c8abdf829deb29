"""The order of the route modules is a matter of speed only: no path of one module can be taken by another.

FastAPI tries routes in order, so ``web.app.ROUTE_MODULES`` puts the endpoints that machines call at volume
first. That is safe only while no two modules have paths that the same request could match: each template
is made concrete (every parameter filled in) and tried against every other module's compiled paths.
"""

from __future__ import annotations

import importlib
import re

from starlette.routing import compile_path

from signalfire.web.app import ROUTE_MODULES


def _paths() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for name in ROUTE_MODULES:
        for router in importlib.import_module(name).routers:
            found.extend((name, route.path) for route in router.routes if hasattr(route, "path"))
    return found


def _concrete(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "0a1b", template)


def test_no_two_route_modules_can_take_the_same_request() -> None:
    paths = _paths()
    assert len(paths) > 300  # every module was read
    clashes = [
        (mod_a, a, mod_b, b)
        for mod_a, a in paths
        for mod_b, b in paths
        if mod_a != mod_b and compile_path(b)[0].match(_concrete(a))
    ]
    assert clashes == []


def test_the_intake_door_is_among_the_first_routes_tried() -> None:
    paths = [p for _, p in _paths()]
    assert paths.index("/api/v1/intake/reports") < 10
    assert paths.index("/taxii2/") < 120
