"""Takedown, filter update and retraining (China's generative-AI interim measures, Art. 14) appear in the
readiness evidence: each on time and verified by a second person, or listed as a gap."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy.orm import Session

from signalfire.readiness.scorecard import State
from signalfire.response import actions
from signalfire.response.schemas import ActionCreate, ActionProgress
from signalfire.response.vocab import ActionKind, ActionStatus
from tests.readiness import factories as f
from tests.response import factories as rf

NOW = f.utc(2026, 6, 15, 12)


def test_takedown_and_retraining_are_readiness_evidence(db: Session) -> None:
    with time_machine.travel(NOW - timedelta(days=9), tick=False):
        a = f.developer(db)
        checker = f.colleague(db, a)
        rf.model_version(db, a, "aurora-large", "3.2")
        assert f.finding(db, a, "corrective_actions", NOW - timedelta(days=9)).state is State.OK  # nothing owed
        inc = rf.incident(db, a, aware_at=NOW - timedelta(days=10, hours=2))
        requested = NOW - timedelta(days=10, hours=1)
        takedown = actions.create_action(
            db,
            a,
            inc,
            ActionCreate(
                kind=ActionKind.CONTENT_REMOVAL,
                title="Remove generated images from the gallery",
                requested_at=requested,
                params={"content_reference": "gallery batch 2026-06-05", "items_removed": 312},
            ),
        )
        retrain = actions.create_action(
            db,
            a,
            inc,
            ActionCreate(
                kind=ActionKind.MODEL_RETRAINING,
                title="Fine-tune refusals on the new pattern",
                requested_at=requested,
                from_version="aurora-large 3.2",
                target_minutes=3 * 24 * 60,
            ),
        )
        # The takedown is done in 6 h (target 24 h) and verified by a colleague.
        actions.progress_action(
            db, a, inc, takedown, ActionProgress(status=ActionStatus.COMPLETED, at=requested + timedelta(hours=6))
        )
        actions.progress_action(
            db,
            checker,
            inc,
            takedown,
            ActionProgress(
                status=ActionStatus.VERIFIED, at=requested + timedelta(hours=7), verification="Gallery query empty"
            ),
        )
    with time_machine.travel(NOW, tick=False):
        # Ten days on, the retraining (target three days) is still open: a gap naming the incident.
        late = f.finding(db, a, "corrective_actions", NOW)
    assert late.state is State.GAP
    labels = [e.label for e in late.evidence]
    assert any("Content removal (takedown)" in x and "312 items removed" in x for x in labels), labels
    assert any("Model retraining or fine-tuning" in x for x in labels), labels
    assert late.gaps == (f"{inc.reference}: model retraining or fine-tuning open 7 d 1 h past its target",)
    assert all(e.url == f"/response/incidents/{inc.id}" for e in late.evidence)
    assert inc.reference not in late.summary  # summaries name no record
    with time_machine.travel(NOW, tick=False):
        actions.progress_action(
            db, a, inc, retrain, ActionProgress(status=ActionStatus.CANCELLED, note="Filter fix suffices")
        )
        ok = f.finding(db, a, "corrective_actions", NOW)
    assert ok.state is State.OK and "1 corrective action" in ok.summary and len(ok.evidence) == 1


def test_a_filter_update_done_but_not_verified_is_a_gap(db: Session) -> None:
    with time_machine.travel(NOW, tick=False):
        a = f.developer(db)
        inc = rf.incident(db, a, aware_at=NOW - timedelta(hours=5))
        requested = NOW - timedelta(hours=4)
        act = actions.create_action(
            db,
            a,
            inc,
            ActionCreate(
                kind=ActionKind.FILTER_UPDATE,
                title="Block the prompt pattern",
                requested_at=requested,
                owner_email=a.email,
                params={"filter": "prompt-shield"},
            ),
        )
        actions.progress_action(
            db, a, inc, act, ActionProgress(status=ActionStatus.COMPLETED, at=requested + timedelta(hours=1))
        )
        done = f.finding(db, a, "corrective_actions", NOW)
    assert done.state is State.GAP and done.gaps == (
        f"{inc.reference}: filter update done but not independently verified",
    )
