"""The response JSON API (/api/v1/response/...): the same services as the pages, problem+json errors."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Header, Query
from fastapi.responses import JSONResponse, Response

from signalfire.access.deps import ActorDep
from signalfire.core.clock import utcnow
from signalfire.core.errors import NotFound, ValidationFailed
from signalfire.core.web.deps import SessionDep, protected_router
from signalfire.core.web.idempotency import run_idempotent
from signalfire.core.web.params import PageOffset
from signalfire.response import actions, contacts, oncall, paging, playbooks, reviews, rollup, service, stats
from signalfire.response.metrics import Measure, Summary
from signalfire.response.schemas import (
    ActionCreate,
    ActionOut,
    ActionProgress,
    ContactIn,
    ContactOut,
    CoverageOut,
    EscalationPolicyIn,
    EscalationPolicyOut,
    GapOut,
    IncidentCreate,
    IncidentOut,
    IncidentUpdate,
    LayerIn,
    MetricsOut,
    ModelVersionIn,
    ModelVersionOut,
    OverrideIn,
    PageIn,
    PageOut,
    ParticipantIn,
    ParticipantOut,
    PlaybookIn,
    PlaybookOut,
    ReviewIn,
    ReviewItemIn,
    ReviewItemOut,
    ReviewOut,
    RosterIn,
    RosterOut,
    ShiftOut,
    StartPlaybookIn,
    SummaryOut,
    TaskOut,
    TaskUpdate,
    TimelineEntryOut,
    TimelineIn,
    TransitionIn,
)

router = protected_router(prefix="/api/v1/response", tags=["response"])


def _out(incident: Any) -> IncidentOut:
    return IncidentOut.model_validate(incident)


# -- incidents -----------------------------------------------------------------------------------------------


@router.get("/incidents", response_model=list[IncidentOut])
def api_incidents(
    session: SessionDep,
    actor: ActorDep,
    status: Annotated[str | None, Query(max_length=20)] = None,
    severity: Annotated[str | None, Query(max_length=10)] = None,
    drills: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: PageOffset = 0,
) -> list[IncidentOut]:
    rows = service.list_incidents(
        session, actor, status=status, severity=severity, drills=drills, limit=limit, offset=offset
    )
    return [_out(i) for i in rows]


@router.post("/incidents", response_model=IncidentOut, status_code=201)
def api_create_incident(
    body: IncidentCreate,
    session: SessionDep,
    actor: ActorDep,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    def create() -> tuple[int, dict[str, Any]]:
        incident = service.create_incident(session, actor, body)
        return 201, _out(incident).model_dump(mode="json")

    code, payload, _ = run_idempotent(
        session,
        scope=f"user:{actor.user_id}:response.incident.create",
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        create=create,
    )
    return JSONResponse(payload, status_code=code)


@router.get("/board")
def api_board(session: SessionDep, actor: ActorDep, drills: bool = True) -> list[dict[str, Any]]:
    """Open incidents, most severe and oldest first, with commander and open-action counts."""
    return [
        {
            **_out(r.incident).model_dump(mode="json"),
            "commander": r.commander,
            "open_actions": r.open_actions,
            "next_target_at": r.next_target_at.isoformat() if r.next_target_at else None,
        }
        for r in stats.board(session, actor, include_drills=drills)
    ]


@router.get("/incidents/{incident_id}", response_model=IncidentOut)
def api_incident(incident_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> IncidentOut:
    return _out(service.get_incident(session, actor, incident_id))


@router.patch("/incidents/{incident_id}", response_model=IncidentOut)
def api_update_incident(
    incident_id: uuid.UUID, body: IncidentUpdate, session: SessionDep, actor: ActorDep
) -> IncidentOut:
    incident = service.get_incident(session, actor, incident_id)
    return _out(service.update_incident(session, actor, incident, body))


@router.post("/incidents/{incident_id}/status", response_model=IncidentOut)
def api_status(incident_id: uuid.UUID, body: TransitionIn, session: SessionDep, actor: ActorDep) -> IncidentOut:
    incident = service.get_incident(session, actor, incident_id)
    return _out(service.change_status(session, actor, incident, body))


@router.get("/incidents/{incident_id}/timeline", response_model=list[TimelineEntryOut])
def api_timeline(incident_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> list[TimelineEntryOut]:
    incident = service.get_incident(session, actor, incident_id)
    return [TimelineEntryOut.model_validate(e) for e in service.timeline(session, incident)]


@router.post("/incidents/{incident_id}/timeline", response_model=TimelineEntryOut, status_code=201)
def api_add_entry(incident_id: uuid.UUID, body: TimelineIn, session: SessionDep, actor: ActorDep) -> TimelineEntryOut:
    incident = service.get_incident(session, actor, incident_id)
    entry = service.add_timeline_entry(session, actor, incident, kind=body.kind, body=body.body, at=body.at)
    return TimelineEntryOut.model_validate(entry)


@router.get("/incidents/{incident_id}/participants", response_model=list[ParticipantOut])
def api_participants(incident_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> list[ParticipantOut]:
    incident = service.get_incident(session, actor, incident_id)
    return [ParticipantOut.model_validate(p.participant) for p in service.participants(session, incident)]


@router.post("/incidents/{incident_id}/participants", response_model=ParticipantOut, status_code=201)
def api_add_participant(
    incident_id: uuid.UUID, body: ParticipantIn, session: SessionDep, actor: ActorDep
) -> ParticipantOut:
    incident = service.get_incident(session, actor, incident_id)
    return ParticipantOut.model_validate(service.add_participant(session, actor, incident, body))


@router.delete("/incidents/{incident_id}/participants/{participant_id}", status_code=204)
def api_remove_participant(
    incident_id: uuid.UUID, participant_id: uuid.UUID, session: SessionDep, actor: ActorDep
) -> Response:
    incident = service.get_incident(session, actor, incident_id)
    service.remove_participant(session, actor, incident, participant_id)
    return Response(status_code=204)


@router.get("/incidents/{incident_id}/actions", response_model=list[ActionOut])
def api_actions(incident_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> list[ActionOut]:
    incident = service.get_incident(session, actor, incident_id)
    return [ActionOut.model_validate(a) for a in actions.list_actions(session, incident)]


@router.post("/incidents/{incident_id}/actions", response_model=ActionOut, status_code=201)
def api_create_action(incident_id: uuid.UUID, body: ActionCreate, session: SessionDep, actor: ActorDep) -> ActionOut:
    incident = service.get_incident(session, actor, incident_id)
    return ActionOut.model_validate(actions.create_action(session, actor, incident, body))


@router.post("/incidents/{incident_id}/actions/{action_id}/progress", response_model=ActionOut)
def api_progress_action(
    incident_id: uuid.UUID, action_id: uuid.UUID, body: ActionProgress, session: SessionDep, actor: ActorDep
) -> ActionOut:
    incident = service.get_incident(session, actor, incident_id)
    action = actions.get_action(session, actor, incident, action_id)
    return ActionOut.model_validate(actions.progress_action(session, actor, incident, action, body))


@router.get("/incidents/{incident_id}/tasks", response_model=list[TaskOut])
def api_tasks(incident_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> list[TaskOut]:
    incident = service.get_incident(session, actor, incident_id)
    return [TaskOut.model_validate(t) for t in playbooks.list_tasks(session, incident)]


@router.post("/incidents/{incident_id}/playbooks", response_model=list[TaskOut], status_code=201)
def api_start_playbook(
    incident_id: uuid.UUID, body: StartPlaybookIn, session: SessionDep, actor: ActorDep
) -> list[TaskOut]:
    incident = service.get_incident(session, actor, incident_id)
    return [
        TaskOut.model_validate(t)
        for t in playbooks.start_playbook(session, actor, incident, body.playbook_id, at=body.at)
    ]


@router.patch("/incidents/{incident_id}/tasks/{task_id}", response_model=TaskOut)
def api_update_task(
    incident_id: uuid.UUID, task_id: uuid.UUID, body: TaskUpdate, session: SessionDep, actor: ActorDep
) -> TaskOut:
    incident = service.get_incident(session, actor, incident_id)
    return TaskOut.model_validate(playbooks.update_task(session, actor, incident, task_id, body))


@router.post("/incidents/{incident_id}/pages", response_model=PageOut, status_code=201)
def api_page(incident_id: uuid.UUID, body: PageIn, session: SessionDep, actor: ActorDep) -> PageOut:
    incident = service.get_incident(session, actor, incident_id)
    return PageOut.model_validate(
        paging.start_page(session, actor, body.policy_id, incident=incident, summary=body.summary)
    )


def _review_out(review: Any) -> ReviewOut:
    out = ReviewOut.model_validate(review)
    out.items = [ReviewItemOut.model_validate(i) for i in review.items]
    return out


@router.get("/incidents/{incident_id}/review", response_model=ReviewOut)
def api_review(incident_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> ReviewOut:
    incident = service.get_incident(session, actor, incident_id)
    reviews.require_internal(actor, incident)
    review = reviews.get_review(session, actor, incident)
    if review is None:
        raise NotFound("This incident has no review yet.")
    return _review_out(review)


@router.put("/incidents/{incident_id}/review", response_model=ReviewOut)
def api_save_review(incident_id: uuid.UUID, body: ReviewIn, session: SessionDep, actor: ActorDep) -> ReviewOut:
    incident = service.get_incident(session, actor, incident_id)
    review = reviews.save_review(session, actor, incident, body)
    return _review_out(reviews.get_review_by_id(session, actor, review.id))


@router.post("/incidents/{incident_id}/review/items", response_model=ReviewItemOut, status_code=201)
def api_review_item(incident_id: uuid.UUID, body: ReviewItemIn, session: SessionDep, actor: ActorDep) -> ReviewItemOut:
    incident = service.get_incident(session, actor, incident_id)
    return ReviewItemOut.model_validate(reviews.add_item(session, actor, incident, body))


@router.post("/incidents/{incident_id}/review/close", response_model=ReviewOut)
def api_close_review(incident_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> ReviewOut:
    incident = service.get_incident(session, actor, incident_id)
    review = reviews.close_review(session, actor, incident)
    return _review_out(reviews.get_review_by_id(session, actor, review.id))


# -- metrics -------------------------------------------------------------------------------------------------


def _summaries(values: dict[Measure, Summary]) -> dict[str, SummaryOut]:
    return {m.value: SummaryOut.model_validate(stats.summary_seconds(s)) for m, s in values.items()}


@router.get("/metrics", response_model=MetricsOut)
def api_metrics(
    session: SessionDep, actor: ActorDep, start: datetime | None = None, end: datetime | None = None
) -> MetricsOut:
    """Time to acknowledge, contain, mitigate and resolve (drills excluded), over incidents the org became
    aware of in [start, end) (default: the last 365 days)."""
    now = utcnow()
    begin, finish = stats.default_window(now)
    begin, finish = start or begin, end or finish
    if begin.tzinfo is None or finish.tzinfo is None or finish <= begin or finish - begin > timedelta(days=3660):
        raise ValidationFailed.single("end", "Give an aware range with time zones, at most ten years long.")
    r = stats.response_metrics(session, actor, begin, finish)
    return MetricsOut(
        start=r.start,
        end=r.end,
        overall=_summaries(r.overall),
        by_severity={k.value: _summaries(v) for k, v in r.by_severity.items()},
        by_domain={k.value: _summaries(v) for k, v in r.by_domain.items()},
        drills_excluded=r.drills_excluded,
        inconsistent=r.inconsistent,
        approximate=r.approximate,
        relative_accuracy=rollup.RELATIVE_ACCURACY if r.approximate else None,
    )


# -- inventory, playbooks, contacts ------------------------------------------------------------------------


@router.get("/models", response_model=list[ModelVersionOut])
def api_models(session: SessionDep, actor: ActorDep) -> list[ModelVersionOut]:
    return [ModelVersionOut.model_validate(m) for m in service.list_model_versions(session, actor)]


@router.post("/models", response_model=ModelVersionOut, status_code=201)
def api_add_model(body: ModelVersionIn, session: SessionDep, actor: ActorDep) -> ModelVersionOut:
    return ModelVersionOut.model_validate(service.add_model_version(session, actor, body))


@router.get("/playbooks", response_model=list[PlaybookOut])
def api_playbooks(session: SessionDep, actor: ActorDep, all_versions: bool = False) -> list[PlaybookOut]:
    rows = playbooks.list_playbooks(session, actor, current_only=not all_versions)
    return [PlaybookOut.model_validate(p) for p in rows]


@router.post("/playbooks", response_model=PlaybookOut, status_code=201)
def api_save_playbook(body: PlaybookIn, session: SessionDep, actor: ActorDep) -> PlaybookOut:
    return PlaybookOut.model_validate(playbooks.save_playbook(session, actor, body))


@router.get("/contacts", response_model=list[ContactOut])
def api_contacts(session: SessionDep, actor: ActorDep) -> list[ContactOut]:
    return [ContactOut.model_validate(c) for c in contacts.list_contacts(session, actor)]


@router.post("/contacts", response_model=ContactOut, status_code=201)
def api_add_contact(body: ContactIn, session: SessionDep, actor: ActorDep) -> ContactOut:
    return ContactOut.model_validate(contacts.create_contact(session, actor, body))


@router.post("/contacts/{contact_id}/verify", response_model=ContactOut)
def api_verify_contact(contact_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> ContactOut:
    return ContactOut.model_validate(contacts.verify_contact(session, actor, contact_id))


# -- on-call --------------------------------------------------------------------------------------------


@router.get("/rosters", response_model=list[RosterOut])
def api_rosters(session: SessionDep, actor: ActorDep) -> list[RosterOut]:
    return [RosterOut.model_validate(r) for r in oncall.list_rosters(session, actor)]


@router.post("/rosters", response_model=RosterOut, status_code=201)
def api_create_roster(body: RosterIn, session: SessionDep, actor: ActorDep) -> RosterOut:
    return RosterOut.model_validate(oncall.create_roster(session, actor, body))


@router.post("/rosters/{roster_id}/layers", response_model=RosterOut, status_code=201)
def api_add_layer(roster_id: uuid.UUID, body: LayerIn, session: SessionDep, actor: ActorDep) -> RosterOut:
    roster = oncall.get_roster(session, actor, roster_id)
    oncall.add_layer(session, actor, roster, body)
    return RosterOut.model_validate(roster)


@router.post("/rosters/{roster_id}/overrides", response_model=RosterOut, status_code=201)
def api_add_override(roster_id: uuid.UUID, body: OverrideIn, session: SessionDep, actor: ActorDep) -> RosterOut:
    roster = oncall.get_roster(session, actor, roster_id)
    oncall.add_override(session, actor, roster, body)
    return RosterOut.model_validate(roster)


@router.get("/rosters/{roster_id}/coverage", response_model=CoverageOut)
def api_coverage(
    roster_id: uuid.UUID,
    session: SessionDep,
    actor: ActorDep,
    start: datetime | None = None,
    days: Annotated[int, Query(ge=1, le=92)] = 7,
) -> CoverageOut:
    """The final schedule and every gap over [start, start + days) (default: this week from Monday 00:00)."""
    roster = oncall.get_roster(session, actor, roster_id)
    if start is not None and start.tzinfo is None:
        raise ValidationFailed.single("start", "Include a time zone.")
    begin = start or oncall.week_start(utcnow(), roster.time_zone)
    r = oncall.coverage_report(session, roster, begin, begin + timedelta(days=days))
    return CoverageOut(
        roster_id=roster.id,
        start=r.start,
        end=r.end,
        ratio=r.ratio,
        gaps=[GapOut(start=g.start, end=g.end, minutes=int(g.duration.total_seconds() // 60)) for g in r.gaps],
        shifts=[
            ShiftOut(start=s.start, end=s.end, user_id=s.user, layer=s.layer, override=s.override) for s in r.shifts
        ],
    )


@router.get("/escalation-policies", response_model=list[EscalationPolicyOut])
def api_policies(session: SessionDep, actor: ActorDep) -> list[EscalationPolicyOut]:
    return [EscalationPolicyOut.model_validate(p) for p in paging.list_policies(session, actor)]


@router.post("/escalation-policies", response_model=EscalationPolicyOut, status_code=201)
def api_create_policy(body: EscalationPolicyIn, session: SessionDep, actor: ActorDep) -> EscalationPolicyOut:
    return EscalationPolicyOut.model_validate(paging.create_policy(session, actor, body))


@router.get("/pages", response_model=list[PageOut])
def api_pages(session: SessionDep, actor: ActorDep) -> list[PageOut]:
    return [PageOut.model_validate(p) for p in paging.list_pages(session, actor)]


@router.post("/pages/{page_id}/ack", response_model=PageOut)
def api_ack(page_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> PageOut:
    return PageOut.model_validate(paging.acknowledge_as(session, actor, page_id))
