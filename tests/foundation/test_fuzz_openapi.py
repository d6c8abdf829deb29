"""schemathesis over the whole JSON API (/api/v1/openapi.json): no generated request may get a 5xx.

Runs in the normal suite with a bounded number of examples per operation (about two minutes on two cores
for both callers); SIGNALFIRE_FUZZ_EXAMPLES raises it for a longer local run. Every error answer must
also be problem+json, so a 4xx rendered as a page or as plain text fails too.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.openapi import from_asgi
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind, Role
from tests import factories

EXAMPLES = int(os.environ.get("SIGNALFIRE_FUZZ_EXAMPLES", "6"))

STATS: dict[int, int] = {}
pytestmark = [pytest.mark.fuzz, pytest.mark.slow]


def _content_type(response: object) -> str:
    value = response.headers.get("content-type", "")  # type: ignore[attr-defined]
    return str(value[0] if isinstance(value, list) else value)


def _answered(app: FastAPI) -> Callable[..., Awaitable[None]]:
    """The app as a server runs it: an unhandled error is re-raised after the 500 was sent, and dropped here,
    so the test sees the response a client would get (and counts it) instead of the exception."""

    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        sent = False

        async def tracking_send(message: Any) -> None:
            nonlocal sent
            sent = True
            await send(message)

        try:
            await app(scope, receive, tracking_send)
        except Exception:
            if not sent:
                raise

    return guarded


def _fuzz(app: FastAPI, headers: dict[str, str]) -> list[str]:
    """Every operation, positive and negative examples; one line per (operation, failure kind) found."""
    schema = from_asgi("/api/v1/openapi.json", app)
    served = _answered(app)
    found: dict[tuple[str, str], str] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        strategy = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
        )

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case: Case) -> None:
            response = case.call(headers=headers, app=served)
            where = f"{case.method} {case.path}"
            STATS[response.status_code // 100] = STATS.get(response.status_code // 100, 0) + 1
            if response.status_code >= 500:
                found.setdefault((where, "5xx"), f"{where}: {response.status_code} {case.as_curl_command()[:600]}")
            elif response.status_code >= 400 and not _content_type(response).startswith("application/problem+json"):
                found.setdefault((where, "type"), f"{where}: {response.status_code} as {_content_type(response)}")

        run()
    print("STATS", STATS)
    return sorted(found.values())


@pytest.fixture()
def token_headers(db: Session, make_actor: Callable[..., Actor]) -> dict[str, str]:
    admin = make_actor(OrgKind.frontier_developer, Role.admin)
    return {"Authorization": f"Bearer {factories.token_for(db, admin)}"}


def test_anonymous_gets_no_server_error(app: FastAPI) -> None:
    failures = _fuzz(app, {})
    assert not failures, "\n".join(failures)


def test_token_holder_gets_no_server_error(app: FastAPI, token_headers: dict[str, str]) -> None:
    failures = _fuzz(app, token_headers)
    assert not failures, "\n".join(failures)
