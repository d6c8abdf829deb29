"""Retention: records tied to a report are kept at least as long as the longest applicable regime requires
(five years for the Code), never while on legal hold; `signalfire retention run` purges the rest, audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from signalfire.access.actor import Actor
from signalfire.audit.models import AuditEvent
from signalfire.cli import _load_domain_commands
from signalfire.cli import app as cli_app
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.core.settings import get_settings
from signalfire.reporting import retention
from signalfire.reporting.models import Assessment, Case, Obligation, Report, ReportVersion
from signalfire.response.models import Incident
from tests.reporting import factories as f
from tests.reporting.factories import COP, SB53, utc

SUBMITTED = utc(2026, 2, 1, 12)


def _reported(db: Session) -> tuple[Actor, Incident]:
    with time_machine.travel(SUBMITTED, tick=False):
        dev = f.developer(db)
        inc = f.incident(db, dev, aware_at=utc(2026, 1, 20, 8), occurred_at=utc(2026, 1, 19, 8))
        f.record(db, dev, inc, "aware_of_model_involvement", utc(2026, 1, 20, 9))
        f.assess(db, dev, inc, COP, f.cop(health_harm="yes"))
        initial = db.execute(
            select(Obligation).where(Obligation.incident_id == inc.id, Obligation.stage == "initial")
        ).scalar_one()
        f.submit(db, dev, initial)
    return dev, inc


def _count(db: Session, model: Any, inc: Incident) -> int:
    return int(db.execute(select(func.count()).select_from(model).where(model.incident_id == inc.id)).scalar_one())


def test_five_years_from_the_later_of_documentation_and_incident(db: Session) -> None:
    dev, inc = _reported(db)
    case = db.get(Case, inc.id)
    assert case is not None and case.retain_until == utc(2031, 2, 1, 12)
    assert "Measure 9.4" in case.retention_basis
    # A later record (a question answered next year) moves the date with it.
    with time_machine.travel(utc(2027, 5, 1), tick=False):
        f.assess(db, dev, inc, SB53, f.sb53(), rationale="Not a critical safety incident.")
    db.refresh(case)
    assert case.retain_until == utc(2032, 5, 1)


def test_run_purges_only_what_is_past_retention_and_not_on_hold(db: Session) -> None:
    _, inc = _reported(db)
    dev2, kept = _reported(db)
    with time_machine.travel(utc(2026, 6, 1), tick=False):
        hold = retention.place_hold(db, dev2, kept, "Regulator's letter of 2026-05-30")
    assert retention.run(db, now=utc(2031, 2, 1, 11)) == []  # not yet
    dry = retention.run(db, now=utc(2031, 2, 2), dry_run=True)
    assert [p.incident_id for p in dry] == [inc.id] and _count(db, Obligation, inc) > 0

    with time_machine.travel(utc(2031, 2, 2), tick=False):
        done = retention.run(db, now=utc(2031, 2, 2))
    assert [p.incident_id for p in done] == [inc.id]
    assert (
        done[0].counts["report_versions"] == 1 and done[0].counts["obligations"] == 5
    )  # initial, three updates shown ahead, final
    for model in (Obligation, Assessment, Report, ReportVersion):
        assert _count(db, model, inc) == 0
        assert _count(db, model, kept) > 0  # on hold
    assert db.get(Incident, inc.id) is not None  # the response channel's record is not ours to purge
    purge = db.execute(select(AuditEvent).where(AuditEvent.action == "reporting.retention.purge")).scalars().all()
    assert [p.target_id for p in purge] == [str(inc.id)] and purge[0].summary["deleted"]["obligations"] == 5
    assert retention.run(db, now=utc(2031, 2, 3)) == []  # nothing twice

    with time_machine.travel(utc(2031, 3, 1), tick=False):
        retention.release_hold(db, dev2, hold.id, "Matter closed")
        assert [p.incident_id for p in retention.run(db, now=utc(2031, 3, 1))] == [kept.id]


@pytest.fixture()
def cli_db(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("SIGNALFIRE_DATABASE_URL", fresh_db)
    get_settings.cache_clear()
    if not any(g.name == "retention" for g in cli_app.registered_groups):
        _load_domain_commands()
    yield fresh_db
    get_settings.cache_clear()


def test_cli_retention_run(cli_db: str) -> None:
    engine = make_engine(cli_db)
    with unit_of_work(session_factory(engine)) as s:
        _, inc = _reported(s)
        incident_id = inc.id
    runner = CliRunner()
    with time_machine.travel(utc(2030, 1, 1), tick=False):
        result = runner.invoke(cli_app, ["retention", "run"])
    assert result.exit_code == 0, result.output
    assert "0 case(s) purged" in result.output
    with time_machine.travel(SUBMITTED + timedelta(days=5 * 366), tick=False):
        result = runner.invoke(cli_app, ["retention", "run", "--dry-run"])
        assert "1 case(s) due for purge" in result.output
        result = runner.invoke(cli_app, ["retention", "run"])
    assert result.exit_code == 0 and "1 case(s) purged" in result.output, result.output
    with unit_of_work(session_factory(engine)) as s:
        assert (
            s.execute(
                select(func.count()).select_from(Obligation).where(Obligation.incident_id == incident_id)
            ).scalar_one()
            == 0
        )
        assert (
            s.execute(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "reporting.retention.purge")
            ).scalar_one()
            == 1
        )
    engine.dispose()
