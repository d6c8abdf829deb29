"""Capability-threshold notices: the business rules (declare thresholds, record evaluations, open,
draft, approve, send, receipt, link).

The firewall with incident reporting (design.md): a crossing opens a notice and nothing else; it never
creates an incident or a reporting obligation, and an incident never opens a notice. When both exist a
person links them, and the link is written to the audit log and to the incident's timeline.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.permissions import Permission
from signalfire.access.policy import require
from signalfire.access.policy.notices import readable_notices, readable_thresholds
from signalfire.access.policy.response import readable_contacts, readable_incidents
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import Conflict, ValidationFailed
from signalfire.notices import clock
from signalfire.notices.models import Evaluation, Notice, NoticeRecipient, NoticeStatus, Threshold, ThresholdContact
from signalfire.notices.schemas import AcknowledgeIn, DraftIn, EvaluationIn, LinkIn, ThresholdIn
from signalfire.notify.outbox import enqueue_email, publish_event
from signalfire.response.models import ContactChannel, GovernmentContact, Incident, TimelineKind
from signalfire.response.service import append_entry, get_model_version

TOPIC = "notices.capability_threshold"
REFERENCE_PREFIX = "SF-N-"
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
EMAIL_CHANNELS = frozenset({ContactChannel.EMAIL, ContactChannel.SECURE_EMAIL})
# A result "completed" slightly ahead of the server's clock is a skewed clock, not the future.
_SKEW = timedelta(minutes=5)


def _reference() -> str:
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"{REFERENCE_PREFIX}{chars[:4]}-{chars[4:]}"


# -- thresholds ----------------------------------------------------------------------------------------------


def _contacts(session: Session, actor: Actor, ids: list[uuid.UUID]) -> list[GovernmentContact]:
    if not ids:
        raise ValidationFailed.single("contact_ids", "Name at least one government contact who must be told.")
    wanted = list(dict.fromkeys(ids))
    found = {
        c.id: c for c in session.execute(readable_contacts(actor).where(GovernmentContact.id.in_(wanted))).scalars()
    }
    for i, cid in enumerate(wanted):
        contact = found.get(cid)
        if contact is None:
            raise ValidationFailed.single(f"contact_ids[{i}]", "No such contact in your organisation.")
        if not contact.is_government:
            raise ValidationFailed.single(f"contact_ids[{i}]", f"{contact.agency} is not a government body.")
    return [found[c] for c in wanted]


def create_threshold(session: Session, actor: Actor, data: ThresholdIn) -> Threshold:
    require(actor, Permission.reporting_settings_manage)
    contacts = _contacts(session, actor, data.contact_ids)
    taken = session.execute(readable_thresholds(actor).where(func.lower(Threshold.name) == data.name.lower())).first()
    if taken is not None:
        raise Conflict(f"A threshold named {data.name!r} already exists.", slug="threshold-exists")
    threshold = Threshold(
        org_id=actor.org_id,
        name=data.name,
        framework=data.framework,
        description=data.description,
        risk_domain=data.risk_domain,
        evaluation=data.evaluation,
        cutoff=data.cutoff,
        notify_within_minutes=data.notify_within_hours * 60,
        created_by=actor.user_id,
        contacts=[ThresholdContact(contact_id=c.id) for c in contacts],
    )
    session.add(threshold)
    session.flush()
    record(
        session,
        action="notices.threshold.create",
        target_type="notice_threshold",
        target_id=threshold.id,
        actor=actor,
        summary={
            "name": threshold.name,
            "framework": threshold.framework,
            "evaluation": threshold.evaluation,
            "cutoff": threshold.cutoff,
            "notify_within_minutes": threshold.notify_within_minutes,
            "contacts": [c.agency for c in contacts],
        },
    )
    return threshold


# -- evaluations and crossings -------------------------------------------------------------------------------


@dataclass
class Crossing:
    evaluation: Evaluation
    opened: list[Notice] = field(default_factory=list)
    already_open: list[Notice] = field(default_factory=list)


def _draft_text(threshold: Threshold, result: Evaluation) -> tuple[str, str]:
    subject = f"Capability threshold reached: {threshold.name} ({result.model_key})"
    body = (
        f"Under {threshold.framework}, we commit to notify you when a model reaches {threshold.name}.\n\n"
        f"Model: {result.model_key}\n"
        f"Evaluation: {result.evaluation}, score {result.score:g} (threshold {threshold.cutoff:g}), "
        f"result known {result.completed_at:%Y-%m-%d %H:%M} UTC.\n\n"
        f"{threshold.description}\n\n"
        "This is a notice under our safety framework, not an incident report: no incident has occurred "
        "unless a separate report says so."
    )
    return subject, body.replace("\n\n\n\n", "\n\n")


def record_evaluation(session: Session, actor: Actor, data: EvaluationIn) -> Crossing:
    """Store an evaluation result; each active threshold it crosses opens a notice (once per model version)."""
    require(actor, Permission.reporting_assessment_write)
    now = utcnow()
    version = get_model_version(session, actor, data.model, field="model")
    completed = data.completed_at or now
    if completed > now + _SKEW:
        raise ValidationFailed.single("completed_at", "The result cannot be known in the future.")
    result = Evaluation(
        org_id=actor.org_id,
        model_version_id=version.id,
        model_key=version.key,
        evaluation=data.evaluation,
        score=data.score,
        completed_at=completed,
        summary=data.summary,
        recorded_at=now,
        recorded_by=actor.user_id,
    )
    session.add(result)
    session.flush()
    crossed = list(
        session.execute(
            readable_thresholds(actor)
            .where(
                Threshold.active.is_(True),
                func.lower(Threshold.evaluation) == data.evaluation.lower(),
                Threshold.cutoff <= data.score,
            )
            .order_by(Threshold.name)
        ).scalars()
    )
    record(
        session,
        action="notices.evaluation.record",
        target_type="notice_evaluation",
        target_id=result.id,
        actor=actor,
        summary={
            "model": result.model_key,
            "evaluation": result.evaluation,
            "score": result.score,
            "crossed": [t.name for t in crossed],
        },
    )
    out = Crossing(result)
    for threshold in crossed:
        existing = session.execute(
            readable_notices(actor).where(Notice.threshold_id == threshold.id, Notice.model_version_id == version.id)
        ).scalar_one_or_none()
        if existing is not None:
            out.already_open.append(existing)
            continue
        out.opened.append(_open(session, actor, threshold, result))
    return out


def _open(session: Session, actor: Actor, threshold: Threshold, result: Evaluation) -> Notice:
    subject, body = _draft_text(threshold, result)
    due = clock.due_at(result.completed_at, timedelta(minutes=threshold.notify_within_minutes))
    notice = Notice(
        org_id=threshold.org_id,
        reference=_reference(),
        threshold_id=threshold.id,
        evaluation_id=result.id,
        model_version_id=result.model_version_id,
        status=NoticeStatus.DRAFT,
        clock_start_at=result.completed_at,
        due_at=due,
        subject=subject,
        body=body,
        opened_at=utcnow(),
        drafted_by=actor.user_id,
    )
    session.add(notice)
    session.flush()
    record(
        session,
        action="notices.notice.open",
        target_type="notice_notice",
        target_id=notice.id,
        actor=actor,
        summary={
            "reference": notice.reference,
            "threshold": threshold.name,
            "model": result.model_key,
            "clock_start_at": notice.clock_start_at,
            "due_at": notice.due_at,
        },
    )
    publish_event(
        session,
        org_id=notice.org_id,
        event="notices.notice.opened",
        data={"id": notice.id, "reference": notice.reference, "due_at": notice.due_at},
    )
    return notice


# -- notices -------------------------------------------------------------------------------------------------


def _audit(session: Session, actor: Actor, notice: Notice, action: str, **summary: object) -> None:
    record(
        session,
        action=f"notices.notice.{action}",
        target_type="notice_notice",
        target_id=notice.id,
        actor=actor,
        summary={"reference": notice.reference, **summary},
    )


def update_draft(session: Session, actor: Actor, notice: Notice, data: DraftIn) -> Notice:
    require(actor, Permission.reporting_report_write)
    if notice.status is not NoticeStatus.DRAFT:
        raise Conflict(f"The notice is {notice.status.label.lower()}; only a draft is edited.", slug="notice-not-draft")
    notice.subject, notice.body, notice.drafted_by = data.subject, data.body, actor.user_id
    _audit(session, actor, notice, "draft", subject=data.subject, body_chars=len(data.body))
    return notice


def approve(session: Session, actor: Actor, notice: Notice) -> Notice:
    require(actor, Permission.reporting_report_submit)
    if notice.status is not NoticeStatus.DRAFT:
        raise Conflict(f"The notice is {notice.status.label.lower()}, not a draft.", slug="notice-not-draft")
    notice.status, notice.approved_at, notice.approved_by = NoticeStatus.APPROVED, utcnow(), actor.user_id
    _audit(session, actor, notice, "approve")
    return notice


def _footer(notice: Notice) -> str:
    return f"\n\n--\nNotice reference {notice.reference}. Please acknowledge receipt quoting this reference."


def send(session: Session, actor: Actor, notice: Notice) -> Notice:
    """Tell every contact the threshold names: e-mail through the outbox, phone and portal contacts
    recorded as told by the sender. Refused without an approved text or without anyone to tell."""
    require(actor, Permission.reporting_report_submit)
    if notice.status is not NoticeStatus.APPROVED:
        raise Conflict("Approve the notice's text before sending it.", slug="notice-not-approved")
    ids = [tc.contact_id for tc in notice.threshold.contacts]
    contacts = (
        list(session.execute(readable_contacts(actor).where(GovernmentContact.id.in_(ids))).scalars()) if ids else []
    )
    if not contacts:
        raise Conflict(
            "This notice has nobody to tell: the threshold names no government contact. Add one first.",
            slug="notice-no-contacts",
        )
    now = utcnow()
    told = []
    for contact in sorted(contacts, key=lambda c: c.agency):
        job = None
        if contact.channel in EMAIL_CHANNELS:
            job = enqueue_email(
                session,
                to=[contact.address],
                subject=notice.subject,
                body=notice.body + _footer(notice),
                topic=TOPIC,
                org_id=notice.org_id,
                dedupe_key=f"notice:{notice.id}:{contact.id}",
            )
        session.add(
            NoticeRecipient(
                notice_id=notice.id,
                contact_id=contact.id,
                agency=contact.agency,
                channel=contact.channel.value,
                address=contact.address,
                job_id=job.id if job is not None else None,
                sent_at=now,
            )
        )
        told.append({"agency": contact.agency, "channel": contact.channel.value, "queued": job is not None})
    notice.status, notice.sent_at, notice.sent_by = NoticeStatus.SENT, now, actor.user_id
    standing = clock.standing(notice.due_at, now, now)
    _audit(session, actor, notice, "send", recipients=told, clock=standing.state.value)
    session.flush()
    session.refresh(notice, ["recipients"])
    return notice


def acknowledge(session: Session, actor: Actor, notice: Notice, data: AcknowledgeIn) -> Notice:
    """Record a body's receipt of the notice; the notice is acknowledged once every body has answered."""
    require(actor, Permission.reporting_report_submit)
    if notice.status not in (NoticeStatus.SENT, NoticeStatus.ACKNOWLEDGED):
        raise Conflict("The notice has not been sent.", slug="notice-not-sent")
    recipient = next((r for r in notice.recipients if r.id == data.recipient_id), None)
    if recipient is None:
        raise ValidationFailed.single("recipient_id", "Not a recipient of this notice.")
    if recipient.acknowledged_at is not None:
        raise Conflict(f"{recipient.agency} has already acknowledged it.", slug="notice-acknowledged")
    now = utcnow()
    at = data.at or now
    if at > now + _SKEW or at < recipient.sent_at:
        raise ValidationFailed.single("at", "A receipt comes after the notice was sent and not in the future.")
    recipient.acknowledged_at, recipient.acknowledged_by, recipient.receipt = at, actor.user_id, data.receipt
    if all(r.acknowledged_at is not None for r in notice.recipients):
        notice.status = NoticeStatus.ACKNOWLEDGED
    _audit(session, actor, notice, "acknowledge", agency=recipient.agency, receipt=data.receipt, at=at)
    return notice


def link_incident(session: Session, actor: Actor, notice: Notice, data: LinkIn) -> Notice:
    """Link the notice to an incident of the same org (or remove the link). Linking starts no clock on
    either side: it is a pointer both pages show, written to the audit log and the incident's timeline."""
    require(actor, Permission.reporting_report_write)
    previous = notice.incident_id
    if data.incident_id is None:
        if previous is None:
            return notice
        notice.incident_id, notice.linked_at, notice.linked_by = None, utcnow(), actor.user_id
        _audit(session, actor, notice, "unlink", incident_id=previous)
        return notice
    incident = session.execute(
        readable_incidents(actor).where(Incident.id == data.incident_id, Incident.org_id == notice.org_id)
    ).scalar_one_or_none()
    if incident is None:
        raise ValidationFailed.single("incident_id", "No such incident in your organisation.")
    if previous == incident.id:
        return notice
    notice.incident_id, notice.linked_at, notice.linked_by = incident.id, utcnow(), actor.user_id
    _audit(session, actor, notice, "link", incident=incident.reference, incident_id=incident.id)
    append_entry(
        session,
        actor,
        incident,
        kind=TimelineKind.NOTE,
        body=(
            f"Linked to capability-threshold notice {notice.reference}. The notice has its own clock; "
            "it starts no reporting obligation and this incident's reports start none for it."
        ),
        source="notices",
        data={"notice_id": str(notice.id), "reference": notice.reference},
    )
    return notice
