"""Read models shared by the pages, the API and the CLI: rows (read through queries.py and the topic
modules, all starting from the reporting policy's statements) turned into what is shown. Nothing here
queries itself."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.reporting import assessments, obligations, org_profile, prompts, queries, retention
from signalfire.reporting.facts import RESPONSE_FACTS, EventState, event_states, snapshot_changes
from signalfire.reporting.inbox import threads_for_report
from signalfire.reporting.models import (
    Assessment,
    Case,
    LegalHold,
    Message,
    Obligation,
    RecordedClockEvent,
    Report,
    ReportVersion,
)
from signalfire.reporting.reports import NOTES_FIELD, field_label, report_for, versions
from signalfire.reporting.rules import catalog
from signalfire.reporting.rules.clock_events import ClockEvent
from signalfire.reporting.rules.clock_events import label as clock_label
from signalfire.reporting.rules.regime_schema import Regime
from signalfire.reporting.schemas import (
    ActionOut,
    AssessmentOut,
    ClockEventOut,
    EventStateOut,
    FieldOut,
    HoldOut,
    IncidentReportingOut,
    MessageOut,
    ObligationOut,
    ReportOut,
    VersionSummaryOut,
)
from signalfire.response.models import Incident


@dataclass
class RegimeRow:
    candidate: catalog.Candidate
    current: Assessment | None
    changes: list[str]


@dataclass
class IncidentView:
    incident: Incident
    events: dict[str, datetime | None]
    recorded: list[RecordedClockEvent]
    regimes: list[RegimeRow]
    history: list[Assessment]
    obligations: list[Obligation]
    reports: dict[uuid.UUID, Report]
    holds: list[LegalHold]
    case: Case | None
    other_regimes: list[RegimeRow] = field(default_factory=list)
    states: dict[str, EventState] = field(default_factory=dict)
    unassessed: bool = False


def incident_view(session: Session, actor: Actor, incident: Incident) -> IncidentView:
    org = queries.incident_org(session, actor, incident)
    history = assessments.history(session, actor, incident.id)
    current = {a.regime_id: a for a in history if a.is_current}
    rows = []
    profile = org_profile.profile_at(session, org, incident.aware_at)
    for cand in catalog.candidates(
        org.kind.value, profile.jurisdictions or [], incident.aware_at, roles=profile.roles or []
    ):
        a = current.get(cand.regime.id)
        rows.append(RegimeRow(cand, a, snapshot_changes(a.incident_snapshot, incident) if a else []))
    obs = obligations.incident_obligations(session, actor, incident.id)
    reports = {o.id: r for o in obs if (r := report_for(session, o.id)) is not None}
    recorded = queries.recorded_events(session, actor, incident.id)
    case = queries.case_of(session, actor, incident.id)
    states = event_states(session, incident)
    return IncidentView(
        incident=incident,
        events={name: state.at for name, state in states.items()},
        states=states,
        unassessed=prompts.is_unassessed(session, incident),
        recorded=recorded,
        regimes=[r for r in rows if r.candidate.may_apply or r.current is not None],
        other_regimes=[r for r in rows if not r.candidate.may_apply and r.current is None],
        history=history,
        obligations=obs,
        reports=reports,
        holds=retention.holds_for(session, actor, incident.id),
        case=case,
    )


def _first_event(expression: str) -> str:
    """The first event id of a waiting expression such as ``earliest_of(determined, reasonable_belief)``."""
    inner = expression.split("(", 1)[1].rstrip(")") if "(" in expression else expression
    return inner.split(",")[0].strip().split("(")[-1]


def next_action(o: Obligation) -> ActionOut | None:
    """The one action that starts a waiting clock: a fact the response record holds is recorded there
    (resolve, contain, close the incident); a report sent is a submission; anything else is recorded
    as a clock event with its real time."""
    if not o.is_open or o.due_at is not None or not o.waiting_for:
        return None
    event = _first_event(o.waiting_for)
    if event.startswith("sent:") or event == ClockEvent.INITIAL_REPORT_SENT:
        return ActionOut(
            kind="submit_report",
            event=event,
            label="Submit the earlier report first: this one runs from its sending.",
            href=f"/reporting/incidents/{o.incident_id}#obligations",
        )
    if event in RESPONSE_FACTS:
        return ActionOut(
            kind="respond",
            event=event,
            label=f"Record it in response: {clock_label(event).lower()} (change the incident's status).",
            href=f"/response/incidents/{o.incident_id}",
        )
    return ActionOut(
        kind="record_event",
        event=event,
        label=f"Record when: {clock_label(event).lower()}.",
        href=f"/reporting/incidents/{o.incident_id}?event={event}#events",
    )


def event_state_out(state: EventState) -> EventStateOut:
    return EventStateOut(
        event=state.event,
        label=state.label,
        at=state.at,
        source=state.source,
        recorded_at=state.recorded_at,
        recorded_by=state.recorded_by,
        evidence=state.evidence,
        reason=state.reason,
        response_at=state.response_at,
        implied_by=state.implied_by,
    )


def obligation_out(o: Obligation) -> ObligationOut:
    return ObligationOut(
        id=o.id,
        incident_id=o.incident_id,
        assessment_id=o.assessment_id,
        regime_id=o.regime_id,
        regime_version=o.regime_version,
        class_id=o.class_id,
        stage=o.stage,
        recipients=o.recipients,
        start_event=o.start_event,
        start_at=o.start_at,
        due_at=o.due_at,
        due_reading=o.due_reading,
        alt_due_at=o.alt_due_at,
        alt_due_reading=o.alt_due_reading,
        legal_due_at=o.legal_due_at,
        target_at=o.target_at,
        target_basis=o.target_basis,
        projected=o.projected,
        basis=o.basis,
        waiting_for=o.waiting_for,
        waiting_for_label=clock_label(o.waiting_for) if o.waiting_for else None,
        next_action=next_action(o),
        confidence=o.confidence,
        provisional=o.provisional,
        required_fields=o.required_fields,
        due_from_reclassification_at=o.due_from_reclassification_at,
        past_due_on_reclassification=o.past_due_on_reclassification,
        status=o.status.value,
        submitted_at=o.submitted_at,
        submitted_late=o.submitted_late,
        report_id=o.report_id,
        closed_reason=o.closed_reason,
        computed_at=o.computed_at,
    )


def assessment_out(a: Assessment) -> AssessmentOut:
    return AssessmentOut(
        id=a.id,
        incident_id=a.incident_id,
        regime_id=a.regime_id,
        regime_version=a.regime_version,
        version=a.version,
        is_current=a.is_current,
        answers=a.answers,
        facts=a.facts,
        applicability=a.applicability.value,
        missing_facts=a.missing_facts,
        outcome=a.outcome.value,
        classes=a.classes,
        possible_classes=a.possible_classes,
        concurrent_reports=a.concurrent_reports,
        possible_concurrent_reports=a.possible_concurrent_reports,
        missing=a.missing,
        engine_rationale=a.engine_rationale,
        rationale=a.rationale,
        assessed_at=a.assessed_at,
        recorded_at=a.recorded_at,
        assessed_by_label=a.assessed_by_label,
    )


def hold_out(h: LegalHold) -> HoldOut:
    return HoldOut(
        id=h.id,
        incident_id=h.incident_id,
        reason=h.reason,
        placed_at=h.placed_at,
        placed_by_label=h.placed_by_label,
        released_at=h.released_at,
        release_reason=h.release_reason,
    )


def incident_out(view: IncidentView) -> IncidentReportingOut:
    return IncidentReportingOut(
        incident_id=view.incident.id,
        reference=view.incident.reference,
        is_drill=view.incident.is_drill,
        events=view.events,
        event_states=[event_state_out(s) for s in view.states.values() if s.source != "missing"],
        recorded_events=[ClockEventOut.model_validate(e) for e in view.recorded],
        unassessed=view.unassessed,
        assessments=[assessment_out(a) for a in view.history],
        obligations=[obligation_out(o) for o in view.obligations],
        holds=[hold_out(h) for h in view.holds],
        retain_until=view.case.retain_until if view.case else None,
        retention_basis=view.case.retention_basis if view.case else "",
    )


def message_out(m: Message) -> MessageOut:
    return MessageOut(
        id=m.id,
        authority_org_id=m.authority_org_id,
        author_label=m.author_label,
        kind=m.kind.value,
        body=m.body,
        in_reply_to_id=m.in_reply_to_id,
        created_at=m.created_at,
    )


@dataclass
class ReportView:
    report: Report
    obligation: Obligation
    regime: Regime
    incident: Incident
    fields: list[FieldOut]
    versions: list[ReportVersion]
    threads: dict[uuid.UUID, list[Message]]
    authority_names: dict[uuid.UUID, str]
    initial_kind: bool


def report_view(session: Session, actor: Actor, report: Report, incident: Incident) -> ReportView:
    obligation = obligations.get_obligation(session, actor, report.obligation_id)
    regime = catalog.get(report.regime_id, report.regime_version)
    required = set(obligation.required_fields)
    fields = [
        FieldOut(
            id=fid,
            label=field_label(regime, fid),
            value=str(entry.get("value") or ""),
            preliminary=bool(entry.get("preliminary")),
            required=fid in required,
        )
        for fid, entry in _ordered(report.fields, obligation.required_fields)
    ]
    threads = threads_for_report(session, actor, report.id)
    names = queries.organization_names(session, actor, threads)
    return ReportView(
        report,
        obligation,
        regime,
        incident,
        fields,
        versions(session, actor, report.id),
        threads,
        names,
        catalog.is_initial_kind(regime, report.stage),
    )


def _ordered(fields: dict[str, dict[str, object]], order: list[str]) -> list[tuple[str, dict[str, object]]]:
    keys = [k for k in order if k in fields] + [k for k in fields if k not in order and k != NOTES_FIELD]
    if NOTES_FIELD in fields:
        keys.append(NOTES_FIELD)
    return [(k, fields[k]) for k in keys]


def report_out(view: ReportView) -> ReportOut:
    r = view.report
    return ReportOut(
        id=r.id,
        obligation_id=r.obligation_id,
        incident_id=r.incident_id,
        regime_id=r.regime_id,
        regime_version=r.regime_version,
        class_id=r.class_id,
        stage=r.stage,
        status=r.status.value,
        fields=view.fields,
        versions=[
            VersionSummaryOut(
                number=v.number,
                sha256=v.content_hash,
                submitted_at=v.submitted_at,
                submitted_by_label=v.submitted_by_label,
            )
            for v in view.versions
        ],
        messages=[message_out(m) for msgs in view.threads.values() for m in msgs],
    )
