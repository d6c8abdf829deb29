"""The response-time sketches (``rollup``): they follow every ORM write, equal a rebuild from scratch,
cover a window exactly, and give each median and p90 within the stated accuracy of the exact figure."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from signalfire.access.models import Role
from signalfire.core.clock import utcnow
from signalfire.response import metrics, rollup, service, stats
from signalfire.response.models import Incident, MetricRollup
from signalfire.response.schemas import IncidentUpdate, TransitionIn
from signalfire.response.vocab import IncidentStatus, RiskDomain, Severity
from tests import factories
from tests.response import factories as rf
from tests.response.test_board_and_metrics import _history

ACCURACY = rollup.RELATIVE_ACCURACY


def _stored(db: Session) -> dict[tuple[object, str, object], dict[int, int]]:
    """Each period's counters, summed over its rows (difference rows until compacted), zeros dropped."""
    db.flush()
    out: dict[tuple[object, str, object], Counter[int]] = {}
    for row in db.execute(select(MetricRollup)).scalars():
        slots, counts = rollup.decode(row.counts)
        out.setdefault((row.org_id, row.grain, row.period), Counter()).update(
            dict(zip(slots.tolist(), counts.tolist(), strict=True))
        )
    summed = {k: {s: n for s, n in c.items() if n} for k, c in out.items()}
    return {k: v for k, v in summed.items() if v}


def _rows_per_period(db: Session) -> Counter[tuple[object, str, object]]:
    db.flush()
    rows = db.execute(select(MetricRollup.org_id, MetricRollup.grain, MetricRollup.period))
    return Counter((org_id, grain, period) for org_id, grain, period in rows)


def _assert_matches_rebuild(db: Session) -> None:
    kept = _stored(db)
    rollup.rebuild(db)
    assert _stored(db) == kept


def _near(got: timedelta, want: timedelta) -> None:
    g, w = got.total_seconds(), want.total_seconds()
    assert abs(g - w) <= max(ACCURACY * w, 1.0) + 1e-6, (g, w)


def _close_enough(a: dict[metrics.Measure, metrics.Summary], b: dict[metrics.Measure, metrics.Summary]) -> None:
    assert a.keys() == b.keys()
    for m in a:
        assert a[m].count == b[m].count, m
        _near(a[m].median, b[m].median)
        _near(a[m].p90, b[m].p90)


# -- pure parts ----------------------------------------------------------------------------------------


@given(st.floats(min_value=0, max_value=3e8, allow_nan=False))
def test_a_bucket_reports_within_the_stated_accuracy(seconds: float) -> None:
    reported = float(rollup._REPRESENTATIVE[rollup.bucket(seconds)])
    assert abs(reported - seconds) <= max(ACCURACY * seconds, 1.0) + 1e-6


NAIVE_MIN, NAIVE_MAX = datetime(2023, 1, 1), datetime(2027, 12, 31)  # noqa: DTZ001 - hypothesis takes naive bounds
instants = st.datetimes(NAIVE_MIN, NAIVE_MAX, timezones=st.just(UTC)).map(lambda d: d.replace(microsecond=0))


@given(instants, instants)
@settings(max_examples=300)
def test_a_window_is_covered_exactly_once(a: datetime, b: datetime) -> None:
    start, end = min(a, b), max(a, b)
    periods, edges = rollup.cover(start, end)
    spans = list(edges)
    for grain, first in periods:
        begin = datetime(first.year, first.month, first.day, tzinfo=UTC)
        if grain == rollup.Grain.DAY:
            stop = begin + timedelta(days=1)
        elif grain == rollup.Grain.MONTH:
            assert first.day == 1
            stop = (
                begin.replace(year=begin.year + 1, month=1)
                if begin.month == 12
                else begin.replace(month=begin.month + 1)
            )
        else:
            assert (first.month, first.day) == (1, 1)
            stop = begin.replace(year=begin.year + 1)
        spans.append((begin, stop))
    spans.sort()
    if start == end:
        assert spans == []
        return
    assert spans[0][0] == start and spans[-1][1] == end
    for (_, stop), (begin, _) in itertools.pairwise(spans):
        assert stop == begin  # no gap, no overlap
    assert len(periods) <= 2 * 31 + 2 * 11 + (end.year - start.year)  # a few dozen rows, whatever the span


def test_a_day_window_at_midnight_reads_no_incident_rows() -> None:
    periods, edges = rollup.cover(datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert periods == [(rollup.Grain.YEAR, date(2026, 1, 1))] and edges == []


# -- following the ORM ---------------------------------------------------------------------------------


def test_sketches_follow_creates_transitions_edits_and_deletes(db: Session) -> None:
    admin = factories.actor(db)
    now = utcnow()
    made = _history(db, admin, random.Random(11), 25)
    _assert_matches_rebuild(db)

    inc = made[3]
    service.update_incident(db, admin, inc, IncidentUpdate(severity=Severity.SEV1, reason="worse than thought"))
    _assert_matches_rebuild(db)
    # Awareness moved back across a month and a year: the incident leaves its old periods.
    early = rf.incident(db, admin, aware_at=datetime(2026, 1, 1, 0, 30, tzinfo=UTC), risk_domain=RiskDomain.CBRN)
    service.change_status(
        db, admin, early, TransitionIn(status=IncidentStatus.TRIAGED, at=early.aware_at + timedelta(hours=1))
    )
    service.update_incident(
        db, admin, early, IncidentUpdate(aware_at=datetime(2025, 12, 31, 23, 0, tzinfo=UTC), reason="log found")
    )
    _assert_matches_rebuild(db)
    assert (admin.org_id, rollup.Grain.YEAR, date(2025, 1, 1)) in _stored(db)
    # Columns the sketches do not read leave them alone; a drill flag set directly is followed.
    inc.title = "Renamed"
    made[5].is_drill = not made[5].is_drill
    _assert_matches_rebuild(db)
    # A delete (the app never deletes one incident; the ORM path is followed all the same).
    bare = Incident(
        org_id=admin.org_id,
        reference="INC-2026-9999",
        title="Stray",
        severity=Severity.SEV4,
        risk_domain=RiskDomain.OTHER,
        status=IncidentStatus.TRIAGED,
        aware_at=now - timedelta(days=3),
        reported_at=now - timedelta(days=3),
        triaged_at=now - timedelta(days=2),
        status_changed_at=now - timedelta(days=2),
    )
    db.add(bare)
    db.flush()
    _assert_matches_rebuild(db)
    db.delete(bare)
    db.flush()
    _assert_matches_rebuild(db)


def test_an_orgs_sketches_hold_only_its_incidents(db: Session) -> None:
    mine, theirs = factories.actor(db), factories.actor(db)
    rf.incident(db, mine)
    rf.incident(db, theirs)
    rf.incident(db, theirs)
    counts = rollup.window_counts(db, mine.org_id, utcnow() - timedelta(days=2), utcnow() + timedelta(seconds=1))
    assert rollup.incident_count(counts) == 1


# -- accuracy against the exact figures ------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sketch_figures_are_within_the_accuracy_of_the_exact_ones(db: Session, seed: int) -> None:
    admin = factories.actor(db)
    _history(db, admin, random.Random(seed), 80)
    now = utcnow()
    for start, end in (
        (now - timedelta(days=365), now + timedelta(seconds=1)),
        (now - timedelta(days=100, hours=5), now - timedelta(days=20, minutes=7)),
    ):
        exact = stats.response_metrics(db, admin, start, end, exact_limit=10**9)
        sketch = stats.response_metrics(db, admin, start, end, exact_limit=0)
        assert not exact.approximate and sketch.approximate
        _close_enough(sketch.overall, exact.overall)
        assert sketch.by_severity.keys() == exact.by_severity.keys()
        for sev in exact.by_severity:
            _close_enough(sketch.by_severity[sev], exact.by_severity[sev])
        assert sketch.by_domain.keys() == exact.by_domain.keys()
        for dom in exact.by_domain:
            _close_enough(sketch.by_domain[dom], exact.by_domain[dom])
        assert (sketch.drills_excluded, sketch.inconsistent) == (exact.drills_excluded, exact.inconsistent)


def test_inconsistent_incidents_are_counted_not_measured(db: Session) -> None:
    admin = factories.actor(db)
    inc = rf.incident(db, admin, aware_at=utcnow() - timedelta(hours=5))
    inc.triaged_at = inc.aware_at - timedelta(hours=1)  # written around the service's checks
    db.flush()
    window = (utcnow() - timedelta(days=1), utcnow() + timedelta(seconds=1))
    exact = stats.response_metrics(db, admin, *window, exact_limit=10**9)
    sketch = stats.response_metrics(db, admin, *window, exact_limit=0)
    assert exact.inconsistent == sketch.inconsistent == 1 and sketch.overall == exact.overall == {}


def test_a_reader_of_some_incidents_only_never_gets_org_wide_sketches(db: Session) -> None:
    owner = factories.actor(db)
    _history(db, owner, random.Random(5), 10)
    outsider = factories.actor(db, role=Role.viewer)
    window = (utcnow() - timedelta(days=365), utcnow() + timedelta(seconds=1))
    r = stats.response_metrics(db, outsider, *window, exact_limit=0)
    assert r.overall == {} and not r.approximate


def test_a_rebuild_after_a_bulk_write_restores_the_sketches(db: Session) -> None:
    admin = factories.actor(db)
    _history(db, admin, random.Random(9), 12)
    kept = _stored(db)
    db.execute(delete(MetricRollup))
    assert _stored(db) == {}
    assert rollup.rebuild(db, admin.org_id) == db.query(Incident).filter(Incident.org_id == admin.org_id).count()
    assert _stored(db) == kept


def test_page_and_api_say_when_figures_are_approximate(
    db: Session, api_client: Any, browser_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = factories.actor(db)
    _history(db, admin, random.Random(4), 12)
    db.commit()
    exact = api_client(admin).get("/api/v1/response/metrics").json()
    assert exact["approximate"] is False and exact["relative_accuracy"] is None
    page = browser_client(admin).get("/response/metrics")
    assert page.status_code == 200 and "metrics-approximate" not in page.text
    monkeypatch.setattr(stats, "EXACT_LIMIT", 0)
    sketch = api_client(admin).get("/api/v1/response/metrics").json()
    assert sketch["approximate"] is True and sketch["relative_accuracy"] == pytest.approx(rollup.RELATIVE_ACCURACY)
    assert sketch["overall"].keys() == exact["overall"].keys()
    for measure, summary in exact["overall"].items():
        assert sketch["overall"][measure]["count"] == summary["count"]
    page = browser_client(admin).get("/response/metrics")
    assert 'data-testid="metrics-approximate"' in page.text and "≈" in page.text


def test_compaction_folds_difference_rows_and_keeps_the_sums(db: Session) -> None:
    admin = factories.actor(db)
    made = _history(db, admin, random.Random(21), 15)
    service.update_incident(db, admin, made[0], IncidentUpdate(severity=Severity.SEV1, reason="worse"))
    before = _stored(db)
    assert max(_rows_per_period(db).values()) > 1  # each change appended a row of its own
    folded = rollup.compact(db)
    assert folded > 0
    assert _stored(db) == before
    assert set(_rows_per_period(db).values()) == {1}
    assert rollup.compact(db) == 0  # nothing left to fold
    # A period whose rows sum to zero is dropped altogether.
    stray = rf.incident(db, admin, aware_at=datetime(2024, 2, 29, 12, tzinfo=UTC))
    stray.aware_at = datetime(2024, 3, 1, 12, tzinfo=UTC)
    db.flush()
    rollup.compact(db)
    assert (admin.org_id, rollup.Grain.DAY, date(2024, 2, 29)) not in _rows_per_period(db)
    assert (admin.org_id, rollup.Grain.MONTH, date(2024, 2, 1)) not in _rows_per_period(db)
    assert _rows_per_period(db)[(admin.org_id, rollup.Grain.YEAR, date(2024, 1, 1))] == 1
    _assert_matches_rebuild(db)


def test_the_worker_runs_compaction_every_minute() -> None:
    from signalfire.notify.registry import PERIODIC, load_domain_tasks

    load_domain_tasks()
    job = PERIODIC[rollup.COMPACT_JOB]
    assert job.every == timedelta(minutes=1)
