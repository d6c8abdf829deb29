"""Refuse input that cannot be stored before any handler sees it: NUL characters in the path and query
string, and unstorable values anywhere in a JSON or URL-encoded body.

Schemas check their own fields too (core.schemas); this catches the routes that read a raw body (alert
webhooks, TAXII envelopes, downstream reports) and parameters declared as plain `str`, so PostgreSQL
never receives a NUL and SQLite never stores what PostgreSQL would refuse. Multipart bodies carry files
that may hold any byte; their text fields are checked by the form's types.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, unquote_to_bytes

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from signalfire.core.errors import AppError, FieldError
from signalfire.core.schemas import BIGINT, text_problem, value_problem
from signalfire.core.web.middleware import send_problem


def _url_problem(raw: bytes) -> str | None:
    # Broken UTF-8 is decoded with replacement characters, as Starlette does; only NUL is refused.
    return text_problem(unquote_to_bytes(raw).decode("utf-8", "replace"))


# In UTF-8 JSON a NUL or a surrogate can only arrive as a \u escape (raw ones are not valid JSON or UTF-8),
# and an integer outside 64 bits needs 19 digits or more: a body with none of these holds nothing to refuse.
_UNSURE = re.compile(rb"\\u|\d{19}|\x00")


def _json_problem(body: bytes) -> tuple[str, str] | None:
    if json.detect_encoding(body) == "utf-8" and not _UNSURE.search(body):
        # Skips parsing the body twice (here and in the handler) and walking it: most of this check's cost
        # on a bulk envelope, paid on the event loop.
        return None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None  # malformed JSON is the handler's to refuse, with its own message
    # Raw JSON may be kept whole (alert payloads, STIX objects), where only 64-bit integers are sure to fit;
    # schema fields bound their own integers more tightly.
    problem = value_problem(data, BIGINT)
    return ("body", problem) if problem else None


def _form_problem(body: bytes) -> tuple[str, str] | None:
    try:
        pairs = parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="replace")
    except ValueError:
        return None  # the form parser refuses it with its own message
    for name, value in pairs:
        problem = text_problem(name) or text_problem(value)
        if problem:
            return (name if not text_problem(name) else "body", problem)
    return None


def _refusal(field: str, problem: str) -> AppError:
    message = problem.removeprefix(": ")
    return AppError(
        detail=f"{field}: {message}",
        status=422 if field not in ("path", "query") else 400,
        title="Validation failed" if field not in ("path", "query") else "Bad request",
        slug="validation-failed" if field not in ("path", "query") else "bad-request",
        errors=[FieldError(field, message)],
    )


class InputGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        for part, raw in (
            ("path", scope.get("raw_path") or path.encode("utf-8", "surrogatepass")),
            ("query", scope.get("query_string", b"")),
        ):
            problem = _url_problem(raw)
            if problem:
                await _answer(scope, receive, send, _refusal(part, problem))
                return
        ctype = _content_type(scope)
        check = (
            _json_problem
            if "json" in ctype
            else _form_problem
            if ctype == "application/x-www-form-urlencoded"
            else None
        )
        if check is None or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        body, more = await _read_body(receive)
        found = check(body)
        if found:
            await _answer(scope, receive, send, _refusal(*found))
            return
        await self.app(scope, _replay(body, more, receive), send)


async def _answer(scope: Scope, receive: Receive, send: Send, err: AppError) -> None:
    """problem+json for API and JSON clients (TAXII's own error format on /taxii2), the error page for
    browsers: the same negotiation as every other error."""
    path = scope.get("path", "")
    if path.startswith("/taxii2"):
        await send_problem(send, err.problem(path), err.status)
        return
    from signalfire.core.web.handlers import problem_response

    response = problem_response(Request(scope, receive), err)
    await response(scope, receive, send)


def _content_type(scope: Scope) -> str:
    for key, value in scope.get("headers", []):
        if key == b"content-type":
            return str(value.decode("latin-1")).split(";")[0].strip().lower()
    return ""


async def _read_body(receive: Receive) -> tuple[bytes, list[Message]]:
    """The whole body (the body limit middleware, outside this one, bounds it) and any non-body messages."""
    chunks: list[bytes] = []
    others: list[Message] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            others.append(message)
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks), others


def _replay(body: bytes, others: list[Message], receive: Receive) -> Receive:
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}, *others]

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
