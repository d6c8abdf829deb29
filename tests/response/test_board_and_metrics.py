"""The open-incident board and the metrics queries against the database, on SQLite and PostgreSQL.

The database figures must equal what the pure ``metrics`` module computes from the same facts.
"""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.core.clock import utcnow
from signalfire.response import actions, metrics, service, stats
from signalfire.response.models import Incident
from signalfire.response.schemas import ActionCreate, ParticipantIn, TransitionIn
from signalfire.response.vocab import ActionKind, IncidentStatus, ParticipantRole, RiskDomain, Severity
from tests import factories
from tests.response import factories as rf

PATH = [
    IncidentStatus.TRIAGED,
    IncidentStatus.CONTAINED,
    IncidentStatus.MITIGATED,
    IncidentStatus.RESOLVED,
    IncidentStatus.CLOSED,
]


def _history(db: Session, actor: Actor, rng: random.Random, n: int) -> list[Incident]:
    now = utcnow()
    made = []
    for k in range(n):
        aware = now - timedelta(days=rng.randint(2, 300), minutes=rng.randint(0, 1000))
        inc = rf.incident(
            db,
            actor,
            aware_at=aware,
            severity=rng.choice(list(Severity)),
            risk_domain=rng.choice(list(RiskDomain)),
            is_drill=k % 7 == 0,
        )
        at = aware
        for status in PATH[: rng.randint(0, len(PATH))]:
            at = at + timedelta(minutes=rng.randint(1, 600))
            if at > now:
                break
            skip = rng.random() < 0.15 and status is IncidentStatus.MITIGATED
            if skip:
                continue  # resolved next, skipping mitigation, with a reason
            reason = "skipped" if (status is IncidentStatus.RESOLVED and inc.mitigated_at is None) else None
            service.change_status(db, actor, inc, TransitionIn(status=status, at=at, reason=reason))
        made.append(inc)
    return made


def _pure(incidents: list[Incident]) -> metrics.ResponseMetrics:
    timelines = [
        metrics.IncidentTimeline(
            i.severity,
            i.risk_domain,
            i.aware_at,
            [(s, i.transition_time(s)) for s in PATH if i.transition_time(s)],  # type: ignore[misc]
            drill=i.is_drill,
        )
        for i in incidents
    ]
    return metrics.response_metrics(timelines)


def _close(a: dict[metrics.Measure, metrics.Summary], b: dict[metrics.Measure, metrics.Summary]) -> None:
    assert a.keys() == b.keys()
    for m in a:
        assert a[m].count == b[m].count, m
        assert abs((a[m].median - b[m].median).total_seconds()) < 0.01, m
        assert abs((a[m].p90 - b[m].p90).total_seconds()) < 0.01, m


def test_database_metrics_equal_the_pure_rules(db: Session) -> None:
    admin = factories.actor(db)
    incidents = _history(db, admin, random.Random(7), 60)
    rf.incident(db, factories.actor(db))  # another org's incident never counts
    now = utcnow()
    got = stats.response_metrics(db, admin, now - timedelta(days=365), now + timedelta(seconds=1))
    want = _pure(incidents)
    _close(got.overall, want.overall)
    assert got.by_severity.keys() == want.by_severity.keys()
    for sev in want.by_severity:
        _close(got.by_severity[sev], want.by_severity[sev])
    for dom in want.by_domain:
        _close(got.by_domain[dom], want.by_domain[dom])
    assert got.drills_excluded == want.drills_excluded == sum(1 for i in incidents if i.is_drill)


def test_metrics_window_and_drills(db: Session) -> None:
    admin = factories.actor(db)
    now = utcnow()
    real = rf.incident(db, admin, aware_at=now - timedelta(hours=3))
    service.change_status(db, admin, real, TransitionIn(status=IncidentStatus.TRIAGED, at=now - timedelta(hours=2)))
    drill = rf.incident(db, admin, aware_at=now - timedelta(hours=3), is_drill=True)
    service.change_status(db, admin, drill, TransitionIn(status=IncidentStatus.TRIAGED, at=now - timedelta(hours=1)))
    r = stats.response_metrics(db, admin, now - timedelta(days=1), now + timedelta(seconds=1))
    assert r.overall[metrics.Measure.ACKNOWLEDGE].count == 1
    assert r.overall[metrics.Measure.ACKNOWLEDGE].median == timedelta(hours=1)
    assert r.drills_excluded == 1
    empty = stats.response_metrics(db, admin, now - timedelta(days=30), now - timedelta(days=1))
    assert empty.overall == {} and empty.drills_excluded == 0


def test_board_lists_open_incidents_most_severe_first_with_commander_and_actions(db: Session) -> None:
    admin = factories.actor(db)
    now = utcnow()
    low = rf.incident(db, admin, severity=Severity.SEV3, aware_at=now - timedelta(hours=5), title="Low")
    high = rf.incident(db, admin, severity=Severity.SEV1, aware_at=now - timedelta(hours=1), title="High")
    done = rf.incident(db, admin, severity=Severity.SEV1, aware_at=now - timedelta(hours=9), title="Done")
    service.change_status(db, admin, done, TransitionIn(status=IncidentStatus.CLOSED, reason="duplicate"))
    service.add_participant(db, admin, high, ParticipantIn(role=ParticipantRole.COMMANDER, email=admin.email))
    actions.create_action(db, admin, high, ActionCreate(kind=ActionKind.OTHER, title="Look", target_minutes=30))
    rows = stats.board(db, admin)
    assert [r.incident.title for r in rows] == ["High", "Low"]
    assert rows[0].commander == admin.display_name and rows[0].open_actions == 1
    assert rows[0].next_target_at is not None and rows[1].commander is None
    assert stats.board(db, factories.actor(db)) == []
    assert low.id in {r.incident.id for r in rows}
