"""Reportability assessments: the questionnaire a regime file drives, the engine's deterministic
result, the assessor's rationale, and every version kept.

A reassessment is a new version; the previous one stays, no longer current. Obligations follow the
current version at once (``obligations.sync_incident``). A rationale in the assessor's own words is
required when the answer is "not reportable", and whenever a reassessment would close an open
obligation (a downgrade closes an obligation only with a rationale, regimes.md section 8).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization
from signalfire.access.permissions import Permission
from signalfire.access.policy import first_or_404, require
from signalfire.access.policy.reporting import readable_assessments
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import FieldError, ValidationFailed
from signalfire.reporting import org_profile
from signalfire.reporting.events import CLOCK_SKEW, RECORDABLE, incident_start, record_event
from signalfire.reporting.facts import event_states, incident_snapshot
from signalfire.reporting.models import Applicability, Assessment, AssessmentOutcome
from signalfire.reporting.obligations import SyncResult, sync_incident, would_close
from signalfire.reporting.rules import catalog
from signalfire.reporting.rules.assessment_engine import Answer, assess, assess_applicability
from signalfire.reporting.rules.regime_schema import Regime
from signalfire.response.models import Incident

ANSWERS = ("yes", "no", "unknown")
MAX_RATIONALE = 10_000


def regime_for(incident: Incident, regime_id: str) -> Regime:
    """The version of ``regime_id`` in force when the org became aware of the incident."""
    regime = catalog.in_force(regime_id, incident.aware_at)
    if regime is None:
        raise ValidationFailed.single(
            "regime_id", f"No enabled version of {regime_id!r} was in force on {incident.aware_at:%Y-%m-%d}."
        )
    return regime


def current_assessment(session: Session, incident_id: uuid.UUID, regime_id: str) -> Assessment | None:
    return (
        session.execute(
            select(Assessment).where(
                Assessment.incident_id == incident_id,
                Assessment.regime_id == regime_id,
                Assessment.is_current.is_(True),
            )
        )
        .scalars()
        .first()
    )


def history(session: Session, actor: Actor, incident_id: uuid.UUID) -> list[Assessment]:
    return list(
        session.execute(
            readable_assessments(actor)
            .where(Assessment.incident_id == incident_id)
            .order_by(Assessment.regime_id, Assessment.version.desc())
        ).scalars()
    )


def get_assessment(session: Session, actor: Actor, assessment_id: uuid.UUID) -> Assessment:
    return first_or_404(
        session, readable_assessments(actor).where(Assessment.id == assessment_id), "No such assessment."
    )


def last_facts(session: Session, org_id: uuid.UUID, regime_id: str) -> dict[str, str]:
    """The org's latest answers to a regime's applicability facts (they rarely change between incidents)."""
    row = session.execute(
        select(Assessment.facts)
        .where(Assessment.org_id == org_id, Assessment.regime_id == regime_id)
        .order_by(Assessment.assessed_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    return dict(row or {})


@dataclass(frozen=True)
class Questionnaire:
    regime: Regime
    answers: dict[str, str]
    facts: dict[str, str]
    rationale: str
    events: list[str]  # the clock events this regime's clocks read that a person records
    current: Assessment | None
    # Facts the org's profile answers (as of the incident's awareness), shown as such in the form.
    profile_facts: dict[str, str]
    # For each question that implies clock events: the events and their current times (None: not yet).
    implied: dict[str, dict[str, datetime | None]]


def org_profile_for(session: Session, incident: Incident) -> org_profile.Profile:
    org = session.get(Organization, incident.org_id)
    assert org is not None
    return org_profile.profile_at(session, org, incident.aware_at)


def questionnaire(session: Session, incident: Incident, regime_id: str) -> Questionnaire:
    regime = regime_for(incident, regime_id)
    current = current_assessment(session, incident.id, regime_id)
    answers = dict(current.answers) if current else {}
    from_profile = org_profile.profile_facts(regime, org_profile_for(session, incident))
    facts = dict(current.facts) if current else {**last_facts(session, incident.org_id, regime_id), **from_profile}
    recordable = {e.value for e in RECORDABLE}
    events = sorted(e for e in regime.referenced_events() if e in recordable)
    known = event_states(session, incident)
    implied = {
        q.id: {e: (known[e].at if known[e].source not in ("assumed", "missing") else None) for e in q.implies}
        for q in regime.questions
        if q.implies
    }
    return Questionnaire(
        regime, answers, facts, current.rationale if current else "", events, current, from_profile, implied
    )


def _check(values: Mapping[str, str], allowed: list[str], what: str) -> list[FieldError]:
    errors = []
    for key, value in values.items():
        if key not in allowed:
            errors.append(FieldError(f"{what}.{key}", f"not a {what[:-1]} of this regime"))
        elif value not in ANSWERS:
            errors.append(FieldError(f"{what}.{key}", "answer yes, no or unknown"))
    return errors


@dataclass(frozen=True)
class AssessOutcome:
    assessment: Assessment
    sync: SyncResult


def assess_incident(
    session: Session,
    actor: Actor,
    incident: Incident,
    *,
    regime_id: str,
    answers: Mapping[str, str],
    facts: Mapping[str, str],
    rationale: str,
    event_times: Mapping[str, datetime] | None = None,
    effective_at: datetime | None = None,
    now: datetime | None = None,
) -> AssessOutcome:
    """Record a new assessment version and recompute the incident's obligations.

    ``event_times`` gives the times of clock events the answers imply (e.g. when the org became aware of
    the model's involvement), recorded with the assessment so the clocks start at once; an implied event
    left without a time runs from the incident's awareness (conservative) until one is recorded.
    ``effective_at`` is when the assessment was actually made, if before it is entered here. Facts the
    request leaves out are answered from the org's profile as of the incident's awareness."""
    require(actor, Permission.reporting_assessment_write)
    regime = regime_for(incident, regime_id)
    errors = _check(answers, regime.question_ids(), "answers")
    errors += _check(facts, [f.id for f in regime.applicability.facts], "facts")
    rationale = rationale.strip()
    if len(rationale) > MAX_RATIONALE:
        errors.append(FieldError("rationale", f"At most {MAX_RATIONALE} characters."))
    recordable = {e.value for e in RECORDABLE}
    for name, at in (event_times or {}).items():
        if name not in recordable:
            errors.append(FieldError(f"event_times.{name}", "not a clock event a person records"))
        elif at.tzinfo is None or at.utcoffset() is None:
            errors.append(FieldError(f"event_times.{name}", "the time must include a time zone (UTC)"))
    now = now or utcnow()
    for name, at in (event_times or {}).items():
        if name in recordable and at.tzinfo is not None and at.utcoffset() is not None:
            if at > now + CLOCK_SKEW:
                errors.append(FieldError(f"event_times.{name}", "The time is in the future."))
            elif at < incident_start(incident) - CLOCK_SKEW:
                errors.append(FieldError(f"event_times.{name}", "The time is before the incident."))
    if effective_at is not None:
        if effective_at.tzinfo is None or effective_at.utcoffset() is None:
            errors.append(FieldError("effective_at", "The time must include a time zone (UTC)."))
        elif effective_at > now + CLOCK_SKEW:
            errors.append(FieldError("effective_at", "The time is in the future."))
        elif effective_at < incident_start(incident) - CLOCK_SKEW:
            errors.append(FieldError("effective_at", "The assessment cannot come before the incident."))
    if errors:
        raise ValidationFailed(errors)
    profile = org_profile_for(session, incident)
    facts = {**org_profile.profile_facts(regime, profile), **facts}
    typed_answers = cast(dict[str, Answer], dict(answers))  # checked just above
    typed_facts = cast(dict[str, Answer], dict(facts))
    org = session.get(Organization, incident.org_id)
    assert org is not None
    applies = assess_applicability(
        regime,
        org_kinds=[org.kind.value],
        jurisdictions=list(profile.jurisdictions or []),
        facts=typed_facts,
        roles=list(profile.roles or []),
    )
    result = assess(regime, typed_answers)
    outcome = AssessmentOutcome(result.outcome)
    classes, possible = list(result.classes), list(result.possible_classes)
    concurrent, possible_concurrent = list(result.concurrent_reports), list(result.possible_concurrent_reports)
    missing = list(result.missing)
    engine_rationale = list(result.rationale)
    if applies.applies == "no":
        outcome = AssessmentOutcome.not_reportable
        classes, possible, concurrent, possible_concurrent, missing = [], [], [], [], []
        engine_rationale = [
            *applies.rationale,
            "The questionnaire answers are kept but not used: the regime does not bind the organisation.",
        ]
    elif applies.applies == "unknown":
        engine_rationale = [*applies.rationale, *engine_rationale]
        missing = [*applies.missing_facts, *missing]
        if outcome is AssessmentOutcome.reportable:
            outcome = AssessmentOutcome.undetermined  # possibly reportable, clock running
    else:
        engine_rationale = [*applies.rationale, *engine_rationale]

    previous = current_assessment(session, incident.id, regime.id)
    row = Assessment(
        id=uuid.uuid4(),
        org_id=incident.org_id,
        incident_id=incident.id,
        regime_id=regime.id,
        regime_version=regime.version,
        version=(previous.version + 1) if previous else 1,
        is_current=True,
        answers=dict(answers),
        facts=dict(facts),
        applicability=Applicability(applies.applies),
        missing_facts=list(applies.missing_facts),
        outcome=outcome,
        classes=classes,
        possible_classes=possible,
        concurrent_reports=concurrent,
        possible_concurrent_reports=possible_concurrent,
        missing=missing,
        engine_rationale=engine_rationale,
        rationale=rationale,
        incident_snapshot=incident_snapshot(incident),
        assessed_at=(effective_at or now).astimezone(now.tzinfo),
        recorded_at=now,
        assessed_by=actor.user_id,
        assessed_by_label=actor.display_name,
    )
    closing = would_close(session, incident, row)
    if not rationale and outcome is AssessmentOutcome.not_reportable:
        raise ValidationFailed.single(
            "rationale",
            "Say in your own words why the incident is not reportable "
            "under this regime; it is kept with the assessment.",
        )
    if not rationale and closing:
        names = ", ".join(f"{o.stage} ({o.class_id})" for o in closing)
        raise ValidationFailed.single(
            "rationale",
            f"This reassessment would close open obligations ({names}); give the rationale for closing them.",
        )
    if previous is not None:
        previous.is_current = False
        session.flush()
    session.add(row)
    session.flush()
    known = event_states(session, incident)
    for name, at in sorted((event_times or {}).items()):
        state = known[name]
        if state.source in ("recorded", "assessment") and state.at == at.astimezone(now.tzinfo):
            continue  # the same time again: nothing new to record
        questions = [q.id for q in regime.questions if name in q.implies]
        record_event(
            session,
            actor,
            incident,
            event=name,
            at=at,
            evidence=f"Given with the {regime.id} assessment v{row.version}"
            + (f" (answer to {', '.join(questions)})" if questions else ""),
            reason="Given with the assessment." if state.source == "response" else "",
            source="assessment",
            field=f"event_times.{name}",
        )
    record(
        session,
        action="reporting.assessment.create",
        target_type="reporting_assessment",
        target_id=row.id,
        actor=actor,
        summary={
            "reference": incident.reference,
            "regime": regime.id,
            "regime_version": regime.version,
            "version": row.version,
            "outcome": outcome,
            "classes": classes,
            "possible_classes": possible,
            "missing": missing,
            "answers": dict(answers),
            "facts": dict(facts),
            "rationale": rationale[:500],
            "is_drill": incident.is_drill,
            "assessed_at": row.assessed_at,
            "recorded_at": now,
            "event_times": dict(event_times or {}),
        },
    )
    sync = sync_incident(session, incident, actor=actor, now=now)
    return AssessOutcome(row, sync)
