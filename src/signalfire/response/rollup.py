"""Pre-aggregated response times, so metrics over years of incidents answer in milliseconds.

Exact medians need every duration sorted: fine for a few thousand incidents, about a second for
100,000 (docs/benchmarks.md). So each org keeps, per UTC calendar day, month and year of awareness, a
sketch: counts of durations in logarithmic buckets (bucket i holds (GAMMA**(i-1), GAMMA**i] seconds),
per measure, for all incidents, per severity and per risk domain, plus counts of incidents, drills and
incidents with contradictory times. A window is covered by whole years, months and days (a few dozen
rows), the partial days at its edges are read from the incidents, and the merged counts give each
median and 90th percentile to within RELATIVE_ACCURACY of the exact figure (or one second). This is the
idea of DDSketch (Masson et al., VLDB 2019), with fixed buckets so sketches merge by adding counts.

Sketches follow every insert, update and delete of an incident through the ORM (mapper events below, in
the same transaction): each change appends a small row with its difference, so an incident write costs
one INSERT and takes no lock; the periodic job ``response.rollup_compact`` folds a period's rows into one,
and readers add up whatever rows there are. Writes that bypass the ORM (a bulk load) must call
``rebuild``, as ``signalfire response metrics-rebuild`` does. Storage: a sparse pair of int32 arrays
(slot, count) per row; counts in a difference row may be negative.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy import and_, delete, event, func, insert, inspect, or_, select, true, tuple_
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper, Session

from signalfire.core.db.base import new_id
from signalfire.response import metrics
from signalfire.response.models import Incident, MetricRollup
from signalfire.response.vocab import IncidentStatus, RiskDomain, Severity

log = logging.getLogger(__name__)

LAYOUT = 1  # stored with each row; a new layout is a migration that rebuilds
GAMMA = 1.02
RELATIVE_ACCURACY = (GAMMA - 1) / (GAMMA + 1)  # 0.99%
BUCKETS = 1024  # GAMMA**1023 s is about 20 years; longer durations share the last bucket
MEASURES = tuple(metrics.Measure)
SEVERITIES = tuple(Severity)
DOMAINS = tuple(RiskDomain)
GROUPS = 1 + len(SEVERITIES) + len(DOMAINS)  # all, then each severity, then each domain
DURATION_SLOTS = len(MEASURES) * GROUPS * BUCKETS
INCIDENTS, DRILLS, INCONSISTENT = DURATION_SLOTS, DURATION_SLOTS + 1, DURATION_SLOTS + 2
SLOTS = DURATION_SLOTS + 3
_LOG_GAMMA = math.log(GAMMA)
# What each bucket reports: the point whose relative distance to both ends is equal (DDSketch).
_REPRESENTATIVE = np.array([0.0] + [2 * GAMMA**i / (GAMMA + 1) for i in range(1, BUCKETS)])

# The incident columns a sketch depends on; a change to any other column leaves the sketches alone.
TRACKED = (
    "org_id",
    "severity",
    "risk_domain",
    "aware_at",
    "is_drill",
    "triaged_at",
    "contained_at",
    "mitigated_at",
    "resolved_at",
    "closed_at",
)
_TRANSITIONS = (
    ("triaged_at", IncidentStatus.TRIAGED),
    ("contained_at", IncidentStatus.CONTAINED),
    ("mitigated_at", IncidentStatus.MITIGATED),
    ("resolved_at", IncidentStatus.RESOLVED),
    ("closed_at", IncidentStatus.CLOSED),
)


class Grain:
    DAY, MONTH, YEAR = "day", "month", "year"


def bucket(seconds: float) -> int:
    """The bucket of a duration: 0 for up to one second, else ceil(log_GAMMA(seconds)), capped."""
    if seconds <= 1.0:
        return 0
    return min(BUCKETS - 1, math.ceil(math.log(seconds) / _LOG_GAMMA - 1e-12))


def _slot(measure: int, group: int, b: int) -> int:
    return (measure * GROUPS + group) * BUCKETS + b


@dataclass(frozen=True)
class Facts:
    """What one incident contributes, as the tracked columns hold it."""

    org_id: uuid.UUID
    severity: Severity
    domain: RiskDomain
    aware_at: datetime
    drill: bool
    times: tuple[datetime | None, ...]  # in _TRANSITIONS order

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> Facts | None:
        """From column values; None while the incident lacks what a sketch needs (never stored so)."""
        if values.get("org_id") is None or values.get("aware_at") is None or values.get("severity") is None:
            return None
        return cls(
            org_id=values["org_id"],
            severity=Severity(values["severity"]),
            domain=RiskDomain(values["risk_domain"]),
            aware_at=values["aware_at"].astimezone(UTC),
            drill=bool(values.get("is_drill")),
            times=tuple(values.get(name) for name, _ in _TRANSITIONS),
        )

    def periods(self) -> tuple[tuple[str, date], ...]:
        day = self.aware_at.date()
        return (Grain.DAY, day), (Grain.MONTH, day.replace(day=1)), (Grain.YEAR, day.replace(month=1, day=1))

    def slots(self) -> list[int]:
        """The counters this incident adds one to (the same rule as ``metrics.response_metrics``)."""
        if self.drill:
            return [DRILLS]
        timeline = metrics.IncidentTimeline(
            self.severity,
            self.domain,
            self.aware_at,
            [(status, at) for (_, status), at in zip(_TRANSITIONS, self.times, strict=True) if at is not None],
        )
        try:
            durations = metrics.incident_durations(timeline)
        except ValueError:
            return [INCIDENTS, INCONSISTENT]
        groups = (0, 1 + SEVERITIES.index(self.severity), 1 + len(SEVERITIES) + DOMAINS.index(self.domain))
        out = [INCIDENTS]
        for m, measure in enumerate(MEASURES):
            if measure in durations:
                b = bucket(durations[measure].total_seconds())
                out += [_slot(m, g, b) for g in groups]
        return out


Key = tuple[uuid.UUID, str, date]


def deltas(before: Facts | None, after: Facts | None) -> dict[Key, Counter[int]]:
    """Per (org, grain, period): the counter changes that turn ``before`` into ``after``."""
    out: dict[Key, Counter[int]] = defaultdict(Counter)
    if before == after:
        return {}
    for facts, sign in ((before, -1), (after, 1)):
        if facts is None:
            continue
        slots = facts.slots()
        for grain, period in facts.periods():
            counter = out[(facts.org_id, grain, period)]
            for s in slots:
                counter[s] += sign
    return {k: c for k, c in out.items() if any(c.values())}


# -- storage -------------------------------------------------------------------------------------------


def encode(dense: np.ndarray) -> bytes:
    slots = np.flatnonzero(dense).astype("<i4")
    return bytes(slots.tobytes() + dense[slots].astype("<i4").tobytes())


def encode_counter(counter: Mapping[int, int]) -> bytes:
    slots = sorted(s for s, n in counter.items() if n)
    return bytes(np.array(slots, dtype="<i4").tobytes() + np.array([counter[s] for s in slots], dtype="<i4").tobytes())


def decode(blob: bytes) -> tuple[np.ndarray, np.ndarray]:
    pairs = np.frombuffer(blob, dtype="<i4")
    half = len(pairs) // 2
    return pairs[:half], pairs[half:]


def apply(connection: Connection, changes: Mapping[Key, Counter[int]]) -> None:
    """Append ``changes`` as rows of their own: one INSERT, no row read or locked, so incident writes
    never queue on a busy period (``compact`` folds the rows later; readers add them all up)."""
    rows = [
        {
            "id": new_id(),
            "org_id": org_id,
            "grain": grain,
            "period": period,
            "layout": LAYOUT,
            "counts": encode_counter(counter),
        }
        for (org_id, grain, period), counter in changes.items()
        if any(counter.values())
    ]
    if rows:
        connection.execute(insert(MetricRollup), rows)


COMPACT_JOB = "response.rollup_compact"
COMPACT_BATCH = 500


def compact(session: Session, *, limit: int = COMPACT_BATCH) -> int:
    """Fold the rows of up to ``limit`` periods that have several into one each (a zero sum leaves none);
    returns the periods folded. Rows another compactor holds are skipped (PostgreSQL), never waited on."""
    many = session.execute(
        select(MetricRollup.org_id, MetricRollup.grain, MetricRollup.period)
        .group_by(MetricRollup.org_id, MetricRollup.grain, MetricRollup.period)
        .having(func.count() > 1)
        .limit(limit)
    ).all()
    folded = 0
    for org_id, grain, period in many:
        found = session.execute(
            select(MetricRollup.id, MetricRollup.counts)
            .where(MetricRollup.org_id == org_id, MetricRollup.grain == grain, MetricRollup.period == period)
            .with_for_update(skip_locked=True)
        ).all()
        if len(found) < 2:
            continue
        dense = np.zeros(SLOTS, dtype=np.int64)
        for _, blob in found:
            slots, counts = decode(blob)
            dense[slots] += counts
        if (dense < 0).any():  # only if incidents were written around the ORM without a rebuild
            hint = "run `signalfire response metrics-rebuild`"
            log.warning("metric rollup %s %s %s went negative; %s", org_id, grain, period, hint)
            dense[dense < 0] = 0
        session.execute(delete(MetricRollup).where(MetricRollup.id.in_([i for i, _ in found])))
        if dense.any():
            session.add(MetricRollup(org_id=org_id, grain=grain, period=period, layout=LAYOUT, counts=encode(dense)))
        folded += 1
    session.flush()
    return folded


_FACT_COLUMNS = tuple(getattr(Incident, name) for name in TRACKED)


def _facts_of(row: Any) -> Facts | None:
    return Facts.of(dict(zip(TRACKED, row, strict=True)))


def _facts_rows(session: Session, where: Any) -> Iterator[Facts]:
    # Not streamed: a server-side cursor on PostgreSQL costs round trips that a few edge rows do not repay.
    for row in session.execute(select(*_FACT_COLUMNS).where(where)):
        facts = _facts_of(row)
        if facts is not None:
            yield facts


REBUILD_BATCH = 10_000


def rebuild(
    session: Session,
    org_id: uuid.UUID | None = None,
    *,
    batch: int = REBUILD_BATCH,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Recompute the sketches of one org (or all) from the incidents; returns the incidents read into them
    (those with an org, awareness time and severity).

    ``progress(done, total)``, if given, is told how many incidents were read (counted or not): once before
    the first, after each ``batch`` (the rows streamed at a time) and after the last."""
    session.execute(delete(MetricRollup).where(MetricRollup.org_id == org_id) if org_id else delete(MetricRollup))
    where = Incident.org_id == org_id if org_id else true()
    total = 0
    if progress is not None:
        total = session.execute(select(func.count()).select_from(Incident).where(where)).scalar_one()
        progress(0, total)
    sketches: dict[Key, Counter[int]] = defaultdict(Counter)
    n = read = 0
    # Streamed (a server-side cursor on PostgreSQL): the incidents never sit in memory all at once.
    for row in session.execute(select(*_FACT_COLUMNS).where(where).execution_options(yield_per=batch)):
        if progress is not None and read and read % batch == 0:
            progress(read, max(total, read))
        read += 1
        facts = _facts_of(row)
        if facts is None:
            continue
        n += 1
        slots = facts.slots()
        for grain, period in facts.periods():
            sketches[(facts.org_id, grain, period)].update(slots)
    if progress is not None:
        progress(read, max(total, read))
    rows = [
        {
            "id": new_id(),
            "org_id": org,
            "grain": grain,
            "period": period,
            "layout": LAYOUT,
            "counts": encode_counter(counter),
        }
        for (org, grain, period), counter in sketches.items()
    ]
    for i in range(0, len(rows), 1_000):
        session.execute(insert(MetricRollup), rows[i : i + 1_000])
    return n


# -- reading a window ----------------------------------------------------------------------------------


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=UTC)


def cover(start: datetime, end: datetime) -> tuple[list[tuple[str, date]], list[tuple[datetime, datetime]]]:
    """Whole periods inside [start, end), largest first, and the partial-day edges left over."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    first = start.date() if start.timetz() == time(0, tzinfo=UTC) else start.date() + timedelta(days=1)
    last = end.date()  # exclusive: the day that ``end`` falls in is partial (or starts at ``end``)
    if first >= last:
        return [], [(start, end)] if start < end else []
    edges = [(a, b) for a, b in ((start, _midnight(first)), (_midnight(last), end)) if a < b]
    periods: list[tuple[str, date]] = []
    day = first
    while day < last:
        next_year = day.replace(year=day.year + 1) if (day.month, day.day) == (1, 1) else None
        next_month = (
            (day.replace(year=day.year + 1, month=1) if day.month == 12 else day.replace(month=day.month + 1))
            if day.day == 1
            else None
        )
        if next_year is not None and next_year <= last:
            periods.append((Grain.YEAR, day))
            day = next_year
        elif next_month is not None and next_month <= last:
            periods.append((Grain.MONTH, day))
            day = next_month
        else:
            periods.append((Grain.DAY, day))
            day += timedelta(days=1)
    return periods, edges


def window_counts(session: Session, org_id: uuid.UUID, start: datetime, end: datetime) -> np.ndarray:
    """The merged counters of the org's incidents aware in [start, end)."""
    periods, edges = cover(start, end)
    dense = np.zeros(SLOTS, dtype=np.int64)
    table = MetricRollup.__table__
    if periods:
        blobs = session.execute(
            select(table.c.counts).where(table.c.org_id == org_id, tuple_(table.c.grain, table.c.period).in_(periods))
        ).scalars()
        parts = [decode(b) for b in blobs]
        if parts:
            slots = np.concatenate([p[0] for p in parts])
            counts = np.concatenate([p[1] for p in parts])
            dense += np.bincount(slots, weights=counts, minlength=SLOTS).astype(np.int64)
    if edges:
        in_edges = or_(*(and_(Incident.aware_at >= a, Incident.aware_at < b) for a, b in edges))
        # Naming both drill values lets PostgreSQL range-scan ix_response_incident_metrics (org_id, is_drill,
        # aware_at); without it the org's every incident is read (30 ms against 0.6 ms at 100,000).
        both = Incident.is_drill.in_((False, True))
        extra = Counter[int]()
        for facts in _facts_rows(session, and_(Incident.org_id == org_id, both, in_edges)):
            extra.update(facts.slots())
        if extra:
            dense[list(extra)] += list(extra.values())
    return dense


def incident_count(counts: np.ndarray) -> int:
    """Non-drill incidents in the window."""
    return int(counts[INCIDENTS])


@dataclass(frozen=True)
class Summaries:
    overall: dict[metrics.Measure, metrics.Summary]
    by_severity: dict[Severity, dict[metrics.Measure, metrics.Summary]]
    by_domain: dict[RiskDomain, dict[metrics.Measure, metrics.Summary]]
    drills: int
    inconsistent: int


def _value(cumulative: np.ndarray, rank: int) -> float:
    """The representative value of the 0-based ``rank``-th smallest duration."""
    return float(_REPRESENTATIVE[int(np.searchsorted(cumulative, rank + 1))])


def summaries(counts: np.ndarray) -> Summaries:
    """Count, median (mean of the middle two) and nearest-rank p90 from merged counters, the same
    definitions as ``metrics.summarise`` applied to bucket representatives."""
    grid = counts[:DURATION_SLOTS].reshape(len(MEASURES), GROUPS, BUCKETS)
    cumulative = np.cumsum(grid, axis=2)
    per_group: list[dict[metrics.Measure, metrics.Summary]] = []
    for g in range(GROUPS):
        out = {}
        for m, measure in enumerate(MEASURES):
            cum = cumulative[m, g]
            n = int(cum[-1])
            if n == 0:
                continue
            middle = n // 2
            median = _value(cum, middle) if n % 2 else (_value(cum, middle - 1) + _value(cum, middle)) / 2
            p90 = _value(cum, math.ceil(0.9 * n) - 1)
            out[measure] = metrics.Summary(n, timedelta(seconds=median), timedelta(seconds=p90))
        per_group.append(out)
    sev = {s: per_group[1 + i] for i, s in enumerate(SEVERITIES) if per_group[1 + i]}
    dom = {d: per_group[1 + len(SEVERITIES) + i] for i, d in enumerate(DOMAINS) if per_group[1 + len(SEVERITIES) + i]}
    return Summaries(per_group[0], sev, dom, int(counts[DRILLS]), int(counts[INCONSISTENT]))


# -- keeping sketches in step with the ORM ---------------------------------------------------------------


def _current(target: Incident) -> Facts | None:
    return Facts.of({name: getattr(target, name) for name in TRACKED})


def _previous(target: Incident) -> Facts | None:
    state = inspect(target)
    values: dict[str, Any] = {}
    for name in TRACKED:
        history = state.attrs[name].history
        if not history.has_changes():
            values[name] = getattr(target, name)
        else:  # a change from NULL records nothing as deleted
            values[name] = history.deleted[0] if history.deleted else None
    return Facts.of(values)


def _changed(target: Incident) -> bool:
    state = inspect(target)
    return any(state.attrs[name].history.has_changes() for name in TRACKED)


def after_insert(mapper: Mapper[Any], connection: Connection, target: Incident) -> None:
    apply(connection, deltas(None, _current(target)))


def before_update(mapper: Mapper[Any], connection: Connection, target: Incident) -> None:
    # Before the row is written, while attribute history still holds the previous values.
    if _changed(target):
        apply(connection, deltas(_previous(target), _current(target)))


def after_delete(mapper: Mapper[Any], connection: Connection, target: Incident) -> None:
    apply(connection, deltas(_previous(target), None))


# Registered on import; ``response.models`` imports this module, so every process that maps incidents
# keeps the sketches.
for _name, _fn in (("after_insert", after_insert), ("before_update", before_update), ("after_delete", after_delete)):
    if not event.contains(Incident, _name, _fn):
        event.listen(Incident, _name, _fn)


__all__ = [
    "RELATIVE_ACCURACY",
    "Facts",
    "bucket",
    "cover",
    "deltas",
    "rebuild",
    "summaries",
    "window_counts",
]
