"""STIX and TAXII in the exchange UI: import a bundle (dry run, then import), export a filtered selection, and
the TAXII collections this instance serves to the viewer. Thin: parse, call the STIX services, render.

The import page runs the same service as ``POST /api/v1/exchange/import`` (``bundles.import_bundle``): the
dry run shows its per-object plan and stores nothing; "Import" posts the same bundle back (kept in the
page, not on the server) and applies it. An import is synchronous and bounded (UI_MAX_BYTES, and
UI_MAX_REPORTS reports), so the report is the answer to the request.
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from signalfire.access.deps import ActorDep
from signalfire.access.permissions import Permission
from signalfire.access.policy import require
from signalfire.core.errors import AppError
from signalfire.core.web.deps import SessionDep, protected_router
from signalfire.core.web.templating import render
from signalfire.exchange.stix import bundles, queries
from signalfire.exchange.stix.bundles import ImportAction, ImportAudience, ImportOutcome
from signalfire.exchange.tags import TAG_FILTER_MAX, tag_filter
from signalfire.exchange.taxii import store as taxii_store
from signalfire.exchange.taxii.collections import WRITABLE_AUDIENCE, CollectionKind, collections_for
from signalfire.exchange.taxii.routes import API_ROOT, ROOT
from signalfire.exchange.vocab import ALLOWED_AUDIENCES, AudienceKind, Category, CoveredUse, Severity, Tlp

pages = protected_router(include_in_schema=False)

# What the import page accepts in one go: the request is the import, so it is kept short (UI_MAX_REPORTS
# new drafts took 7 s on SQLite and 13 s on PostgreSQL here, a dry run under 1 s: docs/benchmarks.md);
# the API takes bundles.MAX_IMPORT_ITEMS.
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
        },
        status_code=status_code,
    )


@pages.get("/exchange/import")
def import_page(request: Request, actor: ActorDep) -> Response:
    require(actor, Permission.exchange_item_write)
    return _import_form(request)


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
    """Dry run (``dry_run=true``) or import; the file, or the bundle text the dry run's page posts back
    (in ``bundle`` fields of at most BUNDLE_PART_CHARS characters each, joined in order)."""
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
            "once. Split the bundle, or use the API (POST /api/v1/exchange/import).",
            status_code=413,
        )
    try:
        outcome = bundles.import_bundle(
            session,
            actor,
            raw,
            default_uses=permitted_uses,
            audience=audience,
            dry_run=dry_run,
            max_items=UI_MAX_REPORTS,
        )
    except AppError as exc:
        if exc.status in (401, 403, 404):
            raise
        return answer(error=f"{exc.title}: {exc.detail}", status_code=exc.status)
    return answer(outcome=outcome, bundle=raw.decode("utf-8", "replace") if dry_run else "")


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


routers = [pages]
