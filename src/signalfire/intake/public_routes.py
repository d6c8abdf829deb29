"""Routes from outside the receiving org: the public report form and status page, the downstream
developers' report API, and the monitoring alert webhook.

Every create answers only after its transaction committed (SessionDep commits before the response is
sent), and takes an Idempotency-Key, so a reporter who lost the answer can send again safely.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Header, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from signalfire.access.deps import ActorDep
from signalfire.access.secrets import digest
from signalfire.core.clock import utcnow
from signalfire.core.errors import AppError, ValidationFailed
from signalfire.core.schemas import SafeText
from signalfire.core.settings import Settings
from signalfire.core.web.deps import ANON_COOKIE, SessionDep, SettingsDep, protected_router, public_router, rate_limit
from signalfire.core.web.handlers import wants_json
from signalfire.core.web.idempotency import run_idempotent
from signalfire.core.web.templating import render
from signalfire.intake import alert_sources, public, receipts, thread
from signalfire.intake.models import Signal, SourceKind
from signalfire.intake.schemas import (
    AdditionIn,
    AdditionOut,
    AlertReceiptOut,
    ReceiptOut,
    ReplyIn,
    ReporterMessageOut,
    ReportIn,
    ReportStatusOut,
)

reports = public_router(include_in_schema=False)
downstream = protected_router(prefix="/api/v1/intake", tags=["intake"])
# Machine-to-machine: no cookies are involved, so no CSRF; authentication is the source's own secret.
webhooks = APIRouter(prefix="/api/v1/intake", tags=["intake"])

HONEYPOT = "website"
STATUS_CHECKS_PER_MINUTE = 30
ALERTS_PER_MINUTE = 600


def _limit(request: Request, session: SessionDep, bucket: str, limit: int, key: str | None = None) -> None:
    """Count a hit (see core.web.deps.rate_limit for which transaction counts it)."""
    rate_limit(request, bucket, limit, key, session=session)


def _reporter(request: Request) -> str:
    """Whose Idempotency-Keys these are: the signed-in user, else the browser's anonymous cookie. A key
    replays only for the one who used it (the stored answer leads to a receipt)."""
    actor = getattr(request.state, "actor", None)
    if actor is not None:
        return f"user:{actor.user_id}"
    return f"anon:{digest(request.cookies.get(ANON_COOKIE, ''))[:32]}"


def _secret(settings: Settings) -> str:
    return settings.secret_key.get_secret_value()


def _attachment_limit(settings: Settings) -> int:
    # The body-size middleware gives report paths room for MAX_ATTACHMENTS files of this size (web.app).
    return settings.limits.max_attachment_bytes


def _kept(created: list[Signal], signal: Signal) -> Signal:
    created.append(signal)
    return signal


def _receipt_body(signal: Signal) -> dict[str, Any]:
    """What is stored with an Idempotency-Key: no secret (it is recomputed from the id when answering)."""
    return {"signal_id": str(signal.id), "reference": signal.reference, "received_at": signal.received_at.isoformat()}


def _full_receipt(session: SessionDep, stored: dict[str, Any], settings: Settings, created: list[Signal]) -> ReceiptOut:
    # Just created: answered from the object itself (the session holds it only weakly once flushed, so
    # looking it up again would cost a query). A replay reads the signal its stored answer names.
    # lint: allow-raw-query the id comes from this anonymous caller's own idempotency record
    signal = created[0] if created else session.get(Signal, uuid.UUID(stored["signal_id"]))
    assert signal is not None  # stored in the same transaction as the idempotency record
    return ReceiptOut(
        reference=signal.reference,
        receipt_secret=receipts.receipt_secret(_secret(settings), signal.id),
        status=public.reporter_status(signal).value,
        received_at=signal.received_at,
        status_url="/report/status",
    )


# -- the public form ----------------------------------------------------------------------------------------


@reports.get("/report/status")
def status_lookup(request: Request) -> Response:
    return render(request, "intake/report_status.html", {"signal": None})


@reports.post("/report/status")
def status_show(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    reference: Annotated[SafeText, Form(max_length=40)],
    secret: Annotated[SafeText, Form(max_length=80)],
) -> Response:
    _limit(request, session, "intake-status", STATUS_CHECKS_PER_MINUTE)
    try:
        signal = public.find_by_receipt(session, reference, secret, _secret(settings))
    except AppError as exc:
        return render(
            request,
            "intake/report_status.html",
            {"signal": None, "error": exc.detail, "reference": reference},
            status_code=exc.status,
        )
    return _status_page(request, session, signal, secret)


def _status_page(
    request: Request,
    session: SessionDep,
    signal: Signal,
    secret: str,
    *,
    flash: str | None = None,
    status_code: int = 200,
) -> Response:
    status = public.reporter_status(signal)
    return render(
        request,
        "intake/report_status.html",
        {
            "signal": signal,
            "status": status,
            "secret": secret,
            "additions": public.additions(session, signal),
            "messages": thread.reporter_messages(session, signal),
            "closed": thread.is_closed(signal),
            "org_name": thread.org_name(session, signal),
            "notice": flash,
        },
        status_code=status_code,
    )


def _by_receipt(request: Request, session: SessionDep, settings: Settings, reference: str, secret: str) -> Signal:
    """The signal a reporter's receipt names; the receipt is the only credential, so guesses are limited."""
    _limit(request, session, "intake-status", STATUS_CHECKS_PER_MINUTE)
    return public.find_by_receipt(session, reference, secret, _secret(settings))


@reports.post("/report/status/add")
def status_add(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    reference: Annotated[SafeText, Form(max_length=40)],
    secret: Annotated[SafeText, Form(max_length=80)],
    body: Annotated[SafeText, Form(max_length=20_000)],
) -> Response:
    signal = _by_receipt(request, session, settings, reference, secret)
    public.add_information(session, signal, body)
    return _status_page(request, session, signal, secret, flash="Thank you: your information was added.")


@reports.post("/report/status/reply")
def status_reply(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    reference: Annotated[SafeText, Form(max_length=40)],
    secret: Annotated[SafeText, Form(max_length=80)],
    body: Annotated[SafeText, Form(max_length=20_000)],
) -> Response:
    """The reporter answers the receiving org, with the receipt secret as their only credential."""
    signal = _by_receipt(request, session, settings, reference, secret)
    thread.reply(session, signal, body)
    return _status_page(request, session, signal, secret, flash="Your reply was sent.")


@reports.get("/report/{org_slug}")
def report_form(request: Request, session: SessionDep, settings: SettingsDep, org_slug: str) -> Response:
    org, channel = public.receiving_org(session, org_slug)
    return render(
        request,
        "intake/report_form.html",
        {
            "org": org,
            "channel": channel,
            "form_token": receipts.form_token(_secret(settings), org.slug, utcnow()),
            "idempotency_key": uuid.uuid4().hex,
            "honeypot": HONEYPOT,
            "max_attachment_bytes": _attachment_limit(settings),
            "values": {},
        },
    )


@reports.post("/report/{org_slug}")
def report_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    org_slug: str,
    title: Annotated[SafeText, Form(max_length=300)],
    description: Annotated[SafeText, Form(max_length=20_000)],
    form_token: Annotated[SafeText, Form(max_length=100)] = "",
    model: Annotated[SafeText, Form(max_length=200)] = "",
    url: Annotated[SafeText, Form(max_length=2000)] = "",
    reporter_name: Annotated[SafeText, Form(max_length=200)] = "",
    contact: Annotated[SafeText, Form(max_length=300)] = "",
    anonymous: Annotated[bool, Form()] = False,
    website: Annotated[SafeText, Form(max_length=500)] = "",
    idempotency_key_field: Annotated[SafeText, Form(alias="idempotency_key", max_length=200)] = "",
    attachments: Annotated[list[UploadFile] | None, File()] = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    # Rate limits before anything else touches the session (see _limit).
    _limit(request, session, "intake-report", settings.limits.public_submissions_per_minute)
    _limit(
        request,
        session,
        "intake-report-org",
        settings.limits.public_submissions_per_minute * 20,
        key=org_slug.strip().lower()[:60],
    )
    org, channel = public.receiving_org(session, org_slug)
    if website.strip():
        # The honeypot: a field people never see. Refused without saying which check failed.
        raise AppError(
            detail="This submission looks automated. If you are a person, reload the page and try again.",
            status=422,
            title="Submission refused",
            slug="submission-refused",
        )
    check = receipts.check_form_token(
        _secret(settings), org.slug, form_token, now=utcnow(), min_fill=timedelta(seconds=channel.min_fill_seconds)
    )
    if not check.ok:
        raise ValidationFailed.single("form_token", check.reason)
    uploads = []
    for upload in attachments or []:
        if not upload.filename:
            continue  # an empty file input
        limit = _attachment_limit(settings)
        data = upload.file.read(limit + 1)
        uploads.append(public.Upload(upload.filename, upload.content_type or "application/octet-stream", data))
    report = public.Report(
        title=title,
        description=description,
        model=model or None,
        url=url or None,
        reporter_name=reporter_name or None,
        contact=contact or None,
        anonymous=anonymous,
        attachments=uploads,
    )
    public.validate(report, max_attachment_bytes=_attachment_limit(settings), allow_anonymous=channel.allow_anonymous)
    created: list[Signal] = []
    status, stored, _ = run_idempotent(
        session,
        scope=f"intake:report:{org.id}:{_reporter(request)}",
        key=idempotency_key or idempotency_key_field or None,
        payload=public.fingerprint_payload(report, org.slug),
        create=lambda: (
            201,
            _receipt_body(
                _kept(
                    created,
                    public.submit(
                        session, org=org, settings=channel, report=report, source_kind=SourceKind.public_form
                    ),
                )
            ),
        ),
    )
    out = _full_receipt(session, stored, settings, created)
    if wants_json(request):
        return JSONResponse(out.model_dump(mode="json"), status_code=status)
    return render(request, "intake/report_receipt.html", {"org": org, "receipt": out}, status_code=status)


# -- downstream developers' API -------------------------------------------------------------------------------


@downstream.post("/reports", response_model=ReceiptOut, status_code=201)
def api_report(
    body: ReportIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    """Send a report to another organisation. Keep the receipt: its reference and secret are the only way
    to follow up if the report is anonymous."""
    _limit(request, session, "intake-api-report", settings.limits.public_submissions_per_minute, key=str(actor.user_id))
    org, channel = public.receiving_org(session, body.org)
    report = public.report_from_api(body, max_attachment_bytes=_attachment_limit(settings))
    public.validate(report, max_attachment_bytes=_attachment_limit(settings), allow_anonymous=channel.allow_anonymous)
    created: list[Signal] = []
    status, stored, _ = run_idempotent(
        session,
        scope=f"intake:api-report:{actor.user_id}",
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        create=lambda: (
            201,
            _receipt_body(
                _kept(
                    created,
                    public.submit(
                        session,
                        org=org,
                        settings=channel,
                        report=report,
                        source_kind=SourceKind.downstream_api,
                        submitter=actor,
                    ),
                )
            ),
        ),
    )
    out = _full_receipt(session, stored, settings, created)
    return JSONResponse(out.model_dump(mode="json"), status_code=status)


def _report_status(session: SessionDep, signal: Signal) -> ReportStatusOut:
    status = public.reporter_status(signal)
    return ReportStatusOut(
        reference=signal.reference,
        title=signal.title,
        status=status,
        status_label=status.label,
        received_at=signal.received_at,
        additions=[AdditionOut(body=a.body, received_at=a.received_at) for a in public.additions(session, signal)],
        messages=[
            ReporterMessageOut(side=m.side.value, body=m.body, created_at=m.created_at)
            for m in thread.reporter_messages(session, signal)
        ],
    )


@downstream.get("/reports/{reference}", response_model=ReportStatusOut)
def api_report_status(reference: str, session: SessionDep, actor: ActorDep) -> ReportStatusOut:
    """The status of a report your organisation sent (never the receiver's internal triage)."""
    return _report_status(session, public.find_submitted(session, actor, reference))


@downstream.post("/reports/{reference}/additions", response_model=ReportStatusOut, status_code=201)
def api_report_add(reference: str, body: AdditionIn, session: SessionDep, actor: ActorDep) -> ReportStatusOut:
    signal = public.find_submitted(session, actor, reference)
    public.add_information(session, signal, body.body, actor=actor)
    return _report_status(session, signal)


@downstream.post("/reports/{reference}/replies", response_model=ReportStatusOut, status_code=201)
def api_report_reply(
    reference: str,
    body: ReplyIn,
    session: SessionDep,
    actor: ActorDep,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Reply to the receiving org's answer about a report your organisation sent (refused once closed)."""
    signal = public.find_submitted(session, actor, reference)

    def create() -> tuple[int, dict[str, Any]]:
        thread.reply(session, signal, body.body, actor=actor)
        return 201, _report_status(session, signal).model_dump(mode="json")

    status, payload, _ = run_idempotent(
        session,
        scope=f"user:{actor.user_id}:intake.report.reply",
        key=idempotency_key,
        payload={"reference": signal.reference, **body.model_dump(mode="json")},
        create=create,
    )
    return JSONResponse(payload, status_code=status)


# -- monitoring alerts ----------------------------------------------------------------------------------------


async def _raw_body(request: Request) -> bytes:
    return await request.body()


@webhooks.post("/alerts/{source_id}", response_model=AlertReceiptOut)
def alert_webhook(
    source_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    body: Annotated[bytes, Depends(_raw_body)],
    signature: Annotated[str | None, Header(alias="X-Signalfire-Signature")] = None,
    timestamp: Annotated[str | None, Header(alias="X-Signalfire-Timestamp")] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """Receive an alert from a configured source: Prometheus Alertmanager's webhook (format 4; Grafana's
    too) with the source's bearer secret or a signature, or the generic JSON format with an
    X-Signalfire-Signature. Re-sends of one group update one signal."""
    _limit(request, session, "intake-alerts", ALERTS_PER_MINUTE, key=str(source_id))
    now = utcnow()
    source = alert_sources.authenticate(
        session, source_id, body=body, authorization=authorization, signature=signature, timestamp=timestamp, now=now
    )
    signal, created = alert_sources.receive(session, source, alert_sources.parse_body(body), now=now)
    out = AlertReceiptOut(
        signal_id=signal.id,
        reference=signal.reference,
        created=created,
        update_count=signal.update_count,
        alert_status=signal.alert_status,
    )
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if created else 200)


routers = [reports, downstream, webhooks]
