"""Access-matrix cases for My work and one's own notifications: every signed-in person has their own;
anonymous callers get none."""

from __future__ import annotations

from tests.matrix import RouteCase

CASES: list[RouteCase] = [
    RouteCase("GET", "/my-work"),
    RouteCase("GET", "/my-work/count"),
    RouteCase("GET", "/my-work/notifications"),
    RouteCase("POST", "/my-work/notifications", form=lambda c, p: {"*:in_app": "1", "*:email": "1"}),
    RouteCase("POST", "/my-work/notifications/read", form=lambda c, p: {}),
    RouteCase("GET", "/api/v1/me/work"),
    RouteCase("GET", "/api/v1/me/notification-preferences"),
    RouteCase("PUT", "/api/v1/me/notification-preferences", json=lambda c, p: {"choices": {"*": {"email": False}}}),
    RouteCase("GET", "/api/v1/me/notifications"),
    RouteCase("POST", "/api/v1/me/notifications/read", json=lambda c, p: {}),
]
