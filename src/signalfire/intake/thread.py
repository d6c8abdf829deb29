"""The conversation with a reporter: the receiving org answers a public or downstream report, the reporter
reads the answer on the receipt's status page (and by e-mail when they left an address) and replies.

Internal notes live beside the answers so the triage team sees one thread, but every read made for the
reporter filters them out in the query (``reporter_messages``), and e-mail is only ever built from the
answer being sent. An anonymous reporter stays anonymous: no address is kept, so no e-mail is sent, and
their replies are audited without an actor.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization
from signalfire.access.permissions import Permission
from signalfire.access.policy import require
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import Conflict, ValidationFailed
from signalfire.intake.models import MessageSide, Signal, SourceKind, ThreadMessage
from signalfire.intake.public import reporter_status
from signalfire.intake.schemas import MAX_TEXT, ReportStatus
from signalfire.notify.outbox import enqueue_email, publish_event

REPORTER_SOURCES = frozenset({SourceKind.public_form, SourceKind.downstream_api})
MAX_MESSAGES = 200
TOPIC = "intake.reporter_answer"
# A plain address only: anything else a reporter typed as "contact" (a phone number, a handle) gets no mail.
_EMAIL = re.compile(r"^[^@\s<>,;]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,}$")


def _clean(body: str) -> str:
    text = body.strip()
    if not text:
        raise ValidationFailed.single("body", "write a message")
    if len(text) > MAX_TEXT:
        raise ValidationFailed.single("body", f"at most {MAX_TEXT} characters")
    return text


def _count(session: Session, signal: Signal) -> int:
    return int(
        session.execute(
            select(func.count()).select_from(ThreadMessage).where(ThreadMessage.signal_id == signal.id)
        ).scalar_one()
    )


def has_reporter(signal: Signal) -> bool:
    return signal.source_kind in REPORTER_SOURCES


def is_closed(signal: Signal) -> bool:
    return reporter_status(signal) is ReportStatus.closed


def email_of(signal: Signal) -> str | None:
    contact = (signal.reporter_contact or "").strip()
    if signal.anonymous or not _EMAIL.match(contact):
        return None
    return contact


def org_name(session: Session, signal: Signal) -> str:
    """The receiving org's name: how its answers are signed for the reporter (no member is named)."""
    return str(session.execute(select(Organization.name).where(Organization.id == signal.org_id)).scalar_one())


def lab_messages(session: Session, signal: Signal) -> list[ThreadMessage]:
    """The whole thread, notes included, for the receiving org (``signal`` was read through the policy)."""
    stmt = select(ThreadMessage).where(ThreadMessage.signal_id == signal.id).order_by(ThreadMessage.created_at)
    return list(session.execute(stmt).scalars())


def reporter_messages(session: Session, signal: Signal) -> list[ThreadMessage]:
    """What the reporter may see: answers and their own replies, never an internal note."""
    stmt = (
        select(ThreadMessage)
        .where(ThreadMessage.signal_id == signal.id, ThreadMessage.internal.is_(False))
        .order_by(ThreadMessage.created_at)
    )
    return list(session.execute(stmt).scalars())


def post(session: Session, actor: Actor, signal: Signal, body: str, *, internal: bool) -> ThreadMessage:
    """An answer to the reporter (``internal`` False) or a note for the team (True)."""
    require(actor, Permission.intake_signal_triage)
    text = _clean(body)
    if not internal and not has_reporter(signal):
        raise Conflict(
            "Only a report from outside has a reporter to answer; write an internal note.", slug="no-reporter"
        )
    if _count(session, signal) >= MAX_MESSAGES:
        raise Conflict(f"The conversation has reached {MAX_MESSAGES} messages.", slug="thread-full")
    message = ThreadMessage(
        org_id=signal.org_id,
        signal_id=signal.id,
        side=MessageSide.lab,
        internal=internal,
        body=text,
        author_user_id=actor.user_id,
        created_at=utcnow(),
    )
    session.add(message)
    session.flush()
    address = None if internal else email_of(signal)
    if address is not None:
        name = org_name(session, signal)
        job = enqueue_email(
            session,
            to=[address],
            subject=f"{name} answered your report {signal.reference}",
            body=(
                f"{name} answered your report {signal.reference}:\n\n{text}\n\n"
                "To read the conversation or reply, open the status page (/report/status) and enter your "
                "reference and the secret from your receipt. We never send the secret by e-mail."
            ),
            topic=TOPIC,
            dedupe_key=f"intake-answer:{message.id}",
        )
        message.emailed = job is not None
    record(
        session,
        action="intake.thread.note" if internal else "intake.thread.answer",
        target_type="intake_signal",
        target_id=signal.id,
        actor=actor,
        summary={
            "reference": signal.reference,
            "message": str(message.id),
            "chars": len(text),
            "emailed": message.emailed,
        },
    )
    return message


def reply(session: Session, signal: Signal, body: str, *, actor: Actor | None = None) -> ThreadMessage:
    """The reporter's reply (the caller has checked the receipt secret, or that the actor's org sent it)."""
    text = _clean(body)
    if is_closed(signal):
        raise Conflict(
            "This report is closed, so it takes no more replies. If something changed, send a new report.",
            slug="report-closed",
        )
    if _count(session, signal) >= MAX_MESSAGES:
        raise Conflict(f"The conversation has reached {MAX_MESSAGES} messages.", slug="thread-full")
    message = ThreadMessage(
        org_id=signal.org_id, signal_id=signal.id, side=MessageSide.reporter, body=text, created_at=utcnow()
    )
    session.add(message)
    session.flush()
    anonymous = signal.anonymous or actor is None
    record(
        session,
        action="intake.thread.reply",
        target_type="intake_signal",
        target_id=signal.id,
        actor=None if anonymous else actor,
        actor_label="anonymous reporter" if signal.anonymous else ("reporter" if actor is None else actor.label),
        org_id=signal.org_id,
        summary={"reference": signal.reference, "message": str(message.id), "chars": len(text)},
    )
    publish_event(
        session,
        org_id=signal.org_id,
        event="intake.signal.reply",
        data={"id": signal.id, "reference": signal.reference},
    )
    return message
