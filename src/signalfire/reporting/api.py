"""The reporting JSON API (/api/v1/reporting). Thin: each route calls one service function."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Header, Query
from fastapi.responses import JSONResponse, Response

from signalfire.access.actor import Actor
from signalfire.access.deps import ActorDep
from signalfire.access.permissions import Permission
from signalfire.access.policy import require
from signalfire.core.clock import utcnow
from signalfire.core.web.deps import SessionDep, protected_router
from signalfire.core.web.idempotency import run_idempotent
from signalfire.core.web.params import VersionNumber
from signalfire.reporting import (
    assessments,
    bindings,
    inbox,
    obligations,
    org_profile,
    org_settings,
    prompts,
    reports,
    retention,
    service,
    views,
)
from signalfire.reporting.facts import event_states, get_incident
from signalfire.reporting.reports import FieldValue
from signalfire.reporting.rules import catalog
from signalfire.reporting.schemas import (
    AnswerIn,
    AssessmentIn,
    AssessmentOut,
    AssessResultOut,
    BindingIn,
    BindingOut,
    BoardOut,
    BoardRowOut,
    ClockEventIn,
    ClockEventOut,
    DeliveryOut,
    EventStateOut,
    ExportOut,
    HoldOut,
    InboxRowOut,
    IncidentReportingOut,
    MessageOut,
    ObligationOut,
    OpenQuestionOut,
    OrgAttributeOut,
    OrgProfileIn,
    OrgProfileOut,
    PurgeOut,
    QuestionIn,
    QuestionnaireOut,
    ReasonIn,
    RegimeSummaryOut,
    ReportOut,
    ReportUpdateIn,
    RetentionRunIn,
    SettingsIn,
    SettingsOut,
    SubmitIn,
    SyncOut,
    UnassessedOut,
)

api = protected_router(prefix="/api/v1/reporting", tags=["reporting"])
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def _scope(actor: Actor, route: str) -> str:
    return f"user:{actor.user_id}:{actor.org_id}:{route}"


# -- regimes ---------------------------------------------------------------------------------------------


@api.get("/regimes", response_model=list[RegimeSummaryOut])
def list_regimes(actor: ActorDep) -> list[RegimeSummaryOut]:
    return [
        RegimeSummaryOut(
            id=r.id,
            version=r.version,
            title=r.title,
            kind=r.kind,
            enabled=r.enabled,
            effective_from=str(r.effective_from) if r.effective_from else None,
            effective_to=str(r.effective_to) if r.effective_to else None,
            source=r.source,
        )
        for versions in catalog.regimes().values()
        for r in versions
    ]


@api.get("/regimes/{regime_id}")
def get_regime(regime_id: str, actor: ActorDep, version: str | None = None) -> dict[str, Any]:
    """The regime file as data (every number with its source and confidence)."""
    regime = catalog.get(regime_id, version) if version else catalog.latest(regime_id)
    return regime.model_dump(mode="json", by_alias=True)


# -- board and incidents ---------------------------------------------------------------------------------


@api.get("/board", response_model=BoardOut)
def get_board(
    session: SessionDep, actor: ActorDep, limit: Annotated[int, Query(ge=1, le=500)] = obligations.BOARD_LIMIT
) -> BoardOut:
    b = obligations.board(session, actor, limit=limit)
    return BoardOut(
        now=b.now,
        overdue=b.overdue,
        due_24h=b.due_24h,
        due_7d=b.due_7d,
        waiting=b.waiting,
        rows=[
            BoardRowOut(
                obligation=views.obligation_out(r.obligation), reference=r.reference, title=r.title, severity=r.severity
            )
            for r in b.rows
        ],
        unassessed=[
            UnassessedOut(
                incident_id=i.id, reference=i.reference, title=i.title, severity=i.severity.value, aware_at=i.aware_at
            )
            for i in prompts.needs_assessment(session, actor)
        ],
        open_questions=[
            OpenQuestionOut(
                message_id=q.message.id,
                report_id=q.report_id,
                incident_id=q.incident_id,
                regime_id=q.regime_id,
                stage=q.stage,
                body=q.message.body,
                asked_at=q.message.created_at,
            )
            for q in inbox.unanswered_questions(session, actor)
        ],
    )


@api.get("/incidents/{incident_id}", response_model=IncidentReportingOut)
def get_incident_reporting(incident_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> IncidentReportingOut:
    incident = get_incident(session, actor, incident_id)
    return views.incident_out(views.incident_view(session, actor, incident))


@api.post("/incidents/{incident_id}/events", response_model=ClockEventOut, status_code=201)
def record_event(incident_id: uuid.UUID, body: ClockEventIn, session: SessionDep, actor: ActorDep) -> ClockEventOut:
    incident = get_incident(session, actor, incident_id)
    row, _ = service.record_event(
        session, actor, incident, event=body.event, at=body.at, evidence=body.evidence, reason=body.reason
    )
    return ClockEventOut.model_validate(row)


@api.get("/incidents/{incident_id}/events", response_model=list[EventStateOut])
def list_events(incident_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> list[EventStateOut]:
    """Every clock event of the incident with its effective time and where it comes from (the response
    record, a recording, an assessment, or assumed from an answer)."""
    incident = get_incident(session, actor, incident_id)
    return [views.event_state_out(s) for s in event_states(session, incident).values()]


@api.get("/incidents/{incident_id}/questionnaire/{regime_id}", response_model=QuestionnaireOut)
def get_questionnaire(incident_id: uuid.UUID, regime_id: str, session: SessionDep, actor: ActorDep) -> QuestionnaireOut:
    incident = get_incident(session, actor, incident_id)
    q = assessments.questionnaire(session, incident, regime_id)
    return QuestionnaireOut(
        regime_id=q.regime.id,
        regime_version=q.regime.version,
        questions=[{"id": x.id, "text": x.text, "help": x.help} for x in q.regime.questions],
        facts=[{"id": f.id, "text": f.text, "source": f.source} for f in q.regime.applicability.facts],
        answers=q.answers,
        fact_answers=q.facts,
        profile_facts=q.profile_facts,
        clock_events=q.events,
        implied_events=q.implied,
    )


@api.get("/incidents/{incident_id}/assessments", response_model=list[AssessmentOut])
def list_assessments(incident_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> list[AssessmentOut]:
    incident = get_incident(session, actor, incident_id)
    return [views.assessment_out(a) for a in assessments.history(session, actor, incident.id)]


@api.post("/incidents/{incident_id}/assessments", response_model=AssessResultOut, status_code=201)
def create_assessment(
    incident_id: uuid.UUID, body: AssessmentIn, session: SessionDep, actor: ActorDep, idempotency_key: IdemKey = None
) -> Response:
    incident = get_incident(session, actor, incident_id)

    def create() -> tuple[int, dict[str, Any]]:
        done = assessments.assess_incident(
            session,
            actor,
            incident,
            regime_id=body.regime_id,
            answers=body.answers,
            facts=body.facts,
            rationale=body.rationale,
            event_times=body.event_times,
            effective_at=body.effective_at,
        )
        s = done.sync
        out = AssessResultOut(
            assessment=views.assessment_out(done.assessment),
            obligations=SyncOut(
                created=len(s.created), updated=len(s.updated), closed=len(s.closed), reopened=len(s.reopened)
            ),
        )
        return 201, out.model_dump(mode="json")

    status, payload, _ = run_idempotent(
        session,
        scope=_scope(actor, f"assess:{incident_id}"),
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        create=create,
    )
    return JSONResponse(payload, status_code=status)


@api.post("/incidents/{incident_id}/recompute", response_model=SyncOut)
def recompute(incident_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> SyncOut:
    incident = get_incident(session, actor, incident_id)
    s = service.recompute_incident(session, actor, incident)
    return SyncOut(created=len(s.created), updated=len(s.updated), closed=len(s.closed), reopened=len(s.reopened))


@api.post("/incidents/{incident_id}/holds", response_model=HoldOut, status_code=201)
def place_hold(incident_id: uuid.UUID, body: ReasonIn, session: SessionDep, actor: ActorDep) -> HoldOut:
    incident = get_incident(session, actor, incident_id)
    return views.hold_out(retention.place_hold(session, actor, incident, body.reason))


@api.post("/holds/{hold_id}/release", response_model=HoldOut)
def release_hold(hold_id: uuid.UUID, body: ReasonIn, session: SessionDep, actor: ActorDep) -> HoldOut:
    return views.hold_out(retention.release_hold(session, actor, hold_id, body.reason))


# -- obligations and reports -----------------------------------------------------------------------------


@api.get("/obligations/{obligation_id}", response_model=ObligationOut)
def get_obligation(obligation_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> ObligationOut:
    return views.obligation_out(obligations.get_obligation(session, actor, obligation_id))


@api.post("/obligations/{obligation_id}/waive", response_model=ObligationOut)
def waive(obligation_id: uuid.UUID, body: ReasonIn, session: SessionDep, actor: ActorDep) -> ObligationOut:
    return views.obligation_out(obligations.waive(session, actor, obligation_id, body.reason))


def _report_out(session: SessionDep, actor: Actor, report_id: uuid.UUID) -> ReportOut:
    report = reports.get_report(session, actor, report_id)
    incident = get_incident(session, actor, report.incident_id)
    return views.report_out(views.report_view(session, actor, report, incident))


@api.post("/obligations/{obligation_id}/report", response_model=ReportOut, status_code=201)
def start_report(obligation_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> ReportOut:
    report = reports.start_report(session, actor, obligation_id)
    return _report_out(session, actor, report.id)


@api.get("/reports/{report_id}", response_model=ReportOut)
def get_report(report_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> ReportOut:
    return _report_out(session, actor, report_id)


@api.patch("/reports/{report_id}", response_model=ReportOut)
def update_report(report_id: uuid.UUID, body: ReportUpdateIn, session: SessionDep, actor: ActorDep) -> ReportOut:
    reports.save_draft(
        session, actor, report_id, {k: FieldValue(v.value, v.preliminary) for k, v in body.fields.items()}
    )
    return _report_out(session, actor, report_id)


@api.post("/reports/{report_id}/submit", response_model=ExportOut, status_code=201)
def submit_report(
    report_id: uuid.UUID,
    session: SessionDep,
    actor: ActorDep,
    body: SubmitIn | None = None,
    idempotency_key: IdemKey = None,
) -> Response:
    """Submit through Signalfire (no body), or record a filing made outside with its real time."""
    body = body or SubmitIn()
    outside = None
    if body.channel != "signalfire" or body.filed_at is not None:
        outside = reports.OutsideFiling(
            at=body.filed_at or utcnow(),
            channel=body.channel,
            authority_reference=body.authority_reference,
            evidence=body.evidence,
        )

    def create() -> tuple[int, dict[str, Any]]:
        version = reports.submit(session, actor, report_id, outside=outside)
        return 201, ExportOut(sha256=version.content_hash, content=version.content).model_dump(mode="json")

    status, payload, _ = run_idempotent(
        session,
        scope=_scope(actor, f"submit:{report_id}"),
        key=idempotency_key,
        payload={"report_id": str(report_id), **body.model_dump(mode="json")},
        create=create,
    )
    return JSONResponse(payload, status_code=status)


@api.get("/reports/{report_id}/versions/{number}", response_model=ExportOut)
def export_version(report_id: uuid.UUID, number: VersionNumber, session: SessionDep, actor: ActorDep) -> ExportOut:
    version = reports.get_version(session, actor, report_id, number)
    return ExportOut.model_validate(reports.export_version(session, actor, version, "json"))


@api.post("/reports/{report_id}/answers", response_model=MessageOut, status_code=201)
def answer(report_id: uuid.UUID, body: AnswerIn, session: SessionDep, actor: ActorDep) -> MessageOut:
    return views.message_out(inbox.answer(session, actor, report_id, body.question_id, body.body))


# -- authority inbox -------------------------------------------------------------------------------------


@api.get("/inbox", response_model=list[InboxRowOut])
def list_inbox(session: SessionDep, actor: ActorDep) -> list[InboxRowOut]:
    return [
        InboxRowOut(
            delivery_id=r.delivery.id,
            report_id=r.delivery.report_id,
            sender=r.sender,
            regime_id=r.version.content["regime"]["id"],
            stage=r.version.content["stage"]["id"],
            version=r.version.number,
            sha256=r.version.content_hash,
            delivered_at=r.delivery.delivered_at,
            acknowledged_at=r.delivery.acknowledged_at,
            open_questions=r.open_questions,
        )
        for r in inbox.inbox(session, actor)
    ]


def _delivery_out(session: SessionDep, actor: Actor, delivery_id: uuid.UUID, *, audit: bool) -> DeliveryOut:
    d = inbox.get_delivery(session, actor, delivery_id, audit=audit)
    v = inbox.delivery_version(session, d)
    msgs = inbox.thread(session, actor, d.report_id, d.authority_org_id)
    return DeliveryOut(
        delivery_id=d.id,
        report_id=d.report_id,
        sender=v.content["submitter"]["org"],
        delivered_at=d.delivered_at,
        acknowledged_at=d.acknowledged_at,
        sha256=v.content_hash,
        content=v.content,
        messages=[views.message_out(m) for m in msgs],
    )


@api.get("/inbox/{delivery_id}", response_model=DeliveryOut)
def get_delivery(delivery_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> DeliveryOut:
    return _delivery_out(session, actor, delivery_id, audit=True)


@api.post("/inbox/{delivery_id}/acknowledge", response_model=DeliveryOut)
def acknowledge(delivery_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> DeliveryOut:
    inbox.acknowledge(session, actor, delivery_id)
    return _delivery_out(session, actor, delivery_id, audit=False)


@api.post("/inbox/{delivery_id}/questions", response_model=MessageOut, status_code=201)
def ask(delivery_id: uuid.UUID, body: QuestionIn, session: SessionDep, actor: ActorDep) -> MessageOut:
    return views.message_out(inbox.ask(session, actor, delivery_id, body.body))


# -- retention, settings, bindings -----------------------------------------------------------------------


@api.post("/retention/run", response_model=list[PurgeOut])
def retention_run(body: RetentionRunIn, session: SessionDep, actor: ActorDep) -> list[PurgeOut]:
    done = retention.run(session, actor=actor, dry_run=body.dry_run)
    return [PurgeOut(incident_id=p.incident_id, retain_until=p.retain_until, deleted=p.counts) for p in done]


def _settings_out(s: org_settings.ReportingSettings) -> SettingsOut:
    return SettingsOut(
        org_sla_minutes=int(s.org_sla.total_seconds() // 60) if s.org_sla is not None else None,
        leads=list(s.leads),
        custom_leads=s.custom_leads,
        lead_choices=list(org_settings.LEAD_CHOICES),
        assessment_prompt_minutes=s.assessment_prompt_minutes,
    )


@api.get("/settings", response_model=SettingsOut)
def get_settings(session: SessionDep, actor: ActorDep) -> SettingsOut:
    return _settings_out(org_settings.get_settings(session, actor.org_id))


@api.put("/settings", response_model=SettingsOut)
def put_settings(body: SettingsIn, session: SessionDep, actor: ActorDep) -> SettingsOut:
    done = service.update_settings(
        session,
        actor,
        org_sla_minutes=body.org_sla_minutes,
        leads=body.leads,
        assessment_prompt_minutes=body.assessment_prompt_minutes,
    )
    return _settings_out(done.settings)


def _profile_out(session: SessionDep, actor: Actor) -> OrgProfileOut:
    now = org_profile.current(session, actor)
    return OrgProfileOut(
        jurisdictions=now.jurisdictions,
        roles=now.roles,
        training_compute_flop=now.sizes.get("training_compute_flop"),
        annual_revenue_usd=now.sizes.get("annual_revenue_usd"),
        role_choices=dict(org_profile.ROLE_LABELS),
        history=[OrgAttributeOut.model_validate(a) for a in org_profile.history(session, actor)],
    )


@api.get("/org-profile", response_model=OrgProfileOut)
def get_org_profile(session: SessionDep, actor: ActorDep) -> OrgProfileOut:
    """What the regimes read about the actor's org: jurisdictions, legal roles, size facts, with history."""
    require(actor, Permission.reporting_obligation_read)
    return _profile_out(session, actor)


@api.put("/org-profile", response_model=OrgProfileOut)
def put_org_profile(body: OrgProfileIn, session: SessionDep, actor: ActorDep) -> OrgProfileOut:
    """Record new values (only the attributes given), effective from ``effective_from`` (default now)."""
    values = body.model_dump(exclude_none=True, exclude={"effective_from", "reason"})
    org_profile.set_attributes(session, actor, values, effective_from=body.effective_from, reason=body.reason)
    return _profile_out(session, actor)


@api.get("/bindings", response_model=list[BindingOut])
def list_bindings(session: SessionDep, actor: ActorDep) -> list[BindingOut]:
    return [
        BindingOut(
            id=b.id,
            regime_id=b.regime_id,
            recipient_id=b.recipient_id,
            authority_org_id=b.authority_org_id,
            authority_org_name=o.name,
        )
        for b, o in bindings.list_bindings(session, actor)
    ]


@api.put("/bindings", response_model=BindingOut)
def put_binding(body: BindingIn, session: SessionDep, actor: ActorDep) -> BindingOut:
    b = bindings.bind(
        session, actor, regime_id=body.regime_id, recipient_id=body.recipient_id, authority_org_id=body.authority_org_id
    )
    name = next(o.name for x, o in bindings.list_bindings(session, actor) if x.id == b.id)
    return BindingOut(
        id=b.id,
        regime_id=b.regime_id,
        recipient_id=b.recipient_id,
        authority_org_id=b.authority_org_id,
        authority_org_name=name,
    )


@api.delete("/bindings/{binding_id}", status_code=204)
def delete_binding(binding_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    bindings.unbind(session, actor, binding_id)
    return Response(status_code=204)
