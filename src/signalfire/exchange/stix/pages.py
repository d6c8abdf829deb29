"""STIX and TAXII in the exchange UI: import a bundle (dry run, then an import job), export a filtered
selection, and the TAXII collections this instance serves to the viewer; beside them, the JSON API of import
jobs. Thin: parse, call the STIX services, render.

The dry run runs in the request (``bundles.plan_import``, reads only: under a second for the page's bound of
UI_MAX_REPORTS reports, so it answers at once) and shows its per-object plan; "Import" posts the same bundle
back (kept in the page, not on the server) and starts an import job (``stix.jobs.submit_import``): the
bundle is stored with the job, the worker imports it in committed batches, and the job's page shows a
determinate progress bar, polled with htmx, then the per-object report, which survives reloads.
``POST /api/v1/exchange/imports`` starts the same job (202, with its Location).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, File, Form, Header, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from signalfire.access.deps import ActorDep
from signalfire.access.permissions import Permission
from signalfire.access.policy import require
from signalfire.core.errors import AppError
from signalfire.core.web.deps import SessionDep, protected_router
from signalfire.core.web.idempotency import run_idempotent
from signalfire.core.web.templating import is_htmx, redirect, render
from signalfire.exchange.stix import bundles, jobs, queries
from signalfire.exchange.stix.bundles import ImportAction, ImportAudience, ImportOutcome
from signalfire.exchange.stix.models import StixImportJob
from signalfire.exchange.stix.schemas import ImportJobOut
from signalfire.exchange.tags import TAG_FILTER_MAX, tag_filter
from signalfire.exchange.taxii import store as taxii_store
from signalfire.exchange.taxii.collections import WRITABLE_AUDIENCE, CollectionKind, collections_for
from signalfire.exchange.taxii.routes import API_ROOT, ROOT
from signalfire.exchange.vocab import ALLOWED_AUDIENCES, AudienceKind, Category, CoveredUse, Severity, Tlp

pages = protected_router(include_in_schema=False)
api = protected_router(prefix="/api/v1/exchange", tags=["exchange"])

# What the import page accepts in one go: the dry run answers in the request (under 1 s for UI_MAX_REPORTS
# reports, docs/benchmarks.md) and the bundle goes back and forth through the page; the import itself is a
# job (UI_MAX_REPORTS new drafts take 7 s on SQLite, 13 s on PostgreSQL). The API takes
# bundles.MAX_IMPORT_ITEMS reports and bundles.MAX_IMPORT_BYTES.
UI_MAX_BYTES = 5 * 1024 * 1024
UI_MAX_REPORTS = 200
# The body limit for the import pages (web.app): a bundle posted back as form fields is percent-encoded.
UI_BODY_LIMIT = 4 * UI_MAX_BYTES
# The dry run's page posts the bundle back in pieces: a form field may hold at most 1 MiB once
# percent-encoded (the form parser's limit), and a character takes at most 12 bytes that way.
BUNDLE_PART_CHARS = 64 * 1024
BUNDLE_PARTS_MAX = UI_MAX_BYTES // BUNDLE_PART_CHARS + 1


def bundle_parts(text: str) -> list[str]:
    """``text`` cut into form-field-sized pieces, in order (joined again by :func:`import_run`)."""
    return [text[i : i + BUNDLE_PART_CHARS] for i in range(0, len(text), BUNDLE_PART_CHARS)]


def _import_form(
    request: Request,
    *,
    uses: list[CoveredUse] | None = None,
    audience: ImportAudience = ImportAudience.ONLY_ME,
    error: str | None = None,
    outcome: ImportOutcome | None = None,
    bundle: str = "",
    filename: str = "",
    recent: list[StixImportJob] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "exchange/stix_import.html",
        {
            "uses": list(CoveredUse),
            "chosen_uses": uses or [],
            "audiences": list(ImportAudience),
            "audience": audience,
            "error": error,
            "outcome": outcome,
            "actions": list(ImportAction),
            "bundle_parts": bundle_parts(bundle),
            "filename": filename,
            "max_mib": UI_MAX_BYTES // (1024 * 1024),
            "max_items": UI_MAX_REPORTS,
            "api_max_mib": bundles.MAX_IMPORT_BYTES // (1024 * 1024),
            "api_max_items": bundles.MAX_IMPORT_ITEMS,
            "recent": recent,
        },
        status_code=status_code,
    )


@pages.get("/exchange/import")
def import_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    require(actor, Permission.exchange_item_write)
    return _import_form(request, recent=queries.recent_import_jobs(session, actor))


def _read_upload(file: UploadFile | None, parts: list[str]) -> tuple[bytes, str]:
    if file is not None and file.filename:
        return file.file.read(UI_MAX_BYTES + 1), file.filename
    return "".join(parts).encode(), ""


@pages.post("/exchange/import")
def import_run(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    file: Annotated[UploadFile | None, File()] = None,
    bundle: Annotated[list[str], Form(max_length=BUNDLE_PARTS_MAX)] = [],  # noqa: B006
    permitted_uses: Annotated[list[CoveredUse], Form(max_length=len(CoveredUse))] = [],  # noqa: B006
    audience: Annotated[ImportAudience, Form()] = ImportAudience.ONLY_ME,
    dry_run: Annotated[bool, Form()] = False,
) -> Response:
    """Dry run (``dry_run=true``, answered here) or import (a job: redirected to its page); the file, or the
    bundle text the dry run's page posts back (in ``bundle`` fields of at most BUNDLE_PART_CHARS characters
    each, joined in order)."""
    require(actor, Permission.exchange_item_write)
    raw, filename = _read_upload(file, bundle)

    def answer(
        *, error: str | None = None, outcome: ImportOutcome | None = None, bundle: str = "", status_code: int = 200
    ) -> Response:
        return _import_form(
            request,
            uses=permitted_uses,
            audience=audience,
            filename=filename,
            error=error,
            outcome=outcome,
            bundle=bundle,
            status_code=status_code,
        )

    if not raw.strip():
        return answer(error="Choose a STIX 2.1 bundle file (JSON) to import.", status_code=422)
    if len(raw) > UI_MAX_BYTES:
        return answer(
            error=f"The file is larger than {UI_MAX_BYTES // (1024 * 1024)} MiB, the most this page imports at "
            f"once. Split the bundle, or use the API (POST /api/v1/exchange/imports, up to "
            f"{bundles.MAX_IMPORT_BYTES // (1024 * 1024)} MiB and {bundles.MAX_IMPORT_ITEMS} reports).",
            status_code=413,
        )
    try:
        if not dry_run:
            job = jobs.submit_import(
                session,
                actor,
                raw,
                default_uses=permitted_uses,
                audience=audience,
                filename=filename,
                max_items=UI_MAX_REPORTS,
            )
            return redirect(request, f"/exchange/import/jobs/{job.id}")
        outcome = bundles.plan_import(
            session, actor, raw, default_uses=permitted_uses, audience=audience, max_items=UI_MAX_REPORTS
        )
    except AppError as exc:
        if exc.status in (401, 403, 404):
            raise
        return answer(error=f"{exc.title}: {exc.detail}", status_code=exc.status)
    return answer(outcome=outcome, bundle=raw.decode("utf-8", "replace"))


# Seconds between two looks at a running import's progress (htmx polling on its page).
POLL_SECONDS = 1


@pages.get("/exchange/import/jobs/{job_id}")
def import_job_page(request: Request, session: SessionDep, actor: ActorDep, job_id: uuid.UUID) -> Response:
    """An import job: its progress while it runs (the htmx poll gets the progress fragment alone, and a
    refresh of the whole page once the job has finished), then its per-object report."""
    job = queries.import_job(session, actor, job_id)
    resp = render(
        request,
        "exchange/stix_import_job.html",
        {
            "job": job,
            "outcome": ImportOutcome.from_stored(job.outcome) if job.state.finished else None,
            "actions": list(ImportAction),
            "poll_seconds": POLL_SECONDS,
            "max_mib": UI_MAX_BYTES // (1024 * 1024),
            "max_items": UI_MAX_REPORTS,
        },
        fragment="exchange/_stix_import_progress.html",
    )
    if job.state.finished and is_htmx(request):
        resp.headers["HX-Refresh"] = "true"  # the report is the whole page's, not the poll's fragment
    return resp


# --- import jobs: JSON API -------------------------------------------------------------------------------


async def _raw_body(request: Request) -> bytes:
    return await request.body()


@api.post(
    "/imports",
    status_code=202,
    response_model=ImportJobOut,
    responses={
        202: {"description": "Accepted: the bundle is stored with the job, which the worker runs (see Location)"},
        413: {"description": "The bundle is too large (bytes, objects or reports); nothing was stored"},
        422: {"description": "Not JSON, not a STIX 2.1 bundle, or a bundle-wide fault; nothing was stored"},
    },
)
def api_start_import(
    session: SessionDep,
    actor: ActorDep,
    body: Annotated[bytes, Depends(_raw_body)],
    permitted_uses: Annotated[list[CoveredUse], Query(max_length=9)] = [],  # noqa: B006
    audience: ImportAudience = ImportAudience.ONLY_ME,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Import a STIX 2.1 bundle (the request body) as drafts of your organisation, in the background.

    The answer (202) is the import job, with ``Location`` naming it: poll ``GET /api/v1/exchange/imports/{id}``
    for its progress (``done`` of ``total`` objects) until its state is ``done`` or ``failed``, then read the
    per-object outcome. The parameters and limits are those of ``POST /api/v1/exchange/import`` (the same
    import in one request): at most 20 MiB, 20,000 objects and 1,000 reports. With an ``Idempotency-Key``,
    a retried request gets the first job back instead of starting another.
    """

    def create() -> tuple[int, dict[str, Any]]:
        job = jobs.submit_import(session, actor, body, default_uses=permitted_uses, audience=audience)
        return 202, ImportJobOut.of(job).model_dump(mode="json")

    status, payload, _ = run_idempotent(
        session,
        scope=f"user:{actor.user_id}:exchange.imports",
        key=idempotency_key,
        payload={
            "bundle_sha256": hashlib.sha256(body).hexdigest(),
            "permitted_uses": sorted(u.value for u in permitted_uses),
            "audience": audience.value,
        },
        create=create,
    )
    headers = {"Location": payload["links"]["self"]} if status == 202 else {}
    return JSONResponse(payload, status_code=status, headers=headers)


@api.get("/imports/{job_id}", response_model=ImportJobOut)
def api_import_job(session: SessionDep, actor: ActorDep, job_id: uuid.UUID) -> ImportJobOut:
    """An import job of your organisation: its state, progress and, once finished, its per-object outcome."""
    return ImportJobOut.of(queries.import_job(session, actor, job_id))


# --- export -----------------------------------------------------------------------------------------


def _export_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    filters: queries.ExportFilters,
    *,
    purpose: CoveredUse | None = None,
    chosen: set[uuid.UUID] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    items, more = queries.export_candidates(session, actor, filters)
    return render(
        request,
        "exchange/stix_export.html",
        {
            "items": items,
            "more": more,
            "filters": filters,
            "purpose": purpose,
            "chosen": chosen,
            "error": error,
            "categories": list(Category),
            "tlps": list(Tlp),
            "severities": list(Severity),
            "uses": list(CoveredUse),
            "max_items": bundles.MAX_EXPORT_ITEMS,
        },
        status_code=status_code,
    )


@pages.get("/exchange/export")
def export_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    category: Category | None = None,
    tlp: Tlp | None = None,
    severity: Severity | None = None,
    q: str | None = Query(None, max_length=100),
    published_from: date | None = None,
    published_to: date | None = None,
    mine: bool = False,
    tag: Annotated[list[str], Query(max_length=TAG_FILTER_MAX)] = [],  # noqa: B006
) -> Response:
    require(actor, Permission.exchange_item_read)
    filters = queries.ExportFilters(
        category=category,
        tlp=tlp,
        severity=severity,
        q=q,
        published_from=published_from,
        published_to=published_to,
        mine=mine,
        tags=tag_filter(tag),
    )
    return _export_page(request, session, actor, filters)


@pages.post("/exchange/export.stix")
def export_download(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    purpose: Annotated[CoveredUse, Form()],
    item: Annotated[list[uuid.UUID], Form(max_length=bundles.MAX_EXPORT_ITEMS)] = [],  # noqa: B006
) -> Response:
    """The ticked items as one STIX 2.1 bundle, downloaded; each is a read for the declared purpose."""
    require(actor, Permission.exchange_item_read)
    wanted = list(dict.fromkeys(item))
    if not wanted:
        return _export_page(
            request,
            session,
            actor,
            queries.ExportFilters(),
            purpose=purpose,
            error="Tick at least one item to export.",
            status_code=422,
        )
    refusing = queries.not_permitting(session, actor, wanted, purpose)
    if refusing:
        titles = "; ".join(i.title for i in refusing[:5])
        return _export_page(
            request,
            session,
            actor,
            queries.ExportFilters(),
            purpose=purpose,
            chosen=set(wanted),
            error=f"{len(refusing)} ticked item(s) do not permit {purpose.label.lower()}: {titles}. "
            "Untick them or declare another use.",
            status_code=403,
        )
    exported = bundles.export_items(session, actor, purpose, item_ids=wanted)
    assert exported is not None  # wanted is not empty and every id was found (else NotFound)
    body = json.dumps(exported.bundle, ensure_ascii=False, indent=1).encode()
    return Response(
        content=body,
        media_type=bundles.STIX_MEDIA_TYPE,
        headers={
            "Content-Disposition": 'attachment; filename="signalfire-export.stix.json"',
            "X-Content-Type-Options": "nosniff",
        },
    )


# --- TAXII collections ------------------------------------------------------------------------------

_WHO = {
    CollectionKind.MEMBERS: "Every member lab of the exchange",
    CollectionKind.GOVERNMENT: "Designated government partners (authorities)",
    CollectionKind.RESEARCHERS: "Admitted researcher organisations",
    CollectionKind.ORG_INBOX: "Your organisation, named by the contributor",
    CollectionKind.PERSON_INBOX: "You, named by the contributor, acting for this organisation",
    CollectionKind.SHARED_BY_ORG: "Your organisation: everything it published, whoever it was addressed to",
}
_KIND_AUDIENCE = {
    **WRITABLE_AUDIENCE,
    CollectionKind.ORG_INBOX: AudienceKind.NAMED_ORGS,
    CollectionKind.PERSON_INBOX: AudienceKind.NAMED_PEOPLE,
}


def _tlps_for(kind: CollectionKind) -> list[Tlp]:
    audience = _KIND_AUDIENCE.get(kind)
    if audience is None:
        return list(Tlp)
    return [t for t in Tlp if audience in ALLOWED_AUDIENCES[t]]


@pages.get("/exchange/collections")
def collections_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    require(actor, Permission.exchange_item_read)
    taxii_store.sync(session)  # the same catch-up every TAXII read does, so the counts match what a client gets
    found = collections_for(session, actor)
    counts = queries.collection_counts(session, actor, found)
    base = str(request.base_url).rstrip("/")
    rows: list[dict[str, Any]] = [
        {
            "collection": c,
            "who": _WHO[c.kind],
            "tlps": _tlps_for(c.kind),
            "url": f"{base}{API_ROOT}collections/{c.id}/",
            "count": counts.get(c.id),
        }
        for c in found
    ]
    return render(
        request,
        "exchange/stix_collections.html",
        {
            "rows": rows,
            "discovery_url": f"{base}{ROOT}",
            "api_root_url": f"{base}{API_ROOT}",
            "uses": list(CoveredUse),
        },
    )


routers = [pages, api]
