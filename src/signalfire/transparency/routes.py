"""Transparency pages (/transparency ...), API (/api/v1/transparency ...) and the public editions
(/public/transparency ..., /api/v1/public/transparency ...). Thin: parse, call a service, render."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import Header, Query, Request
from fastapi.responses import JSONResponse, Response

from signalfire.access.actor import Actor
from signalfire.access.deps import ActorDep, OptionalActorDep
from signalfire.access.permissions import Permission
from signalfire.access.policy import require
from signalfire.core.clock import utcnow
from signalfire.core.errors import ValidationFailed
from signalfire.core.web.deps import SessionDep, protected_router, public_router
from signalfire.core.web.idempotency import run_idempotent
from signalfire.core.web.templating import redirect, render
from signalfire.response.forms import FormDep, parse
from signalfire.transparency import service
from signalfire.transparency.metrics import METRICS, MetricKind
from signalfire.transparency.models import TransparencyEdition, TransparencyReport
from signalfire.transparency.schemas import (
    MAX_SECTIONS,
    CellOut,
    EditionRef,
    FigureOut,
    MetricOut,
    RecordOut,
    RecordsOut,
    ReportDetailOut,
    ReportFields,
    ReportIn,
    ReportOut,
    SectionOut,
    SignOffIn,
    TotalOut,
)
from signalfire.transparency.suppression import suppress

pages = protected_router(prefix="/transparency", include_in_schema=False)
api = protected_router(prefix="/api/v1/transparency", tags=["transparency"])
public_pages = public_router(prefix="/public/transparency", include_in_schema=False)
public_api = public_router(prefix="/api/v1/public/transparency", tags=["transparency"])

IdemKey = Annotated[str | None, Header(alias="Idempotency-Key")]
Slug = Annotated[str, Query(max_length=60)]
CellQuery = Annotated[str | None, Query(max_length=80)]
FORM_SLOTS = 2  # empty section slots offered beside the existing ones (no JavaScript needed)


# -- shaping ---------------------------------------------------------------------------------------------------


def _edition_ref(org_slug: str, report: TransparencyReport, e: TransparencyEdition) -> EditionRef:
    path = f"{service.PUBLIC}/{org_slug}/{report.slug}/editions/{e.number}"
    return EditionRef(
        id=e.id,
        number=e.number,
        supersedes=e.supersedes,
        published_at=e.published_at,
        sha256=e.sha256,
        url=path,
        json_url=f"/api/v1/public/transparency/{org_slug}/{report.slug}/editions/{e.number}",
    )


def _report_out(org_slug: str, report: TransparencyReport, editions: list[TransparencyEdition]) -> dict[str, Any]:
    return {
        "id": report.id,
        "slug": report.slug,
        "title": report.title,
        "period_start": report.period_start,
        "period_end": report.period_end,
        "threshold": report.threshold,
        "status": report.status,
        "sections": [SectionOut.model_validate(s) for s in report.sections],
        "created_by_label": report.created_by_label,
        "updated_at": report.updated_at,
        "updated_by_label": report.updated_by_label,
        "signed_off_at": report.signed_off_at,
        "signed_off_by_label": report.signed_off_by_label,
        "editions": [_edition_ref(org_slug, report, e) for e in editions],
        "public_url": f"{service.PUBLIC}/{org_slug}/{report.slug}" if editions else None,
    }


def _figures(counts: dict[str, dict[str, int]], k: int) -> list[FigureOut]:
    out = []
    for kind, cells in counts.items():
        m = METRICS[MetricKind(kind)]
        labels = {c.key: c.label for c in m.cells()}
        shown, total = suppress(list(cells.values()), k, with_total=m.has_total)
        out.append(
            FigureOut(
                kind=m.kind,
                label=m.label,
                cells=[
                    CellOut(key=key, label=labels.get(key, key), count=n, **s.as_dict())
                    for (key, n), s in zip(cells.items(), shown, strict=True)
                ],
                total=TotalOut(count=sum(cells.values()), **total.as_dict()) if total else None,
            )
        )
    return out


def _detail(session: SessionDep, actor: Actor, report: TransparencyReport) -> ReportDetailOut:
    editions = service.editions_of(session, actor, report)
    figures = None
    if service.period_ended(report):
        figures = _figures(service.exact_figures(session, actor, report), report.threshold)
    return ReportDetailOut(**_report_out(service.org_slug(session, actor), report, editions), figures=figures)


def _form_input(data: dict[str, Any], *, with_slug: bool) -> ReportFields:
    """Sections come as s<i>_heading, s<i>_body and repeated s<i>_metrics fields; empty slots are skipped."""
    fields: dict[str, Any] = {k: data[k] for k in ("title", "period_start", "period_end", "threshold") if k in data}
    if with_slug and str(data.get("slug", "")).strip():
        fields["slug"] = str(data["slug"]).strip()
    sections = []
    for i in range(MAX_SECTIONS + FORM_SLOTS):
        heading = str(data.get(f"s{i}_heading", "")).strip()
        body = str(data.get(f"s{i}_body", ""))
        metrics = data.get(f"s{i}_metrics", [])
        metrics = metrics if isinstance(metrics, list) else [metrics] if metrics else []
        if heading or body.strip() or metrics:
            sections.append({"heading": heading, "body": body, "metrics": metrics})
    fields["sections"] = sections
    if not sections:
        raise ValidationFailed.single("sections", "Give the report at least one section.")
    return parse(ReportIn if with_slug else ReportFields, fields)


def _last_quarter() -> tuple[date, date]:
    today = utcnow().date()
    start_this = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    end = start_this - timedelta(days=1)
    return date(end.year, end.month - 2, 1), end


def _form_ctx(report: TransparencyReport | None) -> dict[str, Any]:
    start, end = _last_quarter()
    sections = list(report.sections) if report else []
    if not sections:
        sections = [
            {"heading": "Incidents", "body": "", "metrics": ["incidents_by_severity"]},
            {"heading": "Enforcement", "body": "", "metrics": ["response_actions_by_kind", "content_removals"]},
        ]
    return {
        "report": report,
        "metrics": list(METRICS.values()),
        "slots": [*sections, *({"heading": "", "body": "", "metrics": []} for _ in range(FORM_SLOTS))][
            : MAX_SECTIONS + FORM_SLOTS
        ],
        "default_start": start,
        "default_end": end,
    }


# -- pages -----------------------------------------------------------------------------------------------------


@pages.get("")
def index_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    require(actor, Permission.transparency_report_read)
    reports = service.list_reports(session, actor)
    return render(
        request,
        "transparency/index.html",
        {"reports": reports, "can_write": actor.can(Permission.transparency_report_write)},
    )


@pages.get("/new")
def new_page(request: Request, actor: ActorDep) -> Response:
    require(actor, Permission.transparency_report_write)
    return render(request, "transparency/form.html", _form_ctx(None))


@pages.post("")
def create_form(request: Request, session: SessionDep, actor: ActorDep, data: FormDep) -> Response:
    body = _form_input(data, with_slug=True)
    assert isinstance(body, ReportIn)
    report = service.create_report(session, actor, body)
    return redirect(request, f"/transparency/reports/{report.id}", flash="Draft saved.")


@pages.get("/reports/{report_id}")
def report_page(request: Request, session: SessionDep, actor: ActorDep, report_id: uuid.UUID) -> Response:
    report = service.get_report(session, actor, report_id)
    detail = _detail(session, actor, report)
    return render(
        request,
        "transparency/report.html",
        {
            "report": report,
            "out": detail,
            "metrics": METRICS,
            "can_write": actor.can(Permission.transparency_report_write),
            "can_signoff": actor.can(Permission.transparency_report_signoff)
            and actor.user_id not in (report.created_by, report.updated_by),
            "can_publish": actor.can(Permission.transparency_report_signoff),
            "ended": service.period_ended(report),
        },
    )


@pages.get("/reports/{report_id}/edit")
def edit_page(request: Request, session: SessionDep, actor: ActorDep, report_id: uuid.UUID) -> Response:
    report = service.get_report(session, actor, report_id)
    require(actor, Permission.transparency_report_write)
    return render(request, "transparency/form.html", _form_ctx(report))


@pages.post("/reports/{report_id}")
def update_form(
    request: Request, session: SessionDep, actor: ActorDep, report_id: uuid.UUID, data: FormDep
) -> Response:
    service.update_report(session, actor, report_id, _form_input(data, with_slug=False))
    return redirect(request, f"/transparency/reports/{report_id}", flash="Changes saved; the report needs a sign-off.")


@pages.post("/reports/{report_id}/signoff")
def signoff_form(
    request: Request, session: SessionDep, actor: ActorDep, report_id: uuid.UUID, data: FormDep
) -> Response:
    service.sign_off(session, actor, report_id, parse(SignOffIn, data))
    return redirect(request, f"/transparency/reports/{report_id}", flash="Signed off: it can now be published.")


@pages.post("/reports/{report_id}/publish")
def publish_form(request: Request, session: SessionDep, actor: ActorDep, report_id: uuid.UUID) -> Response:
    edition = service.publish(session, actor, report_id)
    report = service.get_report(session, actor, report_id)
    return redirect(
        request,
        f"{service.PUBLIC}/{service.org_slug(session, actor)}/{report.slug}/editions/{edition.number}",
        flash=f"Edition {edition.number} published.",
    )


@pages.get("/editions/{edition_id}/records/{kind}")
def records_page(
    request: Request, session: SessionDep, actor: ActorDep, edition_id: uuid.UUID, kind: str, cell: CellQuery = None
) -> Response:
    found = service.figure_records(session, actor, edition_id, kind, cell)
    return render(
        request,
        "transparency/records.html",
        {"found": found, "metric": METRICS[found.kind], "doc": service.edition_document(found.edition)},
    )


# -- API -------------------------------------------------------------------------------------------------------


@api.get("/metrics", response_model=list[MetricOut])
def api_metrics(actor: ActorDep) -> list[MetricOut]:
    """The fixed vocabulary of figures a report may carry."""
    return [
        MetricOut(
            kind=m.kind,
            label=m.label,
            description=m.description,
            source=m.source,
            effective_time=m.effective_time,
            permission=m.permission.value,
            cells=[{"key": c.key, "label": c.label} for c in m.cells()],
            has_total=m.has_total,
        )
        for m in METRICS.values()
    ]


@api.get("/reports", response_model=list[ReportOut])
def api_reports(session: SessionDep, actor: ActorDep) -> list[ReportOut]:
    return [
        ReportOut(**_report_out(slug, r, service.editions_of(session, actor, r)))
        for r in service.list_reports(session, actor)
        for slug in [service.org_slug(session, actor)]
    ]


@api.post("/reports", response_model=ReportDetailOut, status_code=201)
def api_create(body: ReportIn, session: SessionDep, actor: ActorDep, idempotency_key: IdemKey = None) -> Response:
    def create() -> tuple[int, dict[str, Any]]:
        report = service.create_report(session, actor, body)
        return 201, _detail(session, actor, report).model_dump(mode="json")

    status, payload, _ = run_idempotent(
        session,
        scope=f"user:{actor.user_id}:{actor.org_id}:transparency.report.create",
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        create=create,
    )
    return JSONResponse(payload, status_code=status)


@api.get("/reports/{report_id}", response_model=ReportDetailOut)
def api_report(session: SessionDep, actor: ActorDep, report_id: uuid.UUID) -> ReportDetailOut:
    return _detail(session, actor, service.get_report(session, actor, report_id))


@api.put("/reports/{report_id}", response_model=ReportDetailOut)
def api_update(session: SessionDep, actor: ActorDep, report_id: uuid.UUID, body: ReportFields) -> ReportDetailOut:
    return _detail(session, actor, service.update_report(session, actor, report_id, body))


@api.post("/reports/{report_id}/signoff", response_model=ReportDetailOut)
def api_signoff(
    session: SessionDep, actor: ActorDep, report_id: uuid.UUID, body: SignOffIn | None = None
) -> ReportDetailOut:
    return _detail(session, actor, service.sign_off(session, actor, report_id, body or SignOffIn()))


@api.post("/reports/{report_id}/publish", response_model=EditionRef, status_code=201)
def api_publish(
    session: SessionDep, actor: ActorDep, report_id: uuid.UUID, idempotency_key: IdemKey = None
) -> Response:
    def create() -> tuple[int, dict[str, Any]]:
        edition = service.publish(session, actor, report_id)
        report = service.get_report(session, actor, report_id)
        return 201, _edition_ref(service.org_slug(session, actor), report, edition).model_dump(mode="json")

    status, payload, _ = run_idempotent(
        session,
        scope=f"user:{actor.user_id}:transparency.publish:{report_id}",
        key=idempotency_key,
        payload={"report_id": str(report_id)},
        create=create,
    )
    return JSONResponse(payload, status_code=status)


@api.get("/editions/{edition_id}/records/{kind}", response_model=RecordsOut)
def api_records(
    session: SessionDep, actor: ActorDep, edition_id: uuid.UUID, kind: str, cell: CellQuery = None
) -> RecordsOut:
    found = service.figure_records(session, actor, edition_id, kind, cell)
    return RecordsOut(
        edition_id=found.edition.id,
        kind=found.kind,
        cell=found.cell,
        published=found.published,
        records=[RecordOut(label=r.label, href=r.href, at=r.at, cell=r.cell) for r in found.records],
    )


# -- public ----------------------------------------------------------------------------------------------------


def _public_ctx(actor: Actor | None, found: service.PublicEdition) -> dict[str, Any]:
    return {
        "doc": found.document,
        "found": found,
        # Figure links to the records behind them: only for signed-in members of the publishing org.
        "member": service.member_of(actor, found.org.id),
    }


@public_pages.get("/{org_slug}")
def public_index_page(request: Request, session: SessionDep, org_slug: str) -> Response:
    org, editions = service.public_index(session, org_slug)
    return render(request, "transparency/public_index.html", {"org": org, "editions": editions})


@public_pages.get("/{org_slug}/{slug}")
def public_latest_page(
    request: Request, session: SessionDep, actor: OptionalActorDep, org_slug: str, slug: str
) -> Response:
    found = service.public_edition(session, org_slug, slug)
    return render(request, "transparency/edition.html", _public_ctx(actor, found))


@public_pages.get("/{org_slug}/{slug}/editions/{number}")
def public_edition_page(
    request: Request, session: SessionDep, actor: OptionalActorDep, org_slug: str, slug: str, number: int
) -> Response:
    found = service.public_edition(session, org_slug, slug, _number(number))
    return render(request, "transparency/edition.html", _public_ctx(actor, found))


@public_pages.get("/{org_slug}/{slug}/editions/{number}/print")
def public_print_page(request: Request, session: SessionDep, org_slug: str, slug: str, number: int) -> Response:
    found = service.public_edition(session, org_slug, slug, _number(number))
    return render(request, "transparency/print.html", {"doc": found.document, "found": found, "member": False})


def _canonical(found: service.PublicEdition) -> Response:
    """The stored bytes exactly, so the SHA-256 can be checked against what is served."""
    return Response(
        found.edition.canonical.encode("utf-8"),
        media_type="application/json",
        headers={"ETag": f'"{found.edition.sha256}"', "X-Content-SHA256": found.edition.sha256},
    )


@public_api.get("/{org_slug}/{slug}")
def public_latest_json(session: SessionDep, org_slug: str, slug: str) -> Response:
    """The latest edition's canonical JSON."""
    return _canonical(service.public_edition(session, org_slug, slug))


@public_api.get("/{org_slug}/{slug}/editions/{number}")
def public_edition_json(session: SessionDep, org_slug: str, slug: str, number: int) -> Response:
    """One edition's canonical JSON, exactly as hashed at publication."""
    return _canonical(service.public_edition(session, org_slug, slug, _number(number)))


def _number(number: int) -> int:
    if not 1 <= number <= 100_000:
        raise ValidationFailed.single("number", "an edition number from 1")
    return number


routers = [pages, api, public_pages, public_api]
