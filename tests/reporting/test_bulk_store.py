"""The bulk writer (COPY on PostgreSQL, executemany elsewhere) stores exactly what the ORM path stores."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest
import time_machine
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from signalfire.reporting import bulk, obligations
from signalfire.reporting.facts import clock_events
from signalfire.reporting.models import Obligation, ObligationStatus
from tests.reporting import factories as f
from tests.reporting.factories import COP, SB53, utc

NOW = utc(2026, 5, 4, 12)


def _stored(db: Session, incident_id: uuid.UUID) -> dict[tuple[str, str, str], dict[str, Any]]:
    db.expire_all()
    found = db.execute(select(Obligation).where(Obligation.incident_id == incident_id)).scalars().all()
    return {
        (o.regime_id, o.class_id, o.stage): {c: getattr(o, c) for c in bulk.COLUMNS if c not in ("id",)} for o in found
    }


def _assessed_incident(db: Session) -> Any:
    a = f.developer(db)
    inc = f.incident(db, a, aware_at=utc(2026, 5, 1, 8))
    f.record(db, a, inc, "aware_of_model_involvement", utc(2026, 5, 1, 9))
    f.record(db, a, inc, "discovered", utc(2026, 5, 1, 8))
    f.assess(db, a, inc, COP, f.cop(health_harm="yes"))
    f.assess(db, a, inc, SB53, f.sb53(loss_of_control_harm="yes", imminent_risk="yes"))
    return inc


def _rows_like(db: Session, incident_id: uuid.UUID) -> list[dict[str, Any]]:
    """New-row values for the same specs the sync stored (same ids, so the two can be compared)."""
    found = db.execute(select(Obligation).where(Obligation.incident_id == incident_id)).scalars().all()
    return [{c: getattr(o, c) for c in bulk.COLUMNS} for o in found]


def test_bulk_store_writes_what_the_orm_wrote(db: Session) -> None:
    with time_machine.travel(NOW, tick=False):
        inc = _assessed_incident(db)
        via_orm = _stored(db, inc.id)
        assert len(via_orm) == 5
        rows = _rows_like(db, inc.id)
        db.execute(delete(Obligation).where(Obligation.incident_id == inc.id))
        assert _stored(db, inc.id) == {}
        assert bulk.store_new(db.connection(), rows, batch=2) == 5
        via_bulk = _stored(db, inc.id)
    assert via_bulk == via_orm
    late = via_bulk[(SB53, "loss_of_control_harm", "imminent-24h")]
    assert late["status"] is ObligationStatus.late and late["due_at"] == utc(2026, 5, 2, 8)
    assert via_bulk[(COP, "serious_harm", "initial")]["recipients"] == ["eu_ai_office", "eu_ncas"]


def test_bulk_store_builds_rows_from_specs(db: Session) -> None:
    """The rows the benchmark stores: ``new_row_values`` over the deadline function's output."""
    with time_machine.travel(NOW, tick=False):
        inc = _assessed_incident(db)
        via_orm = _stored(db, inc.id)
        db.execute(delete(Obligation).where(Obligation.incident_id == inc.id))
        rows = []
        for assessment in obligations.current_assessments(db, inc.id):
            specs = obligations._specs(db, inc, assessment, [], clock_events(db, inc), None, reclassified=None)
            rows += [
                obligations.new_row_values(
                    s, org_id=inc.org_id, incident_id=inc.id, assessment_id=assessment.id, now=NOW
                )
                for s in specs
            ]
        bulk.store_new(db.connection(), rows)
        via_bulk = _stored(db, inc.id)
    assert set(via_bulk) == set(via_orm)
    for key, values in via_orm.items():
        assert {k: v for k, v in via_bulk[key].items() if k != "computed_at"} == {
            k: v for k, v in values.items() if k != "computed_at"
        }


def test_a_naive_time_stores_nothing(db: Session) -> None:
    with time_machine.travel(NOW, tick=False):
        inc = _assessed_incident(db)
        rows = _rows_like(db, inc.id)
        db.execute(delete(Obligation).where(Obligation.incident_id == inc.id))
        rows[-1]["due_at"] = datetime(2026, 5, 10, 12)  # noqa: DTZ001 - the point: no zone
        with pytest.raises(ValueError, match="naive datetime"), db.begin_nested():
            bulk.store_new(db.connection(), rows)
        assert _stored(db, inc.id) == {}
