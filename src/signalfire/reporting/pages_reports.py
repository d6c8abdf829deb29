"""Report pages (/reporting/reports/...): the draft form, submission (through Signalfire or recorded as
filed elsewhere at its real time), the frozen documents and the answer to an authority's question.

A save or submit with bad input shows the report again (422) with the text as typed and each problem
beside its field. A submission that fails on a missing field still keeps the typed text: the draft is
saved first, on its own."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.deps import ActorDep
from signalfire.access.permissions import Permission
from signalfire.access.policy import require
from signalfire.core.errors import FieldError, ValidationFailed
from signalfire.core.schemas import SafeText
from signalfire.core.web.deps import SessionDep, protected_router
from signalfire.core.web.params import VersionNumber
from signalfire.core.web.templating import redirect, render
from signalfire.reporting import inbox, reports, views
from signalfire.reporting.facts import get_incident
from signalfire.reporting.forms import FormData, attempt, by_field, summary, utc
from signalfire.reporting.pages import page_context
from signalfire.reporting.reports import FieldValue, OutsideFiling
from signalfire.reporting.rules import catalog

report_pages = protected_router(prefix="/reporting", include_in_schema=False)
Text = Annotated[SafeText, Form(max_length=20_000)]

CHANNELS = [("email", "E-mail"), ("portal", "The authority's portal"), ("post", "Post"), ("other", "Other")]
# The outside-filing inputs, by the service's field names.
OUTSIDE = {
    "filed_at": "outside_at",
    "channel": "outside_channel",
    "authority_reference": "outside_reference",
    "evidence": "outside_evidence",
}
OUTSIDE_LABELS = {
    "outside_at": "Filed at (UTC)",
    "outside_channel": "Channel",
    "outside_reference": "Authority's reference",
    "outside_evidence": "Evidence of the filing",
}


def _form_field(name: str) -> str:
    """A service field name as the form's: fields.x -> field.x (its preliminary flag too)."""
    if name.startswith("fields."):
        fid = name.removeprefix("fields.").removesuffix(".preliminary")
        return f"field.{fid}"
    return OUTSIDE.get(name, name)


def _report_page(
    request: Request,
    session: Session,
    actor: Actor,
    report_id: uuid.UUID,
    *,
    typed: dict[str, str] | None = None,
    errors: list[FieldError] | None = None,
    saved: bool = False,
) -> Response:
    report = reports.get_report(session, actor, report_id)
    incident = get_incident(session, actor, report.incident_id)
    view = views.report_view(session, actor, report, incident)
    # The service names the regime by its id; the page already says which regime this is.
    errs = {k: v.replace(f" under {report.regime_id}", "") for k, v in by_field(errors or [], _form_field).items()}
    labels = {f"field.{f.id}": f.label for f in view.fields} | OUTSIDE_LABELS
    return render(
        request,
        "reporting/report.html",
        page_context(
            session,
            actor,
            r=view,
            typed=typed,
            errors=errs,
            error_summary=summary(errs, labels),
            saved_anyway=saved,
            channels=CHANNELS,
            stage_label=catalog.stage_label,
            can_edit=actor.can(Permission.reporting_report_write),
            can_submit=actor.can(Permission.reporting_report_submit),
            can_answer=actor.can(Permission.reporting_inbox_respond),
            tab="board",
        ),
        status_code=422 if errors else 200,
    )


@report_pages.get("/reports/{report_id}", response_class=HTMLResponse)
def report_page(request: Request, report_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    return _report_page(request, session, actor, report_id)


def _field_values(data: dict[str, str]) -> dict[str, FieldValue]:
    ids = {k.removeprefix("field.") for k in data if k.startswith("field.")}
    return {fid: FieldValue(data.get(f"field.{fid}", ""), data.get(f"prelim.{fid}") == "on") for fid in ids}


@report_pages.post("/reports/{report_id}")
def save_report(
    request: Request, report_id: uuid.UUID, session: SessionDep, actor: ActorDep, data: FormData
) -> Response:
    saved = attempt(session, lambda: reports.save_draft(session, actor, report_id, _field_values(data)))
    if not saved.ok:
        return _report_page(request, session, actor, report_id, typed=data, errors=saved.errors)
    return redirect(request, f"/reporting/reports/{report_id}", flash="Draft saved.")


def _outside(data: dict[str, str]) -> OutsideFiling:
    """The filed-elsewhere inputs; the service checks the rest (channel, time against the incident)."""
    at = data.get("outside_at", "").strip()
    if not at:
        raise ValidationFailed.single("filed_at", "Give the date and time the report was filed (UTC).")
    return OutsideFiling(
        at=utc(at, "filed_at"),
        channel=data.get("outside_channel", ""),
        authority_reference=data.get("outside_reference", ""),
        evidence=data.get("outside_evidence", ""),
    )


def _submit(
    request: Request, session: Session, actor: Actor, report_id: uuid.UUID, data: dict[str, str], *, outside: bool
) -> Response:
    require(actor, Permission.reporting_report_submit)
    values = _field_values(data)
    if values:
        saved = attempt(session, lambda: reports.save_draft(session, actor, report_id, values))
        if not saved.ok:
            return _report_page(request, session, actor, report_id, typed=data, errors=saved.errors)
    done = attempt(
        session,
        lambda: reports.submit(session, actor, report_id, outside=_outside(data) if outside else None),
    )
    if done.value is None:
        return _report_page(request, session, actor, report_id, typed=data, errors=done.errors, saved=bool(values))
    version = done.value
    how = f" as filed by {version.channel} at {version.submitted_at:%Y-%m-%d %H:%M} UTC" if outside else ""
    return redirect(
        request,
        f"/reporting/reports/{report_id}",
        flash=f"Submitted version {version.number}{how} (sha256 {version.content_hash[:12]}...).",
    )


@report_pages.post("/reports/{report_id}/submit")
def submit_report(
    request: Request, report_id: uuid.UUID, session: SessionDep, actor: ActorDep, data: FormData
) -> Response:
    return _submit(request, session, actor, report_id, data, outside=False)


@report_pages.post("/reports/{report_id}/outside")
def record_outside(
    request: Request, report_id: uuid.UUID, session: SessionDep, actor: ActorDep, data: FormData
) -> Response:
    return _submit(request, session, actor, report_id, data, outside=True)


@report_pages.get("/reports/{report_id}/versions/{number}", response_class=HTMLResponse)
def report_document(
    request: Request, report_id: uuid.UUID, number: VersionNumber, session: SessionDep, actor: ActorDep
) -> Response:
    version = reports.get_version(session, actor, report_id, number)
    reports.export_version(session, actor, version, "html")
    return render(
        request,
        "reporting/document.html",
        page_context(
            session, actor, c=version.content, sha256=version.content_hash, back=f"/reporting/reports/{report_id}"
        ),
    )


@report_pages.post("/reports/{report_id}/questions/{question_id}/answer")
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
