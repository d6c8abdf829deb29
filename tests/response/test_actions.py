"""Typed response actions: rollback against the inventory, the stage clock, closure rules, drills."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization
from signalfire.core.clock import utcnow
from signalfire.core.errors import Conflict, ValidationFailed
from signalfire.notify.models import OutboxJob
from signalfire.response import actions, service
from signalfire.response.models import Incident
from signalfire.response.schemas import ActionCreate, ActionProgress, TransitionIn
from signalfire.response.vocab import ActionKind, ActionStatus, IncidentStatus
from tests import factories
from tests.response import factories as rf

Setup = tuple[Actor, Incident]


@pytest.fixture()
def setup(db: Session) -> Setup:
    admin = factories.actor(db)
    rf.model_version(db, admin, "aurora-large", "3.1")
    rf.model_version(db, admin, "aurora-large", "3.2")
    rf.model_version(db, admin, "aurora-small", "2.0")
    inc = rf.incident(db, admin, aware_at=utcnow() - timedelta(hours=14), affected_models=["aurora-large 3.2"])
    return admin, inc


def _rollback(**kw: object) -> ActionCreate:
    base: dict[str, object] = {
        "kind": ActionKind.MODEL_ROLLBACK,
        "title": "Roll back 3.2",
        "from_version": "aurora-large 3.2",
        "to_version": "aurora-large 3.1",
    }
    base.update(kw)
    return ActionCreate.model_validate(base)


def test_rollback_gets_a_12_hour_target_and_its_clock_is_checked(db: Session, setup: Setup) -> None:
    admin, inc = setup
    now = utcnow()
    requested = now - timedelta(hours=13)
    a = actions.create_action(db, admin, inc, _rollback(requested_at=requested))
    assert a.target_at == requested + timedelta(hours=12)
    assert a.scope == ["api"]  # defaults to the surfaces of the version rolled back
    actions.progress_action(
        db, admin, inc, a, ActionProgress(status=ActionStatus.IN_PROGRESS, at=requested + timedelta(hours=1))
    )
    with pytest.raises(ValidationFailed):  # completed before started
        actions.progress_action(db, admin, inc, a, ActionProgress(status=ActionStatus.COMPLETED, at=requested))
    actions.progress_action(
        db, admin, inc, a, ActionProgress(status=ActionStatus.COMPLETED, at=requested + timedelta(hours=11))
    )
    with pytest.raises(ValidationFailed) as err:  # verification needs a method
        actions.progress_action(db, admin, inc, a, ActionProgress(status=ActionStatus.VERIFIED))
    assert err.value.errors[0].field == "verification"
    with pytest.raises(ValidationFailed) as err:  # the owner cannot verify their own rollback (four eyes)
        actions.progress_action(
            db, admin, inc, a, ActionProgress(status=ActionStatus.VERIFIED, verification="manifests pin 3.1")
        )
    assert (err.value.errors[0].field, a.status) == ("status", ActionStatus.COMPLETED)
    checker = factories.actor(db, organization=db.get(Organization, admin.org_id))
    actions.progress_action(
        db, checker, inc, a, ActionProgress(status=ActionStatus.VERIFIED, verification="manifests pin 3.1")
    )
    assert a.status is ActionStatus.VERIFIED and a.met_target is True and a.verified_by == checker.user_id
    with pytest.raises(Conflict):
        actions.progress_action(db, admin, inc, a, ActionProgress(status=ActionStatus.IN_PROGRESS))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"to_version": "aurora-large 9.9"}, "to_version"),  # unknown version
        ({"from_version": "aurora-huge 3.2"}, "from_version"),  # unknown model
        ({"to_version": "aurora-small 2.0"}, "to_version"),  # another model
        ({"to_version": "aurora-large 3.2"}, "to_version"),  # same version
        ({"to_version": None}, "to_version"),  # no target
        ({"requested_at": "2000-01-01T00:00:00Z"}, "requested_at"),  # before awareness
    ],
)
def test_bad_rollbacks_are_refused_and_nothing_is_stored(
    db: Session, setup: Setup, changes: dict[str, Any], field: str
) -> None:
    admin, inc = setup
    before = len(actions.list_actions(db, inc))
    with pytest.raises(ValidationFailed) as err:
        actions.create_action(db, admin, inc, _rollback(**changes))
    assert err.value.errors[0].field == field
    assert len(actions.list_actions(db, inc)) == before


def test_restriction_needs_a_capability_and_a_scope(db: Session, setup: Setup) -> None:
    admin, inc = setup
    with pytest.raises(ValidationFailed) as err:
        actions.create_action(
            db,
            admin,
            inc,
            ActionCreate(kind=ActionKind.CAPABILITY_RESTRICTION, title="Restrict", scope=["api"]),
        )
    assert err.value.errors[0].field == "capability"
    a = actions.create_action(
        db,
        admin,
        inc,
        ActionCreate(
            kind=ActionKind.CAPABILITY_RESTRICTION,
            title="Restrict",
            capability="browsing",
            scope=["consumer-app"],
            target_minutes=60,
        ),
    )
    assert a.target_at == a.requested_at + timedelta(hours=1)


def test_an_incident_with_open_actions_cannot_close(db: Session, setup: Setup) -> None:
    admin, inc = setup
    a = actions.create_action(db, admin, inc, ActionCreate(kind=ActionKind.OTHER, title="Check logs"))
    service.change_status(db, admin, inc, TransitionIn(status=IncidentStatus.RESOLVED, reason="false alarm"))
    with pytest.raises(Conflict) as err:
        service.change_status(db, admin, inc, TransitionIn(status=IncidentStatus.CLOSED))
    assert "open action" in err.value.detail
    assert inc.status is IncidentStatus.RESOLVED and inc.closed_at is None
    actions.progress_action(db, admin, inc, a, ActionProgress(status=ActionStatus.CANCELLED, note="not needed"))
    service.change_status(db, admin, inc, TransitionIn(status=IncidentStatus.CLOSED))
    assert inc.closed_at is not None
    with pytest.raises(Conflict):
        actions.create_action(db, admin, inc, ActionCreate(kind=ActionKind.OTHER, title="Too late"))


def _notice_jobs(db: Session) -> list[OutboxJob]:
    return list(db.execute(select(OutboxJob).where(OutboxJob.topic == "response.external_notification")).scalars())


def test_external_notices_are_sent_for_real_incidents_and_suppressed_in_drills(db: Session, setup: Setup) -> None:
    admin, inc = setup
    notice = ActionCreate(
        kind=ActionKind.EXTERNAL_NOTIFICATION,
        title="Tell CISA",
        params={"recipient": "CISA Central", "email": "central@cisa.example"},
    )
    real = actions.create_action(db, admin, inc, notice)
    assert not real.suppressed and len(_notice_jobs(db)) == 1
    drill = rf.incident(db, admin, is_drill=True)
    rehearsed = actions.create_action(db, admin, drill, notice)
    assert rehearsed.suppressed and rehearsed.is_drill
    assert len(_notice_jobs(db)) == 1, "a drill must not send its notice"
    entries = service.timeline(db, drill)
    assert any("recorded and not sent" in e.body for e in entries)


def test_takedown_retraining_and_filter_update_are_tracked_actions(db: Session, setup: Setup) -> None:
    """CN generative-AI interim measures Art. 14: remove, fix the model, report: each a tracked action."""
    admin, inc = setup
    with pytest.raises(ValidationFailed) as err:  # a takedown names what it removed
        actions.create_action(db, admin, inc, ActionCreate(kind=ActionKind.CONTENT_REMOVAL, title="Take down"))
    assert err.value.errors[0].field == "params"
    with pytest.raises(ValidationFailed):
        actions.create_action(
            db,
            admin,
            inc,
            ActionCreate(
                kind=ActionKind.CONTENT_REMOVAL,
                title="Take down",
                params={"content_reference": "x", "items_removed": -1},
            ),
        )
    takedown = actions.create_action(
        db,
        admin,
        inc,
        ActionCreate(
            kind=ActionKind.CONTENT_REMOVAL,
            title="Remove generated images",
            params={"content_reference": "share links batch 2026-11-02", "items_removed": 412},
        ),
    )
    assert takedown.target_at == takedown.requested_at + timedelta(hours=24)  # "promptly": a day by default
    with pytest.raises(ValidationFailed) as err:
        actions.create_action(db, admin, inc, ActionCreate(kind=ActionKind.MODEL_RETRAINING, title="Retrain"))
    assert err.value.errors[0].field == "from_version"
    retrain = actions.create_action(
        db,
        admin,
        inc,
        ActionCreate(kind=ActionKind.MODEL_RETRAINING, title="Fine-tune refusals", from_version="aurora-large 3.2"),
    )
    assert retrain.target_at is None  # no default clock: the org sets one
    with pytest.raises(ValidationFailed):
        actions.create_action(db, admin, inc, ActionCreate(kind=ActionKind.FILTER_UPDATE, title="Filter"))
    actions.progress_action(db, admin, inc, takedown, ActionProgress(status=ActionStatus.COMPLETED))
    with pytest.raises(ValidationFailed):  # four eyes, as for a rollback
        actions.progress_action(
            db, admin, inc, takedown, ActionProgress(status=ActionStatus.VERIFIED, verification="links 404")
        )
