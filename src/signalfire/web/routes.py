"""Sign-in, sign-out, org switching, the home page and health."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import text

from signalfire.access import service
from signalfire.access.deps import ActorDep, OptionalActorDep
from signalfire.core.schemas import SafeText
from signalfire.core.web.deps import (
    SESSION_COOKIE,
    SessionDep,
    SettingsDep,
    protected_router,
    public_router,
    rate_limit,
)
from signalfire.core.web.templating import redirect, render

public = public_router(include_in_schema=False)
pages = protected_router(include_in_schema=False)


def _safe_next(value: str | None) -> str:
    # Only local paths: an open redirect after login is a phishing aid.
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


@public.get("/favicon.ico")
async def favicon() -> Response:
    # Browsers ask for /favicon.ico on pages that name no icon (the JSON API, the OpenAPI views).
    return RedirectResponse("/static/favicon.svg", status_code=301)


@public.get("/healthz")
def healthz(session: SessionDep) -> dict[str, str]:
    session.execute(text("SELECT 1"))
    return {"status": "ok"}


@public.get("/login")
def login_page(request: Request, actor: OptionalActorDep, next: str | None = None) -> Response:
    if actor is not None:
        return redirect(request, _safe_next(next))
    return render(request, "login.html", {"next": _safe_next(next)})


@public.post("/login")
def login_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[SafeText, Form(max_length=254)],
    password: Annotated[SafeText, Form(max_length=1000)],
    next: Annotated[SafeText, Form(max_length=500)] = "/",
) -> Response:
    limit = settings.limits.login_attempts_per_minute
    rate_limit(request, "login-ip", limit, session=session)
    rate_limit(request, "login-user", limit, key=email.strip().lower()[:254], session=session)
    new = service.login(
        session, email=email, password=password, max_age=timedelta(seconds=settings.session_max_age_seconds)
    )
    if new is None:
        return render(
            request,
            "login.html",
            {"next": _safe_next(next), "email": email, "error": "Wrong email or password."},
            status_code=401,
        )
    resp = redirect(request, _safe_next(next))
    resp.set_cookie(
        SESSION_COOKIE,
        new.cookie_value,
        max_age=settings.session_max_age_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    return resp


@pages.post("/logout")
def logout(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    service.logout(session, actor)
    resp = redirect(request, "/login")
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@pages.post("/switch-org")
def switch_org(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    org_id: Annotated[uuid.UUID, Form()],
    next: Annotated[SafeText, Form(max_length=500)] = "/",
) -> Response:
    service.switch_org(session, actor, org_id)
    name = {o.org_id: o.name for o in actor.orgs}.get(org_id, "")
    return redirect(request, _safe_next(next), flash=f"Switched to {name}.")


@pages.get("/")
def home(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    from signalfire.reporting.display import attention

    return render(request, "home.html", {"reporting": attention(session, actor)})


@pages.get("/tour")
def tour(request: Request, actor: ActorDep) -> Response:
    return render(request, "tour.html", {})


routers = [public, pages]
