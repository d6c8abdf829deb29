"""The reporter's side: the public form per org, the downstream developers' API, receipts and status.

A reporter gets a reference and a receipt secret. With both they can see their own submission's
coarse status and add information; they never see the receiving org's triage (who looked, why it was
dismissed, which incident it became, what it was clustered with).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import uuid
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import FieldError, NotFound, ValidationFailed
from signalfire.intake.ingest import Incoming, receive
from signalfire.intake.models import Addition, Attachment, IntakeSettings, Signal, SourceKind, TriageState
from signalfire.intake.receipts import check_receipt_secret, normalise_reference, receipt_secret
from signalfire.intake.schemas import MAX_ATTACHMENTS, MAX_TEXT, MAX_TITLE, ReportIn, ReportStatus
from signalfire.notify.outbox import publish_event

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")
MAX_ADDITIONS = 50


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


@dataclass
class Report:
    """A report as a reporter wrote it, from the form or the API."""

    title: str
    description: str
    model: str | None = None
    url: str | None = None
    reporter_name: str | None = None
    contact: str | None = None
    anonymous: bool = False
    attachments: list[Upload] = field(default_factory=list)


def receiving_org(session: Session, slug: str) -> tuple[Organization, IntakeSettings]:
    """The org a report is addressed to, if it accepts reports (else 404, the same as no such org)."""
    row = session.execute(
        select(Organization, IntakeSettings)
        .join(IntakeSettings, IntakeSettings.org_id == Organization.id)
        .where(Organization.slug == slug.strip().lower(), IntakeSettings.public_form_enabled.is_(True))
    ).first()
    if row is None:
        raise NotFound("No organisation accepts reports at this address.")
    return row[0], row[1]


def report_from_api(body: ReportIn, *, max_attachment_bytes: int) -> Report:
    uploads = []
    for i, att in enumerate(body.attachments):
        try:
            data = base64.b64decode(att.data_base64, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationFailed.single(f"attachments[{i}].data_base64", "not valid base64") from None
        uploads.append(Upload(att.filename, att.content_type, data))
    report = Report(
        title=body.title,
        description=body.description,
        model=body.model,
        url=body.url,
        reporter_name=body.reporter_name,
        contact=body.contact,
        anonymous=body.anonymous,
        attachments=uploads,
    )
    validate(report, max_attachment_bytes=max_attachment_bytes)
    return report


def validate(report: Report, *, max_attachment_bytes: int, allow_anonymous: bool = True) -> None:
    errors: list[FieldError] = []
    if not 3 <= len(report.title.strip()) <= MAX_TITLE:
        errors.append(FieldError("title", f"between 3 and {MAX_TITLE} characters"))
    if not report.description.strip():
        errors.append(FieldError("description", "describe what happened"))
    elif len(report.description) > MAX_TEXT:
        errors.append(FieldError("description", f"at most {MAX_TEXT} characters"))
    for name, value, limit in (
        ("model", report.model, 200),
        ("url", report.url, 2000),
        ("reporter_name", report.reporter_name, 200),
        ("contact", report.contact, 300),
    ):
        if value is not None and len(value) > limit:
            errors.append(FieldError(name, f"at most {limit} characters"))
    if report.url and not report.url.strip().lower().startswith(("http://", "https://")):
        errors.append(FieldError("url", "must start with http:// or https://"))
    if report.anonymous and not allow_anonymous:
        errors.append(FieldError("anonymous", "this organisation does not accept anonymous reports"))
    if len(report.attachments) > MAX_ATTACHMENTS:
        errors.append(FieldError("attachments", f"at most {MAX_ATTACHMENTS} files"))
    for i, upload in enumerate(report.attachments):
        if len(upload.data) > max_attachment_bytes:
            errors.append(
                FieldError(f"attachments[{i}]", f"{upload.filename[:80]} is larger than {max_attachment_bytes} bytes")
            )
    if errors:
        raise ValidationFailed(errors)


def fingerprint_payload(report: Report, org_slug: str) -> dict[str, object]:
    """What an Idempotency-Key is bound to: the report's content, attachments by hash."""
    return {
        "org": org_slug,
        "title": report.title,
        "description": report.description,
        "model": report.model,
        "url": report.url,
        "reporter_name": report.reporter_name,
        "contact": report.contact,
        "anonymous": report.anonymous,
        "attachments": [(u.filename, hashlib.sha256(u.data).hexdigest()) for u in report.attachments],
    }


def submit(
    session: Session,
    *,
    org: Organization,
    settings: IntakeSettings,
    report: Report,
    source_kind: SourceKind,
    submitter: Actor | None = None,
) -> Signal:
    """Store a report as a signal (with its attachments) in the receiving org's queue; it is clustered,
    audited and announced by the worker (intake.placement), and shown as "clustering pending" until then."""
    body = report.description.strip()
    if report.model:
        body = f"Model or product: {report.model.strip()}\n\n{body}"
    raw = {
        "title": report.title,
        "description": report.description,
        "model": report.model,
        "url": report.url,
        "reporter_name": None if report.anonymous else report.reporter_name,
        "contact": None if report.anonymous else report.contact,
        "anonymous": report.anonymous,
        "attachments": [
            {"filename": u.filename, "content_type": u.content_type, "size": len(u.data)} for u in report.attachments
        ],
    }
    label = "anonymous reporter" if report.anonymous or submitter is None else submitter.label
    signal = receive(
        session,
        Incoming(
            org_id=org.id,
            source_kind=source_kind,
            title=report.title.strip(),
            text=body,
            url=report.url.strip() if report.url else None,
            raw_payload=raw,
            raw_content_type="application/json" if source_kind is SourceKind.downstream_api else "multipart/form-data",
            reporter_name=(report.reporter_name or "").strip() or None,
            reporter_contact=(report.contact or "").strip() or None,
            anonymous=report.anonymous,
            submitter_org_id=submitter.org_id if submitter else None,
            submitter_user_id=submitter.user_id if submitter else None,
        ),
        actor=submitter,
        actor_label=label,
    )
    for upload in report.attachments:
        session.add(
            Attachment(
                signal_id=signal.id,
                filename=safe_filename(upload.filename),
                content_type=(upload.content_type or "application/octet-stream")[:100],
                size=len(upload.data),
                sha256=hashlib.sha256(upload.data).hexdigest(),
                data=upload.data,
                created_at=signal.received_at,
            )
        )
    return signal


def safe_filename(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _SAFE_NAME.sub("_", base).strip(" .") or "attachment"
    return cleaned[:255]


def receipt(signal: Signal, secret_key: str) -> dict[str, object]:
    return {
        "reference": signal.reference,
        "receipt_secret": receipt_secret(secret_key, signal.id),
        "status": reporter_status(signal).value,
        "received_at": signal.received_at.isoformat(),
        "status_url": "/report/status",
    }


def reporter_status(signal: Signal) -> ReportStatus:
    if signal.state in (TriageState.promoted_incident, TriageState.promoted_exchange):
        return ReportStatus.acted_on
    if signal.state is TriageState.dismissed:
        return ReportStatus.closed
    if signal.state is TriageState.duplicate or signal.assignee_id is not None:
        return ReportStatus.in_review
    return ReportStatus.received


_NO_RECEIPT = "No report matches this reference and secret."


def find_by_receipt(session: Session, reference: str, secret: str, secret_key: str) -> Signal:
    """The reporter's own submission; a wrong reference and a wrong secret look the same."""
    ref = normalise_reference(reference)
    signal = (
        session.execute(
            select(Signal).where(
                Signal.reference == ref, Signal.source_kind.in_([SourceKind.public_form, SourceKind.downstream_api])
            )
        ).scalar_one_or_none()
        if ref
        else None
    )
    if signal is None or not check_receipt_secret(secret_key, signal.id, secret):
        raise NotFound(_NO_RECEIPT)
    return signal


def find_submitted(session: Session, actor: Actor, reference: str) -> Signal:
    """A report the actor's org sent through the API (for its status without the secret)."""
    from signalfire.access.policy.intake import submitted_reports

    ref = normalise_reference(reference)
    signal = session.execute(submitted_reports(actor).where(Signal.reference == ref)).scalar_one_or_none()
    if signal is None:
        raise NotFound(_NO_RECEIPT)
    return signal


def additions(session: Session, signal: Signal) -> list[Addition]:
    return list(
        session.execute(
            select(Addition).where(Addition.signal_id == signal.id).order_by(Addition.received_at)
        ).scalars()
    )


def add_information(session: Session, signal: Signal, body: str, *, actor: Actor | None = None) -> Addition:
    body = body.strip()
    if not body:
        raise ValidationFailed.single("body", "write what you want to add")
    if len(body) > MAX_TEXT:
        raise ValidationFailed.single("body", f"at most {MAX_TEXT} characters")
    count = len(additions(session, signal))
    if count >= MAX_ADDITIONS:
        raise ValidationFailed.single("body", f"a report can take at most {MAX_ADDITIONS} additions")
    addition = Addition(id=uuid.uuid4(), signal_id=signal.id, body=body, received_at=utcnow())
    session.add(addition)
    label = "anonymous reporter" if signal.anonymous or actor is None else actor.label
    record(
        session,
        action="intake.signal.addition",
        target_type="intake_signal",
        target_id=signal.id,
        actor=None if signal.anonymous else actor,
        actor_label=label,
        org_id=signal.org_id,
        summary={"reference": signal.reference, "addition": str(addition.id)},
    )
    publish_event(
        session,
        org_id=signal.org_id,
        event="intake.signal.addition",
        data={"id": signal.id, "reference": signal.reference},
    )
    return addition
