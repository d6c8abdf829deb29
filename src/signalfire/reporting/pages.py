"""Reporting pages (/reporting/...). Forms work without JavaScript; every action redirects with a flash."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from signalfire.access.deps import ActorDep
from signalfire.access.models import Organization, OrgKind
from signalfire.access.permissions import Permission
from signalfire.access.policy import require
from signalfire.access.policy.response import readable_incidents
from signalfire.core.clock import utcnow
from signalfire.core.errors import ValidationFailed
from signalfire.core.web.deps import SessionDep, protected_router
from signalfire.core.web.templating import redirect, render
from signalfire.reporting import (
    assessments,
    bindings,
    catalog,
    events,
    inbox,
    obligations,
    org_settings,
    reports,
    retention,
    views,
)
from signalfire.reporting.clock_events import render as render_start
from signalfire.reporting.facts import clock_events, get_incident
from signalfire.reporting.models import Assessment
from signalfire.reporting.reports import FieldValue
from signalfire.response.models import Incident

pages = protected_router(prefix="/reporting", include_in_schema=False)
Text = Annotated[str, Form(max_length=20_000)]


async def form_data(request: Request) -> dict[str, str]:
    """The posted form as a plain dict (for questionnaires and report fields, whose names come from data)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


FormData = Annotated[dict[str, str], Depends(form_data)]


def _utc(value: str, field: str) -> datetime:
    """A datetime-local form value (no zone) read as UTC, as the form says; or an ISO time with a zone."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed.single(field, "Give a date and time (UTC).") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


# -- board -----------------------------------------------------------------------------------------------


@pages.get("", response_class=HTMLResponse)
def board(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    if actor.org_kind is OrgKind.authority:
        return redirect(request, "/reporting/inbox")
    b = obligations.board(session, actor)
    recent: list[tuple[Incident, int]] = []
    if actor.can(Permission.reporting_obligation_read):
        counts = (
            select(Assessment.incident_id, func.count().label("n"))
            .where(Assessment.org_id == actor.org_id, Assessment.is_current.is_(True))
            .group_by(Assessment.incident_id)
            .subquery()
        )
        rows = session.execute(
            readable_incidents(actor)
            .where(Incident.org_id == actor.org_id)
            .add_columns(func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.incident_id == Incident.id)
            .order_by(Incident.aware_at.desc())
            .limit(20)
        ).all()
        recent = [(i, int(n)) for i, n in rows]
    return render(
        request,
        "reporting/board.html",
        {"board": b, "recent": recent, "tab": "board", "label": catalog.obligation_label},
    )


# -- incidents -------------------------------------------------------------------------------------------


@pages.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(request: Request, incident_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    incident = get_incident(session, actor, incident_id)
    view = views.incident_view(session, actor, incident)
    return render(
        request,
        "reporting/incident.html",
        {
            "v": view,
            "recordable": [(e.value, events.describe(e.value)) for e in events.RECORDABLE],
            "describe": events.describe,
            "now": utcnow(),
            "tab": "board",
            "label": catalog.obligation_label,
        },
    )


@pages.post("/incidents/{incident_id}/events")
def record_event(
    request: Request,
    incident_id: uuid.UUID,
    session: SessionDep,
    actor: ActorDep,
    event: Annotated[str, Form(max_length=40)],
    at: Annotated[str, Form(max_length=40)],
    evidence: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    incident = get_incident(session, actor, incident_id)
    events.record_event(session, actor, incident, event=event, at=_utc(at, "at"), evidence=evidence)
    obligations.sync_incident(session, incident, actor=actor)
    return redirect(request, f"/reporting/incidents/{incident.id}", flash=f"Recorded {event}; clocks recomputed.")


@pages.post("/incidents/{incident_id}/recompute")
def recompute(request: Request, incident_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    incident = get_incident(session, actor, incident_id)
    require(actor, Permission.reporting_assessment_write)
    s = obligations.sync_incident(session, incident, actor=actor)
    msg = (
        f"Recomputed: {len(s.created)} new, {len(s.updated)} changed, {len(s.closed)} closed."
        if s.changed
        else "Recomputed: nothing changed."
    )
    return redirect(request, f"/reporting/incidents/{incident.id}", flash=msg)


@pages.get("/incidents/{incident_id}/assess/{regime_id}", response_class=HTMLResponse)
def assess_page(
    request: Request, incident_id: uuid.UUID, regime_id: str, session: SessionDep, actor: ActorDep
) -> Response:
    incident = get_incident(session, actor, incident_id)
    q = assessments.questionnaire(session, incident, regime_id)
    known = clock_events(session, incident)
    return render(
        request,
        "reporting/assess.html",
        {
            "incident": incident,
            "q": q,
            "known": known,
            "describe": events.describe,
            "render_start": render_start,
            "tab": "board",
        },
    )


@pages.post("/incidents/{incident_id}/assess/{regime_id}")
def assess_submit(
    request: Request, incident_id: uuid.UUID, regime_id: str, session: SessionDep, actor: ActorDep, data: FormData
) -> Response:
    incident = get_incident(session, actor, incident_id)
    answers = {k.removeprefix("q."): v for k, v in data.items() if k.startswith("q.")}
    facts = {k.removeprefix("f."): v for k, v in data.items() if k.startswith("f.")}
    done = assessments.assess_incident(
        session,
        actor,
        incident,
        regime_id=regime_id,
        answers=answers,
        facts=facts,
        rationale=data.get("rationale", "")[:20_000],
    )
    a = done.assessment
    return redirect(
        request,
        f"/reporting/incidents/{incident.id}",
        flash=f"Assessment v{a.version} under {a.regime_id}: {a.outcome.label}"
        + (f" ({', '.join(a.classes or a.possible_classes)})" if a.classes or a.possible_classes else "")
        + f"; {len(done.sync.created)} obligation(s) created.",
    )


@pages.post("/incidents/{incident_id}/holds")
def place_hold(
    request: Request,
    incident_id: uuid.UUID,
    session: SessionDep,
    actor: ActorDep,
    reason: Annotated[str, Form(max_length=5000)] = "",
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
    reason: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    hold = retention.release_hold(session, actor, hold_id, reason)
    return redirect(request, f"/reporting/incidents/{hold.incident_id}", flash="Legal hold released.")


# -- obligations and reports -----------------------------------------------------------------------------


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
    reason: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    o = obligations.waive(session, actor, obligation_id, reason)
    return redirect(request, f"/reporting/incidents/{o.incident_id}", flash=f"{o.stage} waived.")


@pages.get("/reports/{report_id}", response_class=HTMLResponse)
def report_page(request: Request, report_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    report = reports.get_report(session, actor, report_id)
    incident = get_incident(session, actor, report.incident_id)
    view = views.report_view(session, actor, report, incident)
    return render(
        request,
        "reporting/report.html",
        {
            "r": view,
            "stage_label": catalog.stage_label,
            "can_edit": actor.can(Permission.reporting_report_write),
            "can_submit": actor.can(Permission.reporting_report_submit),
            "can_answer": actor.can(Permission.reporting_inbox_respond),
            "tab": "board",
        },
    )


def _field_values(data: dict[str, str]) -> dict[str, FieldValue]:
    ids = {k.removeprefix("field.") for k in data if k.startswith("field.")}
    return {fid: FieldValue(data.get(f"field.{fid}", ""), data.get(f"prelim.{fid}") == "on") for fid in ids}


@pages.post("/reports/{report_id}")
def save_report(
    request: Request, report_id: uuid.UUID, session: SessionDep, actor: ActorDep, data: FormData
) -> Response:
    reports.save_draft(session, actor, report_id, _field_values(data))
    return redirect(request, f"/reporting/reports/{report_id}", flash="Draft saved.")


@pages.post("/reports/{report_id}/submit")
def submit_report(
    request: Request, report_id: uuid.UUID, session: SessionDep, actor: ActorDep, data: FormData
) -> Response:
    values = _field_values(data)
    if values:
        require(actor, Permission.reporting_report_submit)
        reports.save_draft(session, actor, report_id, values)
    version = reports.submit(session, actor, report_id)
    return redirect(
        request,
        f"/reporting/reports/{report_id}",
        flash=f"Submitted version {version.number} (sha256 {version.content_hash[:12]}...).",
    )


@pages.get("/reports/{report_id}/versions/{number}", response_class=HTMLResponse)
def report_document(
    request: Request, report_id: uuid.UUID, number: int, session: SessionDep, actor: ActorDep
) -> Response:
    version = reports.get_version(session, actor, report_id, number)
    reports.export_version(session, actor, version, "html")
    return render(
        request,
        "reporting/document.html",
        {
            "c": version.content,
            "sha256": version.content_hash,
            "back": f"/reporting/reports/{report_id}",
            "tab": "board",
        },
    )


@pages.post("/reports/{report_id}/questions/{question_id}/answer")
def answer(
    request: Request,
    report_id: uuid.UUID,
    question_id: uuid.UUID,
    session: SessionDep,
    actor: ActorDep,
    body: Text = "",
) -> Response:
    inbox.answer(session, actor, report_id, question_id, body)
    return redirect(request, f"/reporting/reports/{report_id}", flash="Answer sent.")


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
    return render(request, "reporting/regimes.html", {"regimes": catalog.regimes(), "tab": "regimes"})


@pages.get("/regimes/{regime_id}", response_class=HTMLResponse)
def regime_page(request: Request, regime_id: str, actor: ActorDep, version: str | None = None) -> Response:
    regime = catalog.get(regime_id, version) if version else catalog.latest(regime_id)
    return render(
        request,
        "reporting/regime.html",
        {"r": regime, "versions": catalog.regimes()[regime.id], "stage_label": catalog.stage_label, "tab": "regimes"},
    )


@pages.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    s = org_settings.get_settings(session, actor.org_id)
    return render(
        request,
        "reporting/settings.html",
        {
            "s": s,
            "choices": [(m, org_settings.lead_label(m)) for m in org_settings.LEAD_CHOICES],
            "can_manage": actor.can(Permission.reporting_settings_manage),
            "tab": "settings",
        },
    )


@pages.post("/settings")
def settings_save(request: Request, session: SessionDep, actor: ActorDep, data: FormData) -> Response:
    sla = data.get("org_sla_minutes", "").strip()
    try:
        sla_minutes = int(sla) if sla else None
        leads = [int(k.removeprefix("lead.")) for k in data if k.startswith("lead.")]
    except ValueError:
        raise ValidationFailed.single("org_sla_minutes", "Give a whole number of minutes.") from None
    org_settings.update_settings(session, actor, org_sla_minutes=sla_minutes, leads=leads)
    n = obligations.resync_org(session, actor)
    return redirect(request, "/reporting/settings", flash=f"Settings saved; {n} incident(s) recomputed.")


@pages.get("/bindings", response_class=HTMLResponse)
def bindings_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    authorities = (
        session.execute(select(Organization).where(Organization.kind == OrgKind.authority).order_by(Organization.name))
        .scalars()
        .all()
    )
    targets = [
        (r.id, rec.id, rec.name)
        for versions in catalog.regimes().values()
        for r in versions[-1:]
        for rec in r.recipients
    ]
    return render(
        request,
        "reporting/bindings.html",
        {
            "rows": bindings.list_bindings(session, actor),
            "authorities": authorities,
            "targets": targets,
            "can_manage": actor.can(Permission.reporting_binding_manage),
            "tab": "bindings",
        },
    )


@pages.post("/bindings")
def bindings_save(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    target: Annotated[str, Form(max_length=200)],
    authority_org_id: Annotated[uuid.UUID, Form()],
) -> Response:
    regime_id, _, recipient_id = target.partition("/")
    bindings.bind(session, actor, regime_id=regime_id, recipient_id=recipient_id, authority_org_id=authority_org_id)
    return redirect(request, "/reporting/bindings", flash=f"{regime_id} / {recipient_id} bound.")


@pages.post("/bindings/{binding_id}/delete")
def bindings_delete(request: Request, binding_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    bindings.unbind(session, actor, binding_id)
    return redirect(request, "/reporting/bindings", flash="Binding removed.")
