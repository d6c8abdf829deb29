"""Exchange pages (/exchange) and JSON API (/api/v1/exchange). Thin: parse, call a service, render."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, File, Form, Header, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from signalfire.access.deps import ActorDep
from signalfire.access.permissions import Permission
from signalfire.access.policy import require
from signalfire.access.policy.exchange import (
    can_edit,
    can_publish,
    can_read_health,
    can_resolve_pseudonyms,
    is_contributor,
)
from signalfire.core.errors import FieldError, NotFound, ValidationFailed, loc_to_field
from signalfire.core.schemas import SafeText
from signalfire.core.web.deps import SessionDep, protected_router
from signalfire.core.web.idempotency import run_idempotent
from signalfire.core.web.templating import redirect, render
from signalfire.exchange import authoring, health, lessons, pseudonyms, queries, responses, routing, service, views
from signalfire.exchange.antitrust.counsel import can_sign_off
from signalfire.exchange.correlation import service as correlation
from signalfire.exchange.errors import PurposeNotPermitted, ScreeningBlocked
from signalfire.exchange.models import ItemStatus, ReadChannel, ResponseKind
from signalfire.exchange.moderation import views as moderation_views
from signalfire.exchange.panel import panel
from signalfire.exchange.sanitise import service as sanitise_service
from signalfire.exchange.schemas import (
    CoverageOut,
    DecisionIn,
    DesignationIn,
    DesignationOut,
    DraftOut,
    ItemDetailOut,
    ItemIn,
    ItemSummaryOut,
    LessonIn,
    PseudonymOut,
    PublishIn,
    ReadOut,
    ResolutionOut,
    ResolvedOut,
    ResolveIn,
    ResponseIn,
    ResponseOut,
    ReviseIn,
    RevisionOut,
    ScreeningFindingOut,
    WithdrawIn,
)
from signalfire.exchange.screening import Finding
from signalfire.exchange.tags import TAG_FILTER_MAX, reference_label, tag_filter
from signalfire.exchange.vocab import (
    AudienceKind,
    Category,
    Confidence,
    CoveredUse,
    Modality,
    Priority,
    Severity,
    Tlp,
    community_members,
    handling_note,
)

pages = protected_router(include_in_schema=False)
api = protected_router(prefix="/api/v1/exchange", tags=["exchange"])

ItemForm = Annotated[dict[str, Any], Depends(views.item_form)]


def _item_in(data: dict[str, Any], model: type[ItemIn] = ItemIn) -> ItemIn:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed([FieldError(loc_to_field(tuple(e["loc"])), e["msg"]) for e in exc.errors()]) from None


def _findings_out(findings: list[Finding]) -> list[ScreeningFindingOut]:
    return [
        ScreeningFindingOut(rule_id=f.rule_id, kind=f.kind, field=f.field, excerpt=f.excerpt, message=f.message)
        for f in findings
    ]


def _vocab() -> dict[str, Any]:
    return {
        "categories": list(Category),
        "tlps": list(Tlp),
        "severities": list(Severity),
        "priorities": list(Priority),
        "confidences": list(Confidence),
        "uses": list(CoveredUse),
        "audience_kinds": list(AudienceKind),
        "modalities": list(Modality),
    }


# -- pages: listing ------------------------------------------------------------------------------------


@pages.get("/exchange")
def list_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    category: Category | None = None,
    tlp: Tlp | None = None,
    severity: Severity | None = None,
    q: str | None = Query(None, max_length=100),
    mine: bool = False,
    status: ItemStatus = ItemStatus.PUBLISHED,
    cursor: str | None = Query(None, max_length=200),
    tag: Annotated[list[str], Query(max_length=TAG_FILTER_MAX)] = [],  # noqa: B006
) -> Response:
    filters = service.ItemFilters(
        category=category, tlp=tlp, severity=severity, q=q, mine=mine, status=status, tags=tag_filter(tag)
    )
    page = service.list_items(session, actor, filters, limit=50, cursor=cursor)
    rows = [views.summary_out(i, page.contributors[i.id], actor) for i in page.items]
    drafts = (
        []
        if status != ItemStatus.PUBLISHED or cursor
        else service.list_items(session, actor, service.ItemFilters(status=ItemStatus.DRAFT), limit=20).items
    )
    return render(
        request,
        "exchange/list.html",
        {
            "rows": rows,
            "drafts": drafts,
            "filters": filters,
            "next_cursor": page.next_cursor,
            "can_write": actor.can(Permission.exchange_item_write),
            "is_hub": can_read_health(actor),
            **_vocab(),
        },
    )


# -- pages: writing ------------------------------------------------------------------------------------


def _form_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    *,
    values: dict[str, Any],
    errors: list[FieldError] | None = None,
    item: Any = None,
    status_code: int = 200,
) -> Response:
    orgs, people = queries.addressable(session, actor)
    return render(
        request,
        "exchange/form.html",
        {
            "values": values,
            "errors": {e.field.split("[")[0]: e.message for e in errors or []},
            "error_list": errors or [],
            "item": item,
            "orgs": orgs,
            "people": people,
            **_vocab(),
        },
        status_code=status_code,
    )


@pages.get("/exchange/items/new")
def new_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    require(actor, Permission.exchange_item_write)
    values = {
        "tlp": "AMBER",
        "audience": ["all_members"],
        "attribution": "named",
        "priority": "routine",
        "confidence": "moderate",
        "severity": "medium",
        "permitted_uses": [],
    }
    return _form_page(request, session, actor, values=values)


@pages.post("/exchange/items")
def create_page(request: Request, session: SessionDep, actor: ActorDep, form: ItemForm) -> Response:
    require(actor, Permission.exchange_item_write)
    try:
        item = authoring.create_draft(session, actor, _item_in(form["item"]))
    except ValidationFailed as exc:
        return _form_page(
            request, session, actor, values=views.raw_form_values(form), errors=exc.errors, status_code=422
        )
    return redirect(request, f"/exchange/items/{item.id}", flash="Draft saved. Check the screening, then publish.")


@pages.get("/exchange/items/{item_id}/edit")
def edit_page(request: Request, session: SessionDep, actor: ActorDep, item_id: uuid.UUID) -> Response:
    item = service.get_item(session, actor, item_id)
    if not can_edit(actor, item) or item.status == ItemStatus.WITHDRAWN:
        raise NotFound("No such item in your organisation.")
    return _form_page(request, session, actor, values=views.form_values(item, session), item=item)


@pages.post("/exchange/items/{item_id}/edit")
def edit_save(request: Request, session: SessionDep, actor: ActorDep, item_id: uuid.UUID, form: ItemForm) -> Response:
    item = service.get_item(session, actor, item_id)
    if not can_edit(actor, item):
        raise NotFound("No such item in your organisation.")
    try:
        data = _item_in(form["item"])
        if item.status == ItemStatus.DRAFT:
            authoring.update_draft(session, actor, item.id, data)
            message = "Draft saved."
        else:
            authoring.revise(
                session,
                actor,
                item.id,
                data,
                change_note=form["change_note"],
                override_reason=form["screening_override_reason"] or None,
            )
            message = f"Published as version {item.version}."
    except (ValidationFailed, ScreeningBlocked) as exc:
        return _form_page(
            request,
            session,
            actor,
            values=views.raw_form_values(form),
            errors=exc.errors,
            item=item,
            status_code=exc.status,
        )
    return redirect(request, f"/exchange/items/{item.id}", flash=message)


@pages.post("/exchange/items/{item_id}/publish")
def publish_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    item_id: uuid.UUID,
    screening_override_reason: Annotated[SafeText, Form(max_length=2000)] = "",
) -> Response:
    try:
        item = authoring.publish(session, actor, item_id, override_reason=screening_override_reason or None)
    except ScreeningBlocked as exc:
        return redirect(request, f"/exchange/items/{item_id}", flash=exc.detail)
    if item.status == ItemStatus.PENDING_REVIEW:
        flash = "Sent to the hub for review: members see it once a moderator approves it."
    else:
        flash = "Published. Designated recipients are notified."
    return redirect(request, f"/exchange/items/{item.id}", flash=flash)


@pages.post("/exchange/items/{item_id}/withdraw")
def withdraw_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    item_id: uuid.UUID,
    reason: Annotated[SafeText, Form(max_length=2000)] = "",
) -> Response:
    authoring.withdraw(session, actor, item_id, reason)
    return redirect(request, f"/exchange/items/{item_id}", flash="Withdrawn. Readers no longer see this item.")


@pages.post("/exchange/items/{item_id}/attachments")
def attach_page(
    request: Request, session: SessionDep, actor: ActorDep, item_id: uuid.UUID, file: Annotated[UploadFile, File()]
) -> Response:
    data = file.file.read(authoring.ATTACHMENT_MAX_BYTES + 1)
    authoring.add_attachment(
        session, actor, item_id, filename=file.filename or "", data=data, content_type=file.content_type or ""
    )
    return redirect(request, f"/exchange/items/{item_id}", flash=f"Attached {file.filename}.")


@pages.post("/exchange/items/{item_id}/attachments/{attachment_id}/remove")
def detach_page(
    request: Request, session: SessionDep, actor: ActorDep, item_id: uuid.UUID, attachment_id: uuid.UUID
) -> Response:
    att = authoring.remove_attachment(session, actor, item_id, attachment_id)
    return redirect(request, f"/exchange/items/{item_id}", flash=f"Removed {att.filename}.")


# -- pages: reading ------------------------------------------------------------------------------------


@pages.get("/exchange/items/{item_id}")
def item_page(request: Request, session: SessionDep, actor: ActorDep, item_id: uuid.UUID) -> Response:
    item = service.get_item(session, actor, item_id)
    contributor = service.contributors_for(session, [item], actor)[item.id]
    own = is_contributor(actor, item)
    ctx: dict[str, Any] = {
        "item": item,
        "summary": views.summary_out(item, contributor, actor),
        "own": own,
        "community": community_members(item.audience_kinds),
        "handling": handling_note(item.tlp, item.audience_kinds),
        "revisions": views.revisions_out(session, item),
        "can_edit": can_edit(actor, item),
        "can_publish": can_publish(actor, item),
        "can_sign_off": can_sign_off(actor, item),
        "can_resolve": can_resolve_pseudonyms(actor),
        "moderation": moderation_views.item_moderation(session, actor, item),
        "related": correlation.related_items(session, actor, item.id),
        "ref_labels": {r: reference_label(r) for r in item.technique_refs},
        **_vocab(),
    }
    if own:
        opened = service.OpenedItem(item=item, snapshot=service.snapshot_of(session, item, actor), read=None)
        ctx["detail"] = views.detail_out(session, actor, opened)
        ctx["findings"] = authoring.screen_item(session, item) if item.status != ItemStatus.WITHDRAWN else []
        ctx["reads"] = views.reads_out(session, actor, item.id, limit=20)
        # What counsel's sign-off covers besides the text, listed in its form (the order its hash takes them).
        ctx["signed_files"] = sanitise_service.signed_files(session, item) if ctx["can_sign_off"] else []
    return render(request, "exchange/item.html", ctx)


@pages.post("/exchange/items/{item_id}/open")
def open_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    item_id: uuid.UUID,
    purpose: Annotated[SafeText, Form(max_length=40)] = "",
) -> Response:
    try:
        declared = CoveredUse(purpose) if purpose else None
    except ValueError:
        raise ValidationFailed.single("purpose", "is not one of the nine covered uses") from None
    opened = service.open_details(session, actor, item_id, declared, ReadChannel.UI)
    suffix = f"?read={opened.read.id}" if opened.read else ""
    return redirect(request, f"/exchange/items/{item_id}/details{suffix}")


@pages.get("/exchange/items/{item_id}/details")
def details_page(
    request: Request, session: SessionDep, actor: ActorDep, item_id: uuid.UUID, read: uuid.UUID | None = None
) -> Response:
    item = service.get_item(session, actor, item_id)
    grant = service.granted_read(session, actor, item, read)
    if grant is None and not is_contributor(actor, item):
        return redirect(
            request, f"/exchange/items/{item_id}", flash="Declare what you will use this item for to open its details."
        )
    opened = service.OpenedItem(item=item, snapshot=service.snapshot_of(session, item, actor), read=grant)
    return render(
        request,
        "exchange/details.html",
        {
            "item": item,
            "detail": views.detail_out(session, actor, opened),
            "read": grant,
            "handling": handling_note(item.tlp, item.audience_kinds),
            "own": is_contributor(actor, item),
            "can_respond": actor.can(Permission.exchange_item_respond) and item.status == ItemStatus.PUBLISHED,
            "response_kinds": [
                k
                for k in ResponseKind
                if not (is_contributor(actor, item) and k in (ResponseKind.SIGHTING, ResponseKind.CORRECTION))
            ],
            "can_decide": can_edit(actor, item),
            "revisions": views.revisions_out(session, item),
        },
    )


@pages.get("/exchange/items/{item_id}/attachments/{attachment_id}")
def attachment_page(
    session: SessionDep, actor: ActorDep, item_id: uuid.UUID, attachment_id: uuid.UUID, read: uuid.UUID | None = None
) -> Response:
    item = service.get_item(session, actor, item_id)
    if service.granted_read(session, actor, item, read) is None and not is_contributor(actor, item):
        raise PurposeNotPermitted(None, item.permitted_uses)
    return _attachment_response(session, item.id, attachment_id)


def _attachment_response(session: SessionDep, item_id: uuid.UUID, attachment_id: uuid.UUID) -> Response:
    att = queries.attachment(session, item_id, attachment_id)
    # Served as a download, never rendered inline: attachments are untrusted reproduction material.
    return Response(
        att.data,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{att.filename}"', "X-Content-Type-Options": "nosniff"},
    )


@pages.post("/exchange/items/{item_id}/responses")
def respond_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    item_id: uuid.UUID,
    kind: Annotated[ResponseKind, Form()],
    body: Annotated[SafeText, Form(max_length=5000)] = "",
    pseudonymous: Annotated[bool, Form()] = False,
    read: Annotated[SafeText, Form(max_length=40)] = "",
) -> Response:
    responses.respond(session, actor, item_id, kind, body, pseudonymous=pseudonymous)
    back = f"/exchange/items/{item_id}/details" + (f"?read={read}" if read else "")
    return redirect(request, back, flash=f"{kind.label} recorded.")


@pages.post("/exchange/responses/{response_id}/decision")
def decide_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    response_id: uuid.UUID,
    accept: Annotated[bool, Form()],
    note: Annotated[SafeText, Form(max_length=2000)] = "",
) -> Response:
    response = responses.decide_correction(session, actor, response_id, accept=accept, note=note)
    return redirect(
        request,
        f"/exchange/items/{response.item_id}/details",
        flash="Correction accepted." if accept else "Correction declined.",
    )


@pages.get("/exchange/items/{item_id}/access-log")
def item_access_page(request: Request, session: SessionDep, actor: ActorDep, item_id: uuid.UUID) -> Response:
    item = service.get_item(session, actor, item_id)
    if not is_contributor(actor, item):
        raise NotFound("No such item in your organisation.")
    return render(
        request,
        "exchange/access_log.html",
        {
            "item": item,
            "reads": views.reads_out(session, actor, item.id),
            "resolutions": views.resolutions_out(session, actor, item.id),
        },
    )


@pages.get("/exchange/access-log")
def access_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return render(
        request,
        "exchange/access_log.html",
        {"item": None, "reads": views.reads_out(session, actor), "resolutions": views.resolutions_out(session, actor)},
    )


# -- pages: routing, hub -------------------------------------------------------------------------------


@pages.get("/exchange/routing")
def routing_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    members = queries.member_users(session, actor)
    return render(
        request,
        "exchange/routing.html",
        {
            "rows": routing.list_designations(session, actor),
            "members": members,
            "categories": list(Category),
            "can_manage": actor.can(Permission.exchange_routing_manage),
        },
    )


@pages.post("/exchange/routing")
def routing_add(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    category: Annotated[Category, Form()],
    user_id: Annotated[uuid.UUID, Form()],
) -> Response:
    routing.designate(session, actor, category, user_id)
    return redirect(request, "/exchange/routing", flash=f"Designated for {category.label.lower()}.")


@pages.post("/exchange/routing/{designation_id}/delete")
def routing_delete(request: Request, session: SessionDep, actor: ActorDep, designation_id: uuid.UUID) -> Response:
    routing.remove_designation(session, actor, designation_id)
    return redirect(request, "/exchange/routing", flash="Designation removed.")


@pages.get("/exchange/health")
def health_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    report = health.participation(session, actor)
    return render(
        request,
        "exchange/health.html",
        {"health": report, "charts": health.charts(report), "categories": list(Category)},
    )


@pages.get("/exchange/pseudonyms")
def pseudonyms_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    rows = pseudonyms.list_pseudonyms(session, actor)
    return render(
        request, "exchange/pseudonyms.html", {"rows": rows, "resolutions": views.resolutions_out(session, actor)}
    )


@pages.post("/exchange/pseudonyms/{pseudonym_id}/resolve")
def resolve_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    pseudonym_id: uuid.UUID,
    reason: Annotated[SafeText, Form(max_length=2000)] = "",
    item_id: Annotated[SafeText, Form(max_length=40)] = "",
) -> Response:
    org = pseudonyms.resolve(session, actor, pseudonym_id, reason, uuid.UUID(item_id) if item_id else None)
    return redirect(
        request, "/exchange/pseudonyms", flash=f"Resolved: {org.name}. The contributor has been told, with your reason."
    )


@pages.get("/exchange/lessons/new")
def lesson_page(request: Request, session: SessionDep, actor: ActorDep, review_id: uuid.UUID | None = None) -> Response:
    require(actor, Permission.exchange_item_write)
    return render(
        request,
        "exchange/lesson.html",
        {"reviews": queries.closed_reviews(session, actor), "review_id": review_id, **_vocab()},
    )


@pages.post("/exchange/lessons")
def lesson_create(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    review_id: Annotated[uuid.UUID, Form()],
    category: Annotated[Category, Form()],
    permitted_uses: Annotated[list[CoveredUse], Form()],
    tlp: Annotated[Tlp, Form()] = Tlp.AMBER,
    severity: Annotated[Severity, Form()] = Severity.MEDIUM,
    attribution: Annotated[SafeText, Form(max_length=20)] = "pseudonymous",
    strip: Annotated[SafeText, Form(max_length=5000)] = "",
) -> Response:
    data = LessonIn.model_validate(
        {
            "review_id": review_id,
            "category": category,
            "tlp": tlp,
            "severity": severity,
            "permitted_uses": permitted_uses,
            "attribution": attribution,
            "strip": [s.strip() for s in strip.replace(",", "\n").split("\n") if s.strip()],
        }
    )
    item = lessons.draft_from_review(session, actor, data)
    return redirect(
        request,
        f"/exchange/items/{item.id}/sanitisation",
        flash="Draft created from the review. A second person checks the sanitisation and signs it off.",
    )


# -- API -----------------------------------------------------------------------------------------------


@api.get("/items", response_model=list[ItemSummaryOut])
def api_list(
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    category: Category | None = None,
    tlp: Tlp | None = None,
    severity: Severity | None = None,
    q: str | None = Query(None, max_length=100),
    mine: bool = False,
    status: ItemStatus = ItemStatus.PUBLISHED,
    contributor: str | None = Query(None, max_length=60),
    limit: int = Query(50, ge=1, le=service.LIST_LIMIT_MAX),
    cursor: str | None = Query(None, max_length=200),
    tag: Annotated[
        list[str],
        Query(
            max_length=TAG_FILTER_MAX,
            description="Any of these free tags or catalogue ids (ATLAS, OWASP LLM, CVE, CWE), "
            "repeated or comma-separated.",
        ),
    ] = [],  # noqa: B006
) -> list[ItemSummaryOut]:
    filters = service.ItemFilters(
        category=category,
        tlp=tlp,
        severity=severity,
        q=q,
        mine=mine,
        status=status,
        contributor=contributor,
        tags=tag_filter(tag),
    )
    page = service.list_items(session, actor, filters, limit=limit, cursor=cursor)
    if page.next_cursor:
        response.headers["X-Next-Cursor"] = page.next_cursor
    return [views.summary_out(i, page.contributors[i.id], actor) for i in page.items]


@api.post("/items", response_model=DraftOut, status_code=201)
def api_create(
    body: ItemIn, session: SessionDep, actor: ActorDep, idempotency_key: Annotated[str | None, Header()] = None
) -> Response:
    def create() -> tuple[int, dict[str, Any]]:
        item = authoring.create_draft(session, actor, body)
        session.flush()
        contributor = service.contributors_for(session, [item], actor)[item.id]
        out = DraftOut(
            item=views.summary_out(item, contributor, actor),
            screening=_findings_out(authoring.screen_item(session, item)),
        )
        return 201, out.model_dump(mode="json")

    status, payload, _ = run_idempotent(
        session,
        scope=f"user:{actor.user_id}:exchange.items",
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        create=create,
    )
    return JSONResponse(payload, status_code=status)


@api.get("/items/{item_id}", response_model=ItemSummaryOut)
def api_item(item_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> ItemSummaryOut:
    item = service.get_item(session, actor, item_id)
    return views.summary_out(item, service.contributors_for(session, [item], actor)[item.id], actor)


@api.patch("/items/{item_id}", response_model=DraftOut)
def api_update(item_id: uuid.UUID, body: ItemIn, session: SessionDep, actor: ActorDep) -> DraftOut:
    item = authoring.update_draft(session, actor, item_id, body)
    contributor = service.contributors_for(session, [item], actor)[item.id]
    return DraftOut(
        item=views.summary_out(item, contributor, actor), screening=_findings_out(authoring.screen_item(session, item))
    )


@api.post("/items/{item_id}/publish", response_model=ItemSummaryOut)
def api_publish(
    item_id: uuid.UUID, session: SessionDep, actor: ActorDep, body: PublishIn | None = None
) -> ItemSummaryOut:
    body = body or PublishIn()
    item = authoring.publish(
        session, actor, item_id, override_reason=body.screening_override_reason, change_note=body.change_note
    )
    return views.summary_out(item, service.contributors_for(session, [item], actor)[item.id], actor)


@api.post("/items/{item_id}/revisions", response_model=ItemSummaryOut, status_code=201)
def api_revise(item_id: uuid.UUID, body: ReviseIn, session: SessionDep, actor: ActorDep) -> ItemSummaryOut:
    item = authoring.revise(
        session, actor, item_id, body, change_note=body.change_note, override_reason=body.screening_override_reason
    )
    return views.summary_out(item, service.contributors_for(session, [item], actor)[item.id], actor)


@api.get("/items/{item_id}/revisions", response_model=list[RevisionOut])
def api_revisions(item_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> list[RevisionOut]:
    return views.revisions_out(session, service.get_item(session, actor, item_id))


@api.post("/items/{item_id}/withdraw", response_model=ItemSummaryOut)
def api_withdraw(item_id: uuid.UUID, body: WithdrawIn, session: SessionDep, actor: ActorDep) -> ItemSummaryOut:
    item = authoring.withdraw(session, actor, item_id, body.reason)
    return views.summary_out(item, service.contributors_for(session, [item], actor)[item.id], actor)


@api.get("/items/{item_id}/details", response_model=ItemDetailOut)
def api_details(
    item_id: uuid.UUID,
    session: SessionDep,
    actor: ActorDep,
    purpose: CoveredUse | None = None,
    x_signalfire_purpose: Annotated[CoveredUse | None, Header()] = None,
) -> ItemDetailOut:
    """Details need a declared covered use (query `purpose` or header `X-Signalfire-Purpose`); each call is logged."""
    opened = service.open_details(session, actor, item_id, purpose or x_signalfire_purpose, ReadChannel.API)
    return views.detail_out(session, actor, opened)


@api.post("/items/{item_id}/attachments", status_code=201)
def api_attach(
    item_id: uuid.UUID, session: SessionDep, actor: ActorDep, file: Annotated[UploadFile, File()]
) -> Response:
    data = file.file.read(authoring.ATTACHMENT_MAX_BYTES + 1)
    att = authoring.add_attachment(
        session, actor, item_id, filename=file.filename or "", data=data, content_type=file.content_type or ""
    )
    return JSONResponse(
        {
            "id": str(att.id),
            "filename": att.filename,
            "content_type": att.content_type,
            "size_bytes": att.size_bytes,
            "sha256": att.sha256,
        },
        status_code=201,
    )


@api.delete(
    "/items/{item_id}/attachments/{attachment_id}",
    status_code=204,
    summary="Remove a file from a draft",
    response_class=Response,
)
def api_detach(item_id: uuid.UUID, attachment_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    """Only while the item is a draft (409 once published), by someone who may edit it (404 for anyone else).
    A sign-off bound to the file no longer holds once it is removed."""
    authoring.remove_attachment(session, actor, item_id, attachment_id)
    return Response(status_code=204)


@api.get("/items/{item_id}/attachments/{attachment_id}")
def api_attachment(
    item_id: uuid.UUID,
    attachment_id: uuid.UUID,
    session: SessionDep,
    actor: ActorDep,
    purpose: CoveredUse | None = None,
    x_signalfire_purpose: Annotated[CoveredUse | None, Header()] = None,
) -> Response:
    """Downloading an attachment is a read of the details: it needs a declared purpose and is logged."""
    opened = service.open_details(session, actor, item_id, purpose or x_signalfire_purpose, ReadChannel.API)
    return _attachment_response(session, opened.item.id, attachment_id)


@api.get("/items/{item_id}/reads", response_model=list[ReadOut])
def api_reads(item_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> list[ReadOut]:
    item = service.get_item(session, actor, item_id)
    if not is_contributor(actor, item):
        raise NotFound("No such item in your organisation.")
    return views.reads_out(session, actor, item.id)


@api.post("/items/{item_id}/responses", response_model=ResponseOut, status_code=201)
def api_respond(item_id: uuid.UUID, body: ResponseIn, session: SessionDep, actor: ActorDep) -> ResponseOut:
    r = responses.respond(session, actor, item_id, body.kind, body.body, pseudonymous=body.pseudonymous)
    author = "you" if not body.pseudonymous else "your pseudonym"
    return ResponseOut(
        id=r.id,
        kind=r.kind,
        body=r.body,
        item_version=r.item_version,
        author=author,
        created_at=r.created_at,
        correction_status=r.correction_status,
    )


@api.post("/responses/{response_id}/decision", response_model=ResponseOut)
def api_decide(response_id: uuid.UUID, body: DecisionIn, session: SessionDep, actor: ActorDep) -> ResponseOut:
    r = responses.decide_correction(session, actor, response_id, accept=body.accept, note=body.note)
    return ResponseOut(
        id=r.id,
        kind=r.kind,
        body=r.body,
        item_version=r.item_version,
        author="",
        created_at=r.created_at,
        correction_status=r.correction_status,
        decision_note=r.decision_note,
    )


@api.get("/designations", response_model=list[DesignationOut])
def api_designations(session: SessionDep, actor: ActorDep) -> list[DesignationOut]:
    return [
        DesignationOut(id=d.id, category=d.category, user_id=u.id, user=u.display_name, created_at=d.created_at)
        for d, u in routing.list_designations(session, actor)
    ]


@api.post("/designations", response_model=DesignationOut, status_code=201)
def api_designate(body: DesignationIn, session: SessionDep, actor: ActorDep) -> DesignationOut:
    d = routing.designate(session, actor, body.category, body.user_id)
    rows = {x.id: u for x, u in routing.list_designations(session, actor)}
    return DesignationOut(
        id=d.id, category=d.category, user_id=d.user_id, user=rows[d.id].display_name, created_at=d.created_at
    )


@api.delete("/designations/{designation_id}", status_code=204)
def api_undesignate(designation_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    routing.remove_designation(session, actor, designation_id)
    return Response(status_code=204)


@api.get("/coverage", response_model=list[CoverageOut])
def api_coverage(session: SessionDep, actor: ActorDep) -> list[CoverageOut]:
    return [
        CoverageOut(org_id=c.org_id, org=c.org_name, category=c.category, designated=c.designated)
        for c in routing.coverage(session, actor)
    ]


@api.get("/health")
def api_health(session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    report = health.participation(session, actor)
    return {
        "months": report.months,
        "per_category": {c.value: v for c, v in report.per_category.items()},
        "per_contributor": [
            {"contributor": who, "category": c.value, "counts": v}
            for (who, c), v in sorted(report.per_org_category.items())
        ],
        "first_acknowledgement": {
            "overall": vars(report.ack_overall),
            **{c.value: vars(s) for c, s in report.ack_by_category.items()},
        },
        "coverage_percent": round(report.coverage_percent, 1),
        "gaps": [{"org_id": str(g.org_id), "org": g.org_name, "category": g.category.value} for g in report.gaps],
    }


@api.get("/pseudonyms", response_model=list[PseudonymOut])
def api_pseudonyms(session: SessionDep, actor: ActorDep) -> list[PseudonymOut]:
    return [
        PseudonymOut(id=p.id, label=p.label, stix_identity_id=p.stix_identity_id, items=n)
        for p, n in pseudonyms.list_pseudonyms(session, actor)
    ]


@api.post("/pseudonyms/{pseudonym_id}/resolve", response_model=ResolvedOut)
def api_resolve(pseudonym_id: uuid.UUID, body: ResolveIn, session: SessionDep, actor: ActorDep) -> ResolvedOut:
    org = pseudonyms.resolve(session, actor, pseudonym_id, body.reason, body.item_id)
    label = next(p.label for p, _ in pseudonyms.list_pseudonyms(session, actor) if p.id == pseudonym_id)
    return ResolvedOut(pseudonym=label, org_id=org.id, org=org.name)


@api.get("/resolutions", response_model=list[ResolutionOut])
def api_resolutions(session: SessionDep, actor: ActorDep) -> list[ResolutionOut]:
    return views.resolutions_out(session, actor)


@api.get("/reads", response_model=list[ReadOut])
def api_all_reads(session: SessionDep, actor: ActorDep, limit: int = Query(200, ge=1, le=1000)) -> list[ReadOut]:
    return views.reads_out(session, actor, limit=limit)


@api.post("/lessons", response_model=ItemSummaryOut, status_code=201)
def api_lesson(body: LessonIn, session: SessionDep, actor: ActorDep) -> ItemSummaryOut:
    item = lessons.draft_from_review(session, actor, body)
    return views.summary_out(item, service.contributors_for(session, [item], actor)[item.id], actor)


routers = [pages, panel, api]
