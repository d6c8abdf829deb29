"""Notice pages (/notices) and the JSON API (/api/v1/notices). Routes parse, call one service, render."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.responses import JSONResponse, Response

from signalfire.access.deps import ActorDep
from signalfire.access.permissions import Permission
from signalfire.core.clock import utcnow
from signalfire.core.web.deps import SessionDep, protected_router
from signalfire.core.web.idempotency import run_idempotent
from signalfire.core.web.templating import redirect, render
from signalfire.notices import clock, queries, service
from signalfire.notices.schemas import (
    AcknowledgeIn,
    CrossingOut,
    DraftIn,
    EvaluationIn,
    EvaluationOut,
    LinkIn,
    NoticeOut,
    ThresholdIn,
    ThresholdOut,
)
from signalfire.notices.views import notice_out, threshold_out
from signalfire.response.forms import FormDep, parse
from signalfire.response.service import list_model_versions
from signalfire.response.vocab import RiskDomain

pages = protected_router(prefix="/notices", include_in_schema=False)
api = protected_router(prefix="/api/v1/notices", tags=["notices"])


def _url(notice_id: uuid.UUID) -> str:
    return f"/notices/{notice_id}"


# -- pages ---------------------------------------------------------------------------------------------------


@pages.get("")
def notices_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    now = utcnow()
    thresholds = queries.list_thresholds(session, actor)
    notices = queries.list_notices(session, actor)
    return render(
        request,
        "notices/index.html",
        {
            "notices": [(n, clock.standing(n.due_at, n.sent_at, now)) for n in notices],
            "thresholds": thresholds,
            "contacts": queries.contacts_of(session, actor, thresholds),
            "evaluations": queries.list_evaluations(session, actor, limit=20),
            "models": list_model_versions(session, actor),
            "choices": queries.contact_choices(session, actor)
            if actor.can(Permission.reporting_settings_manage)
            else [],
            "domains": list(RiskDomain),
            "can_manage": actor.can(Permission.reporting_settings_manage),
            "can_evaluate": actor.can(Permission.reporting_assessment_write),
        },
    )


@pages.post("/thresholds")
def threshold_add(request: Request, session: SessionDep, actor: ActorDep, form: FormDep) -> Response:
    data = parse(ThresholdIn, form, lists=("contact_ids",))
    t = service.create_threshold(session, actor, data)
    return redirect(request, "/notices", flash=f"Threshold {t.name} declared.")


@pages.post("/evaluations")
def evaluation_add(request: Request, session: SessionDep, actor: ActorDep, form: FormDep) -> Response:
    data = parse(EvaluationIn, form, times=("completed_at",))
    crossing = service.record_evaluation(session, actor, data)
    if crossing.opened:
        first = crossing.opened[0]
        return redirect(
            request, _url(first.id), flash=f"Threshold crossed: notice {first.reference} opened, its clock is running."
        )
    if crossing.already_open:
        first = crossing.already_open[0]
        return redirect(request, _url(first.id), flash=f"Result recorded; notice {first.reference} was already open.")
    return redirect(request, "/notices", flash="Result recorded; it crosses no threshold.")


@pages.get("/{notice_id}")
def notice_page(request: Request, session: SessionDep, actor: ActorDep, notice_id: uuid.UUID) -> Response:
    notice = queries.get_notice(session, actor, notice_id)
    contacts = queries.contacts_of(session, actor, [notice.threshold])
    return render(
        request,
        "notices/notice.html",
        {
            "n": notice,
            "standing": clock.standing(notice.due_at, notice.sent_at, utcnow()),
            "contacts": [contacts[tc.contact_id] for tc in notice.threshold.contacts if tc.contact_id in contacts],
            "can_write": actor.can(Permission.reporting_report_write),
            "can_submit": actor.can(Permission.reporting_report_submit),
        },
    )


@pages.post("/{notice_id}/draft")
def notice_draft(
    request: Request, session: SessionDep, actor: ActorDep, notice_id: uuid.UUID, form: FormDep
) -> Response:
    notice = queries.get_notice(session, actor, notice_id)
    service.update_draft(session, actor, notice, parse(DraftIn, form))
    return redirect(request, _url(notice_id), flash="Draft saved.")


@pages.post("/{notice_id}/approve")
def notice_approve(request: Request, session: SessionDep, actor: ActorDep, notice_id: uuid.UUID) -> Response:
    service.approve(session, actor, queries.get_notice(session, actor, notice_id))
    return redirect(request, _url(notice_id), flash="Text approved; ready to send.")


@pages.post("/{notice_id}/send")
def notice_send(request: Request, session: SessionDep, actor: ActorDep, notice_id: uuid.UUID) -> Response:
    notice = service.send(session, actor, queries.get_notice(session, actor, notice_id))
    return redirect(request, _url(notice_id), flash=f"Notice {notice.reference} sent.")


@pages.post("/{notice_id}/acknowledge")
def notice_ack(request: Request, session: SessionDep, actor: ActorDep, notice_id: uuid.UUID, form: FormDep) -> Response:
    notice = queries.get_notice(session, actor, notice_id)
    service.acknowledge(session, actor, notice, parse(AcknowledgeIn, form, times=("at",)))
    return redirect(request, _url(notice_id), flash="Receipt recorded.")


@pages.post("/{notice_id}/link")
def notice_link(
    request: Request, session: SessionDep, actor: ActorDep, notice_id: uuid.UUID, form: FormDep
) -> Response:
    notice = queries.get_notice(session, actor, notice_id)
    raw = str(form.get("incident_id", "")).strip()
    service.link_incident(session, actor, notice, parse(LinkIn, {"incident_id": raw or None}))
    return redirect(request, _url(notice_id), flash="Link saved." if raw else "Link removed.")


# -- JSON API ------------------------------------------------------------------------------------------------


@api.get("/thresholds", response_model=list[ThresholdOut])
def api_thresholds(session: SessionDep, actor: ActorDep) -> list[ThresholdOut]:
    rows = queries.list_thresholds(session, actor)
    contacts = queries.contacts_of(session, actor, rows)
    return [threshold_out(t, contacts) for t in rows]


@api.post("/thresholds", response_model=ThresholdOut, status_code=201)
def api_create_threshold(
    body: ThresholdIn,
    session: SessionDep,
    actor: ActorDep,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    def create() -> tuple[int, dict[str, Any]]:
        t = service.create_threshold(session, actor, body)
        return 201, threshold_out(t, queries.contacts_of(session, actor, [t])).model_dump(mode="json")

    code, payload, _ = run_idempotent(
        session,
        scope=f"user:{actor.user_id}:notices.threshold.create",
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        create=create,
    )
    return JSONResponse(payload, status_code=code)


@api.get("/evaluations", response_model=list[EvaluationOut])
def api_evaluations(session: SessionDep, actor: ActorDep) -> list[EvaluationOut]:
    return [EvaluationOut.model_validate(e) for e in queries.list_evaluations(session, actor)]


@api.post("/evaluations", response_model=CrossingOut, status_code=201)
def api_record_evaluation(
    body: EvaluationIn,
    session: SessionDep,
    actor: ActorDep,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Record an evaluation result; each threshold it crosses opens a notice with its own clock."""

    def create() -> tuple[int, dict[str, Any]]:
        crossing = service.record_evaluation(session, actor, body)
        now = utcnow()
        # Read back through the policy with their recipients loaded (an open notice may have been sent).
        opened = [queries.get_notice(session, actor, n.id) for n in crossing.opened]
        already = [queries.get_notice(session, actor, n.id) for n in crossing.already_open]
        out = CrossingOut(
            evaluation=EvaluationOut.model_validate(crossing.evaluation),
            opened=[notice_out(n, now) for n in opened],
            already_open=[notice_out(n, now) for n in already],
        )
        return 201, out.model_dump(mode="json")

    code, payload, _ = run_idempotent(
        session,
        scope=f"user:{actor.user_id}:notices.evaluation.record",
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        create=create,
    )
    return JSONResponse(payload, status_code=code)


@api.get("", response_model=list[NoticeOut])
def api_notices(session: SessionDep, actor: ActorDep) -> list[NoticeOut]:
    now = utcnow()
    return [notice_out(n, now) for n in queries.list_notices(session, actor)]


@api.get("/{notice_id}", response_model=NoticeOut)
def api_notice(notice_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> NoticeOut:
    return notice_out(queries.get_notice(session, actor, notice_id), utcnow())


@api.put("/{notice_id}/draft", response_model=NoticeOut)
def api_draft(notice_id: uuid.UUID, body: DraftIn, session: SessionDep, actor: ActorDep) -> NoticeOut:
    notice = service.update_draft(session, actor, queries.get_notice(session, actor, notice_id), body)
    return notice_out(notice, utcnow())


@api.post("/{notice_id}/approve", response_model=NoticeOut)
def api_approve(notice_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> NoticeOut:
    return notice_out(service.approve(session, actor, queries.get_notice(session, actor, notice_id)), utcnow())


@api.post("/{notice_id}/send", response_model=NoticeOut)
def api_send(notice_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> NoticeOut:
    """Send the approved notice to every contact its threshold names (e-mail through the outbox)."""
    return notice_out(service.send(session, actor, queries.get_notice(session, actor, notice_id)), utcnow())


@api.post("/{notice_id}/acknowledge", response_model=NoticeOut)
def api_acknowledge(notice_id: uuid.UUID, body: AcknowledgeIn, session: SessionDep, actor: ActorDep) -> NoticeOut:
    notice = service.acknowledge(session, actor, queries.get_notice(session, actor, notice_id), body)
    return notice_out(notice, utcnow())


@api.post("/{notice_id}/link", response_model=NoticeOut)
def api_link(notice_id: uuid.UUID, body: LinkIn, session: SessionDep, actor: ActorDep) -> NoticeOut:
    notice = service.link_incident(session, actor, queries.get_notice(session, actor, notice_id), body)
    return notice_out(notice, utcnow())


routers = [pages, api]
