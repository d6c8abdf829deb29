"""Scorecard items computed from the reporting channel: reports filed on time, five-year retention.
Obligations come from real assessments under the Code of Practice regime file."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.readiness.periods import months_before
from signalfire.readiness.scorecard import State
from signalfire.reporting.models import Case, Obligation
from signalfire.response.models import Incident
from tests.readiness import factories as f
from tests.reporting import factories as rep
from tests.reporting.factories import COP

AWARE = f.utc(2026, 3, 2, 9)
# Code of Practice, death class: the initial report is due 10 days after awareness of model involvement.
DUE = AWARE + timedelta(days=10)


def reportable(db: Session, a: object, aware: object = AWARE) -> tuple[Incident, Obligation]:
    inc = rep.incident(db, a, aware_at=aware)  # type: ignore[arg-type]
    rep.record(db, a, inc, "aware_of_model_involvement", aware)  # type: ignore[arg-type]
    rep.assess(db, a, inc, COP, rep.cop(death="yes"))  # type: ignore[arg-type]
    initial = db.execute(
        select(Obligation).where(Obligation.incident_id == inc.id, Obligation.stage == "initial")
    ).scalar_one()
    assert initial.due_at == aware + timedelta(days=10)  # type: ignore[operator]
    return inc, initial


def test_on_time_rate_counts_filed_late_and_overdue_reports(db: Session) -> None:
    with time_machine.travel(AWARE + timedelta(hours=1), tick=False):
        a = rep.developer(db)
        assert f.finding(db, a, "reports_on_time", AWARE + timedelta(hours=1)).state is State.MISSING
        _, on_time = reportable(db, a)
        _, filed_late = reportable(db, a)
        _, overdue = reportable(db, a)
    with time_machine.travel(DUE - timedelta(days=1), tick=False):
        rep.submit(db, a, on_time)
    with time_machine.travel(DUE + timedelta(days=1), tick=False):
        rep.submit(db, a, filed_late)
    at = DUE + timedelta(days=2)
    with time_machine.travel(at, tick=False):
        found = f.finding(db, a, "reports_on_time", at)
        # Before the due time nothing was owed yet; just after it, one was filed and two were not.
        before = f.finding(db, a, "reports_on_time", DUE - timedelta(minutes=1))
        just_after = f.finding(db, a, "reports_on_time", DUE + timedelta(hours=1))
    assert found.state is State.GAP and found.metric == 1 / 3
    assert found.summary == "1 of 3 reports due in the last 12 months filed on time (33%)."
    assert found.gaps == ("1 report filed after the due time", "1 report overdue and not yet filed")
    assert {e.url for e in found.evidence} == {
        f"/reporting/incidents/{o.incident_id}" for o in (on_time, filed_late, overdue)
    }
    assert before.state is State.MISSING
    assert just_after.metric == 1 / 3 and "2 reports overdue" in just_after.gaps[0]


def test_all_on_time_is_ok_and_a_report_due_a_year_and_a_day_ago_no_longer_counts(db: Session) -> None:
    with time_machine.travel(AWARE + timedelta(hours=1), tick=False):
        a = rep.developer(db)
        _, initial = reportable(db, a)
        rep.submit(db, a, initial)
        b = rep.developer(db)
        reportable(db, b)  # never filed; its updates wait for it and the final waits for resolution
    with time_machine.travel(DUE + timedelta(days=1), tick=False):
        all_on_time = f.finding(db, a, "reports_on_time", DUE + timedelta(days=1))
    year_on = months_before(DUE, -12)
    with time_machine.travel(year_on + timedelta(days=1), tick=False):
        at_edge = f.finding(db, b, "reports_on_time", year_on)  # due exactly twelve months before: counts
        a_day_later = f.finding(db, b, "reports_on_time", year_on + timedelta(days=1))
    assert all_on_time.state is State.OK and all_on_time.metric == 1.0 and all_on_time.as_of == DUE + timedelta(days=1)
    assert at_edge.state is State.GAP and at_edge.metric == 0.0
    assert a_day_later.state is State.MISSING


def test_retention_of_five_years_and_records_kept_shorter(db: Session) -> None:
    with time_machine.travel(AWARE + timedelta(hours=1), tick=False):
        a = rep.developer(db)
        empty = f.finding(db, a, "retention", AWARE + timedelta(hours=1))
        inc, _ = reportable(db, a)
        case = db.get(Case, inc.id)
        assert case is not None and case.retain_until is not None
        kept = f.finding(db, a, "retention", AWARE + timedelta(hours=1))
        case.retain_until = months_before(AWARE, -59)  # four years and eleven months
        db.flush()
        short = f.finding(db, a, "retention", AWARE + timedelta(hours=1))
    assert empty.state is State.OK and "no incident records to keep yet" in empty.summary
    assert kept.state is State.OK and "1 incident record held" in kept.summary
    assert any(e.url == f"/reporting/incidents/{inc.id}" for e in kept.evidence)
    assert short.state is State.GAP and short.gaps == ("1 incident record set to be kept less than five years",)


def test_retention_still_holds_for_records_a_year_and_a_day_old_and_flags_an_early_purge(db: Session) -> None:
    at = f.utc(2026, 9, 2, 9)
    old = months_before(at, 12) - timedelta(days=1)  # the Code of Practice regime is in force by then
    with time_machine.travel(old + timedelta(hours=1), tick=False):
        a = rep.developer(db)
        inc, _ = reportable(db, a, aware=old)
    with time_machine.travel(at, tick=False):
        assert f.finding(db, a, "retention", at).state is State.OK
        case = db.get(Case, inc.id)
        assert case is not None
        case.purged_at = at - timedelta(days=1)
        db.flush()
        purged = f.finding(db, a, "retention", at)
    assert purged.state is State.GAP and purged.gaps == ("1 incident record purged before five years",)
