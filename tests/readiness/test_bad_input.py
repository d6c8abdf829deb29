"""'As of' times from a query string: out of range is a 422 problem+json, never an overflow (issue 15)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind, Role


@pytest.mark.parametrize(
    "at", ["0001-01-01", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-02-30", "1899-12-31"]
)
def test_an_as_of_time_out_of_range_is_422(
    make_actor: Callable[..., Actor], api_client: Callable[[Actor | None], TestClient], at: str
) -> None:
    c = api_client(make_actor(OrgKind.frontier_developer, Role.admin))
    r = c.get("/api/v1/readiness/scorecard", params={"at": at})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == "at"
    assert c.get("/api/v1/readiness/scorecard", params={"at": "2026-01-31"}).status_code == 200
