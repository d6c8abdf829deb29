"""Every link a page shows leads somewhere: signed in as each demo persona, follow the links the pages
offer (breadth first from the home page) and require that none answers an error.

A link to a page the viewer may not open (a tab for a permission the role lacks, the public form of an
org whose form is closed, a checkpoint not yet published) is a dead end in the UI even when the refusal
itself is right; this walk found four such links.
"""

from __future__ import annotations

import re
from collections import deque

from fastapi.testclient import TestClient

from signalfire import demo
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.web.app import create_app
from tests.conftest import make_settings

HREF = re.compile(r'href="(/[^"#]*)"')
# Not pages: assets, downloads and exports (their own tests cover them), and leaving the session.
SKIP = re.compile(r"^/(static/|logout)|/(download|attachments)/|\.(png|svg|css|js|ico|json|xml|csv)(\?|$)|/export")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
PAGES_PER_PERSONA = 400
# The same page shape reached under many ids (items, signals, incidents) is walked a few times, not all.
VISITS_PER_SHAPE = 3


def _walk(client: TestClient) -> tuple[int, list[str]]:
    seen: set[str] = set()
    shapes: dict[str, int] = {}
    queue: deque[tuple[str, str]] = deque([("/", "(start)")])
    dead: list[str] = []
    visited = 0
    while queue and visited < PAGES_PER_PERSONA:
        path, came_from = queue.popleft()
        if path in seen or SKIP.search(path):
            continue
        seen.add(path)
        shape = UUID.sub("{id}", path.split("?")[0])
        shapes[shape] = shapes.get(shape, 0) + 1
        if shapes[shape] > VISITS_PER_SHAPE:
            continue
        visited += 1
        resp = client.get(path)
        if resp.status_code >= 400:
            dead.append(f"{resp.status_code} {path} (linked from {came_from})")
            continue
        if resp.status_code == 200 and "text/html" in resp.headers.get("content-type", ""):
            for href in HREF.findall(resp.text):
                href = href.replace("&amp;", "&")
                if href not in seen:
                    queue.append((href, path))
    return visited, dead


def test_no_page_links_to_an_error_for_any_persona(fresh_db: str) -> None:
    engine = make_engine(fresh_db)
    with unit_of_work(session_factory(engine)) as session:
        demo.seed(session)
    engine.dispose()
    app = create_app(make_settings(fresh_db), run_worker=False)
    dead: list[str] = []
    walked: dict[str, int] = {}
    for n, login in enumerate(demo.LOGINS):
        # One address per persona: the sign-in form is rate limited per address.
        address = (f"10.9.0.{n + 1}", 50000)
        with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False, client=address) as c:
            form = c.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert token is not None
            signed_in = c.post(
                "/login", data={"email": login.email, "password": demo.PASSWORD, "csrf_token": token.group(1)}
            )
            assert signed_in.status_code in (302, 303), (login.email, signed_in.status_code)
            walked[login.email], found = _walk(c)
            dead += [f"{login.email}: {line}" for line in found]
    # Asked for by browsers on pages that name no icon (JSON views): it must lead to the icon.
    with TestClient(app, base_url="http://127.0.0.1") as c:
        icon = c.get("/favicon.ico")
        assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    # Each persona reaches more than its home page (a broken sign-in would walk nothing and pass).
    assert all(count > 20 for count in walked.values()), walked
    assert dead == []
