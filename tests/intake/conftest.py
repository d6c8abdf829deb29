"""Intake fixtures: `place` runs the worker's placement sweep over everything waiting, as the worker would
after a request acknowledged a signal (public form, downstream API, alerts); `cli_db` is a fresh database
with one org that the CLI commands find through their settings."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from signalfire.access.models import OrgKind
from signalfire.access.service import create_org
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.core.settings import get_settings
from signalfire.intake import placement


@pytest.fixture()
def cli_db(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """(database URL, org slug): the CLI's settings point at a fresh database holding one org."""
    monkeypatch.setenv("SIGNALFIRE_DATABASE_URL", fresh_db)
    monkeypatch.setenv("SIGNALFIRE_ENVIRONMENT", "test")
    get_settings.cache_clear()
    engine = make_engine(fresh_db)
    with unit_of_work(session_factory(engine)) as s:
        slug = create_org(s, slug=f"cli-{uuid.uuid4().hex[:8]}", name="CLI Labs", kind=OrgKind.frontier_developer).slug
    engine.dispose()
    yield fresh_db, slug
    get_settings.cache_clear()


@pytest.fixture()
def place(session_maker: sessionmaker[Session], db: Session) -> Callable[[], int]:
    def run() -> int:
        placed = placement.drain(session_maker)
        db.expire_all()  # the test's own session sees what the sweep wrote
        return placed

    return run
