"""Test fixtures: a database built by the migrations (SQLite by default, PostgreSQL when
SIGNALFIRE_TEST_DATABASE_URL is set), one rolled-back transaction per test, actors, clients.

Requests made through `client` run in their own sessions bound to the test's connection, so their
commits are savepoint releases that the test can see and that vanish when the test ends.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind, Role
from signalfire.core.db import migrate
from signalfire.core.db.session import make_engine
from signalfire.core.settings import Environment, Settings
from signalfire.web.app import create_app
from tests import factories

PG_URL = os.environ.get("SIGNALFIRE_TEST_DATABASE_URL")
# Tests compare signals on wording only unless one asks for embeddings: the optional model, when
# installed in a development environment, would otherwise load on every ingest.
os.environ.setdefault("SIGNALFIRE_INTAKE_EMBEDDER", "off")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def pytest_report_header(config: pytest.Config) -> str:
    return f"signalfire database: {'PostgreSQL ' + make_url(PG_URL).render_as_string() if PG_URL else 'SQLite'}"


# -- databases -----------------------------------------------------------------------------------------


def _cached_template() -> Path | None:
    """With SIGNALFIRE_TEST_TEMPLATE_CACHE set (mutation runs start thousands of short pytest sessions),
    the migrated SQLite template is kept there, keyed by the migration files, instead of being rebuilt."""
    folder = os.environ.get("SIGNALFIRE_TEST_TEMPLATE_CACHE")
    if not folder:
        return None
    versions = Path(migrate.__file__).resolve().parents[2] / "migrations"
    h = hashlib.sha256()
    for f in sorted(versions.rglob("*.py")):
        h.update(f.name.encode() + f.read_bytes())
    return Path(folder) / f"template-{h.hexdigest()[:16]}.db"


@dataclass
class DatabaseMaker:
    """Creates databases cloned from a migrated template: a file copy (SQLite) or CREATE DATABASE ...
    TEMPLATE (PostgreSQL), so each needs no migration run of its own."""

    tmp: Path
    suffix: str
    template: str = ""

    def setup(self) -> None:
        if PG_URL:
            self.template = f"sf_tpl_{self.suffix}"
            self._pg_admin(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
            self._pg_admin(f'CREATE DATABASE "{self.template}"')
            engine = make_engine(self._pg_url(self.template), poolclass=_null_pool())
            migrate.upgrade(engine)
            engine.dispose()
        else:
            self.template = str(self.tmp / "template.db")
            cached = _cached_template()
            if cached is not None and cached.exists():
                shutil.copyfile(cached, self.template)
                return
            engine = make_engine(f"sqlite:///{self.template}")
            migrate.upgrade(engine)
            engine.dispose()  # closing the last connection checkpoints the WAL into the file we copy
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(self.template, cached)

    def create(self, name: str) -> str:
        if PG_URL:
            db = f"sf_{self.suffix}_{name}"
            self._pg_admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            self._pg_admin(f'CREATE DATABASE "{db}" TEMPLATE "{self.template}"')
            return self._pg_url(db)
        path = self.tmp / f"{name}.db"
        shutil.copyfile(self.template, path)
        return f"sqlite:///{path}"

    def drop(self, url: str) -> None:
        if PG_URL:
            db = make_url(url).database
            self._pg_admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{make_url(url).database}{suffix}").unlink(missing_ok=True)

    def _pg_url(self, db: str) -> str:
        assert PG_URL
        return make_url(PG_URL).set(database=db).render_as_string(hide_password=False)

    def _pg_admin(self, sql: str) -> None:
        assert PG_URL
        engine = make_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=_null_pool())
        with engine.connect() as conn:
            conn.exec_driver_sql(sql)
        engine.dispose()


def _null_pool() -> type:
    from sqlalchemy.pool import NullPool

    return NullPool


@pytest.fixture(scope="session")
def database_maker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseMaker]:
    suffix = f"{os.getpid()}"
    maker = DatabaseMaker(tmp_path_factory.mktemp("db"), suffix)
    maker.setup()
    yield maker
    if PG_URL:
        maker._pg_admin(f'DROP DATABASE IF EXISTS "{maker.template}" WITH (FORCE)')


@pytest.fixture(scope="session")
def engine(database_maker: DatabaseMaker) -> Iterator[Engine]:
    url = database_maker.create("main")
    eng = make_engine(url)
    yield eng
    eng.dispose()
    database_maker.drop(url)


@pytest.fixture()
def connection(engine: Engine) -> Iterator[Connection]:
    conn = engine.connect()
    trans = conn.begin()
    yield conn
    trans.rollback()
    conn.close()


@pytest.fixture()
def session_maker(connection: Connection) -> sessionmaker[Session]:
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture()
def db(session_maker: sessionmaker[Session]) -> Iterator[Session]:
    session = session_maker()
    yield session
    session.close()


@pytest.fixture()
def fresh_db(database_maker: DatabaseMaker) -> Iterator[str]:
    """A real database of its own (for workers, crashes, live servers): commits are real."""
    url = database_maker.create(f"f{uuid.uuid4().hex[:10]}")
    yield url
    database_maker.drop(url)


# -- app and clients -----------------------------------------------------------------------------------


def make_settings(database_url: str = "sqlite://", **overrides: object) -> Settings:
    base: dict[str, object] = {"environment": Environment.test, "database_url": database_url, "embedded_worker": False}
    base.update(overrides)
    return Settings(**base)  # type: ignore[arg-type]


@pytest.fixture()
def settings(engine: Engine) -> Settings:
    return make_settings(engine.url.render_as_string(hide_password=False))


@pytest.fixture(scope="session")
def shared_app(engine: Engine) -> FastAPI:
    """Building the app imports and mounts every router: do it once per run."""
    return create_app(make_settings(engine.url.render_as_string(hide_password=False)), run_worker=False)


@pytest.fixture()
def app(shared_app: FastAPI, settings: Settings, session_maker: sessionmaker[Session]) -> Iterator[FastAPI]:
    """The shared app, pointed at this test's connection (its requests commit into savepoints)."""
    shared_app.state.settings = settings
    shared_app.state.session_factory = session_maker
    shared_app.dependency_overrides.clear()
    yield shared_app
    shared_app.dependency_overrides.clear()


@pytest.fixture()
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture()
def make_actor(db: Session) -> Callable[..., Actor]:
    def make(kind: OrgKind = OrgKind.frontier_developer, role: Role = Role.admin, **kw: object) -> Actor:
        return factories.actor(db, kind=kind, role=role, **kw)  # type: ignore[arg-type]

    return make


@pytest.fixture()
def api_client(app: FastAPI, db: Session) -> Iterator[Callable[[Actor | None], TestClient]]:
    """A client authenticated as `actor` with a fresh API token (or anonymous for None)."""
    clients: list[TestClient] = []

    def make(actor: Actor | None) -> TestClient:
        c = TestClient(app, base_url="http://testserver")
        if actor is not None:
            secret = factories.token_for(db, actor)
            c.headers["Authorization"] = f"Bearer {secret}"
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


@pytest.fixture()
def browser_client(app: FastAPI, db: Session) -> Callable[[Actor | None], TestClient]:
    """A client with a signed-in web session for `actor`; `csrf(c)` gives its token."""

    def make(actor: Actor | None) -> TestClient:
        c = TestClient(app, base_url="http://testserver")
        if actor is not None:
            cookie, csrf = factories.web_session_for(db, actor)
            c.cookies.set("sf_session", cookie)
            c.headers["X-CSRF-Token"] = csrf
        return c

    return make


CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')


# -- live server and browser ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    database_url: str
    app: FastAPI


@pytest.fixture()
def live_server(fresh_db: str) -> Iterator[LiveServer]:
    """Uvicorn in a thread over a real database seeded with the demo story."""
    import uvicorn

    from signalfire import demo
    from signalfire.core.db.session import session_factory, unit_of_work

    eng = make_engine(fresh_db)
    with unit_of_work(session_factory(eng)) as s:
        demo.seed(s)
    eng.dispose()
    settings = make_settings(fresh_db)
    application = create_app(settings, run_worker=True)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield LiveServer(f"http://127.0.0.1:{port}", fresh_db, application)
    server.should_exit = True
    thread.join(timeout=15)


CHROMIUM = os.environ.get("SIGNALFIRE_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield b
        b.close()


@pytest.fixture()
def page(browser: object, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh browser page; console errors (e.g. CSP violations) fail the test."""
    context = browser.new_context(viewport={"width": 1360, "height": 900})  # type: ignore[attr-defined]
    pg = context.new_page()
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.console_errors = errors
    yield pg
    context.close()
    assert not errors, f"browser console errors: {errors}"


def screenshot(page: object, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


def login(page: object, base_url: str, email: str, password: str = "signalfire-demo") -> None:
    page.goto(f"{base_url}/login")  # type: ignore[attr-defined]
    page.fill("#email", email)  # type: ignore[attr-defined]
    page.fill("#password", password)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(f"{base_url}/**")  # type: ignore[attr-defined]


AXE = Path(__file__).resolve().parent / "assets" / "axe-core" / "axe.min.js"


def axe_violations(page: object, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """Run axe-core (vendored from npm) on the page; the serious and critical violations, one line each.

    Evaluated through Playwright, which the page's Content-Security-Policy does not restrict, so nothing
    of axe is ever served by the application."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):  # type: ignore[attr-defined]
        page.evaluate(AXE.read_text(encoding="utf-8"))  # type: ignore[attr-defined]
    result = page.evaluate(  # type: ignore[attr-defined]
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa', 'wcag22aa']}})"
    )
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) at {', '.join(str(n['target']) for n in v['nodes'][:3])}"
        for v in result["violations"]
        if v.get("impact") in impacts
    ]


class SmtpSink:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from email import message_from_bytes

        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture()
def smtp() -> Iterator[tuple[SmtpSink, int]]:
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()
