"""Bad input gets a clear 4xx problem+json, never a 500, and changes nothing stored."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import ApiToken, Membership, OrgKind, Role
from signalfire.access.service import revoke_token
from signalfire.core.clock import utcnow
from tests import factories
from tests.typed import HttpResponse


def _tokens(db: Session) -> int:
    return db.execute(select(func.count()).select_from(ApiToken)).scalar_one()


def _problem(r: HttpResponse, status: int, field: str | None = None) -> dict[str, object]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, object] = r.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if field is not None:
        errors = body["errors"]
        assert isinstance(errors, list)
        assert field in [e["field"] for e in errors]
    return body


def test_api_bad_input_is_4xx_and_changes_nothing(
    db: Session, make_actor: Callable[..., Actor], api_client: Callable[[Actor | None], TestClient]
) -> None:
    admin = make_actor(OrgKind.frontier_developer, Role.admin)
    c = api_client(admin)
    before = _tokens(db)
    _problem(c.post("/api/v1/tokens", content=b"{not json", headers={"content-type": "application/json"}), 400)
    _problem(c.post("/api/v1/tokens", json={"name": "t", "scopes": ["*"], "colour": "red"}), 422, "colour")
    _problem(c.post("/api/v1/tokens", json={"name": "t", "scopes": "everything"}), 422, "scopes")
    _problem(
        c.post("/api/v1/tokens", json={"name": "t", "scopes": ["*"], "expires_in_days": "soon"}), 422, "expires_in_days"
    )
    _problem(c.post("/api/v1/tokens", json={"name": "t", "scopes": ["nonsense:scope"]}), 422, "scopes")
    _problem(c.post("/api/v1/tokens", json={"name": "", "scopes": ["*"]}), 422, "name")
    _problem(c.delete("/api/v1/tokens/not-a-uuid"), 422, "token_id")
    _problem(
        c.post("/api/v1/tokens", content=b"x" * (3 * 1024 * 1024), headers={"content-type": "application/json"}), 413
    )
    _problem(c.patch("/api/v1/members/00000000-0000-0000-0000-000000000000", json={"role": "emperor"}), 422, "role")
    _problem(c.get("/api/v1/nothing-here"), 404)
    _problem(c.put("/api/v1/me"), 405)
    db.expire_all()
    assert _tokens(db) == before


def test_last_admin_cannot_be_demoted(
    db: Session, make_actor: Callable[..., Actor], api_client: Callable[[Actor | None], TestClient]
) -> None:
    admin = make_actor(OrgKind.frontier_developer, Role.admin)
    mid = factories.membership(db, admin).id
    body = _problem(api_client(admin).patch(f"/api/v1/members/{mid}", json={"role": "viewer"}), 409)
    assert "at least one admin" in str(body["detail"])
    db.expire_all()
    assert db.get(Membership, mid).role == Role.admin  # type: ignore[union-attr]


def test_expired_and_revoked_tokens_are_refused(db: Session, make_actor: Callable[..., Actor], app: object) -> None:
    admin = make_actor(OrgKind.frontier_developer, Role.admin)
    secret = factories.token_for(db, admin)
    c = TestClient(app, headers={"Authorization": f"Bearer {secret}"})  # type: ignore[arg-type]
    assert c.get("/api/v1/me").status_code == 200
    with time_machine.travel(utcnow() + timedelta(days=31), tick=False):
        _problem(c.get("/api/v1/me"), 401)
    tok = db.execute(select(ApiToken).where(ApiToken.user_id == admin.user_id)).scalars().first()
    assert tok is not None
    revoke_token(db, actor=admin, token_id=tok.id)
    db.commit()
    body = _problem(c.get("/api/v1/me"), 401)
    assert "revoked" in str(body["detail"])
    assert c.get("/api/v1/me").headers.get("www-authenticate", "").startswith("Bearer")
    _problem(TestClient(app, headers={"Authorization": "Basic abc"}).get("/api/v1/me"), 401)  # type: ignore[arg-type]


def test_scoped_token_only_reaches_its_scopes(db: Session, make_actor: Callable[..., Actor], app: object) -> None:
    admin = make_actor(OrgKind.frontier_developer, Role.admin)
    secret = factories.token_for(db, admin, scopes=["exchange"])
    c = TestClient(app, headers={"Authorization": f"Bearer {secret}"})  # type: ignore[arg-type]
    me = c.get("/api/v1/me").json()
    assert me["permissions"] and all(p.startswith("exchange:") for p in me["permissions"])
    _problem(c.post("/api/v1/tokens", json={"name": "x", "scopes": ["*"]}), 403)


def test_session_post_without_csrf_is_refused(
    db: Session, make_actor: Callable[..., Actor], browser_client: Callable[[Actor | None], TestClient]
) -> None:
    admin = make_actor(OrgKind.frontier_developer, Role.admin)
    c = browser_client(admin)
    del c.headers["X-CSRF-Token"]
    before = _tokens(db)
    _problem(c.post("/api/v1/tokens", json={"name": "t", "scopes": ["*"]}), 403)
    r = c.post("/admin/tokens", data={"name": "t", "scopes": ["*"], "csrf_token": "forged"})
    assert r.status_code == 403
    c.headers["X-CSRF-Token"] = "wrong"
    _problem(c.post("/api/v1/tokens", json={"name": "t", "scopes": ["*"]}), 403)
    db.expire_all()
    assert _tokens(db) == before


def test_login_brute_force_is_rate_limited(client: TestClient, db: Session) -> None:
    person = factories.user(db, password="correct-horse-battery")
    org = factories.org(db)
    factories.member(db, org, Role.viewer, person=person)
    db.commit()
    page = client.get("/login")
    import re

    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    # Frozen clock: the attempts must not straddle a window boundary on a slow machine.
    with time_machine.travel(utcnow().replace(second=5), tick=False):
        statuses = [
            client.post(
                "/login",
                data={"email": person.email, "password": f"wrong-{i}", "csrf_token": csrf},
                follow_redirects=False,
            ).status_code
            for i in range(12)
        ]
        assert statuses[:10] == [401] * 10
        assert statuses[10:] == [429, 429]
        r = client.post(
            "/login",
            data={"email": person.email, "password": "correct-horse-battery", "csrf_token": csrf},
            follow_redirects=False,
        )
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_open_redirect_after_login_is_refused(client: TestClient, db: Session) -> None:
    person = factories.user(db, password="correct-horse-battery")
    factories.member(db, factories.org(db), Role.viewer, person=person)
    db.commit()
    import re

    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
    r = client.post(
        "/login",
        data={
            "email": person.email,
            "password": "correct-horse-battery",
            "csrf_token": csrf,
            "next": "//evil.example/x",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_security_headers_on_every_response(client: TestClient) -> None:
    for path in ("/login", "/api/v1/me", "/static/app.css", "/nope"):
        r = client.get(path)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"


# -- unstorable input: NUL, lone surrogates, integers and times out of range (issue 15) ------------------------

HUGE = "9" * 24


def _raw_json(c: TestClient, method: str, path: str, text: str) -> HttpResponse:
    """A JSON body written by hand, so it can carry escapes (a lone surrogate) that no encoder would emit."""
    # Named with its type: TestClient's response is Any unless httpx2 is installed (see tests/typed.py).
    response: HttpResponse = c.request(
        method, path, content=text.encode(), headers={"content-type": "application/json"}
    )
    return response


def test_nul_and_lone_surrogates_in_json_text_are_422_and_store_nothing(
    db: Session, make_actor: Callable[..., Actor], api_client: Callable[[Actor | None], TestClient]
) -> None:
    c = api_client(make_actor(OrgKind.frontier_developer, Role.admin))
    before = _tokens(db)
    _problem(_raw_json(c, "POST", "/api/v1/tokens", '{"name": "a\\u0000b", "scopes": ["*"]}'), 422)
    _problem(_raw_json(c, "POST", "/api/v1/tokens", '{"name": "a\\ud800b", "scopes": ["*"]}'), 422)
    _problem(_raw_json(c, "POST", "/api/v1/tokens", '{"name": "lone low \\udc00", "scopes": ["*"]}'), 422)
    _problem(_raw_json(c, "POST", "/api/v1/tokens", '{"name": "t", "scopes": ["*\\u0000"]}'), 422)
    # A proper pair (an emoji) is text like any other.
    ok = _raw_json(c, "POST", "/api/v1/tokens", '{"name": "fire \\ud83d\\udd25", "scopes": ["*"]}')
    assert ok.status_code == 201, ok.text
    db.expire_all()
    assert _tokens(db) == before + 1


def test_nul_in_query_string_path_and_form_is_refused(
    db: Session,
    make_actor: Callable[..., Actor],
    api_client: Callable[[Actor | None], TestClient],
    browser_client: Callable[[Actor | None], TestClient],
) -> None:
    admin = make_actor(OrgKind.frontier_developer, Role.admin)
    c = api_client(admin)
    _problem(c.get("/api/v1/response/incidents?status=open%00"), 400)
    _problem(c.get("/api/v1/reporting/reports/%00"), 400)
    before = _tokens(db)
    b = browser_client(admin)
    page = b.post("/admin/tokens", data={"name": "a\x00b", "scopes": ["*"]}, headers={"accept": "application/json"})
    _problem(page, 422)
    multipart = b.post(
        "/admin/tokens",
        files={"name": (None, "a\x00b"), "scopes": (None, "*")},
        headers={"accept": "application/json"},
    )
    _problem(multipart, 422, "name")
    db.expire_all()
    assert _tokens(db) == before


def test_integers_too_large_for_the_database_are_422(
    db: Session, make_actor: Callable[..., Actor], api_client: Callable[[Actor | None], TestClient]
) -> None:
    c = api_client(make_actor(OrgKind.frontier_developer, Role.admin))
    _problem(c.get(f"/api/v1/response/incidents?offset={HUGE}"), 422, "offset")
    _problem(c.get("/api/v1/response/incidents?offset=-1"), 422, "offset")
    _problem(c.get(f"/api/v1/reporting/reports/00000000-0000-0000-0000-000000000000/versions/{HUGE}"), 422, "number")
    _problem(c.get(f"/api/v1/audit?before={HUGE}"), 422, "before")
    before = _tokens(db)
    _problem(c.post("/api/v1/tokens", json={"name": "t", "scopes": ["*"], "expires_in_days": int(HUGE)}), 422)
    _problem(_raw_json(c, "POST", "/api/v1/tokens", f'{{"name": "t", "scopes": ["*"], "n": {HUGE}{HUGE}}}'), 422)
    db.expire_all()
    assert _tokens(db) == before
    assert c.get("/api/v1/response/incidents?offset=1000000").status_code == 200  # the documented maximum


def test_an_unhandled_error_is_problem_json_for_api_clients_and_a_page_for_browsers() -> None:
    from signalfire.web.app import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings("sqlite://"), run_worker=False)

    @app.get("/api/v1/_boom", include_in_schema=False)
    def _boom_api() -> None:
        raise RuntimeError("driver said: secret detail")

    @app.get("/report/_boom/page", include_in_schema=False)
    def _boom_page() -> None:
        raise RuntimeError("driver said: secret detail")

    c = TestClient(app, raise_server_exceptions=False)
    api = c.get("/api/v1/_boom")
    assert api.status_code == 500
    assert api.headers["content-type"].startswith("application/problem+json")
    assert api.json()["status"] == 500 and "secret" not in api.text
    for accept in ("application/json", "application/problem+json"):
        negotiated = c.get("/report/_boom/page", headers={"accept": accept})
        assert negotiated.status_code == 500
        assert negotiated.headers["content-type"].startswith("application/problem+json"), accept
    page = c.get("/report/_boom/page", headers={"accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.status_code == 500
    assert page.headers["content-type"].startswith("text/html")
    assert "Internal error" in page.text and "secret" not in page.text


def test_an_unhandled_error_carries_the_security_headers() -> None:
    """Starlette answers an unhandled exception from outside the middleware stack, so the headers the
    security middleware adds to every other answer would be missing from the 500 page (the link crawl
    showed it when a page was broken on purpose)."""
    from signalfire.web.app import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings("sqlite://"), run_worker=False)

    @app.get("/report/_boom/page", include_in_schema=False)
    def _boom_page() -> None:
        raise RuntimeError("boom")

    @app.get("/api/v1/_boom", include_in_schema=False)
    def _boom_api() -> None:
        raise RuntimeError("boom")

    c = TestClient(app, raise_server_exceptions=False)
    for path in ("/report/_boom/page", "/api/v1/_boom"):
        resp: HttpResponse = c.get(path)
        assert resp.status_code == 500
        assert resp.headers["content-security-policy"].startswith("default-src 'self'"), path
        assert resp.headers["x-content-type-options"] == "nosniff", path
        assert resp.headers["referrer-policy"] == "same-origin", path
        assert resp.headers["x-frame-options"] == "DENY", path


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("plain text", None),
        ("emoji \U0001f525", None),
        ("nul \x00", "NUL"),
        ("lone \ud800", "surrogate"),
        (["ok", {"k": "v\x00"}], "NUL"),
        ({"n": 2**31}, "between"),
        ({"n": 2**31 - 1}, None),
        (datetime(2300, 1, 1, tzinfo=UTC), "between"),
        (datetime(1800, 1, 1, tzinfo=UTC), "between"),
        (datetime(2026, 12, 6, tzinfo=UTC), None),
        (True, None),
    ],
)
def test_value_problem_names_what_cannot_be_stored(value: object, problem: str | None) -> None:
    from signalfire.core.schemas import value_problem

    found = value_problem(value)
    assert (found is None) if problem is None else (found is not None and problem in found), found


@pytest.mark.parametrize(
    ("url", "href"),
    [
        ("https://example.org/a", "https://example.org/a"),
        ("HTTP://example.org", "HTTP://example.org"),
        ("mailto:sec@example.org", "mailto:sec@example.org"),
        ("/intake/signals/1", "/intake/signals/1"),
        ("javascript:alert(1)", None),
        ("  JaVaScRiPt:alert(1)", None),
        ("java\nscript:alert(1)", None),
        ("data:text/html,<b>x</b>", None),
        ("vbscript:msgbox", None),
        ("//evil.example", None),
        ("/\\evil.example", None),
        ("ftp://example.org", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_href_allows_only_web_and_mail_links(url: str | None, href: str | None) -> None:
    from signalfire.core.web.templating import safe_href

    assert safe_href(url) == href
