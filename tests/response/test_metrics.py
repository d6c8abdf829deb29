"""Response-time metrics from transition timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from signalfire.response.metrics import (
    IncidentTimeline,
    Measure,
    Summary,
    incident_durations,
    response_metrics,
    summarise,
)
from signalfire.response.vocab import IncidentStatus, RiskDomain, Severity

S = IncidentStatus
MIN = timedelta(minutes=1)
AWARE = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)


def timeline(
    *steps: tuple[IncidentStatus, int],
    severity: Severity = Severity.SEV2,
    domain: RiskDomain = RiskDomain.MISUSE,
    drill: bool = False,
) -> IncidentTimeline:
    """An incident aware at AWARE whose transitions happen ``minutes`` after it."""
    return IncidentTimeline(
        severity, domain, AWARE, [(status, AWARE + minutes * MIN) for status, minutes in steps], drill
    )


FULL = timeline((S.REPORTED, -30), (S.TRIAGED, 10), (S.CONTAINED, 50), (S.MITIGATED, 120), (S.RESOLVED, 600))


def test_durations_run_from_awareness_to_each_milestone() -> None:
    assert incident_durations(FULL) == {
        Measure.ACKNOWLEDGE: 10 * MIN,
        Measure.CONTAIN: 50 * MIN,
        Measure.MITIGATE: 120 * MIN,
        Measure.RESOLVE: 600 * MIN,
    }


def test_a_skipped_milestone_is_reached_with_the_later_status() -> None:
    skipped = timeline((S.TRIAGED, 5), (S.RESOLVED, 40))
    durations = incident_durations(skipped)
    assert durations[Measure.CONTAIN] == durations[Measure.MITIGATE] == durations[Measure.RESOLVE] == 40 * MIN


def test_a_reopened_incident_keeps_its_first_times() -> None:
    reopened = timeline((S.TRIAGED, 5), (S.CONTAINED, 20), (S.TRIAGED, 60), (S.CONTAINED, 90))
    assert incident_durations(reopened) == {Measure.ACKNOWLEDGE: 5 * MIN, Measure.CONTAIN: 20 * MIN}


def test_an_open_incident_has_only_the_milestones_it_reached() -> None:
    assert incident_durations(timeline((S.REPORTED, 0))) == {}


def test_a_milestone_before_awareness_is_rejected() -> None:
    with pytest.raises(ValueError, match="precedes awareness"):
        incident_durations(timeline((S.TRIAGED, -1)))


def test_summary_median_and_nearest_rank_p90() -> None:
    assert summarise([]) is None
    assert summarise([7 * MIN]) == Summary(1, 7 * MIN, 7 * MIN)
    # 1..10 minutes: the median is between the 5th and 6th, p90 the 9th value.
    assert summarise([n * MIN for n in (10, 3, 1, 8, 2, 9, 4, 7, 6, 5)]) == Summary(10, 5.5 * MIN, 9 * MIN)
    # 1..11 minutes: ceil(9.9) = 10th value.
    assert summarise([n * MIN for n in range(1, 12)]) == Summary(11, 6 * MIN, 10 * MIN)


def test_aggregation_per_severity_and_domain_excludes_drills_and_inconsistent_data() -> None:
    incidents = [
        timeline((S.TRIAGED, 10), (S.CONTAINED, 30), severity=Severity.SEV1, domain=RiskDomain.CBRN),
        timeline((S.TRIAGED, 20), severity=Severity.SEV1, domain=RiskDomain.MISUSE),
        timeline((S.TRIAGED, 1), (S.CONTAINED, 2), severity=Severity.SEV1, domain=RiskDomain.CBRN, drill=True),
        timeline((S.TRIAGED, 40), (S.CONTAINED, 100), severity=Severity.SEV3, domain=RiskDomain.CBRN),
        timeline((S.TRIAGED, -5), severity=Severity.SEV3, domain=RiskDomain.CBRN),
    ]
    metrics = response_metrics(incidents)
    assert metrics.drills_excluded == 1
    assert metrics.inconsistent == [4]
    assert metrics.overall[Measure.ACKNOWLEDGE] == Summary(3, 20 * MIN, 40 * MIN)
    assert metrics.overall[Measure.CONTAIN] == Summary(2, 65 * MIN, 100 * MIN)
    assert Measure.RESOLVE not in metrics.overall
    assert metrics.by_severity[Severity.SEV1][Measure.ACKNOWLEDGE] == Summary(2, 15 * MIN, 20 * MIN)
    assert metrics.by_severity[Severity.SEV1][Measure.CONTAIN] == Summary(1, 30 * MIN, 30 * MIN)
    assert set(metrics.by_severity) == {Severity.SEV1, Severity.SEV3}
    assert metrics.by_domain[RiskDomain.CBRN][Measure.CONTAIN] == Summary(2, 65 * MIN, 100 * MIN)
    assert Measure.CONTAIN not in metrics.by_domain[RiskDomain.MISUSE]


def test_measure_labels_and_milestones() -> None:
    assert [m.milestone for m in Measure] == [S.TRIAGED, S.CONTAINED, S.MITIGATED, S.RESOLVED]
    assert Measure.CONTAIN.label == "Time to contain"
