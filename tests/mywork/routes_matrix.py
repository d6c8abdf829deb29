"""Access-matrix cases for My work: every signed-in person gets their own list; anonymous callers none."""

from __future__ import annotations

from tests.matrix import RouteCase

CASES: list[RouteCase] = [
    RouteCase("GET", "/my-work"),
    RouteCase("GET", "/my-work/count"),
    RouteCase("GET", "/api/v1/me/work"),
]
