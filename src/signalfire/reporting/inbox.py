"""The authority inbox and the follow-up thread.

An authority org receives the report versions delivered to it, acknowledges them, and asks follow-up
questions; the reporting org answers in the same thread. A thread is between the reporting org and one
authority org about one report: another authority never sees it. Reading a delivered report is an
audited read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, OrgKind, Role
from signalfire.access.permissions import Permission
from signalfire.access.policy import first_or_404, require
from signalfire.access.policy.reporting import readable_deliveries, readable_messages
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import NotFound, ValidationFailed
from signalfire.notify.outbox import enqueue_email, publish_event
from signalfire.reporting.models import Delivery, Message, MessageKind, Report, ReportVersion
from signalfire.reporting.obligations import recipients_of
from signalfire.reporting.reports import get_report

MAX_MESSAGE = 10_000


@dataclass(frozen=True)
class InboxRow:
    delivery: Delivery
    version: ReportVersion
    sender: str
    open_questions: int


def inbox(session: Session, actor: Actor, *, limit: int = 200) -> list[InboxRow]:
    rows = session.execute(
        readable_deliveries(actor)
        .where(Delivery.authority_org_id == actor.org_id)
        .add_columns(ReportVersion, Organization.name)
        .join(ReportVersion, ReportVersion.id == Delivery.report_version_id)
        .join(Organization, Organization.id == Delivery.org_id)
        .order_by(Delivery.delivered_at.desc())
        .limit(limit)
    ).all()
    open_by_report = _open_questions(session, actor, [d.report_id for d, _, _ in rows])
    return [InboxRow(d, v, name, open_by_report.get(d.report_id, 0)) for d, v, name in rows]


def _open_questions(session: Session, actor: Actor, report_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not report_ids:
        return {}
    msgs = (
        session.execute(readable_messages(actor).where(Message.report_id.in_(report_ids)).order_by(Message.created_at))
        .scalars()
        .all()
    )
    answered = {m.in_reply_to_id for m in msgs if m.kind is MessageKind.answer}
    out: dict[uuid.UUID, int] = {}
    for m in msgs:
        if m.kind is MessageKind.question and m.id not in answered:
            out[m.report_id] = out.get(m.report_id, 0) + 1
    return out


@dataclass(frozen=True)
class OpenQuestion:
    """An authority's question the reporting org has not answered yet (the board's badge)."""

    message: Message
    report_id: uuid.UUID
    incident_id: uuid.UUID
    stage: str
    regime_id: str


def unanswered_questions(session: Session, actor: Actor, *, limit: int = 50) -> list[OpenQuestion]:
    """The questions put to the actor's org that wait for its answer, oldest first (through the policy)."""
    if actor.org_kind is OrgKind.authority:
        return []
    answers = (
        readable_messages(actor).where(Message.kind == MessageKind.answer).with_only_columns(Message.in_reply_to_id)
    )
    rows = session.execute(
        readable_messages(actor)
        .where(
            Message.org_id == actor.org_id,
            Message.kind == MessageKind.question,
            Message.id.not_in(answers.scalar_subquery().where(Message.in_reply_to_id.is_not(None))),
        )
        .join(Report, Report.id == Message.report_id)
        .add_columns(Report.incident_id, Report.stage, Report.regime_id)
        .order_by(Message.created_at)
        .limit(limit)
    ).all()
    return [OpenQuestion(m, m.report_id, incident_id, stage, regime) for m, incident_id, stage, regime in rows]


def get_delivery(session: Session, actor: Actor, delivery_id: uuid.UUID, *, audit: bool = True) -> Delivery:
    delivery = first_or_404(session, readable_deliveries(actor).where(Delivery.id == delivery_id), "No such report.")
    if audit and actor.org_kind is OrgKind.authority:
        record(
            session,
            action="reporting.delivery.read",
            target_type="reporting_delivery",
            target_id=delivery.id,
            actor=actor,
            summary={"report_id": delivery.report_id},
        )
    return delivery


def delivery_version(session: Session, delivery: Delivery) -> ReportVersion:
    """The version a delivery carries (call with a delivery obtained through the policy)."""
    version = session.get(ReportVersion, delivery.report_version_id)
    assert version is not None
    return version


def thread(session: Session, actor: Actor, report_id: uuid.UUID, authority_org_id: uuid.UUID) -> list[Message]:
    return list(
        session.execute(
            readable_messages(actor)
            .where(Message.report_id == report_id, Message.authority_org_id == authority_org_id)
            .order_by(Message.created_at, Message.id)
        ).scalars()
    )


def threads_for_report(session: Session, actor: Actor, report_id: uuid.UUID) -> dict[uuid.UUID, list[Message]]:
    out: dict[uuid.UUID, list[Message]] = {}
    for m in session.execute(
        readable_messages(actor).where(Message.report_id == report_id).order_by(Message.created_at, Message.id)
    ).scalars():
        out.setdefault(m.authority_org_id, []).append(m)
    return out


def _body(body: str) -> str:
    body = body.strip()
    if not body:
        raise ValidationFailed.single("body", "Write the message.")
    if len(body) > MAX_MESSAGE:
        raise ValidationFailed.single("body", f"At most {MAX_MESSAGE} characters.")
    return body


def acknowledge(session: Session, actor: Actor, delivery_id: uuid.UUID) -> Delivery:
    delivery = get_delivery(session, actor, delivery_id, audit=False)
    if actor.org_kind is not OrgKind.authority:
        raise NotFound("No such report.")
    require(actor, Permission.reporting_inbox_respond)
    if delivery.acknowledged_at is not None:
        return delivery
    now = utcnow()
    delivery.acknowledged_at = now
    delivery.acknowledged_by = actor.user_id
    delivery.acknowledged_by_label = actor.display_name
    version = delivery_version(session, delivery)
    _post(
        session,
        actor,
        delivery.report_id,
        delivery.org_id,
        actor.org_id,
        MessageKind.acknowledgement,
        f"Receipt of version {version.number} acknowledged (sha256 {version.content_hash[:16]}…).",
        None,
    )
    record(
        session,
        action="reporting.delivery.acknowledge",
        target_type="reporting_delivery",
        target_id=delivery.id,
        actor=actor,
        summary={"version": version.number},
    )
    _notify_sender(
        session,
        delivery.org_id,
        delivery.report_id,
        f"{actor.org_name} acknowledged receipt",
        "reporting.report.acknowledged",
    )
    return delivery


def ask(session: Session, actor: Actor, delivery_id: uuid.UUID, body: str) -> Message:
    """An authority's follow-up question on a report delivered to it."""
    delivery = get_delivery(session, actor, delivery_id, audit=False)
    if actor.org_kind is not OrgKind.authority:
        raise NotFound("No such report.")
    require(actor, Permission.reporting_inbox_respond)
    message = _post(
        session, actor, delivery.report_id, delivery.org_id, actor.org_id, MessageKind.question, _body(body), None
    )
    record(
        session,
        action="reporting.message.question",
        target_type="reporting_message",
        target_id=message.id,
        actor=actor,
        summary={"report_id": delivery.report_id, "length": len(message.body)},
    )
    _notify_sender(
        session,
        delivery.org_id,
        delivery.report_id,
        f"Question from {actor.org_name}",
        "reporting.question.received",
        body=message.body,
    )
    return message


def answer(session: Session, actor: Actor, report_id: uuid.UUID, question_id: uuid.UUID, body: str) -> Message:
    """The reporting org answers a question in the thread it was asked in."""
    report = get_report(session, actor, report_id)
    question = first_or_404(
        session,
        readable_messages(actor).where(Message.id == question_id, Message.report_id == report.id),
        "No such question.",
    )
    require(actor, Permission.reporting_inbox_respond)
    if question.kind is not MessageKind.question:
        raise ValidationFailed.single("question_id", "Only a question can be answered.")
    message = _post(
        session,
        actor,
        report.id,
        report.org_id,
        question.authority_org_id,
        MessageKind.answer,
        _body(body),
        question.id,
    )
    record(
        session,
        action="reporting.message.answer",
        target_type="reporting_message",
        target_id=message.id,
        actor=actor,
        summary={"report_id": report.id, "question_id": question.id, "length": len(message.body)},
    )
    to = recipients_of(session, question.authority_org_id, tuple(Role))
    if to:
        enqueue_email(
            session,
            to=to,
            topic="reporting.answer.received",
            org_id=question.authority_org_id,
            subject=f"{actor.org_name} answered your question",
            body=message.body,
            dedupe_key=f"reporting.answer:{message.id}",
        )
    publish_event(
        session,
        org_id=question.authority_org_id,
        event="reporting.answer.received",
        data={"report_id": report.id, "question_id": question.id, "message_id": message.id},
        dedupe_key=f"reporting.answer:{message.id}",
    )
    return message


def _post(
    session: Session,
    actor: Actor,
    report_id: uuid.UUID,
    org_id: uuid.UUID,
    authority_org_id: uuid.UUID,
    kind: MessageKind,
    body: str,
    reply_to: uuid.UUID | None,
) -> Message:
    m = Message(
        report_id=report_id,
        org_id=org_id,
        authority_org_id=authority_org_id,
        author_org_id=actor.org_id,
        author_user_id=actor.user_id,
        author_label=f"{actor.display_name} ({actor.org_name})",
        kind=kind,
        body=body,
        in_reply_to_id=reply_to,
        created_at=utcnow(),
    )
    session.add(m)
    session.flush()
    return m


def _notify_sender(
    session: Session, org_id: uuid.UUID, report_id: uuid.UUID, subject: str, event: str, body: str = ""
) -> None:
    report = session.get(Report, report_id)
    assert report is not None
    to = recipients_of(session, org_id, (Role.admin, Role.reporter))
    if to:
        enqueue_email(
            session,
            to=to,
            topic=event,
            org_id=org_id,
            subject=f"{subject} ({report.regime_id}, {report.stage})",
            body=f"{body}\n\nOpen the report: /reporting/reports/{report.id}",
        )
    publish_event(
        session,
        org_id=org_id,
        event=event,
        data={"report_id": report.id, "stage": report.stage, "regime": report.regime_id},
    )
