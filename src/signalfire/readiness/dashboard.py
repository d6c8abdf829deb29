"""The readiness dashboard: four charts over the last 12 months, each one or two aggregate queries.

* response times by severity (the response channel's own metrics: medians from awareness, drills out);
* deadline compliance per month of the due time (on time, filed late, overdue);
* sharing activity per month (items shared, others' items acknowledged, responses, acknowledgements received);
* intake volume per month by source, and the age of what still waits for triage.

Months are calendar months in UTC; a row falls in the month its date falls in. Charts are Chart.js
configurations rendered from JSON by static/app.js.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from signalfire.access.actor import Actor
from signalfire.exchange.models import Acknowledgement, ExchangeItem, ItemResponse
from signalfire.intake.models import Signal, SourceKind, TriageState
from signalfire.readiness.periods import month_starts
from signalfire.readiness.sqltime import seconds_between
from signalfire.reporting.models import Obligation, ObligationStatus
from signalfire.response import metrics, stats
from signalfire.response.models import Incident
from signalfire.response.vocab import Severity

MONTHS = 12
SEVERITY_COLOURS = {Severity.SEV1: "--sev1", Severity.SEV2: "--sev2", Severity.SEV3: "--sev3", Severity.SEV4: "--sev4"}
AGE_BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("under 1 day", timedelta(days=1)),
    ("1 to 7 days", timedelta(days=7)),
    ("7 to 30 days", timedelta(days=30)),
    ("over 30 days", None),
)
DECISION_BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("within 1 h", timedelta(hours=1)),
    ("1 to 24 h", timedelta(hours=24)),
    ("1 to 7 days", timedelta(days=7)),
    ("over 7 days", None),
)


@dataclass(frozen=True)
class Stat:
    label: str
    value: str
    meta: str = ""


@dataclass
class Dashboard:
    at: datetime
    months: list[str]
    stats: list[Stat] = field(default_factory=list)
    # Chart id -> Chart.js configuration.
    charts: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The figures behind the charts, for the API.
    series: dict[str, Any] = field(default_factory=dict)


def _bucket(column: Any, bounds: list[datetime]) -> ColumnElement[int]:
    """Index of the [bounds[i], bounds[i+1]) interval ``column`` falls in (callers bound it to the whole range)."""
    return case(*((column < bounds[i + 1], i) for i in range(len(bounds) - 1)), else_=len(bounds) - 1)


def _monthly(session: Session, column: Any, bounds: list[datetime], *where: Any) -> list[int]:
    """Rows per month: counted in SQL, grouped by month index."""
    bucket = _bucket(column, bounds)
    out = [0] * (len(bounds) - 1)
    stmt = select(bucket, func.count()).where(column >= bounds[0], column < bounds[-1], *where).group_by(bucket)
    for index, n in session.execute(stmt).all():
        out[int(index)] += int(n)
    return out


def _bar(
    labels: list[str],
    datasets: list[dict[str, Any]],
    *,
    stacked: bool = False,
    y_title: str = "",
    horizontal: bool = False,
    integers: bool = True,
) -> dict[str, Any]:
    scales: dict[str, Any] = {"x": {"stacked": stacked}, "y": {"stacked": stacked, "beginAtZero": True}}
    if integers:
        scales["x" if horizontal else "y"]["ticks"] = {"precision": 0}
    if y_title:
        scales["x" if horizontal else "y"]["title"] = {"display": True, "text": y_title}
    options: dict[str, Any] = {"plugins": {"legend": {"position": "bottom"}}, "scales": scales}
    if horizontal:
        options["indexAxis"] = "y"
    return {"type": "bar", "data": {"labels": labels, "datasets": datasets}, "options": options}


def _response_times(session: Session, actor: Actor, start: datetime, end: datetime, board: Dashboard) -> None:
    result = stats.response_metrics(session, actor, start, end)
    labels = [s.label for s in Severity]
    datasets = []
    series: dict[str, dict[str, float | None]] = {}
    for measure in metrics.Measure:
        values = []
        for sev in Severity:
            summary = result.by_severity.get(sev, {}).get(measure)
            values.append(round(summary.median.total_seconds() / 3600, 2) if summary else None)
        series[measure.value] = dict(zip([s.value for s in Severity], values, strict=True))
        datasets.append({"label": measure.label, "data": values})
    board.charts["chart-response-times"] = _bar(labels, datasets, y_title="median hours", integers=False)
    board.series["response_times_hours"] = series
    contain = result.overall.get(metrics.Measure.CONTAIN)
    board.stats.append(
        Stat(
            "Median time to contain",
            f"{contain.median.total_seconds() / 3600:.1f} h" if contain else "—",
            f"{contain.count} incident(s), drills excluded" if contain else "no incidents",
        )
    )


def _deadlines(session: Session, org_id: uuid.UUID, bounds: list[datetime], at: datetime, board: Dashboard) -> None:
    owed = and_(
        Obligation.org_id == org_id,
        Obligation.due_at < at,
        Incident.is_drill.is_(False),
        # Series occurrences shown ahead count once they are the next one owed: a missed step is one miss.
        Obligation.projected.is_(False),
        Obligation.status.not_in((ObligationStatus.waived, ObligationStatus.superseded)),
    )
    bucket = _bucket(Obligation.due_at, bounds)
    submitted = and_(Obligation.submitted_at.is_not(None), Obligation.submitted_at <= at)
    kind = case(
        (and_(submitted, Obligation.submitted_at <= Obligation.due_at), "on_time"), (submitted, "late"), else_="overdue"
    )
    counts = {k: [0] * (len(bounds) - 1) for k in ("on_time", "late", "overdue")}
    rows = session.execute(
        select(bucket, kind, func.count())
        .join(Incident, Incident.id == Obligation.incident_id)
        .where(owed, Obligation.due_at >= bounds[0], Obligation.due_at < bounds[-1])
        .group_by(bucket, kind)
    ).all()
    for index, k, n in rows:
        counts[str(k)][int(index)] += int(n)
    board.charts["chart-deadlines"] = _bar(
        board.months,
        [
            {"label": "On time", "data": counts["on_time"], "backgroundColor": "--chart-2"},
            {"label": "Filed late", "data": counts["late"], "backgroundColor": "--chart-5"},
            {"label": "Overdue, not filed", "data": counts["overdue"], "backgroundColor": "--chart-3"},
        ],
        stacked=True,
        y_title="reports by month due",
    )
    board.series["deadlines"] = counts
    total = sum(sum(v) for v in counts.values())
    timely = sum(counts["on_time"])
    board.stats.append(
        Stat(
            "Reports filed on time",
            f"{round(100 * timely / total)}%" if total else "—",
            f"{timely} of {total} due in 12 months" if total else "no reports due",
        )
    )


def _sharing(session: Session, org_id: uuid.UUID, bounds: list[datetime], board: Dashboard) -> None:
    shared = _monthly(session, ExchangeItem.first_published_at, bounds, ExchangeItem.org_id == org_id)
    bucket = _bucket(Acknowledgement.acknowledged_at, bounds)
    given = [0] * (len(bounds) - 1)
    received = [0] * (len(bounds) - 1)
    by_us = case((Acknowledgement.org_id == org_id, 1), else_=0)
    rows = session.execute(
        select(bucket, by_us, func.count())
        .join(ExchangeItem, ExchangeItem.id == Acknowledgement.item_id)
        .where(
            Acknowledgement.acknowledged_at >= bounds[0],
            Acknowledgement.acknowledged_at < bounds[-1],
            or_(
                and_(Acknowledgement.org_id == org_id, ExchangeItem.org_id != org_id),
                and_(Acknowledgement.org_id != org_id, ExchangeItem.org_id == org_id),
            ),
        )
        .group_by(bucket, by_us)
    ).all()
    for index, ours, n in rows:
        (given if ours else received)[int(index)] += int(n)
    responses = [0] * (len(bounds) - 1)
    r_bucket = _bucket(ItemResponse.created_at, bounds)
    for index, n in session.execute(
        select(r_bucket, func.count())
        .join(ExchangeItem, ExchangeItem.id == ItemResponse.item_id)
        .where(
            ItemResponse.org_id == org_id,
            ExchangeItem.org_id != org_id,
            ItemResponse.created_at >= bounds[0],
            ItemResponse.created_at < bounds[-1],
        )
        .group_by(r_bucket)
    ).all():
        responses[int(index)] += int(n)
    board.charts["chart-sharing"] = {
        "type": "line",
        "data": {
            "labels": board.months,
            "datasets": [
                {
                    "label": "Items shared",
                    "data": shared,
                    "tension": 0.25,
                    "borderColor": "--chart-1",
                    "backgroundColor": "--chart-1",
                },
                {
                    "label": "Others' items acknowledged",
                    "data": given,
                    "tension": 0.25,
                    "borderColor": "--chart-2",
                    "backgroundColor": "--chart-2",
                },
                {
                    "label": "Responses given",
                    "data": responses,
                    "tension": 0.25,
                    "borderColor": "--chart-3",
                    "backgroundColor": "--chart-3",
                },
                {
                    "label": "Acknowledgements received",
                    "data": received,
                    "tension": 0.25,
                    "borderColor": "--chart-5",
                    "backgroundColor": "--chart-5",
                },
            ],
        },
        "options": {
            "plugins": {"legend": {"position": "bottom"}},
            "scales": {"y": {"beginAtZero": True, "ticks": {"precision": 0}}},
        },
    }
    board.series["sharing"] = {
        "shared": shared,
        "acknowledged": given,
        "responses": responses,
        "acknowledgements_received": received,
    }
    board.stats.append(Stat("Items shared", str(sum(shared)), f"{sum(received)} acknowledgement(s) received"))


def _intake(session: Session, org_id: uuid.UUID, bounds: list[datetime], at: datetime, board: Dashboard) -> None:
    bucket = _bucket(Signal.received_at, bounds)
    volume = {k: [0] * (len(bounds) - 1) for k in SourceKind}
    for index, kind, n in session.execute(
        select(bucket, Signal.source_kind, func.count())
        .where(Signal.org_id == org_id, Signal.received_at >= bounds[0], Signal.received_at < bounds[-1])
        .group_by(bucket, Signal.source_kind)
    ).all():
        volume[SourceKind(kind)][int(index)] += int(n)
    board.charts["chart-intake-volume"] = _bar(
        board.months,
        [{"label": k.label, "data": v} for k, v in volume.items() if any(v)],
        stacked=True,
        y_title="signals received",
    )
    # The open queue by age: thresholds computed here, so the database compares plain timestamps.
    age = case(
        *((Signal.received_at > at - limit, label) for label, limit in AGE_BUCKETS if limit is not None),
        else_=AGE_BUCKETS[-1][0],
    )
    waiting = dict.fromkeys((label for label, _ in AGE_BUCKETS), 0)
    for label, n in session.execute(
        select(age, func.count())
        .where(Signal.org_id == org_id, Signal.state == TriageState.new, Signal.received_at <= at)
        .group_by(age)
    ).all():
        waiting[str(label)] += int(n)
    took = seconds_between(session, Signal.decided_at, Signal.received_at)
    speed = case(
        *((took < limit.total_seconds(), label) for label, limit in DECISION_BUCKETS if limit is not None),
        else_=DECISION_BUCKETS[-1][0],
    )
    decided = dict.fromkeys((label for label, _ in DECISION_BUCKETS), 0)
    for label, n in session.execute(
        select(speed, func.count())
        .where(
            Signal.org_id == org_id,
            Signal.decided_at.is_not(None),
            Signal.decided_at >= at - timedelta(days=90),
            Signal.decided_at <= at,
            Signal.state != TriageState.new,
        )
        .group_by(speed)
    ).all():
        decided[str(label)] += int(n)
    board.charts["chart-triage-age"] = _bar(
        list(waiting),
        [
            {"label": "Waiting for triage now", "data": list(waiting.values()), "backgroundColor": "--chart-3"},
        ],
        y_title="signals",
    )
    board.charts["chart-triage-speed"] = _bar(
        list(decided),
        [
            {"label": "Decided in the last 90 days", "data": list(decided.values()), "backgroundColor": "--chart-2"},
        ],
        y_title="signals",
    )
    board.series["intake_volume"] = {k.value: v for k, v in volume.items()}
    board.series["triage_waiting_by_age"] = waiting
    board.series["triage_decision_time_90d"] = decided
    board.stats.append(
        Stat(
            "Signals waiting for triage",
            str(sum(waiting.values())),
            f"{waiting[AGE_BUCKETS[-1][0]]} older than 30 days",
        )
    )


def build(session: Session, actor: Actor, at: datetime) -> Dashboard:
    """The actor's own org's dashboard for the 12 calendar months ending with the month of ``at``."""
    starts = month_starts(at, MONTHS)
    # Half-open buckets; the last one closes just after ``at`` so a row stamped exactly then counts.
    bounds = [*starts, at + timedelta(microseconds=1)]
    board = Dashboard(at=at, months=[s.strftime("%b %Y") for s in starts])
    _response_times(session, actor, starts[0], at, board)
    _deadlines(session, actor.org_id, bounds, at, board)
    _sharing(session, actor.org_id, bounds, board)
    _intake(session, actor.org_id, bounds, at, board)
    return board
