"""Capability-threshold notices: the read statements, each starting from the access policy's readable
statement (access.policy.notices), so a detail read is the list read plus one condition."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session, selectinload

from signalfire.access.actor import Actor
from signalfire.access.policy import first_or_404
from signalfire.access.policy.notices import readable_evaluations, readable_notices, readable_thresholds
from signalfire.access.policy.response import readable_contacts
from signalfire.core.errors import NotFound
from signalfire.notices.models import Evaluation, Notice, Threshold
from signalfire.response.models import GovernmentContact


def list_thresholds(session: Session, actor: Actor) -> list[Threshold]:
    stmt = readable_thresholds(actor).options(selectinload(Threshold.contacts)).order_by(Threshold.name)
    return list(session.execute(stmt).scalars())


def contacts_of(session: Session, actor: Actor, thresholds: list[Threshold]) -> dict[uuid.UUID, GovernmentContact]:
    ids = {tc.contact_id for t in thresholds for tc in t.contacts}
    if not ids:
        return {}
    return {c.id: c for c in session.execute(readable_contacts(actor).where(GovernmentContact.id.in_(ids))).scalars()}


def contact_choices(session: Session, actor: Actor) -> list[GovernmentContact]:
    stmt = readable_contacts(actor).where(GovernmentContact.is_government.is_(True)).order_by(GovernmentContact.agency)
    return list(session.execute(stmt).scalars())


def list_evaluations(session: Session, actor: Actor, limit: int = 50) -> list[Evaluation]:
    stmt = readable_evaluations(actor).order_by(Evaluation.completed_at.desc()).limit(limit)
    return list(session.execute(stmt).scalars())


def list_notices(session: Session, actor: Actor) -> list[Notice]:
    stmt = (
        readable_notices(actor)
        .options(selectinload(Notice.threshold), selectinload(Notice.recipients))
        .order_by(Notice.sent_at.is_not(None), Notice.due_at)
    )
    return list(session.execute(stmt).scalars())


def get_notice(session: Session, actor: Actor, notice_id: uuid.UUID) -> Notice:
    stmt = (
        readable_notices(actor)
        .where(Notice.id == notice_id)
        .options(
            selectinload(Notice.threshold).selectinload(Threshold.contacts),
            selectinload(Notice.evaluation_result),
            selectinload(Notice.recipients),
        )
    )
    return first_or_404(session, stmt, "No such notice.")


def get_notice_by_reference(session: Session, actor: Actor, reference: str) -> Notice:
    notice = session.execute(
        readable_notices(actor).where(Notice.reference == reference.strip().upper())
    ).scalar_one_or_none()
    if notice is None:
        raise NotFound("No such notice.")
    return get_notice(session, actor, notice.id)
