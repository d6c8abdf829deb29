"""Migration 0007 builds the response-time sketches of incidents stored before it."""

from __future__ import annotations

import random

from sqlalchemy.orm import Session

from signalfire.core.db import migrate
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from tests import factories
from tests.response.test_board_and_metrics import _history
from tests.response.test_rollup import _stored


def test_upgrade_builds_sketches_for_existing_incidents(fresh_db: str) -> None:
    engine = make_engine(fresh_db)
    try:
        with unit_of_work(session_factory(engine)) as s:
            admin = factories.actor(s)
            _history(s, admin, random.Random(3), 15)
        with Session(engine) as s:
            before = _stored(s)
        assert before
        migrate.downgrade(engine, "0006")  # the table goes; the incidents stay
        migrate.upgrade(engine)
        with Session(engine) as s:
            assert _stored(s) == before
    finally:
        engine.dispose()
