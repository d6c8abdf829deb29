"""Opening incidents, references, the timeline and status changes against the database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from signalfire.access.models import Role
from signalfire.core.clock import utcnow
from signalfire.core.errors import Conflict, Forbidden, ValidationFailed
from signalfire.response import service
from signalfire.response.models import TimelineKind
from signalfire.response.schemas import IncidentCreate, TransitionIn
from signalfire.response.vocab import IncidentStatus, RiskDomain, Severity
from tests import factories
from tests.response import factories as rf


def test_references_count_per_org_and_year(db: Session) -> None:
    a = factories.actor(db)
    b = factories.actor(db)
    year = utcnow().year
    first, second = rf.incident(db, a), rf.incident(db, a)
    other = rf.incident(db, b)
    assert first.reference == f"INC-{year}-0001"
    assert second.reference == f"INC-{year}-0002"
    assert other.reference == f"INC-{year}-0001"
    entries = service.timeline(db, first)
    assert [e.kind for e in entries] == [TimelineKind.STATUS_CHANGE]


def test_unknown_model_version_is_refused_and_nothing_is_stored(db: Session) -> None:
    a = factories.actor(db)
    rf.model_version(db, a, "aurora-large", "3.2")
    with pytest.raises(ValidationFailed) as err:
        rf.incident(db, a, affected_models=["aurora-large 3.2", "aurora-large 9.9"])
    assert err.value.errors[0].field == "affected_models[1]"
    ok = rf.incident(db, a, affected_models=["aurora-large 3.2"])
    assert ok.affected_models == ["aurora-large 3.2"]
    assert ok.reference.endswith("-0001")


def test_awareness_in_the_future_is_refused(db: Session) -> None:
    a = factories.actor(db)
    with pytest.raises(ValidationFailed) as err:
        rf.incident(db, a, aware_at=utcnow() + timedelta(hours=1))
    assert err.value.errors[0].field == "aware_at"


def test_viewer_cannot_open_an_incident(db: Session) -> None:
    v = factories.actor(db, role=Role.viewer)
    with pytest.raises(Forbidden):
        service.create_incident(
            db,
            v,
            IncidentCreate(title="x" * 5, severity=Severity.SEV1, risk_domain=RiskDomain.CBRN, aware_at=utcnow()),
        )


def test_status_rules_apply_and_times_are_recorded_once(db: Session) -> None:
    a = factories.actor(db)
    aware = utcnow() - timedelta(hours=5)
    inc = rf.incident(db, a, aware_at=aware)
    with pytest.raises(ValidationFailed):  # resolving before containing needs a reason
        service.change_status(db, a, inc, TransitionIn(status=IncidentStatus.RESOLVED))
    with pytest.raises(ValidationFailed):  # before awareness
        service.change_status(db, a, inc, TransitionIn(status=IncidentStatus.TRIAGED, at=aware - timedelta(1)))
    assert inc.status is IncidentStatus.REPORTED and inc.triaged_at is None
    t1 = aware + timedelta(minutes=10)
    service.change_status(db, a, inc, TransitionIn(status=IncidentStatus.TRIAGED, at=t1))
    service.change_status(db, a, inc, TransitionIn(status=IncidentStatus.CONTAINED, at=t1 + timedelta(hours=1)))
    service.change_status(
        db,
        a,
        inc,
        TransitionIn(status=IncidentStatus.TRIAGED, reason="filter bypassed", at=t1 + timedelta(hours=2)),
    )
    assert inc.contained_at == t1 + timedelta(hours=1)  # first time kept
    with pytest.raises(Conflict):
        service.change_status(db, a, inc, TransitionIn(status=IncidentStatus.TRIAGED))
    kinds = [e.kind for e in service.timeline(db, inc)]
    assert kinds.count(TimelineKind.STATUS_CHANGE) == 4
