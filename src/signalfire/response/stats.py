"""The read side at scale: the open-incident board and response-time metrics.

Both are single queries that start from the policy and use the board/metrics indexes on
``response_incident``. Metrics follow ``metrics`` exactly (first time each milestone was reached,
measured from awareness; a later status counts as reaching the earlier ones; drills excluded;
median as the mean of the middle two, p90 by nearest rank). On PostgreSQL the summaries are
computed in the database (percentile_cont / percentile_disc with GROUPING SETS), so no row leaves the
database; elsewhere the rows are summarised in Python by the pure module. Figures:
docs/benchmarks.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select, text
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import User
from signalfire.access.policy.response import incident_predicate, readable_incidents, reads_every_org_incident
from signalfire.response import metrics, rollup
from signalfire.response.models import Incident, IncidentParticipant, ResponseAction
from signalfire.response.vocab import ActionStatus, IncidentStatus, ParticipantRole, RiskDomain, Severity

BOARD_LIMIT = 200
_OPEN_ACTIONS = tuple(s for s in ActionStatus if s.is_open)


@dataclass(frozen=True)
class BoardRow:
    incident: Incident
    commander: str | None
    open_actions: int
    next_target_at: datetime | None


def board(session: Session, actor: Actor, *, include_drills: bool = True, limit: int = BOARD_LIMIT) -> list[BoardRow]:
    """The actor's open incidents (not closed), most severe first, then oldest awareness first, with the
    current commander, the number of open actions and the nearest open action target."""
    commander = (
        select(User.display_name)
        .join(IncidentParticipant, IncidentParticipant.user_id == User.id)
        .where(
            IncidentParticipant.incident_id == Incident.id,
            IncidentParticipant.role == ParticipantRole.COMMANDER,
            IncidentParticipant.renounced_at.is_(None),
        )
        .limit(1)
        .correlate(Incident)
        .scalar_subquery()
    )
    open_actions = (
        select(func.count())
        .select_from(ResponseAction)
        .where(ResponseAction.incident_id == Incident.id, ResponseAction.status.in_(_OPEN_ACTIONS))
        .correlate(Incident)
        .scalar_subquery()
    )
    next_target = (
        select(func.min(ResponseAction.target_at))
        .where(ResponseAction.incident_id == Incident.id, ResponseAction.status.in_(_OPEN_ACTIONS))
        .correlate(Incident)
        .scalar_subquery()
    )
    stmt = (
        readable_incidents(actor)
        .add_columns(commander, open_actions, next_target)
        .where(Incident.status != IncidentStatus.CLOSED)  # matches the partial index's predicate
        .order_by(Incident.severity, Incident.aware_at, Incident.id)
        .limit(limit)
    )
    if not include_drills:
        stmt = stmt.where(Incident.is_drill.is_(False))
    return [BoardRow(inc, cmd, int(n or 0), nxt) for inc, cmd, n, nxt in session.execute(stmt).all()]


# -- metrics -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricsResult:
    """Summaries over incidents the org became aware of in ``[start, end)``. ``approximate`` when they
    come from the sketches (``rollup``): each median and p90 within ``rollup.RELATIVE_ACCURACY`` (or one
    second) of the exact figure; counts are exact either way."""

    start: datetime
    end: datetime
    overall: dict[metrics.Measure, metrics.Summary]
    by_severity: dict[Severity, dict[metrics.Measure, metrics.Summary]]
    by_domain: dict[RiskDomain, dict[metrics.Measure, metrics.Summary]]
    drills_excluded: int
    inconsistent: int
    approximate: bool = False


_MILESTONE_COLUMNS = {
    metrics.Measure.ACKNOWLEDGE: ("triaged_at", "contained_at", "mitigated_at", "resolved_at", "closed_at"),
    metrics.Measure.CONTAIN: ("contained_at", "mitigated_at", "resolved_at", "closed_at"),
    metrics.Measure.MITIGATE: ("mitigated_at", "resolved_at", "closed_at"),
    metrics.Measure.RESOLVE: ("resolved_at", "closed_at"),
}


def _org_scope(actor: Actor, start: datetime, end: datetime) -> Any:
    """The incidents metrics cover: the actor's own org only (never an external participant's view),
    aware within [start, end)."""
    return and_(
        incident_predicate(actor),
        Incident.org_id == actor.org_id,
        Incident.aware_at >= start,
        Incident.aware_at < end,
    )


# Up to this many incidents in the window the figures are exact (one sort per measure and grouping, about
# 15 ms for 2,000 on PostgreSQL here); above it they come from the sketches, whose cost does not grow with
# the number of incidents. docs/benchmarks.md has both.
EXACT_LIMIT = 2_000


def response_metrics(
    session: Session, actor: Actor, start: datetime, end: datetime, *, exact_limit: int | None = None
) -> MetricsResult:
    """Time to acknowledge, contain, mitigate and resolve for the actor's org, overall, per severity and
    per risk domain, drills excluded."""
    if reads_every_org_incident(actor):
        counts = rollup.window_counts(session, actor.org_id, start, end)
        if rollup.incident_count(counts) > (EXACT_LIMIT if exact_limit is None else exact_limit):
            s = rollup.summaries(counts)
            return MetricsResult(
                start, end, s.overall, s.by_severity, s.by_domain, s.drills, s.inconsistent, approximate=True
            )
    if session.get_bind().dialect.name == "postgresql":
        return _metrics_postgres(session, actor, start, end)
    return _metrics_python(session, actor, start, end)


_TRANSITION_STATUSES = (
    IncidentStatus.TRIAGED,
    IncidentStatus.CONTAINED,
    IncidentStatus.MITIGATED,
    IncidentStatus.RESOLVED,
    IncidentStatus.CLOSED,
)


def _metrics_python(session: Session, actor: Actor, start: datetime, end: datetime) -> MetricsResult:
    cols = (
        Incident.severity,
        Incident.risk_domain,
        Incident.aware_at,
        Incident.is_drill,
        Incident.triaged_at,
        Incident.contained_at,
        Incident.mitigated_at,
        Incident.resolved_at,
        Incident.closed_at,
    )
    rows = session.execute(select(*cols).where(_org_scope(actor, start, end))).all()
    timelines = []
    for sev, dom, aware, drill, *times in rows:
        transitions = [(status, at) for status, at in zip(_TRANSITION_STATUSES, times, strict=True) if at is not None]
        timelines.append(metrics.IncidentTimeline(sev, dom, aware, transitions, drill=drill))
    r = metrics.response_metrics(timelines)
    return MetricsResult(start, end, r.overall, r.by_severity, r.by_domain, r.drills_excluded, len(r.inconsistent))


def _seconds(col: Any, aware: Any) -> Any:
    # date_part gives double precision; extract() gives numeric, which sorts more slowly.
    return func.date_part("epoch", col - aware)


def _metrics_postgres(session: Session, actor: Actor, start: datetime, end: datetime) -> MetricsResult:
    """One query: per-incident durations (NULL for drills and for incidents whose milestones precede
    awareness, so the aggregates skip them), then count/median/p90 per measure for the whole set, per
    severity and per domain (GROUPING SETS), and the counts of what was left out."""
    reached = {m: func.least(*(getattr(Incident, c) for c in cols)) for m, cols in _MILESTONE_COLUMNS.items()}
    consistent = func.coalesce(reached[metrics.Measure.ACKNOWLEDGE] >= Incident.aware_at, True)
    counted = and_(Incident.is_drill.is_(False), consistent)
    base = (
        select(
            Incident.severity.label("sev"),
            Incident.risk_domain.label("dom"),
            Incident.is_drill.label("drill"),
            consistent.label("ok"),
            *(case((counted, _seconds(reached[m], Incident.aware_at))).label(m.name.lower()) for m in metrics.Measure),
        )
        .where(_org_scope(actor, start, end))
        .subquery()
    )
    aggregates = []
    for m in metrics.Measure:
        col = base.c[m.name.lower()]
        aggregates += [
            func.count(col).label(f"{m.name.lower()}_n"),
            func.percentile_cont(0.5).within_group(col).label(f"{m.name.lower()}_med"),
            func.percentile_disc(0.9).within_group(col).label(f"{m.name.lower()}_p90"),
        ]
    grouping = func.grouping(base.c.sev, base.c.dom).label("g")
    drills = func.count().filter(base.c.drill.is_(True)).label("drills")
    inconsistent = func.count().filter(and_(base.c.drill.is_(False), base.c.ok.is_(False))).label("bad")
    stmt = select(base.c.sev, base.c.dom, grouping, drills, inconsistent, *aggregates).group_by(
        text("GROUPING SETS ((), (sev), (dom))")
    )
    overall: dict[metrics.Measure, metrics.Summary] = {}
    by_sev: dict[Severity, dict[metrics.Measure, metrics.Summary]] = {}
    by_dom: dict[RiskDomain, dict[metrics.Measure, metrics.Summary]] = {}
    drill_count = bad_count = 0
    for row in session.execute(stmt).mappings():
        summaries = {}
        for m in metrics.Measure:
            n = int(row[f"{m.name.lower()}_n"])
            if n:
                summaries[m] = metrics.Summary(
                    n,
                    timedelta(seconds=float(row[f"{m.name.lower()}_med"])),
                    timedelta(seconds=float(row[f"{m.name.lower()}_p90"])),
                )
        if row["g"] == 3:  # the grand total (both columns rolled up)
            overall, drill_count, bad_count = summaries, int(row["drills"]), int(row["bad"])
        elif row["g"] == 1 and summaries:  # grouped by severity (domain rolled up)
            by_sev[Severity(row["sev"])] = summaries
        elif row["g"] == 2 and summaries:
            by_dom[RiskDomain(row["dom"])] = summaries
    return MetricsResult(start, end, overall, by_sev, by_dom, drill_count, bad_count)


def summary_seconds(summary: metrics.Summary) -> dict[str, float]:
    return {
        "count": summary.count,
        "median_seconds": summary.median.total_seconds(),
        "p90_seconds": summary.p90.total_seconds(),
    }


def default_window(now: datetime, days: int = 365) -> tuple[datetime, datetime]:
    return now - timedelta(days=days), now + timedelta(seconds=1)
