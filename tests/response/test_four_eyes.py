"""Four eyes (issue 18): the owner of a rollback, restriction, takedown, retraining or filter update cannot
verify it, through the service or the API; the refused attempt leaves nothing that readiness could count,
and only a colleague's verification makes the readiness item met. Other kinds of action the owner may
verify themself."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization
from signalfire.core.clock import utcnow
from signalfire.core.errors import ValidationFailed
from signalfire.readiness.scorecard import State
from signalfire.response import actions
from signalfire.response.models import Incident
from signalfire.response.schemas import ActionCreate, ActionProgress
from signalfire.response.vocab import ActionKind, ActionStatus
from tests import factories
from tests.readiness import factories as f
from tests.response import factories as rf

NOW = utcnow().replace(microsecond=0)
# What each kind needs to be requested at all (its own rules are tested in test_actions.py).
FIELDS: dict[ActionKind, dict[str, Any]] = {
    ActionKind.MODEL_ROLLBACK: {"from_version": "aurora-large 3.2", "to_version": "aurora-large 3.1"},
    ActionKind.CAPABILITY_RESTRICTION: {"capability": "browsing", "from_version": "aurora-large 3.2", "scope": ["api"]},
    ActionKind.CONTENT_REMOVAL: {"params": {"content_reference": "share links batch 7", "items_removed": 12}},
    ActionKind.MODEL_RETRAINING: {"from_version": "aurora-large 3.2"},
    ActionKind.FILTER_UPDATE: {"capability": "image prompts"},
    ActionKind.SAFEGUARD_CHANGE: {},
    ActionKind.ACCESS_REVOCATION: {"scope": ["keys of account 4411"]},
}
# Written out, not read from actions.FOUR_EYES, so that shrinking the set fails here.
CHECKED_BY_A_COLLEAGUE = (
    ActionKind.MODEL_ROLLBACK,
    ActionKind.CAPABILITY_RESTRICTION,
    ActionKind.CONTENT_REMOVAL,
    ActionKind.MODEL_RETRAINING,
    ActionKind.FILTER_UPDATE,
)


def _incident(db: Session) -> tuple[Actor, Incident]:
    owner = factories.actor(db)
    for version in ("3.1", "3.2"):
        rf.model_version(db, owner, "aurora-large", version)
    return owner, rf.incident(db, owner, aware_at=NOW - timedelta(hours=3), affected_models=["aurora-large 3.2"])


def _completed(db: Session, owner: Actor, incident: Incident, kind: ActionKind) -> Any:
    data = ActionCreate.model_validate(
        {"kind": kind, "title": f"{kind.label} for the incident", "requested_at": NOW - timedelta(hours=2)}
        | FIELDS[kind]
    )
    action = actions.create_action(db, owner, incident, data)
    actions.progress_action(
        db, owner, incident, action, ActionProgress(status=ActionStatus.COMPLETED, at=NOW - timedelta(hours=1))
    )
    return action


@pytest.mark.parametrize("kind", CHECKED_BY_A_COLLEAGUE)
def test_the_owner_cannot_verify_their_own_action_and_a_colleague_can(db: Session, kind: ActionKind) -> None:
    with time_machine.travel(NOW, tick=False):
        owner, incident = _incident(db)
        action = _completed(db, owner, incident, kind)
        with pytest.raises(ValidationFailed) as refused:
            actions.progress_action(
                db, owner, incident, action, ActionProgress(status=ActionStatus.VERIFIED, verification="I checked")
            )
        assert refused.value.errors[0].field == "status"
        assert "four eyes" in refused.value.errors[0].message
        assert (action.status, action.verified_at, action.verified_by) == (ActionStatus.COMPLETED, None, None)

        colleague = factories.actor(db, organization=db.get(Organization, owner.org_id))
        actions.progress_action(
            db, colleague, incident, action, ActionProgress(status=ActionStatus.VERIFIED, verification="Probe run")
        )
    assert action.status is ActionStatus.VERIFIED and action.verified_by == colleague.user_id


@pytest.mark.parametrize("kind", [ActionKind.SAFEGUARD_CHANGE, ActionKind.ACCESS_REVOCATION])
def test_other_actions_may_be_verified_by_their_owner(db: Session, kind: ActionKind) -> None:
    with time_machine.travel(NOW, tick=False):
        owner, incident = _incident(db)
        action = _completed(db, owner, incident, kind)
        actions.progress_action(
            db, owner, incident, action, ActionProgress(status=ActionStatus.VERIFIED, verification="Probe run")
        )
    assert action.status is ActionStatus.VERIFIED and action.verified_by == owner.user_id


@pytest.mark.parametrize(
    ("kind", "item"), [(ActionKind.MODEL_ROLLBACK, "rollback"), (ActionKind.CAPABILITY_RESTRICTION, "restriction")]
)
def test_readiness_counts_only_the_colleagues_verification(db: Session, kind: ActionKind, item: str) -> None:
    """The refused self-verification leaves the item unmet; the colleague's makes it met."""
    with time_machine.travel(NOW, tick=False):
        owner, incident = _incident(db)
        action = _completed(db, owner, incident, kind)
        with pytest.raises(ValidationFailed):
            actions.progress_action(
                db, owner, incident, action, ActionProgress(status=ActionStatus.VERIFIED, verification="I checked")
            )
        db.flush()
        before = f.finding(db, owner, item, NOW)
        colleague = factories.actor(db, organization=db.get(Organization, owner.org_id))
        actions.progress_action(
            db, colleague, incident, action, ActionProgress(status=ActionStatus.VERIFIED, verification="Probe run")
        )
        db.flush()
        after = f.finding(db, owner, item, NOW)
    assert before.state is not State.OK
    assert after.state is State.OK
    assert any(e.url == f"/response/incidents/{incident.id}" for e in after.evidence)


def test_the_api_refuses_self_verification_with_a_problem(
    db: Session, api_client: Callable[[Actor | None], TestClient]
) -> None:
    owner, incident = _incident(db)
    action = _completed(db, owner, incident, ActionKind.MODEL_ROLLBACK)
    db.flush()
    url = f"/api/v1/response/incidents/{incident.id}/actions/{action.id}/progress"
    body = {"status": "verified", "verification": "Deployment manifests pin 3.1"}
    refused = api_client(owner).post(url, json=body)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "four eyes" in refused.text
    colleague = factories.actor(db, organization=db.get(Organization, owner.org_id))
    done = api_client(colleague).post(url, json=body)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "verified"
