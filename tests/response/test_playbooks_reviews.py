"""Versioned playbooks, the tasks they create, and post-incident reviews."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from signalfire.access.models import Role
from signalfire.core.clock import utcnow
from signalfire.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from signalfire.response import actions, playbooks, reviews, service
from signalfire.response.models import ReviewStatus, TaskStatus
from signalfire.response.schemas import (
    ActionCreate,
    ActionProgress,
    PlaybookIn,
    PlaybookStep,
    ReviewIn,
    ReviewItemIn,
    TaskUpdate,
    TransitionIn,
)
from signalfire.response.vocab import ActionKind, ActionStatus, IncidentStatus, ParticipantRole, RiskDomain
from tests import factories
from tests.response import factories as rf


def _book(steps: int = 2) -> PlaybookIn:
    return PlaybookIn(
        slug="misuse",
        name="Misuse",
        risk_domain=RiskDomain.MISUSE,
        steps=[
            PlaybookStep(
                title=f"Step {n}",
                role=ParticipantRole.COMMANDER,
                target_minutes=15 * (n + 1),
                action_kind=ActionKind.MODEL_ROLLBACK if n == 1 else None,
            )
            for n in range(steps)
        ],
    )


def test_saving_again_adds_a_version_and_keeps_the_old_one(db: Session) -> None:
    admin = factories.actor(db)
    v1 = playbooks.save_playbook(db, admin, _book(2))
    v2 = playbooks.save_playbook(db, admin, _book(3))
    assert (v1.version, v2.version) == (1, 2)
    assert not v1.is_current and v2.is_current and len(v1.steps) == 2
    assert [b.id for b in playbooks.list_playbooks(db, admin)] == [v2.id]
    assert [b.version for b in playbooks.versions(db, admin, "misuse")] == [2, 1]
    with pytest.raises(Conflict):
        playbooks.save_playbook(
            db,
            admin,
            PlaybookIn(slug="misuse", name="CBRN", risk_domain=RiskDomain.CBRN, steps=[PlaybookStep(title="Go")]),
        )
    analyst = factories.actor(db, role=Role.responder)
    with pytest.raises(Forbidden):
        playbooks.save_playbook(db, analyst, _book())


def test_starting_a_playbook_creates_its_tasks_in_order_with_due_times(db: Session) -> None:
    admin = factories.actor(db)
    book = playbooks.save_playbook(db, admin, _book(3))
    inc = rf.incident(db, admin)
    tasks = playbooks.start_playbook(db, admin, inc, book.id)
    assert [t.title for t in tasks] == ["Step 0", "Step 1", "Step 2"]
    assert tasks[1].due_at is not None and tasks[1].due_at - tasks[0].due_at == timedelta(minutes=15)  # type: ignore[operator]
    assert tasks[1].action_kind is ActionKind.MODEL_ROLLBACK
    with pytest.raises(Conflict):
        playbooks.start_playbook(db, admin, inc, book.id)
    playbooks.update_task(db, admin, inc, tasks[0].id, TaskUpdate(status=TaskStatus.DONE))
    assert tasks[0].done_at is not None
    # An action of the kind a step calls for carries that step out: completing it closes the task.
    rf.model_version(db, admin, "m", "1")
    rf.model_version(db, admin, "m", "2")
    rollback = actions.create_action(
        db,
        admin,
        inc,
        ActionCreate(kind=ActionKind.MODEL_ROLLBACK, title="Roll back", from_version="m 2", to_version="m 1"),
    )
    assert rollback.task_id == tasks[1].id and tasks[1].status is TaskStatus.OPEN
    actions.progress_action(db, admin, inc, rollback, ActionProgress(status=ActionStatus.COMPLETED))
    assert playbooks.list_tasks(db, inc)[1].status is TaskStatus.DONE
    other_org = factories.actor(db)
    with pytest.raises(NotFound):
        playbooks.start_playbook(db, other_org, rf.incident(db, other_org), book.id)


def test_a_review_closes_only_when_resolved_explained_and_owned(db: Session) -> None:
    admin = factories.actor(db)
    inc = rf.incident(db, admin)
    with pytest.raises(Conflict):
        reviews.add_item(db, admin, inc, ReviewItemIn(title="Too early"))
    reviews.save_review(db, admin, inc, ReviewIn(went_well="Fast page"))
    item = reviews.add_item(db, admin, inc, ReviewItemIn(title="Add eval cases"))
    with pytest.raises(Conflict):  # incident still open
        reviews.close_review(db, admin, inc)
    service.change_status(db, admin, inc, TransitionIn(status=IncidentStatus.RESOLVED, reason="fixed upstream"))
    with pytest.raises(ValidationFailed) as err:
        reviews.close_review(db, admin, inc)
    assert err.value.errors[0].field == "root_cause"
    reviews.save_review(db, admin, inc, ReviewIn(root_cause="Eval gap", contributing_factors=["no nested cases"]))
    with pytest.raises(ValidationFailed) as err:
        reviews.close_review(db, admin, inc)
    assert err.value.errors[0].field == "items[0]"
    item.owner_user_id, item.due_on = admin.user_id, (utcnow() + timedelta(days=7)).date()
    review = reviews.close_review(db, admin, inc)
    assert review.status is ReviewStatus.CLOSED and review.closed_by == admin.user_id
    with pytest.raises(Conflict):
        reviews.save_review(db, admin, inc, ReviewIn(root_cause="changed my mind"))
    viewer = factories.actor(db, role=Role.viewer)
    with pytest.raises(Forbidden):
        reviews.save_review(db, viewer, rf.incident(db, admin), ReviewIn())
