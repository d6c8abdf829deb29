"""Stored obligation rows: what the deadline function returns is what the board shows, recomputation
is idempotent, closed rows are never touched, drills create nothing."""

from __future__ import annotations

import time_machine
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.reporting import obligations
from signalfire.reporting.models import Assessment, Obligation, ObligationStatus
from signalfire.response import service as response
from signalfire.response.schemas import TransitionIn
from signalfire.response.vocab import IncidentStatus
from tests.reporting import factories as f
from tests.reporting.factories import COP, SB53, utc


def rows(db: Session, incident_id: object) -> dict[tuple[str, str, str], Obligation]:
    found = db.execute(select(Obligation).where(Obligation.incident_id == incident_id)).scalars().all()
    return {(o.regime_id, o.class_id, o.stage): o for o in found}


def test_cop_death_aware_at_2330_on_the_last_day_of_a_month(db: Session) -> None:
    with time_machine.travel(utc(2026, 4, 2, 9), tick=False):
        a = f.developer(db)
        inc = f.incident(db, a, aware_at=utc(2026, 3, 31, 22))
        f.record(db, a, inc, "aware_of_model_involvement", utc(2026, 3, 31, 23, 30))
        f.assess(db, a, inc, COP, f.cop(death="yes"))
        got = rows(db, inc.id)
    assert set(got) == {(COP, "death", "initial"), (COP, "death", "update-1"), (COP, "death", "final")}
    initial = got[(COP, "death", "initial")]
    assert initial.due_at == utc(2026, 4, 10, 23, 30)  # M9.3: 10 days, elapsed
    assert initial.legal_due_at == utc(2026, 4, 13, 21)  # 1182/71: Sat 11 April rolls to Mon 13, EEST midnight
    assert (initial.start_event, initial.start_at) == ("aware_of_model_involvement", utc(2026, 3, 31, 23, 30))
    assert initial.status is ObligationStatus.due and initial.is_open
    assert initial.recipients == ["eu_ai_office", "eu_ncas"]
    assert initial.required_fields[0] == "m1_dates" and len(initial.required_fields) == 7
    assert got[(COP, "death", "update-1")].waiting_for == "initial_report_sent"
    assert got[(COP, "death", "final")].waiting_for == "resolved"


def test_recomputing_is_idempotent(db: Session) -> None:
    with time_machine.travel(utc(2026, 5, 4, 12), tick=False):
        a = f.developer(db)
        inc = f.incident(db, a, aware_at=utc(2026, 5, 1, 8))
        f.record(db, a, inc, "aware_of_model_involvement", utc(2026, 5, 1, 9))
        f.record(db, a, inc, "discovered", utc(2026, 5, 1, 8))
        f.assess(db, a, inc, COP, f.cop(health_harm="yes"))
        f.assess(db, a, inc, SB53, f.sb53(loss_of_control_harm="yes", imminent_risk="yes"))
        before = {k: (o.id, o.due_at, o.status, o.computed_at) for k, o in rows(db, inc.id).items()}
        for _ in range(3):
            result = obligations.sync_incident(db, inc)
            assert not result.changed
        after = {k: (o.id, o.due_at, o.status, o.computed_at) for k, o in rows(db, inc.id).items()}
    assert before == after
    assert set(after) == {
        (COP, "serious_harm", "initial"),
        (COP, "serious_harm", "update-1"),
        (COP, "serious_harm", "final"),
        (SB53, "loss_of_control_harm", "initial"),
        (SB53, "loss_of_control_harm", "imminent-24h"),
    }
    assert after[(SB53, "loss_of_control_harm", "imminent-24h")][1] == utc(2026, 5, 2, 8)  # 24 h from discovery
    assert after[(SB53, "loss_of_control_harm", "initial")][1] == utc(2026, 5, 16, 8)  # 15 days
    assert after[(SB53, "loss_of_control_harm", "imminent-24h")][2] is ObligationStatus.late


def test_reclassification_after_the_initial_report_was_submitted(db: Session) -> None:
    aware = utc(2026, 6, 1, 8)
    with time_machine.travel(utc(2026, 6, 10, 12), tick=False):
        a = f.developer(db)
        inc = f.incident(db, a, aware_at=aware)
        f.record(db, a, inc, "aware_of_model_involvement", aware)
        f.assess(db, a, inc, COP, f.cop(health_harm="yes"))
        initial = rows(db, inc.id)[(COP, "serious_harm", "initial")]
        assert initial.due_at == utc(2026, 6, 16, 8)
        f.submit(db, a, initial)
        got = rows(db, inc.id)
        assert got[(COP, "serious_harm", "update-1")].due_at == utc(2026, 7, 8, 12)  # 4 weeks after sending
        submitted = (initial.id, initial.status, initial.submitted_at, initial.due_at, initial.basis)

    with time_machine.travel(utc(2026, 6, 20, 10), tick=False):
        f.assess(
            db,
            a,
            inc,
            COP,
            f.cop(health_harm="yes", ci_disruption="yes"),
            rationale="Grid operator confirmed an irreversible outage caused by the model's output.",
        )
        got = rows(db, inc.id)
        old = got[(COP, "serious_harm", "initial")]
        assert (old.id, old.status, old.submitted_at, old.due_at, old.basis) == submitted  # untouched
        new = got[(COP, "ci_disruption", "initial")]
        assert new.start_at == aware  # runs from the event as first recorded
        assert new.due_at == utc(2026, 6, 3, 8)  # 2 days (M9.3): already past
        assert new.status is ObligationStatus.late and new.past_due_on_reclassification
        assert new.due_from_reclassification_at == utc(2026, 6, 22, 10)  # the later reading, shown beside it
        for stage in ("update-1", "final"):
            superseded = got[(COP, "serious_harm", stage)]
            assert superseded.status is ObligationStatus.superseded and not superseded.is_open
            assert "Reassessment v2" in (superseded.closed_reason or "")
        assert got[(COP, "ci_disruption", "update-1")].due_at == utc(2026, 7, 8, 12)  # still from the first report
        count = db.execute(
            select(func.count()).select_from(Obligation).where(Obligation.incident_id == inc.id)
        ).scalar_one()
        obligations.sync_incident(db, inc)
        assert (
            db.execute(
                select(func.count()).select_from(Obligation).where(Obligation.incident_id == inc.id)
            ).scalar_one()
            == count
        )
        versions = db.execute(
            select(Assessment.version, Assessment.is_current)
            .where(Assessment.incident_id == inc.id)
            .order_by(Assessment.version)
        ).all()
        assert [tuple(v) for v in versions] == [(1, False), (2, True)]


def test_resolved_before_the_initial_report_was_due(db: Session) -> None:
    aware = utc(2026, 2, 2, 10)
    with time_machine.travel(utc(2026, 2, 3, 10), tick=False):
        a = f.developer(db)
        inc = f.incident(db, a, aware_at=aware)
        f.record(db, a, inc, "aware_of_model_involvement", aware)
        f.assess(db, a, inc, COP, f.cop(death="yes"))
        assert (COP, "death", "update-1") in rows(db, inc.id)
        response.change_status(
            db,
            a,
            inc,
            TransitionIn(status=IncidentStatus.RESOLVED, at=utc(2026, 2, 3, 9), reason="Fixed within a day."),
        )
    with time_machine.travel(utc(2026, 2, 3, 10, 1), tick=False):
        from signalfire.reporting import reminders

        reminders.sweep(db, utc(2026, 2, 3, 10, 1))  # notices the incident's new facts
        got = rows(db, inc.id)
    assert got[(COP, "death", "initial")].due_at == utc(2026, 2, 12, 10)  # still owed
    # 60 days after resolution: 10:00 CET on 3 February is 10:00 CEST (08:00 UTC) on 4 April, an hour
    # before the elapsed reading (summer time began on 29 March).
    assert got[(COP, "death", "final")].due_at == utc(2026, 4, 4, 8)
    assert got[(COP, "death", "update-1")].status is ObligationStatus.superseded  # nothing left to update


def test_drills_never_create_obligations(db: Session) -> None:
    with time_machine.travel(utc(2026, 3, 3, 12), tick=False):
        a = f.developer(db)
        inc = f.incident(db, a, aware_at=utc(2026, 3, 3, 8), is_drill=True)
        f.record(db, a, inc, "aware_of_model_involvement", utc(2026, 3, 3, 8))
        done = f.assess(db, a, inc, COP, f.cop(death="yes"))
    assert done.assessment.outcome.value == "reportable"
    assert rows(db, inc.id) == {}


def test_sb53_not_reportable_needs_a_rationale_and_creates_nothing(db: Session) -> None:
    import pytest

    from signalfire.core.errors import ValidationFailed

    with time_machine.travel(utc(2026, 3, 3, 12), tick=False):
        a = f.developer(db)
        inc = f.incident(db, a, aware_at=utc(2026, 3, 3, 8))
        with pytest.raises(ValidationFailed) as err:
            f.assess(db, a, inc, SB53, f.sb53())
        assert err.value.errors[0].field == "rationale"
        done = f.assess(db, a, inc, SB53, f.sb53(), rationale="No death, injury or catastrophic risk.")
    assert done.assessment.outcome.value == "not_reportable"
    assert rows(db, inc.id) == {}


def test_a_change_of_incident_facts_is_flagged_for_reassessment(db: Session) -> None:
    from signalfire.reporting.views import incident_view
    from signalfire.response.schemas import IncidentUpdate
    from signalfire.response.vocab import Severity

    with time_machine.travel(utc(2026, 3, 3, 12), tick=False):
        a = f.developer(db)
        inc = f.incident(db, a, aware_at=utc(2026, 3, 3, 8))
        f.assess(db, a, inc, COP, f.cop(health_harm="yes"))
        row = next(r for r in incident_view(db, a, inc).regimes if r.candidate.regime.id == COP)
        assert row.current is not None and row.changes == []
        response.update_incident(db, a, inc, IncidentUpdate(severity=Severity.SEV1, reason="Wider than thought."))
        row = next(r for r in incident_view(db, a, inc).regimes if r.candidate.regime.id == COP)
    assert row.changes == ["severity: sev2 → sev1"]
