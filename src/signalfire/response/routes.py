"""Response pages (/response/...) and the public acknowledgement link. The JSON API is in ``api``.

Routes parse, call one service, and render or redirect; forms work without JavaScript.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response

from signalfire.access.deps import ActorDep, OptionalActorDep
from signalfire.access.permissions import Permission
from signalfire.core.clock import utcnow
from signalfire.core.errors import ValidationFailed
from signalfire.core.web.deps import SessionDep, protected_router, public_router, rate_limit
from signalfire.core.web.templating import redirect, render
from signalfire.response import (
    actions,
    contacts,
    detail,
    oncall,
    paging,
    playbooks,
    reviews,
    rollup,
    service,
    stats,
)
from signalfire.response.api import router as api_router
from signalfire.response.charts import metrics_charts
from signalfire.response.forms import FormDep, lines, parse, utc_local
from signalfire.response.metrics import Measure
from signalfire.response.models import ContactChannel, TaskStatus
from signalfire.response.schemas import (
    ActionCreate,
    ActionProgress,
    ContactIn,
    EscalationPolicyIn,
    IncidentCreate,
    IncidentUpdate,
    LayerIn,
    LevelIn,
    ModelVersionIn,
    OverrideIn,
    ParticipantIn,
    PlaybookIn,
    PlaybookStep,
    ReviewIn,
    ReviewItemIn,
    RosterIn,
    TaskUpdate,
    TimelineIn,
    TransitionIn,
)
from signalfire.response.vocab import (
    ActionKind,
    ActionStatus,
    IncidentStatus,
    ParticipantRole,
    RiskDomain,
    Severity,
)

pages = protected_router(prefix="/response", include_in_schema=False)
public = public_router(prefix="/response", include_in_schema=False)

ACK_PER_MINUTE = 30


def _incident_url(incident_id: uuid.UUID, anchor: str = "") -> str:
    return f"/response/incidents/{incident_id}" + (f"#{anchor}" if anchor else "")


def _vocab() -> dict[str, Any]:
    return {
        "severities": list(Severity),
        "domains": list(RiskDomain),
        "statuses": list(IncidentStatus),
        "action_kinds": list(ActionKind),
        "action_statuses": list(ActionStatus),
        "roles": list(ParticipantRole),
        "channels": list(ContactChannel),
        "task_statuses": list(TaskStatus),
    }


# -- board and lists --------------------------------------------------------------------------------------


@pages.get("")
def board_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    rows = stats.board(session, actor)
    return render(
        request,
        "response/board.html",
        {
            "rows": rows,
            "now": utcnow(),
            "can_write": actor.can(Permission.response_incident_write),
            **_vocab(),
        },
    )


@pages.get("/incidents")
def incidents_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    status: Annotated[str | None, Query(max_length=20)] = None,
    severity: Annotated[str | None, Query(max_length=10)] = None,
    kind: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    drills = {"drill": True, "real": False}.get(kind or "")
    rows = service.list_incidents(session, actor, status=status or None, severity=severity or None, drills=drills)
    return render(
        request,
        "response/incidents.html",
        {"rows": rows, "status": status or "", "severity": severity or "", "kind": kind or "", **_vocab()},
        fragment="response/_incident_rows.html",
    )


@pages.get("/incidents/new")
def incident_new(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return render(
        request,
        "response/incident_new.html",
        {"inventory": service.list_model_versions(session, actor), "now": utcnow(), **_vocab()},
    )


@pages.post("/incidents")
def incident_create(request: Request, session: SessionDep, actor: ActorDep, form: FormDep) -> Response:
    data = parse(
        IncidentCreate,
        form,
        times=("aware_at", "occurred_at", "reported_at"),
        lists=("affected_models",),
        flags=("is_drill",),
    )
    incident = service.create_incident(session, actor, data)
    return redirect(request, _incident_url(incident.id), flash=f"{incident.reference} opened.")


# -- one incident ------------------------------------------------------------------------------------------


@pages.get("/incidents/{incident_id}")
def incident_page(request: Request, session: SessionDep, actor: ActorDep, incident_id: uuid.UUID) -> Response:
    incident = service.get_incident(session, actor, incident_id)
    view = detail.incident_detail(session, actor, incident)
    return render(request, "response/incident.html", {"d": view, "i": incident, "now": utcnow(), **_vocab()})


@pages.post("/incidents/{incident_id}/edit")
def incident_edit(
    request: Request, session: SessionDep, actor: ActorDep, incident_id: uuid.UUID, form: FormDep
) -> Response:
    incident = service.get_incident(session, actor, incident_id)
    form.setdefault("affected_models", [])
    data = parse(IncidentUpdate, form, times=("aware_at",), lists=("affected_models",))
    if data.aware_at is not None and data.aware_at.replace(second=0, microsecond=0) == incident.aware_at.replace(
        second=0, microsecond=0
    ):
        data.aware_at = None  # the form shows minutes: an untouched field is not a correction
    service.update_incident(session, actor, incident, data)
    return redirect(request, _incident_url(incident.id), flash="Incident updated.")


@pages.post("/incidents/{incident_id}/status")
def incident_status(
    request: Request, session: SessionDep, actor: ActorDep, incident_id: uuid.UUID, form: FormDep
) -> Response:
    incident = service.get_incident(session, actor, incident_id)
    data = parse(TransitionIn, form, times=("at",))
    service.change_status(session, actor, incident, data)
    return redirect(
        request, _incident_url(incident.id), flash=f"{incident.reference} is now {data.status.label.lower()}."
    )


@pages.post("/incidents/{incident_id}/timeline")
def incident_note(
    request: Request, session: SessionDep, actor: ActorDep, incident_id: uuid.UUID, form: FormDep
) -> Response:
    incident = service.get_incident(session, actor, incident_id)
    data = parse(TimelineIn, form, times=("at",))
    service.add_timeline_entry(session, actor, incident, kind=data.kind, body=data.body, at=data.at)
    return redirect(request, _incident_url(incident.id, "timeline"), flash="Added to the timeline.")


@pages.post("/incidents/{incident_id}/participants")
def incident_participant(
    request: Request, session: SessionDep, actor: ActorDep, incident_id: uuid.UUID, form: FormDep
) -> Response:
    incident = service.get_incident(session, actor, incident_id)
    data = parse(ParticipantIn, form, flags=("handover",))
    service.add_participant(session, actor, incident, data)
    return redirect(request, _incident_url(incident.id, "roles"), flash="Role assigned.")


@pages.post("/incidents/{incident_id}/participants/{participant_id}/remove")
def incident_participant_remove(
    request: Request, session: SessionDep, actor: ActorDep, incident_id: uuid.UUID, participant_id: uuid.UUID
) -> Response:
    incident = service.get_incident(session, actor, incident_id)
    service.remove_participant(session, actor, incident, participant_id)
    return redirect(request, _incident_url(incident.id, "roles"), flash="Role ended.")


@pages.post("/incidents/{incident_id}/actions")
def incident_action(
    request: Request, session: SessionDep, actor: ActorDep, incident_id: uuid.UUID, form: FormDep
) -> Response:
    incident = service.get_incident(session, actor, incident_id)
    params: dict[str, object] = {
        k.removeprefix("param_"): form.pop(k) for k in list(form) if k.startswith("param_") and form[k]
    }
    if isinstance(params.get("items_removed"), str) and str(params["items_removed"]).isdigit():
        params["items_removed"] = int(str(params["items_removed"]))  # a count, as the API takes it
    data = parse(
        ActionCreate,
        {**form, "params": params} if params else form,
        times=("requested_at", "target_at"),
        lists=("scope",),
    )
    action = actions.create_action(session, actor, incident, data)
    return redirect(request, _incident_url(incident.id, "actions"), flash=f"{action.kind.label} requested.")


@pages.post("/incidents/{incident_id}/actions/{action_id}/progress")
def incident_action_progress(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    incident_id: uuid.UUID,
    action_id: uuid.UUID,
    form: FormDep,
) -> Response:
    incident = service.get_incident(session, actor, incident_id)
    action = actions.get_action(session, actor, incident, action_id)
    data = parse(ActionProgress, form, times=("at",))
    actions.progress_action(session, actor, incident, action, data)
    return redirect(request, _incident_url(incident.id, "actions"), flash=f"Action {data.status.label.lower()}.")


@pages.post("/incidents/{incident_id}/playbooks")
def incident_playbook(
    request: Request, session: SessionDep, actor: ActorDep, incident_id: uuid.UUID, form: FormDep
) -> Response:
    incident = service.get_incident(session, actor, incident_id)
    try:
        playbook_id = uuid.UUID(str(form.get("playbook_id", "")))
    except ValueError:
        raise ValidationFailed.single("playbook_id", "Choose a playbook.") from None
    tasks = playbooks.start_playbook(session, actor, incident, playbook_id)
    return redirect(request, _incident_url(incident.id, "tasks"), flash=f"Playbook started: {len(tasks)} task(s).")


@pages.post("/incidents/{incident_id}/tasks/{task_id}")
def incident_task(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    incident_id: uuid.UUID,
    task_id: uuid.UUID,
    form: FormDep,
) -> Response:
    incident = service.get_incident(session, actor, incident_id)
    data = parse(TaskUpdate, form)
    playbooks.update_task(session, actor, incident, task_id, data)
    return redirect(request, _incident_url(incident.id, "tasks"), flash="Task updated.")


@pages.post("/incidents/{incident_id}/page")
def incident_page_start(
    request: Request, session: SessionDep, actor: ActorDep, incident_id: uuid.UUID, form: FormDep
) -> Response:
    incident = service.get_incident(session, actor, incident_id)
    try:
        policy_id = uuid.UUID(str(form.get("policy_id", "")))
    except ValueError:
        raise ValidationFailed.single("policy_id", "Choose an escalation policy.") from None
    paging.start_page(session, actor, policy_id, incident=incident)
    return redirect(request, _incident_url(incident.id, "pages"), flash="Paging started.")


# -- review -------------------------------------------------------------------------------------------------


@pages.get("/incidents/{incident_id}/review")
def review_page(request: Request, session: SessionDep, actor: ActorDep, incident_id: uuid.UUID) -> Response:
    incident = service.get_incident(session, actor, incident_id)
    reviews.require_internal(actor, incident)
    review = reviews.get_review(session, actor, incident)
    people = service.user_labels(session, {i.owner_user_id for i in review.items} if review else set())
    return render(
        request,
        "response/review.html",
        {
            "i": incident,
            "review": review,
            "names": people,
            "can_review": incident.org_id == actor.org_id and actor.can(Permission.response_review_write),
        },
    )


@pages.post("/incidents/{incident_id}/review")
def review_save(
    request: Request, session: SessionDep, actor: ActorDep, incident_id: uuid.UUID, form: FormDep
) -> Response:
    incident = service.get_incident(session, actor, incident_id)
    data = parse(ReviewIn, form, lists=("contributing_factors",))
    reviews.save_review(session, actor, incident, data)
    return redirect(request, f"/response/incidents/{incident.id}/review", flash="Review saved.")


@pages.post("/incidents/{incident_id}/review/items")
def review_item(
    request: Request, session: SessionDep, actor: ActorDep, incident_id: uuid.UUID, form: FormDep
) -> Response:
    incident = service.get_incident(session, actor, incident_id)
    data = parse(ReviewItemIn, form)
    reviews.add_item(session, actor, incident, data)
    return redirect(request, f"/response/incidents/{incident.id}/review", flash="Follow-up added.")


@pages.post("/incidents/{incident_id}/review/items/{item_id}/done")
def review_item_done(
    request: Request, session: SessionDep, actor: ActorDep, incident_id: uuid.UUID, item_id: uuid.UUID
) -> Response:
    incident = service.get_incident(session, actor, incident_id)
    reviews.complete_item(session, actor, incident, item_id)
    return redirect(request, f"/response/incidents/{incident.id}/review", flash="Follow-up done.")


@pages.post("/incidents/{incident_id}/review/close")
def review_close(request: Request, session: SessionDep, actor: ActorDep, incident_id: uuid.UUID) -> Response:
    incident = service.get_incident(session, actor, incident_id)
    reviews.close_review(session, actor, incident)
    return redirect(request, f"/response/incidents/{incident.id}/review", flash="Review closed.")


# -- inventory, playbooks, contacts ---------------------------------------------------------------------


@pages.get("/models")
def models_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return render(
        request,
        "response/models.html",
        {
            "rows": service.list_model_versions(session, actor),
            "can_manage": actor.can(Permission.response_playbook_manage),
        },
    )


@pages.post("/models")
def models_add(request: Request, session: SessionDep, actor: ActorDep, form: FormDep) -> Response:
    data = parse(ModelVersionIn, form, times=("deployed_at",), lists=("surfaces",))
    mv = service.add_model_version(session, actor, data)
    return redirect(request, "/response/models", flash=f"{mv.key} added to the inventory.")


@pages.get("/playbooks")
def playbooks_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return render(
        request,
        "response/playbooks.html",
        {
            "rows": playbooks.list_playbooks(session, actor, current_only=False),
            "can_manage": actor.can(Permission.response_playbook_manage),
            **_vocab(),
        },
    )


def _steps(text: str) -> list[PlaybookStep]:
    """One step per line: ``title | role | target minutes | action kind`` (all but the title optional)."""
    steps = []
    for n, line in enumerate(x.strip() for x in text.splitlines() if x.strip()):
        parts = [p.strip() for p in line.split("|")]
        raw: dict[str, Any] = {"title": parts[0]}
        if len(parts) > 1 and parts[1]:
            raw["role"] = parts[1]
        if len(parts) > 2 and parts[2]:
            raw["target_minutes"] = parts[2]
        if len(parts) > 3 and parts[3]:
            raw["action_kind"] = parts[3]
        try:
            steps.append(PlaybookStep.model_validate(raw))
        except ValueError as exc:
            raise ValidationFailed.single(f"steps[{n}]", str(exc).splitlines()[-1]) from None
    return steps


@pages.post("/playbooks")
def playbooks_save(request: Request, session: SessionDep, actor: ActorDep, form: FormDep) -> Response:
    steps = _steps(str(form.pop("steps", "")))
    data = parse(PlaybookIn, {**form, "steps": [s.model_dump() for s in steps]})
    book = playbooks.save_playbook(session, actor, data)
    return redirect(request, f"/response/playbooks/{book.id}", flash=f"{book.name} v{book.version} saved.")


@pages.get("/playbooks/{playbook_id}")
def playbook_page(request: Request, session: SessionDep, actor: ActorDep, playbook_id: uuid.UUID) -> Response:
    book = playbooks.get_playbook(session, actor, playbook_id)
    return render(
        request,
        "response/playbook.html",
        {
            "book": book,
            "versions": playbooks.versions(session, actor, book.slug),
            "can_manage": actor.can(Permission.response_playbook_manage),
            **_vocab(),
        },
    )


@pages.get("/contacts")
def contacts_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return render(
        request,
        "response/contacts.html",
        {
            "rows": contacts.list_contacts(session, actor),
            "now": utcnow(),
            "can_manage": actor.can(Permission.response_playbook_manage),
            **_vocab(),
        },
    )


@pages.post("/contacts")
def contacts_add(request: Request, session: SessionDep, actor: ActorDep, form: FormDep) -> Response:
    data = parse(ContactIn, form, flags=("reachable_24h", "is_government"))
    c = contacts.create_contact(session, actor, data)
    return redirect(request, "/response/contacts", flash=f"{c.agency} added.")


@pages.post("/contacts/{contact_id}/verify")
def contacts_verify(request: Request, session: SessionDep, actor: ActorDep, contact_id: uuid.UUID) -> Response:
    c = contacts.verify_contact(session, actor, contact_id)
    return redirect(request, "/response/contacts", flash=f"{c.agency} verified today.")


# -- on-call -------------------------------------------------------------------------------------------------


@pages.get("/oncall")
def oncall_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    now = utcnow()
    rosters = oncall.list_rosters(session, actor)
    week = {
        r.id: oncall.coverage_report(
            session, r, oncall.week_start(now, r.time_zone), oncall.week_start(now, r.time_zone) + oncall.WEEK
        )
        for r in rosters
    }
    return render(
        request,
        "response/oncall.html",
        {
            "rosters": rosters,
            "week": week,
            "policies": paging.list_policies(session, actor),
            "pages": paging.list_pages(session, actor, limit=20),
            "now": now,
            "can_manage": actor.can(Permission.response_roster_manage),
            **_vocab(),
        },
    )


def _layer_form(form: dict[str, Any]) -> LayerIn:
    windows = []
    if form.get("window_start") and form.get("window_end"):
        days = form.get("window_days") or [str(d) for d in range(7)]
        windows.append(
            {
                "start": form.pop("window_start"),
                "end": form.pop("window_end"),
                "days": [int(d) for d in (days if isinstance(days, list) else [days])],
            }
        )
    for key in ("window_start", "window_end", "window_days"):
        form.pop(key, None)
    hours = form.pop("shift_hours", "")
    if hours:
        try:
            form["shift_minutes"] = int(float(str(hours)) * 60)
        except ValueError:
            raise ValidationFailed.single("shift_hours", "A number of hours.") from None
    layer = parse(LayerIn, {**form, "windows": windows}, times=("anchor", "until"), lists=("participant_emails",))
    return layer


@pages.post("/rosters")
def roster_create(request: Request, session: SessionDep, actor: ActorDep, form: FormDep) -> Response:
    head: dict[str, Any] = {k: form.pop(k) for k in ("team", "risk_domain", "time_zone") if k in form}
    layer = _layer_form(form) if form.get("participant_emails") else None
    data = parse(RosterIn, head)
    data.layers = [layer] if layer else []
    roster = oncall.create_roster(session, actor, data)
    return redirect(request, f"/response/rosters/{roster.id}", flash=f"Roster {roster.team} created.")


@pages.get("/rosters/{roster_id}")
def roster_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    roster_id: uuid.UUID,
    start: Annotated[str | None, Query(max_length=40)] = None,
    days: Annotated[int, Query(ge=1, le=92)] = 7,
) -> Response:
    roster = oncall.get_roster(session, actor, roster_id)
    begin = utc_local(start) or oncall.week_start(utcnow(), roster.time_zone)
    report = oncall.coverage_report(session, roster, begin, begin + timedelta(days=days))
    names = oncall.user_names(
        session,
        {p for layer in roster.layers for p in layer.participants} | {str(o.user_id) for o in roster.overrides},
    )
    return render(
        request,
        "response/roster.html",
        {
            "roster": roster,
            "report": report,
            "names": {**names, **report.names},
            "days": days,
            "by_day": oncall.by_day(report, roster.time_zone),
            "prev": (begin - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M"),
            "next": (begin + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M"),
            "can_manage": actor.can(Permission.response_roster_manage),
            "now": utcnow(),
            **_vocab(),
        },
    )


@pages.post("/rosters/{roster_id}/layers")
def roster_layer(
    request: Request, session: SessionDep, actor: ActorDep, roster_id: uuid.UUID, form: FormDep
) -> Response:
    roster = oncall.get_roster(session, actor, roster_id)
    oncall.add_layer(session, actor, roster, _layer_form(form))
    return redirect(request, f"/response/rosters/{roster.id}", flash="Layer added.")


@pages.post("/rosters/{roster_id}/overrides")
def roster_override(
    request: Request, session: SessionDep, actor: ActorDep, roster_id: uuid.UUID, form: FormDep
) -> Response:
    roster = oncall.get_roster(session, actor, roster_id)
    oncall.add_override(session, actor, roster, parse(OverrideIn, form, times=("start", "end")))
    return redirect(request, f"/response/rosters/{roster.id}", flash="Override added.")


@pages.post("/escalation-policies")
def policy_create(request: Request, session: SessionDep, actor: ActorDep, form: FormDep) -> Response:
    levels = []
    for n in range(1, 6):
        targets = lines(form.pop(f"level{n}_targets", ""))
        wait = form.pop(f"level{n}_wait", "")
        if targets:
            levels.append(LevelIn.model_validate({"targets": targets, "wait_minutes": wait or 10}))
    data = parse(EscalationPolicyIn, {**form, "levels": [lv.model_dump() for lv in levels]}, flags=("webhooks",))
    policy = paging.create_policy(session, actor, data)
    return redirect(request, "/response/oncall", flash=f"Escalation policy {policy.name} created.")


@pages.post("/pages/{page_id}/ack")
def page_ack(request: Request, session: SessionDep, actor: ActorDep, page_id: uuid.UUID) -> Response:
    page = paging.acknowledge_as(session, actor, page_id)
    target = _incident_url(page.incident_id, "pages") if page.incident_id else "/response/oncall"
    return redirect(request, target, flash="Page acknowledged.")


# -- metrics --------------------------------------------------------------------------------------------


@pages.get("/metrics")
def metrics_page(
    request: Request, session: SessionDep, actor: ActorDep, days: Annotated[int, Query(ge=7, le=3660)] = 365
) -> Response:
    start, end = stats.default_window(utcnow(), days)
    result = stats.response_metrics(session, actor, start, end)
    return render(
        request,
        "response/metrics.html",
        {
            "m": result,
            "days": days,
            "charts": metrics_charts(result),
            "measures": {m.name: m for m in Measure},
            "exact_limit": stats.EXACT_LIMIT,
            "accuracy": rollup.RELATIVE_ACCURACY,
            **_vocab(),
        },
    )


# -- public acknowledgement link ------------------------------------------------------------------------


@public.get("/ack/{token}")
def ack_link(request: Request, session: SessionDep, actor: OptionalActorDep, token: str) -> Response:
    """Shows the page and a button: a GET never acknowledges (mail scanners follow links)."""
    rate_limit(request, "response-ack", ACK_PER_MINUTE, session=session)
    page = paging.page_for_token(session, token[:200])
    return render(request, "response/ack.html", {"page": page, "token": token})


@public.post("/ack/{token}")
def ack_link_post(request: Request, session: SessionDep, actor: OptionalActorDep, token: str) -> Response:
    rate_limit(request, "response-ack", ACK_PER_MINUTE, session=session)
    page = paging.page_for_token(session, token[:200])
    paging.acknowledge(session, page, actor=actor if actor and actor.org_id == page.org_id else None)
    return render(request, "response/ack.html", {"page": page, "token": token, "done": True})


routers = [pages, public, api_router]
