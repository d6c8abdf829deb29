"""Jinja2 rendering for pages and HTMX fragments, flash messages and redirects.

Templates live in each domain package's templates/ folder and in web/templates; they receive
already-authorised objects and never query.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from signalfire.core.web.deps import ANON_COOKIE, anon_csrf_token

PKG = Path(__file__).resolve().parents[2]
DOMAINS = (
    "web",
    "access",
    "mywork",
    "response",
    "reporting",
    "exchange",
    "intake",
    "readiness",
    "transparency",
    "notices",
    "federation",
)
FLASH_COOKIE = "sf_flash"


def _loader() -> ChoiceLoader:
    folders = [PKG / d / "templates" for d in DOMAINS]
    return ChoiceLoader([FileSystemLoader(str(f)) for f in folders if f.is_dir()])


def _dt(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M UTC") -> str:
    return value.strftime(fmt) if value else "—"


def _tojson_script(value: Any) -> Markup:
    """JSON for <script type="application/json">: escape '<' so the content cannot close the tag."""
    text = json.dumps(value, default=str).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # noqa: S704 (json.dumps output with <, >, & escaped above)


LINK_SCHEMES = frozenset({"http", "https", "mailto"})


def safe_href(value: str | None) -> str | None:
    """A stored URL if it may become a link: http, https or mailto, or a path inside this site.

    Anything else (javascript:, data:, vbscript:, unknown schemes, control characters that browsers strip
    before reading the scheme) is not a link; templates then show the text only.
    """
    if not value:
        return None
    text = value.strip()
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        return None
    if text.startswith("/") and not text.startswith(("//", "/\\")):
        return text
    try:
        scheme = urlsplit(text).scheme.lower()
    except ValueError:
        return None
    return text if scheme in LINK_SCHEMES else None


env = Environment(loader=_loader(), autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
env.filters["dt"] = _dt
env.filters["json_script"] = _tojson_script
env.filters["safe_href"] = safe_href
# The sections each kind of organisation works in (org kinds by value, so core needs no access import): an
# authority reads what is reported to it and the exchange items addressed to government partners; the hub
# runs the exchange and the deployment's recipient bindings; a researcher shares. The last field names the
# permission a section's first page requires, where some roles lack it (counsel read no scorecard): a menu
# entry that answers 403 is a dead end. The pages enforce access on their own; this only keeps each
# person's menu to what is theirs.
_LAB = ("frontier_developer", "downstream")
env.globals["nav_sections"] = [
    ("response", "Response", "/response", _LAB, None),
    ("reporting", "Reporting", "/reporting", (*_LAB, "authority", "hub_operator"), None),
    ("exchange", "Exchange", "/exchange", (*_LAB, "authority", "hub_operator", "researcher"), None),
    ("intake", "Intake", "/intake", _LAB, "intake:signal:read"),
    ("readiness", "Readiness", "/readiness", _LAB, "readiness:scorecard:read"),
    ("transparency", "Transparency", "/transparency", _LAB, "transparency:report:read"),
    ("notices", "Notices", "/notices", _LAB, None),
]


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def csrf_for(request: Request) -> tuple[str, str | None]:
    """The token for this page and, for anonymous visitors, a new anon cookie value to set."""
    actor = getattr(request.state, "actor", None)
    if actor is not None and actor.csrf_token:
        return actor.csrf_token, None
    anon = request.cookies.get(ANON_COOKIE)
    new = None
    if not anon:
        anon = new = secrets.token_urlsafe(24)
    return anon_csrf_token(request.app.state.settings, anon), new


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    fragment: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Full page normally; just `fragment` for an HTMX request when one is given."""
    csrf, new_anon = csrf_for(request)
    raw_flash = request.cookies.get(FLASH_COOKIE)
    flash = unquote(raw_flash) if raw_flash else None
    ctx = {
        "request": request,
        "actor": getattr(request.state, "actor", None),
        "csrf_token": csrf,
        "flash": flash,
        "section": template.split("/")[0] if "/" in template else "",
        **(context or {}),
    }
    name = fragment if fragment and is_htmx(request) else template
    html = env.get_template(name).render(ctx)
    resp = HTMLResponse(html, status_code=status_code)
    if new_anon:
        _set_cookie(request, resp, ANON_COOKIE, new_anon, max_age=86400)
    if flash:
        resp.delete_cookie(FLASH_COOKIE, path="/")
    return resp


def _set_cookie(request: Request, resp: Response, name: str, value: str, *, max_age: int | None) -> None:
    resp.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        path="/",
        secure=request.app.state.settings.cookie_secure,
    )


def redirect(request: Request, url: str, *, flash: str | None = None) -> Response:
    """303 for normal forms, HX-Redirect for HTMX, so forms work with and without JavaScript."""
    resp: Response
    if is_htmx(request):
        resp = Response(status_code=204, headers={"HX-Redirect": url})
    else:
        resp = RedirectResponse(url, status_code=303)
    if flash:
        # Percent-encoded: cookie values must be ASCII, flash text need not be.
        _set_cookie(request, resp, FLASH_COOKIE, quote(flash[:300], safe=" "), max_age=60)
    return resp
