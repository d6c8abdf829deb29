"""Intake fixtures: `place` runs the worker's placement sweep over everything waiting, as the worker would
after a request acknowledged a signal (public form, downstream API, alerts)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session, sessionmaker

from signalfire.intake import placement


@pytest.fixture()
def place(session_maker: sessionmaker[Session], db: Session) -> Callable[[], int]:
    def run() -> int:
        placed = placement.drain(session_maker)
        db.expire_all()  # the test's own session sees what the sweep wrote
        return placed

    return run
