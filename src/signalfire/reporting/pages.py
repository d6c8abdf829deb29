"""Reporting pages (/reporting/...). Forms work without JavaScript; every action redirects with a flash,
and a form with bad input comes back (422) with what was typed, each error beside its field."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.deps import ActorDep
from signalfire.access.models import OrgKind
from signalfire.access.permissions import Permission
from signalfire.access.policy import require
from signalfire.core.clock import utcnow
from signalfire.core.errors import FieldError, ValidationFailed
from signalfire.core.schemas import SafeText
from signalfire.core.web.deps import SessionDep, protected_router
from signalfire.core.web.templating import redirect, render
from signalfire.reporting import (
    assessments,
    bindings,
    display,
    events,
    inbox,
    obligations,
    prompts,
    queries,
    reports,
    retention,
    service,
    views,
)
from signalfire.reporting.facts import RESPONSE_FACTS, event_states, get_incident
from signalfire.reporting.forms import FormData, attempt, by_field, local_input, summary, utc
from signalfire.reporting.rules import catalog
from signalfire.reporting.rules.clock_events import label as event_label
from signalfire.reporting.rules.clock_events import render as render_start
from signalfire.response.models import Incident

pages = protected_router(prefix="/reporting", include_in_schema=False)
Text = Annotated[SafeText, Form(max_length=20_000)]


def page_context(session: Session, actor: Actor, **extra: Any) -> dict[str, Any]:
    """What every reporting page shares: the helpers for labels and the open-question count of the tabs."""
    open_questions = (
        len(inbox.unanswered_questions(session, actor)) if actor.can(Permission.reporting_obligation_read) else 0
    )
    return {**display.HELPERS, "open_question_count": open_questions, "now": utcnow(), **extra}


# -- board -----------------------------------------------------------------------------------------------


@pages.get("", response_class=HTMLResponse)
def board(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    if actor.org_kind is OrgKind.authority:
        return redirect(request, "/reporting/inbox")
    b = obligations.board(session, actor)
    return render(
        request,
        "reporting/board.html",
        page_context(
            session,
            actor,
            board=b,
            recent=queries.recent_incidents(session, actor),
            unassessed=prompts.needs_assessment(session, actor),
            questions=inbox.unanswered_questions(session, actor),
            tab="board",
            label=catalog.obligation_label,
            next_action=views.next_action,
        ),
    )


# -- incidents -------------------------------------------------------------------------------------------

EVENT_LABELS = {"event": "Event", "at": "When (UTC)", "evidence": "Evidence", "reason": "Reason for overriding"}


def _incident_page(
    request: Request,
    session: Session,
    actor: Actor,
    incident: Incident,
    *,
    typed: dict[str, str] | None = None,
    errors: list[FieldError] | None = None,
) -> Response:
    view = views.incident_view(session, actor, incident)
    wanted = request.query_params.get("event", "")
    recordable = [(e.value, event_label(e.value), events.describe(e.value)) for e in events.RECORDABLE]
    form = typed or {"event": wanted if wanted in {v for v, _, _ in recordable} else ""}
    event_errors = by_field(errors or [])
    return render(
        request,
        "reporting/incident.html",
        page_context(
            session,
            actor,
            v=view,
            recordable=recordable,
            describe=events.describe,
            tab="board",
            label=catalog.obligation_label,
            next_action=views.next_action,
            ev=form,
            ev_errors=event_errors,
            ev_summary=summary(event_errors, EVENT_LABELS),
            response_events=sorted(RESPONSE_FACTS),
        ),
        status_code=422 if errors else 200,
    )


@pages.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(request: Request, incident_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    incident = get_incident(session, actor, incident_id)
    return _incident_page(request, session, actor, incident)


@pages.post("/incidents/{incident_id}/events")
def record_event(
    request: Request,
    incident_id: uuid.UUID,
    session: SessionDep,
    actor: ActorDep,
    event: Annotated[SafeText, Form(max_length=40)],
    at: Annotated[SafeText, Form(max_length=40)] = "",
    evidence: Annotated[SafeText, Form(max_length=5001)] = "",
    reason: Annotated[SafeText, Form(max_length=5001)] = "",
) -> Response:
    incident = get_incident(session, actor, incident_id)
    require(actor, Permission.reporting_assessment_write)

    done = attempt(
        session,
        lambda: service.record_event(
            session, actor, incident, event=event, at=utc(at, "at"), evidence=evidence, reason=reason
        ),
    )
    if not done.ok:
        typed = {"event": event, "at": at, "evidence": evidence, "reason": reason}
        return _incident_page(request, session, actor, incident, typed=typed, errors=done.errors)
    return redirect(
        request,
        f"/reporting/incidents/{incident.id}#events",
        flash=f"Recorded: {event_label(event).lower()}; clocks recomputed.",
    )


@pages.post("/incidents/{incident_id}/recompute")
def recompute(request: Request, incident_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    incident = get_incident(session, actor, incident_id)
    s = service.recompute_incident(session, actor, incident)
    msg = (
        f"Recomputed: {len(s.created)} new, {len(s.updated)} changed, {len(s.closed)} closed."
        if s.changed
        else "Recomputed: nothing changed."
    )
    return redirect(request, f"/reporting/incidents/{incident.id}", flash=msg)


def _assess_page(
    request: Request,
    session: Session,
    actor: Actor,
    incident: Incident,
    regime_id: str,
    *,
    typed: dict[str, str] | None = None,
    errors: list[FieldError] | None = None,
) -> Response:
    q = assessments.questionnaire(session, incident, regime_id)
    states = event_states(session, incident)
    # One time input per implied event, beside the first question that implies it.
    times: dict[str, list[str]] = {}
    seen: set[str] = set()
    for qid, implied in q.implied.items():
        times[qid] = [e for e in implied if e not in seen]
        seen.update(implied)
    prefill = {e: local_input(at) for implied in q.implied.values() for e, at in implied.items()}
    if typed is None:
        values = {f"q.{k}": v for k, v in q.answers.items()}
        values |= {f"f.{k}": v for k, v in q.facts.items()}
        values |= {f"t.{e}": v for e, v in prefill.items()}
        values["rationale"] = q.rationale
    else:
        values = typed
    labels = {f"q.{x.id}": x.text for x in q.regime.questions}
    labels |= {f"f.{x.id}": x.text for x in q.regime.applicability.facts}
    labels |= {f"t.{e}": f"When: {event_label(e).lower()}" for e in prefill}
    labels |= {"rationale": "Rationale", "effective_at": "Assessment made at"}
    errs = by_field(errors or [], _assess_field)
    return render(
        request,
        "reporting/assess.html",
        page_context(
            session,
            actor,
            incident=incident,
            q=q,
            states=states,
            times=times,
            prefill=prefill,
            values=values,
            errors=errs,
            error_summary=summary(errs, labels),
            describe=events.describe,
            render_start=render_start,
            tab="board",
        ),
        status_code=422 if errors else 200,
    )


def _assess_field(name: str) -> str:
    """A service's field name as the form's: answers.x -> q.x, facts.x -> f.x, event_times.x -> t.x."""
    for prefix, form in (("answers.", "q."), ("facts.", "f."), ("event_times.", "t.")):
        if name.startswith(prefix):
            return form + name.removeprefix(prefix)
    return name


@pages.get("/incidents/{incident_id}/assess/{regime_id}", response_class=HTMLResponse)
def assess_page(
    request: Request, incident_id: uuid.UUID, regime_id: str, session: SessionDep, actor: ActorDep
) -> Response:
    incident = get_incident(session, actor, incident_id)
    return _assess_page(request, session, actor, incident, regime_id)


@pages.post("/incidents/{incident_id}/assess/{regime_id}")
def assess_submit(
    request: Request, incident_id: uuid.UUID, regime_id: str, session: SessionDep, actor: ActorDep, data: FormData
) -> Response:
    incident = get_incident(session, actor, incident_id)
    require(actor, Permission.reporting_assessment_write)
    q = assessments.questionnaire(session, incident, regime_id)
    answers = {k.removeprefix("q."): v for k, v in data.items() if k.startswith("q.")}
    # Facts the org profile answers are not in the form: the service reads them from the profile.
    facts = {k.removeprefix("f."): v for k, v in data.items() if k.startswith("f.")}
    prefill = {e: local_input(at) for implied in q.implied.values() for e, at in implied.items()}
    parse_errors: list[FieldError] = []
    event_times: dict[str, datetime] = {}
    for key, value in data.items():
        if not key.startswith("t.") or not value.strip():
            continue
        name = key.removeprefix("t.")
        if value.strip() == prefill.get(name):
            continue  # the time already recorded, shown again: nothing new
        try:
            event_times[name] = utc(value, key)
        except ValidationFailed as exc:
            parse_errors.extend(exc.errors)
    effective_at = None
    if data.get("effective_at", "").strip():
        try:
            effective_at = utc(data["effective_at"], "effective_at")
        except ValidationFailed as exc:
            parse_errors.extend(exc.errors)
    if parse_errors:
        return _assess_page(request, session, actor, incident, regime_id, typed=data, errors=parse_errors)
    done = attempt(
        session,
        lambda: assessments.assess_incident(
            session,
            actor,
            incident,
            regime_id=regime_id,
            answers=answers,
            facts=facts,
            rationale=data.get("rationale", ""),
            event_times=event_times,
            effective_at=effective_at,
        ),
    )
    if done.value is None:
        return _assess_page(request, session, actor, incident, regime_id, typed=data, errors=done.errors)
    a = done.value.assessment
    classes = a.classes or a.possible_classes
    return redirect(
        request,
        f"/reporting/incidents/{incident.id}",
        flash=f"Assessment v{a.version} under {q.regime.title}: {a.outcome.label}"
        + (f" ({display.class_names(a.regime_id, a.regime_version, classes)})" if classes else "")
        + f"; {len(done.value.sync.created)} obligation(s) created.",
    )


@pages.post("/incidents/{incident_id}/holds")
def place_hold(
    request: Request,
    incident_id: uuid.UUID,
    session: SessionDep,
    actor: ActorDep,
    reason: Annotated[SafeText, Form(max_length=5000)] = "",
) -> Response:
    incident = get_incident(session, actor, incident_id)
    retention.place_hold(session, actor, incident, reason)
    return redirect(request, f"/reporting/incidents/{incident.id}", flash="Legal hold placed.")


@pages.post("/holds/{hold_id}/release")
def release_hold(
    request: Request,
    hold_id: uuid.UUID,
    session: SessionDep,
    actor: ActorDep,
    reason: Annotated[SafeText, Form(max_length=5000)] = "",
) -> Response:
    hold = retention.release_hold(session, actor, hold_id, reason)
    return redirect(request, f"/reporting/incidents/{hold.incident_id}", flash="Legal hold released.")


@pages.post("/obligations/{obligation_id}/report")
def start_report(request: Request, obligation_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    report = reports.start_report(session, actor, obligation_id)
    return redirect(request, f"/reporting/reports/{report.id}")


@pages.post("/obligations/{obligation_id}/waive")
def waive(
    request: Request,
    obligation_id: uuid.UUID,
    session: SessionDep,
    actor: ActorDep,
    reason: Annotated[SafeText, Form(max_length=5000)] = "",
) -> Response:
    o = obligations.waive(session, actor, obligation_id, reason)
    stage = catalog.obligation_label(o.regime_id, o.regime_version, o.stage)
    return redirect(
        request,
        f"/reporting/incidents/{o.incident_id}",
        flash=f"{stage} waived.",
    )


# -- authority inbox -------------------------------------------------------------------------------------


@pages.get("/inbox", response_class=HTMLResponse)
def inbox_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return render(request, "reporting/inbox.html", {"rows": inbox.inbox(session, actor), "tab": "inbox"})


@pages.get("/inbox/{delivery_id}", response_class=HTMLResponse)
def delivery_page(request: Request, delivery_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    d = inbox.get_delivery(session, actor, delivery_id)
    v = inbox.delivery_version(session, d)
    return render(
        request,
        "reporting/delivery.html",
        {
            "d": d,
            "v": v,
            "c": v.content,
            "messages": inbox.thread(session, actor, d.report_id, d.authority_org_id),
            "can_respond": actor.can(Permission.reporting_inbox_respond) and actor.org_kind is OrgKind.authority,
            "tab": "inbox",
        },
    )


@pages.get("/inbox/{delivery_id}/document", response_class=HTMLResponse)
def delivery_document(request: Request, delivery_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    d = inbox.get_delivery(session, actor, delivery_id)
    v = inbox.delivery_version(session, d)
    return render(
        request,
        "reporting/document.html",
        {"c": v.content, "sha256": v.content_hash, "back": f"/reporting/inbox/{d.id}", "tab": "inbox"},
    )


@pages.post("/inbox/{delivery_id}/acknowledge")
def acknowledge(request: Request, delivery_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    inbox.acknowledge(session, actor, delivery_id)
    return redirect(request, f"/reporting/inbox/{delivery_id}", flash="Receipt acknowledged.")


@pages.post("/inbox/{delivery_id}/questions")
def ask(request: Request, delivery_id: uuid.UUID, session: SessionDep, actor: ActorDep, body: Text = "") -> Response:
    inbox.ask(session, actor, delivery_id, body)
    return redirect(request, f"/reporting/inbox/{delivery_id}", flash="Question sent.")


# -- regimes, settings, bindings -------------------------------------------------------------------------


@pages.get("/regimes", response_class=HTMLResponse)
def regimes_page(request: Request, actor: ActorDep) -> Response:
    return render(
        request, "reporting/regimes.html", {**display.HELPERS, "regimes": catalog.regimes(), "tab": "regimes"}
    )


@pages.get("/regimes/{regime_id}", response_class=HTMLResponse)
def regime_page(request: Request, regime_id: str, actor: ActorDep, version: str | None = None) -> Response:
    regime = catalog.get(regime_id, version) if version else catalog.latest(regime_id)
    return render(
        request,
        "reporting/regime.html",
        {"r": regime, "versions": catalog.regimes()[regime.id], "stage_label": catalog.stage_label, "tab": "regimes"},
    )


@pages.get("/bindings", response_class=HTMLResponse)
def bindings_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    authorities = queries.authority_orgs(session, actor)
    targets = [
        (r.id, rec.id, rec.name)
        for versions in catalog.regimes().values()
        for r in versions[-1:]
        for rec in r.recipients
    ]
    return render(
        request,
        "reporting/bindings.html",
        page_context(
            session,
            actor,
            rows=bindings.list_bindings(session, actor),
            authorities=authorities,
            targets=targets,
            can_manage=actor.can(Permission.reporting_binding_manage),
            tab="bindings",
        ),
    )


@pages.post("/bindings")
def bindings_save(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    target: Annotated[SafeText, Form(max_length=200)],
    authority_org_id: Annotated[uuid.UUID, Form()],
) -> Response:
    regime_id, _, recipient_id = target.partition("/")
    bindings.bind(session, actor, regime_id=regime_id, recipient_id=recipient_id, authority_org_id=authority_org_id)
    return redirect(request, "/reporting/bindings", flash=f"{regime_id} / {recipient_id} bound.")


@pages.post("/bindings/{binding_id}/delete")
def bindings_delete(request: Request, binding_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    bindings.unbind(session, actor, binding_id)
    return redirect(request, "/reporting/bindings", flash="Binding removed.")
