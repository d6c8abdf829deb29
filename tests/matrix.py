"""The route access matrix: every route, called as anonymous, as another org's admin, and as each role
of the owning org, must answer allow / 401 / 403 / 404 exactly as the documentation says: the expected
answer for a role comes from tests/access_oracle.py (written from the docs), not from the code's table.

Each domain lists its routes in `tests/<domain>/routes_matrix.py` as `CASES: list[RouteCase]`; the
test in tests/test_route_matrix.py runs them all and fails for any app route not listed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, OrgKind, Role
from signalfire.access.permissions import Permission
from tests import access_oracle

ROLES = tuple(Role)
# The read permission of a channel whose records some role may not read at all (counsel reads no intake,
# readiness or transparency records): an object of it owned by the org is missing to that role, a 404 like
# another org's (forbidden looks like missing), whatever the route's own permission.
CHANNEL_READ = {
    "intake": Permission.intake_signal_read,
    "readiness": Permission.readiness_scorecard_read,
    "transparency": Permission.transparency_report_read,
}
SUBJECTS = ("anonymous", "other_org", *(f"role:{r.value}" for r in ROLES))
ALLOWED = {200, 201, 202, 204, 303}


@dataclass
class MatrixContext:
    """What a case's setup gets: the owning org with one actor per role, and the session."""

    db: Session
    org: Organization
    actors: dict[Role, Actor]
    other: Actor
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def admin(self) -> Actor:
        return self.actors[Role.admin]


Setup = Callable[[MatrixContext], dict[str, Any]]


def _no_setup(ctx: MatrixContext) -> dict[str, Any]:
    return {}


@dataclass
class RouteCase:
    method: str
    path: str
    permission: Permission | None = None
    # The path names an object owned by the org: others get 404 (forbidden looks like missing).
    owned: bool = False
    # What a role without the permission gets on this route (403 for actions in one's own org,
    # 404 for reads of objects, 200 for lists that are simply empty).
    denied: int = 403
    public: bool = False
    org_kind: OrgKind = OrgKind.frontier_developer
    setup: Setup = _no_setup
    # Optional JSON or form body, built from the context and setup result.
    json: Callable[[MatrixContext, dict[str, Any]], Any] | None = None
    form: Callable[[MatrixContext, dict[str, Any]], dict[str, Any]] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # For routes whose outcome also depends on per-object rules (e.g. the item's audience), a custom
    # expectation per subject overrides the computed one.
    expect: dict[str, int] = field(default_factory=dict)
    id: str = ""

    def __post_init__(self) -> None:
        self.id = self.id or f"{self.method} {self.path}"

    @property
    def is_api(self) -> bool:
        return self.path.startswith(("/api/", "/taxii2"))

    def expected(self, subject: str) -> int | set[int]:
        if subject in self.expect:
            return self.expect[subject]
        if self.public:
            return ALLOWED
        if subject == "anonymous":
            return 303 if (self.method == "GET" and not self.is_api) else 401
        if subject == "other_org":
            return 404 if self.owned else ALLOWED
        role = subject.split(":", 1)[1]
        # Graded against the hand-written table from the docs, never the code's own role table.
        read = CHANNEL_READ.get(self.path.removeprefix("/api/v1").split("/")[1])
        if self.owned and read is not None and not access_oracle.may(self.org_kind.value, role, read.value):
            return 404
        if self.permission is None or access_oracle.may(self.org_kind.value, role, self.permission.value):
            return ALLOWED
        return self.denied


def run_case(
    case: RouteCase,
    subject: str,
    ctx: MatrixContext,
    client_for: Callable[[Actor | None], TestClient],
    params: dict[str, Any],
) -> int:
    actor: Actor | None
    if subject == "anonymous":
        actor = None
    elif subject == "other_org":
        actor = ctx.other
    else:
        actor = ctx.actors[Role(subject.split(":", 1)[1])]
    client = client_for(actor)
    path = case.path.format(**{k: v for k, v in params.items() if isinstance(v, str | uuid.UUID | int)})
    kwargs: dict[str, Any] = {"headers": dict(case.headers), "follow_redirects": False}
    if case.json is not None:
        kwargs["json"] = case.json(ctx, params)
    if case.form is not None:
        kwargs["data"] = case.form(ctx, params)
    resp = client.request(case.method, path, **kwargs)
    return int(resp.status_code)  # int(): TestClient's response type is Any unless httpx2 is installed
