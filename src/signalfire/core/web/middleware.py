"""ASGI middleware: request ids, body size limit, security headers."""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from signalfire.core.errors import PayloadTooLarge
from signalfire.core.request_context import request_id_var

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def with_security_headers(response: Response) -> Response:
    """The security headers on a response that does not pass through SecurityHeadersMiddleware: Starlette
    answers an unhandled exception from ServerErrorMiddleware, which sits outside every added middleware."""
    for key, value in SECURITY_HEADERS:
        name = key.decode()
        if name not in response.headers:
            response.headers[name] = value.decode()
    return response


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = uuid.uuid4().hex
        token = request_id_var.set(rid)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                headers.append((b"x-request-id", rid.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            request_id_var.reset(token)


class BodyLimitMiddleware:
    """Refuse bodies over the limit before any handler reads them: by Content-Length, and by counting
    chunks for chunked uploads. Paths may carry their own larger limit (attachments, bundles)."""

    def __init__(self, app: ASGIApp, *, default_limit: int, overrides: dict[str, int] | None = None) -> None:
        self.app = app
        self.default_limit = default_limit
        self.overrides = overrides or {}

    def _limit(self, path: str) -> int:
        for prefix, limit in self.overrides.items():
            if path.startswith(prefix):
                return limit
        return self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope.get("path", ""))
        for k, v in scope.get("headers", []):
            if k == b"content-length":
                try:
                    too_big = int(v) > limit
                except ValueError:
                    too_big = False
                if too_big:
                    await send_problem(send, PayloadTooLarge(limit).problem(scope.get("path")), 413)
                    return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge(limit)
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge as exc:
            await send_problem(send, PayloadTooLarge(exc.limit).problem(scope.get("path")), 413)


class _TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        self.limit = limit


async def send_problem(send: Send, body: dict[str, Any], status: int) -> None:
    ctype = b"application/problem+json"
    if str(body.get("instance", "")).startswith("/taxii2"):
        # TAXII clients expect the TAXII error format and media type, even for a refused body.
        body = {"title": body["title"], "description": body["detail"], "http_status": str(status)}
        ctype = b"application/taxii+json;version=2.1"
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", ctype), (b"content-length", str(len(data)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": data})
