"""No page a user can reach links to a broken page: a crawl of the seeded demo through the in-process app.

Each demo login (and Alice acting in her second org, the forum), signed in through the login form, starts
from the home page and the entries of the main menu; a visitor who is not signed in starts from the home
page and the public addresses orgs hand out. The crawl follows every same-origin `<a href>` the HTML offers
(read with `html.parser`, so relative links and entities count as a browser counts them), the redirects, and
the fragments the pages fetch with `hx-get` (their links are part of the page the user sees): breadth
first, each URL once with its query sorted, a few query strings per path, up to `PAGES_PER_PERSONA`. Then:

* no answer is a 5xx;
* no link the app rendered answers a 4xx: forbidden looks like missing (docs/access.md), so a 404 (or a
  401, 403, 405) means the page offered this persona a link it cannot follow, which is a bug even when the
  refusal is right (this walk and the one it replaced found four such links);
* every HTML answer carries the security headers the app sets on every response.

A persona's failures are listed together, as (persona, referring page, link, status) and the problem, so
one run shows all of them. It replaced a walk of the signed-in personas by a regex over `href="/..."`,
and adds the anonymous visitor, the other org, relative links, redirects, HTMX fragments, exports and the
headers.
"""

from __future__ import annotations

import re
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from signalfire import demo
from signalfire.access.models import Organization
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.web.app import create_app
from tests.conftest import CSRF_RE, DatabaseMaker, make_settings
from tests.typed import HttpResponse

ORIGIN = "http://testserver"
# Alice, the busiest persona, walks about 300 pages of the demo: room to grow, still a bound.
PAGES_PER_PERSONA = 400
# A path is walked with at most this many query strings: calendars page week after week without end
# (a roster's Previous/Next) and filters combine; the path itself is still walked.
QUERIES_PER_PATH = 6
# Set on every response by SecurityHeadersMiddleware (convention 6); written out here, not imported, so
# that dropping one from the middleware fails this test.
SECURITY_HEADERS = (
    "content-security-policy",
    "x-content-type-options",
    "referrer-policy",
    "x-frame-options",
)
# Not pages to walk: leaving the session (a GET there would end the crawl's sign-in) and static assets.
NOT_FOLLOWED = re.compile(r"^/(logout|sign-?out)\b|^/static/")
BROKEN = range(400, 500)
# Known dead links, each narrow and explained: (persona or "*", link path regex) -> why it is not fixed here.
KNOWN: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Persona:
    """Who walks: a demo login acting in one of its organisations, or nobody signed in (email None)."""

    email: str | None
    org: str | None = None  # an org other than the login's own, switched to after signing in

    def __str__(self) -> str:
        who = self.email or "anonymous"
        return f"{who} in {self.org}" if self.org else who


# Every demo login, the extra memberships acting in their other org (Alice as the forum's analyst), and
# a visitor who is not signed in.
PERSONAS = [
    Persona(None),
    *(Persona(login.email) for login in demo.LOGINS),
    *(Persona(email, org) for email, org, _role in demo.EXTRA_MEMBERSHIPS),
]
# A visitor who is not signed in arrives from addresses the organisations publish elsewhere: each org's
# public report form and transparency reports, and the status page a report's receipt names. A start
# page may rightly be missing (a closed form, an org with no published report); the links it offers may not.
PUBLIC_STARTS = [
    "/report/status",
    *(f"/report/{org.slug}" for org in demo.ORGS),
    *(f"/public/transparency/{org.slug}" for org in demo.ORGS),
]
START = "(start)"


class Links(HTMLParser):
    """What a page leads to: its `<a href>`s (and separately those of the main menu), and the fragments
    its HTMX attributes fetch (`hx-get`), whose links the user sees as part of the page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.menu: list[str] = []
        self.fragments: list[str] = []
        self._in_menu = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "nav" and (self._in_menu or a.get("aria-label") == "Main"):
            self._in_menu += 1
        href = a.get("href")
        if tag == "a" and href is not None and "download" not in a:
            self.hrefs.append(href)
            if self._in_menu:
                self.menu.append(href)
        if a.get("hx-get"):
            self.fragments.append(a["hx-get"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "nav" and self._in_menu:
            self._in_menu -= 1


def target(page: str, href: str) -> str | None:
    """The path and sorted query a link on `page` leads to, or None when it leaves the app or the page."""
    href = href.strip()
    if not href or href.startswith("#"):
        return None
    parts = urlsplit(urljoin(ORIGIN + page, href))
    if parts.scheme not in ("http", "https") or f"{parts.scheme}://{parts.netloc}" != ORIGIN:
        return None  # mailto:, tel:, javascript:, other sites
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    path = parts.path or "/"
    return f"{path}?{query}" if query else path


@dataclass(frozen=True)
class Failure:
    persona: str
    referrer: str
    link: str
    status: int
    problem: str

    def __str__(self) -> str:
        return f"({self.persona}, {self.referrer}, {self.link}, {self.status}) {self.problem}"


@dataclass(frozen=True)
class Visit:
    link: str
    referrer: str
    fragment: bool = False  # fetched by HTMX (with HX-Request), not navigated to


@dataclass
class Crawl:
    persona: Persona
    client: TestClient
    visited: list[Visit] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    def run(self, starts: list[str]) -> None:
        queue = deque(Visit(start, START) for start in starts)
        queued = {(start, False) for start in starts}
        variants: dict[str, int] = {}
        while queue and len(self.visited) < PAGES_PER_PERSONA:
            visit = queue.popleft()
            self.visited.append(visit)
            for nxt in self.check(visit):
                key = (nxt.link, nxt.fragment)
                if key in queued or NOT_FOLLOWED.search(nxt.link):
                    continue
                path = nxt.link.split("?", 1)[0]
                if path != nxt.link:
                    if variants.get(path, 0) >= QUERIES_PER_PATH:
                        continue
                    variants[path] = variants.get(path, 0) + 1
                queued.add(key)
                queue.append(nxt)

    def check(self, visit: Visit) -> list[Visit]:
        """Request one link, note what is wrong with the answer, and give the links it offers."""
        resp: HttpResponse = self.client.get(visit.link, headers={"HX-Request": "true"} if visit.fragment else {})
        status = resp.status_code
        shown = f"{visit.link} (HTMX fragment)" if visit.fragment else visit.link
        problems: list[str] = []
        if status >= 500:
            problems.append("server error")
        elif status in BROKEN and visit.referrer != START and not self.known(visit.link):
            problems.append("broken link")
        html = resp.headers.get("content-type", "").startswith("text/html")
        missing = [h for h in SECURITY_HEADERS if h not in resp.headers]
        if html and missing:
            problems.append(f"no {', '.join(missing)}")
        self.failures += [Failure(str(self.persona), visit.referrer, shown, status, p) for p in problems]
        if 300 <= status < 400 and "location" in resp.headers:
            hrefs, fragments = [resp.headers["location"]], []
        elif html and status < 400:
            links = Links()
            links.feed(resp.text)
            # The menu first, so the cap never leaves a section of the main navigation unwalked.
            hrefs = (links.menu if visit.link == "/" else []) + links.hrefs
            fragments = links.fragments
        else:
            return []
        offered = [(href, False) for href in hrefs] + [(href, True) for href in fragments]
        return [
            Visit(link, visit.link, fragment)
            for href, fragment in offered
            if (link := target(visit.link, href)) is not None
        ]

    def known(self, link: str) -> bool:
        path = link.split("?", 1)[0]
        return any(who in ("*", str(self.persona)) and re.fullmatch(rx, path) for who, rx in KNOWN)


@dataclass
class DemoSite:
    app: FastAPI
    org_ids: dict[str, uuid.UUID]


@pytest.fixture(scope="module")
def demo_site(database_maker: DatabaseMaker) -> Iterator[DemoSite]:
    """The app over a database of its own holding the demo story (the crawl only reads; nothing to roll back)."""
    url = database_maker.create("crawl")
    engine = make_engine(url)
    with unit_of_work(session_factory(engine)) as session:
        demo.seed(session)
        org_ids = {slug: id_ for id_, slug in session.execute(select(Organization.id, Organization.slug))}
    engine.dispose()
    yield DemoSite(create_app(make_settings(url), run_worker=False), org_ids)
    database_maker.drop(url)


def signed_in(site: DemoSite, persona: Persona) -> TestClient:
    """A client that signed in through the login form (and switched org, if the persona acts in another),
    from an address of its own: sign-in is rate limited per address."""
    address = (f"10.9.1.{PERSONAS.index(persona) + 1}", 50000)
    # An exception in a page is one more failure to list (a 500 answer), not the end of the walk.
    client = TestClient(
        site.app, base_url=ORIGIN, follow_redirects=False, client=address, raise_server_exceptions=False
    )
    if persona.email is None:
        return client
    form: HttpResponse = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    answer: HttpResponse = client.post(
        "/login", data={"email": persona.email, "password": demo.PASSWORD, "csrf_token": token.group(1)}
    )
    assert answer.status_code in (302, 303), (persona, answer.status_code)
    if persona.org is not None:
        home: HttpResponse = client.get("/")
        csrf = CSRF_RE.search(home.text)
        assert csrf is not None
        data = {"org_id": str(site.org_ids[persona.org]), "next": "/", "csrf_token": csrf.group(1)}
        switched: HttpResponse = client.post("/switch-org", data=data)
        assert switched.status_code in (302, 303), (persona, switched.status_code)
        now: HttpResponse = client.get("/")
        assert f'value="{data["org_id"]}" selected' in now.text, persona
    return client


@pytest.mark.parametrize("persona", PERSONAS, ids=str)
def test_no_reachable_page_links_to_a_broken_page(demo_site: DemoSite, persona: Persona) -> None:
    with signed_in(demo_site, persona) as client:
        crawl = Crawl(persona, client)
        crawl.run(["/"] if persona.email else ["/", *PUBLIC_STARTS])
    # A broken sign-in would walk the login page alone and pass; each signed-in persona reaches far more.
    assert len(crawl.visited) > (20 if persona.email else len(PUBLIC_STARTS) + 2), crawl.visited
    if crawl.failures:
        pytest.fail("\n".join(map(str, crawl.failures)), pytrace=False)
