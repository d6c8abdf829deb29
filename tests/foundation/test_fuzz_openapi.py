"""schemathesis over the whole JSON API (/api/v1/openapi.json): no generated request may get a 5xx.

Runs in the normal suite (marker `fuzz`; `-m "not fuzz"` leaves it out) with a bounded budget per
operation: about three minutes on two cores for both callers, an admin's API token and anonymous.
SIGNALFIRE_FUZZ_COVERAGE (boundary cases per operation, 0 for all of them) and SIGNALFIRE_FUZZ_EXAMPLES
(random cases) raise it for a longer local run. Every error answer must also be problem+json, so a 4xx
rendered as a page or as plain text fails too.
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
from schemathesis.core.result import Ok
from schemathesis.openapi import from_asgi
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind, Role
from tests import factories

# Per operation: up to COVERAGE of schemathesis's boundary cases (huge and negative numbers, long and odd
# strings, missing and extra fields, wrong types), spread over all of them, plus EXAMPLES random ones.
COVERAGE = int(os.environ.get("SIGNALFIRE_FUZZ_COVERAGE", "16"))
EXAMPLES = int(os.environ.get("SIGNALFIRE_FUZZ_EXAMPLES", "4"))
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
AnyCase = Case[Any]  # a case of any operation

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


def _spread(cases: list[AnyCase], limit: int) -> list[AnyCase]:
    if limit <= 0 or len(cases) <= limit:
        return cases
    step = len(cases) / limit
    return [cases[int(i * step)] for i in range(limit)]


def _fuzz(app: FastAPI, headers: dict[str, str], *, coverage: int = COVERAGE, examples: int = EXAMPLES) -> list[str]:
    """Every operation; one line per (operation, failure kind) found."""
    schema = from_asgi("/api/v1/openapi.json", app)
    served = _answered(app)
    found: dict[tuple[str, str], str] = {}

    def check(case: AnyCase) -> None:
        response = case.call(headers=headers, app=served)
        where = f"{case.method} {case.path}"
        if response.status_code >= 500:
            found.setdefault((where, "5xx"), f"{where}: {response.status_code} {case.as_curl_command()[:600]}")
        elif response.status_code >= 400 and not _content_type(response).startswith("application/problem+json"):
            found.setdefault((where, "type"), f"{where}: {response.status_code} as {_content_type(response)}")

    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()  # the app's own schema is valid
        operation = result.ok()
        config = schema.config.generation_for(operation=operation)
        for case in _spread(
            list(schema.iter_coverage_cases(operation, generation_modes=MODES, generation_config=config)), coverage
        ):
            check(case)
        if examples <= 0:
            continue

        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=st.one_of(*(operation.as_strategy(mode) for mode in MODES)))
        def run(case: AnyCase) -> None:
            check(case)

        run()
    return sorted(found.values())


@pytest.fixture()
def token_headers(db: Session, make_actor: Callable[..., Actor]) -> dict[str, str]:
    admin = make_actor(OrgKind.frontier_developer, Role.admin)
    return {"Authorization": f"Bearer {factories.token_for(db, admin)}"}


def test_anonymous_gets_no_server_error(app: FastAPI) -> None:
    # Anonymous requests stop at authentication on all but a few routes: half the budget finds the same.
    failures = _fuzz(app, {}, coverage=COVERAGE // 2, examples=EXAMPLES // 2)
    assert not failures, "\n".join(failures)


def test_token_holder_gets_no_server_error(app: FastAPI, token_headers: dict[str, str]) -> None:
    failures = _fuzz(app, token_headers)
    assert not failures, "\n".join(failures)
