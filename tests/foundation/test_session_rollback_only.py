"""The request's session commits on success, but not when a route class answered an error itself.

TAXII routes turn exceptions into TAXII error responses inside the session dependency's scope, so the
dependency sees no exception; they mark the request, and the session must roll back instead of committing
(a commit after a failed statement is what turned a PostgreSQL add race into a 500)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import anyio
import pytest

from signalfire.core.web.deps import ROLLBACK_ONLY, get_session


class FakeSession:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.info: dict[str, Any] = {}

    def commit(self) -> None:
        self.calls.append("commit")

    def rollback(self) -> None:
        self.calls.append("rollback")

    def close(self) -> None:
        self.calls.append("close")


def _run(drive: Callable[[], Awaitable[None]]) -> None:
    # On a thread of its own: a browser test earlier in the session leaves an event loop on this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(anyio.run, drive).result()


def _request(session: FakeSession, **state: Any) -> Any:
    return SimpleNamespace(
        app=SimpleNamespace(state=SimpleNamespace(session_factory=lambda: session)), state=SimpleNamespace(**state)
    )


@pytest.mark.parametrize(("marked", "expected"), [(False, ["commit", "close"]), (True, ["rollback", "close"])])
def test_a_marked_request_rolls_back_instead_of_committing(marked: bool, expected: list[str]) -> None:
    session = FakeSession()
    request = _request(session, **({ROLLBACK_ONLY: True} if marked else {}))

    async def drive() -> None:
        gen = get_session(request)
        yielded: object = await anext(gen)  # the fake stands in for a Session
        assert yielded is session
        with pytest.raises(StopAsyncIteration):
            await anext(gen)

    _run(drive)
    assert session.calls == expected


def test_a_failed_request_rolls_back_and_closes() -> None:
    session = FakeSession()
    request = _request(session)

    async def drive() -> None:
        gen = get_session(request)
        assert isinstance(gen, AsyncGenerator)
        yielded: object = await anext(gen)  # the fake stands in for a Session
        assert yielded is session
        with pytest.raises(ValueError, match="boom"):
            await gen.athrow(ValueError("boom"))

    _run(drive)
    assert session.calls == ["rollback", "close"]
