"""My work: the page, the count in the navigation (refreshed by HTMX), and the JSON API."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from signalfire.core.web.deps import ActorDep, SessionDep, protected_router
from signalfire.core.web.templating import render
from signalfire.mywork.schemas import MyWorkOut, WorkItemOut
from signalfire.mywork.service import KINDS, my_work

pages = protected_router(include_in_schema=False)
api = protected_router(prefix="/api/v1/me", tags=["access"])


@pages.get("/my-work", response_class=HTMLResponse)
def my_work_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    work = my_work(session, actor)
    return render(request, "mywork/page.html", {"work": work}, fragment="mywork/_lists.html")


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


routers = [pages, api]
