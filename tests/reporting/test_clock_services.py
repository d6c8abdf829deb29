"""Issue 12 services: facts flowing from response, prompts to assess, the open-question badge, the org
profile (roles and effective dates), outside filings, and minimum periods."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.models import OrgKind, Role
from signalfire.core.errors import Forbidden, ValidationFailed
from signalfire.notify.models import OutboxJob
from signalfire.reporting import inbox, org_profile, prompts, reports
from signalfire.reporting.models import Obligation, ObligationStatus
from signalfire.reporting.rules.regime_schema import IsoDuration
from signalfire.reporting.tasks import deadline_sweep
from signalfire.response import service as response
from signalfire.response.schemas import IncidentUpdate, TransitionIn
from signalfire.response.vocab import IncidentStatus, RiskDomain, Severity
from tests import factories
from tests.reporting import factories as f
from tests.reporting.factories import COP, utc


def _open(db: Session, incident_id: object) -> dict[tuple[str, str], Obligation]:
    rows = db.execute(select(Obligation).where(Obligation.incident_id == incident_id)).scalars()
    return {(o.regime_id, o.stage): o for o in rows}


def _topics(db: Session, topic: str) -> list[OutboxJob]:
    return list(db.execute(select(OutboxJob).where(OutboxJob.topic == topic)).scalars())


def test_resolving_in_response_starts_the_final_clock_in_the_same_transaction(db: Session) -> None:
    with time_machine.travel(utc(2026, 11, 2, 12), tick=False):
        dev = f.developer(db)
        inc = f.incident(db, dev, aware_at=utc(2026, 11, 2, 8))
        f.assess(db, dev, inc, COP, f.cop(death="yes"))
        assert _open(db, inc.id)[(COP, "final")].waiting_for == "resolved"
        for status in (IncidentStatus.TRIAGED, IncidentStatus.CONTAINED, IncidentStatus.MITIGATED):
            response.change_status(db, dev, inc, TransitionIn(status=status, at=utc(2026, 11, 2, 9)))
        response.change_status(db, dev, inc, TransitionIn(status=IncidentStatus.RESOLVED, at=utc(2026, 11, 2, 10)))
        db.commit()  # the unit of work's commit: no sweep, no second recording
        final = _open(db, inc.id)[(COP, "final")]
        # 60 days from 2 November 10:00 UTC (11:00 CET; no clock change until March): 1 January 10:00 UTC.
        assert (final.waiting_for, final.due_at) == (None, utc(2027, 1, 1, 10))
        # A later correction of the awareness time in response moves the Code's start? No: the Code runs
        # from awareness of the model's involvement, which was assumed at awareness and now follows it.
        response.update_incident(
            db, dev, inc, IncidentUpdate(aware_at=utc(2026, 11, 2, 7), reason="Pager log shows 07:00.")
        )
        db.commit()
        initial = _open(db, inc.id)[(COP, "initial")]
        assert initial.start_at == utc(2026, 11, 2, 7) and initial.due_at == utc(2026, 11, 12, 7)


def test_a_serious_unassessed_incident_is_flagged_then_reminded_once_after_the_delay(db: Session) -> None:
    with time_machine.travel(utc(2026, 11, 2, 8, 30), tick=False):
        dev = f.developer(db)
        f.colleague(db, dev, role=Role.reporter)
        sev1 = f.incident(db, dev, aware_at=utc(2026, 11, 2, 8), severity=Severity.SEV1)
        minor = f.incident(db, dev, aware_at=utc(2026, 11, 2, 8), severity=Severity.SEV4)
        weights = f.incident(
            db, dev, aware_at=utc(2026, 11, 2, 8), severity=Severity.SEV4, risk_domain=RiskDomain.MODEL_WEIGHTS
        )
        drill = f.incident(db, dev, aware_at=utc(2026, 11, 2, 8), severity=Severity.SEV1, is_drill=True)
        flagged = {i.id for i in prompts.needs_assessment(db, dev)}
        assert flagged == {sev1.id, weights.id}  # not the SEV4 in another domain, not the drill
        assert minor.id not in flagged and drill.id not in flagged
        assert prompts.needs_assessment(db, f.developer(db)) == []  # another org sees none of them
        deadline_sweep(db, utc(2026, 11, 2, 8, 59))
        assert _topics(db, "reporting.assessment.needed") == []  # not yet: one hour from awareness
    with time_machine.travel(utc(2026, 11, 2, 9, 1), tick=False):
        deadline_sweep(db, utc(2026, 11, 2, 9, 1))
        deadline_sweep(db, utc(2026, 11, 2, 9, 2))
        mails = _topics(db, "reporting.assessment.needed")
        assert len(mails) == 2 and all(len(m.payload["to"]) == 2 for m in mails)  # admin and reporter, once
        f.assess(db, dev, sev1, COP, f.cop(death="yes"))
        assert not prompts.is_unassessed(db, sev1)


def test_the_prompt_delay_is_the_orgs(db: Session) -> None:
    from signalfire.reporting import org_settings

    with time_machine.travel(utc(2026, 11, 2, 8, 30), tick=False):
        dev = f.developer(db)
        org_settings.update_settings(db, dev, org_sla_minutes=None, leads=None, assessment_prompt_minutes=15)
        f.incident(db, dev, aware_at=utc(2026, 11, 2, 8), severity=Severity.SEV2)
        deadline_sweep(db, utc(2026, 11, 2, 8, 16))
        assert len(_topics(db, "reporting.assessment.needed")) == 1
        with pytest.raises(ValidationFailed) as refused:
            org_settings.update_settings(db, dev, org_sla_minutes=None, leads=None, assessment_prompt_minutes=-1)
        assert refused.value.errors[0].field == "assessment_prompt_minutes"


def test_an_authority_question_waits_on_the_board_until_answered(db: Session) -> None:
    with time_machine.travel(utc(2026, 11, 2, 12), tick=False):
        admin = f.developer(db)
        dev = f.colleague(db, admin, role=Role.reporter)
        office = f.authority(db, "AI Office (test)")
        f.bind(db, COP, "eu_ai_office", office)
        inc = f.incident(db, admin, aware_at=utc(2026, 11, 2, 8))
        f.assess(db, dev, inc, COP, f.cop(death="yes"))
        ob = _open(db, inc.id)[(COP, "initial")]
        report = reports.start_report(db, dev, ob.id)
        f.fill(db, dev, report)
        reports.submit(db, dev, report.id)
        delivery = inbox.inbox(db, office)[0].delivery
        question = inbox.ask(db, office, delivery.id, "Which model version?")
        waiting = inbox.unanswered_questions(db, dev)
        assert [q.message.id for q in waiting] == [question.id] and waiting[0].incident_id == inc.id
        assert inbox.unanswered_questions(db, f.developer(db)) == []  # not another org's
        assert inbox.unanswered_questions(db, office) == []  # the authority asked it
        assert _topics(db, "reporting.question.received")  # the reporting org is e-mailed
        inbox.answer(db, dev, report.id, question.id, "aurora-large 3.2")
        assert inbox.unanswered_questions(db, dev) == []


def test_roles_reach_orgs_of_any_kind_and_read_as_of_the_incident(db: Session) -> None:
    with time_machine.travel(utc(2026, 11, 2, 12), tick=False):
        # A downstream org (a hospital's deployer team, say) that provides a high-risk system in the EU.
        org = factories.org(db, OrgKind.downstream, jurisdictions=["EU"])
        admin = factories.actor(db, kind=OrgKind.downstream, role=Role.admin, organization=org)
        inc = f.incident(db, admin, aware_at=utc(2026, 11, 1, 9))
        answers = {
            "causal_link": "yes",
            "death": "yes",
            "health_harm": "no",
            "ci_disruption": "no",
            "fundamental_rights": "no",
            "property_environment": "no",
            "widespread_infringement": "no",
            "sector_carve_out": "no",
        }
        before = f.assess(db, admin, inc, "eu-ai-act-art73", answers)
        assert before.assessment.applicability.value == "unknown"  # the role was not declared yet
        org_profile.set_attributes(
            db, admin, {"roles": ["high_risk_provider", "deployer"]}, effective_from=utc(2026, 10, 1)
        )
        after = f.assess(db, admin, inc, "eu-ai-act-art73", answers)
        assert after.assessment.applicability.value == "yes" and after.assessment.outcome.value == "reportable"
        assert after.assessment.facts["high_risk_system_provider"] == "yes"
        # A role taken on after the incident's awareness does not reach back.
        other = f.incident(db, admin, aware_at=utc(2026, 9, 1, 9))
        late = f.assess(db, admin, other, "eu-ai-act-art73", answers)
        assert late.assessment.applicability.value == "unknown"


def test_profile_input_is_checked_and_nothing_is_stored_on_error(db: Session) -> None:
    dev = f.developer(db)
    for values in (
        {"jurisdictions": ["Europe!"]},
        {"roles": ["wizard"]},
        {"training_compute_flop": -1},
        {"training_compute_flop": float("nan")},
        {"colour": "blue"},
        {},
    ):
        try:
            org_profile.set_attributes(db, dev, values)
        except ValidationFailed:
            continue
        raise AssertionError(f"accepted {values}")
    assert org_profile.history(db, dev) == []
    viewer = f.colleague(db, dev, role=Role.viewer)
    with pytest.raises(Forbidden):
        org_profile.set_attributes(db, viewer, {"roles": []})


def test_an_outside_filing_judges_lateness_on_its_real_time(db: Session) -> None:
    with time_machine.travel(utc(2026, 11, 20, 12), tick=False):
        dev = f.developer(db)
        inc = f.incident(db, dev, aware_at=utc(2026, 11, 2, 8))
        f.assess(db, dev, inc, COP, f.cop(death="yes"))
        ob = _open(db, inc.id)[(COP, "initial")]
        assert ob.status is ObligationStatus.late  # 12 November has passed
        draft = reports.start_report(db, dev, ob.id)
        f.fill(db, dev, draft)
        version = reports.submit(
            db,
            dev,
            draft.id,
            outside=reports.OutsideFiling(
                at=utc(2026, 11, 10, 16), channel="portal", authority_reference="AIO-1", evidence=""
            ),
        )
        db.refresh(ob)
        assert (ob.status, ob.submitted_at, ob.submitted_late) == (
            ObligationStatus.submitted,
            utc(2026, 11, 10, 16),
            False,
        )
        assert version.recorded_at == utc(2026, 11, 20, 12) and version.channel == "portal"
        assert all(r["delivered_to"] is None for r in version.content["recipients"])


def test_minimum_periods_from_29_february_end_on_1_march() -> None:
    five_years = IsoDuration.parse("P5Y")
    start = utc(2028, 2, 29, 10)
    assert five_years.add_minimum(start) == utc(2033, 3, 1, 10)  # the safe side of a minimum
    assert five_years.add_elapsed(start) == utc(2033, 2, 28, 10)  # a maximum clamps to the earlier day
    assert five_years.add_minimum(utc(2028, 3, 1, 10)) == utc(2033, 3, 1, 10)
    assert IsoDuration.parse("P4Y").add_minimum(start) == utc(2032, 2, 29, 10)  # a leap year again
    assert IsoDuration.parse("P1M").add_minimum(utc(2027, 1, 31)) == utc(2027, 3, 1)
    assert IsoDuration.parse("P1Y").add_minimum(start) - IsoDuration.parse("P1Y").add_elapsed(start) == timedelta(
        days=1
    )
