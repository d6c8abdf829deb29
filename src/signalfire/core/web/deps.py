"""Request dependencies: the unit-of-work session, the caller, CSRF, rate limits.

Routers are secure by default: `protected_router()` requires a signed-in caller and CSRF on unsafe
methods; a public route must be put on `public_router()` on purpose.

The core knows callers only through the `Principal` protocol. Turning a token or a session cookie into
one is the access package's job: it registers a `PrincipalResolver` on the app at start
(`register_principal_resolver`), so `core` never imports `access` (access depends on core, not back).
The typed `ActorDep` and `requires(...)` that routes use live in `signalfire.access.deps`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Annotated, Any, Protocol

import anyio
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session, sessionmaker

from signalfire.core.db.session import run_after_commit
from signalfire.core.errors import CsrfFailed, Unauthorized
from signalfire.core.settings import Settings
from signalfire.core.web import ratelimit

SESSION_COOKIE = "sf_session"
ANON_COOKIE = "sf_anon"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


# Dependencies that do no I/O are coroutines: FastAPI runs a plain function dependency in the thread
# pool, one hand-off per dependency per request, and on the machine-facing endpoints those hand-offs
# cost more CPU than the work.
async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# Set on request.state by a route that turns an exception into its own error response.
ROLLBACK_ONLY = "rollback_only"


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request; commit once on success (before the response is sent), else roll back.

    A coroutine that makes the session inline (no I/O: it connects on first use) and ends it in the
    thread pool, shielded from cancellation, so a client that hangs up still gets its work committed or
    rolled back and the connection returned. A plain generator would cost a thread hand-off to enter too.
    """
    factory: sessionmaker[Session] = request.app.state.session_factory
    session = factory()
    try:
        yield session
    except BaseException:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(_abandon, session)
        raise
    with anyio.CancelScope(shield=True):
        await run_in_threadpool(_conclude, session, bool(getattr(request.state, ROLLBACK_ONLY, False)))


def _abandon(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


def _conclude(session: Session, rollback_only: bool) -> None:
    if rollback_only:
        # A route class answered an error itself (TAXII routes do, in their own error format): the
        # exception never reached this dependency, and what the request did must not be committed
        # (after a database error the transaction is aborted and a commit would fail with a 500).
        _abandon(session)
        return
    try:
        session.commit()
    except BaseException:
        _abandon(session)
        raise
    try:
        run_after_commit(session)
    finally:
        session.close()


# scope="function": the commit above runs when the endpoint returns, before the response goes out,
# so a client never sees success for something that did not commit.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization")
    if not auth:
        return None
    scheme, _, value = auth.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("Malformed Authorization header; use 'Bearer <token>'.")
    return value.strip()


class Principal(Protocol):
    """What the web layer needs to know about a signed-in caller."""

    @property
    def via(self) -> str: ...  # "session" or "token"

    @property
    def csrf_token(self) -> str | None: ...


class PrincipalResolver(Protocol):
    """Turns credentials into a caller (or None when they name nobody valid)."""

    def from_token(self, session: Session, token: str) -> Principal | None: ...

    def from_session_cookie(self, session: Session, cookie: str) -> Principal | None: ...


def register_principal_resolver(app: FastAPI, resolver: PrincipalResolver) -> None:
    app.state.principal_resolver = resolver


def _resolver(request: Request) -> PrincipalResolver:
    resolver: PrincipalResolver | None = getattr(request.app.state, "principal_resolver", None)
    if resolver is None:  # fail loudly: a missing registration must never mean "everyone is anonymous"
        raise RuntimeError("no PrincipalResolver registered on the app (register_principal_resolver)")
    return resolver


def optional_principal(request: Request, session: SessionDep) -> Principal | None:
    if hasattr(request.state, "actor"):
        cached: Principal | None = request.state.actor
        return cached
    resolver = _resolver(request)
    principal: Principal | None = None
    token = _bearer(request)
    if token is not None:
        principal = resolver.from_token(session, token)
        if principal is None:
            raise Unauthorized("Invalid, expired or revoked API token.")
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            principal = resolver.from_session_cookie(session, cookie)
    request.state.actor = principal
    return principal


OptionalPrincipalDep = Annotated[Principal | None, Depends(optional_principal)]


async def current_principal(principal: OptionalPrincipalDep) -> Principal:
    if principal is None:
        raise Unauthorized()
    return principal


def anon_csrf_token(settings: Settings, anon_value: str) -> str:
    return hmac.new(settings.secret_key.get_secret_value().encode(), anon_value.encode(), "sha256").hexdigest()


async def csrf_protect(request: Request, actor: OptionalPrincipalDep, settings: SettingsDep) -> None:
    """Unsafe methods need a token matching the session (or, for anonymous forms, the anon cookie).
    Bearer-token requests carry no ambient credentials and are exempt."""
    if request.method not in UNSAFE:
        return
    if actor is not None and actor.via == "token":
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if actor is not None and actor.csrf_token:
        expected = actor.csrf_token
    else:
        anon = request.cookies.get(ANON_COOKIE)
        if not anon:
            raise CsrfFailed()
        expected = anon_csrf_token(settings, anon)
    if not sent or not hmac.compare_digest(sent, expected):
        raise CsrfFailed()


def client_key(request: Request) -> str:
    host = request.client.host if request.client else "unknown"
    return hashlib.sha256(host.encode()).hexdigest()[:32]


def rate_limit(
    request: Request, bucket: str, limit: int, key: str | None = None, session: Session | None = None
) -> None:
    """Count this request against `bucket`, in a transaction of its own that commits at once
    (ratelimit.hit_outside).

    So refused requests count too, and the window's row is locked only for that short transaction,
    never for the rest of the request: requests of one client do not queue behind each other. On
    SQLite, when the request's own session already holds a transaction (resolving a session cookie
    opened one; every SQLite transaction takes the write lock up front), count in that one instead: a
    second writer would wait for this request's own lock until it timed out.
    """
    full_key = f"{bucket}:{key or client_key(request)}"
    if session is not None and session.in_transaction() and session.get_bind().dialect.name == "sqlite":
        ratelimit.hit(session, full_key, limit=limit)
        return
    factory: sessionmaker[Session] = request.app.state.session_factory
    ratelimit.hit_outside(factory, full_key, limit=limit)


def protected_router(**kwargs: Any) -> APIRouter:
    deps = [Depends(current_principal), Depends(csrf_protect)]
    return APIRouter(dependencies=[*deps, *kwargs.pop("dependencies", [])], **kwargs)


def public_router(**kwargs: Any) -> APIRouter:
    return APIRouter(dependencies=[Depends(csrf_protect), *kwargs.pop("dependencies", [])], **kwargs)
