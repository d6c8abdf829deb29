"""My work: the page, the count in the navigation (refreshed by HTMX), and the JSON API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response

from signalfire.access.deps import ActorDep
from signalfire.core.errors import ValidationFailed
from signalfire.core.web.deps import SessionDep, protected_router
from signalfire.core.web.templating import redirect, render
from signalfire.mywork.schemas import (
    ChoiceIO,
    MyWorkOut,
    NotificationOut,
    PreferencesIn,
    PreferencesOut,
    ReadIn,
    WorkItemOut,
)
from signalfire.mywork.service import KINDS, my_work
from signalfire.notify import preferences

pages = protected_router(include_in_schema=False)
api = protected_router(prefix="/api/v1/me", tags=["access"])


@pages.get("/my-work", response_class=HTMLResponse)
def my_work_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    work = my_work(session, actor)
    notes = preferences.inbox(session, actor)
    return render(request, "mywork/page.html", {"work": work, "notes": notes}, fragment="mywork/_lists.html")


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


FormData = Annotated[dict[str, str], Depends(_form)]


def _settings_page(request: Request, session: SessionDep, actor: ActorDep, **extra: object) -> Response:
    s = preferences.get_settings(session, actor)
    status = 422 if extra.get("errors") else 200
    return render(
        request,
        "mywork/notifications.html",
        {"kinds": preferences.KINDS, "settings": s, **extra},
        status_code=status,
    )


@pages.get("/my-work/notifications", response_class=HTMLResponse)
def notifications_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return _settings_page(request, session, actor)


@pages.post("/my-work/notifications")
def notifications_submit(request: Request, session: SessionDep, actor: ActorDep, form: FormData) -> Response:
    choices = {
        kind: preferences.Choice(
            in_app=form.get(f"{kind}:in_app") == "1",
            email=form.get(f"{kind}:email") == "1",
            chat=form.get(f"{kind}:chat") == "1",
        )
        for kind in preferences.KINDS
    }
    url = form.get("chat_url", "").strip()
    chat_url = "" if form.get("remove_chat") == "1" else (url or None)
    try:
        preferences.update_settings(session, actor, choices, chat_url=chat_url)
    except ValidationFailed as exc:
        session.rollback()
        return _settings_page(
            request, session, actor, errors={e.field: e.message for e in exc.errors}, typed_url=url, typed=choices
        )
    return redirect(request, "/my-work/notifications", flash="Notification preferences saved.")


@pages.post("/my-work/notifications/read")
def notifications_read(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    preferences.mark_read(session, actor)
    return redirect(request, "/my-work", flash="Notifications marked read.")


@pages.get("/my-work/count", response_class=HTMLResponse)
def my_work_count(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    """The badge beside "My work" in the navigation (polled by HTMX once a minute)."""
    return render(request, "mywork/_count.html", {"work": my_work(session, actor)})


@api.get("/work", response_model=MyWorkOut)
def api_my_work(session: SessionDep, actor: ActorDep) -> MyWorkOut:
    """What needs the caller now, across channels, each list read through its channel's policy."""
    work = my_work(session, actor)
    counts = {kind: len(items) for kind, _, items in work.by_kind() if kind in KINDS}
    return MyWorkOut(
        now=work.now,
        total=work.total,
        counts=counts,
        items=[WorkItemOut(**vars(i)) for i in work.items],
    )


def _prefs_out(s: preferences.Settings) -> PreferencesOut:
    return PreferencesOut(
        kinds=dict(preferences.KINDS),
        choices={k: ChoiceIO(in_app=c.in_app, email=c.email, chat=c.chat) for k, c in s.choices.items()},
        chat_url_set=s.chat_url_set,
    )


@api.get("/notification-preferences", response_model=PreferencesOut)
def api_get_preferences(session: SessionDep, actor: ActorDep) -> PreferencesOut:
    """Your own preferences in the active org, per kind of notification: in the app, e-mail, chat."""
    return _prefs_out(preferences.get_settings(session, actor))


@api.put("/notification-preferences", response_model=PreferencesOut)
def api_put_preferences(body: PreferencesIn, session: SessionDep, actor: ActorDep) -> PreferencesOut:
    choices = {k: preferences.Choice(c.in_app, c.email, c.chat) for k, c in body.choices.items()}
    return _prefs_out(preferences.update_settings(session, actor, choices, chat_url=body.chat_url))


@api.get("/notifications", response_model=list[NotificationOut])
def api_notifications(session: SessionDep, actor: ActorDep, unread: bool = True) -> list[NotificationOut]:
    """Your in-app notifications in the active org, newest first (at most 50)."""
    return [NotificationOut.model_validate(n) for n in preferences.inbox(session, actor, unread_only=unread)]


@api.post("/notifications/read")
def api_mark_read(body: ReadIn, session: SessionDep, actor: ActorDep) -> dict[str, int]:
    return {"marked": preferences.mark_read(session, actor, body.id)}


routers = [pages, api]
