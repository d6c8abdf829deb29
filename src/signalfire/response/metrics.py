"""Response-time metrics from incident transition timestamps.

Every duration is measured from the moment the org became aware of the incident, the instant
regulatory clocks start from, to the first time the incident reached a milestone:

* acknowledge: triaged;
* contain: contained;
* mitigate: mitigated;
* resolve: resolved.

Reaching a later status counts as reaching the earlier ones (an incident resolved straight from
triage, with a reason, was contained by then at the latest). Only the first time counts, so a
reopened incident keeps its original times. Drills are excluded. An incident whose timestamps
contradict each other (a milestone before awareness) is left out and counted, never silently
folded into the figures.

Summaries give the count, the median (the mean of the two middle values for an even count) and
the 90th percentile by nearest rank (an observed value: the smallest one that at least 90% of
the values do not exceed).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from signalfire.response.vocab import IncidentStatus, RiskDomain, Severity

K = TypeVar("K", bound=Hashable)


class Measure(StrEnum):
    """The response times measured, each ending at a lifecycle milestone."""

    ACKNOWLEDGE = "time_to_acknowledge"
    CONTAIN = "time_to_contain"
    MITIGATE = "time_to_mitigate"
    RESOLVE = "time_to_resolve"

    @property
    def milestone(self) -> IncidentStatus:
        return _MILESTONES[self]

    @property
    def label(self) -> str:
        return _LABELS[self]


_MILESTONES: dict[Measure, IncidentStatus] = {
    Measure.ACKNOWLEDGE: IncidentStatus.TRIAGED,
    Measure.CONTAIN: IncidentStatus.CONTAINED,
    Measure.MITIGATE: IncidentStatus.MITIGATED,
    Measure.RESOLVE: IncidentStatus.RESOLVED,
}

_LABELS: dict[Measure, str] = {
    Measure.ACKNOWLEDGE: "Time to acknowledge",
    Measure.CONTAIN: "Time to contain",
    Measure.MITIGATE: "Time to mitigate",
    Measure.RESOLVE: "Time to resolve",
}


@dataclass(frozen=True)
class IncidentTimeline:
    """The facts metrics need about one incident: its transitions as (status entered, time)."""

    severity: Severity
    domain: RiskDomain
    aware_at: datetime
    transitions: Sequence[tuple[IncidentStatus, datetime]]
    drill: bool = False


def incident_durations(timeline: IncidentTimeline) -> dict[Measure, timedelta]:
    """Each measure this incident has reached, from awareness to the milestone.

    Raises ValueError if a milestone precedes awareness (the caller's data is inconsistent).
    """
    result: dict[Measure, timedelta] = {}
    for measure in Measure:
        reached = [at for status, at in timeline.transitions if status.order >= measure.milestone.order]
        if reached:
            duration = min(reached) - timeline.aware_at
            if duration < timedelta(0):
                raise ValueError(f"{measure.label} is negative: a milestone precedes awareness")
            result[measure] = duration
    return result


@dataclass(frozen=True)
class Summary:
    count: int
    median: timedelta
    p90: timedelta


def summarise(values: Iterable[timedelta]) -> Summary | None:
    """Count, median and nearest-rank p90 of ``values``; None when there are none."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return None
    middle = n // 2
    median = ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return Summary(n, median, ordered[math.ceil(0.9 * n) - 1])


@dataclass(frozen=True)
class ResponseMetrics:
    """Summaries per measure, overall and per group. A measure with no data is absent."""

    overall: dict[Measure, Summary]
    by_severity: dict[Severity, dict[Measure, Summary]]
    by_domain: dict[RiskDomain, dict[Measure, Summary]]
    drills_excluded: int = 0
    inconsistent: list[int] = field(default_factory=list)
    """Positions (in the input) of incidents left out because their timestamps contradict."""


def _group(
    rows: list[tuple[IncidentTimeline, dict[Measure, timedelta]]], key: Callable[[IncidentTimeline], K]
) -> dict[K, dict[Measure, Summary]]:
    grouped: dict[K, list[dict[Measure, timedelta]]] = {}
    for timeline, durations in rows:
        grouped.setdefault(key(timeline), []).append(durations)
    return {k: _summaries(v) for k, v in grouped.items()}


def _summaries(rows: list[dict[Measure, timedelta]]) -> dict[Measure, Summary]:
    out = {}
    for measure in Measure:
        summary = summarise(row[measure] for row in rows if measure in row)
        if summary is not None:
            out[measure] = summary
    return out


def response_metrics(timelines: Iterable[IncidentTimeline]) -> ResponseMetrics:
    """Summaries of every measure over the non-drill incidents, overall, per severity, per domain."""
    rows: list[tuple[IncidentTimeline, dict[Measure, timedelta]]] = []
    drills = 0
    inconsistent = []
    for position, timeline in enumerate(timelines):
        if timeline.drill:
            drills += 1
            continue
        try:
            rows.append((timeline, incident_durations(timeline)))
        except ValueError:
            inconsistent.append(position)
    return ResponseMetrics(
        overall=_summaries([durations for _, durations in rows]),
        by_severity=_group(rows, lambda t: t.severity),
        by_domain=_group(rows, lambda t: t.domain),
        drills_excluded=drills,
        inconsistent=inconsistent,
    )
