"""Post-incident reviews: root cause, contributing factors, what went well or badly, follow-ups.

One review per incident, internal to the org. It closes once the incident is resolved, the root
cause is written and every follow-up has an owner and a due date. Turning a review into a
sanitised lesson for the exchange is a separate, explicit act owned by the exchange channel; nothing
here shares anything.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from signalfire.access.actor import Actor
from signalfire.access.permissions import Permission
from signalfire.access.policy import first_or_404, require
from signalfire.access.policy.response import is_org_reader, readable_reviews
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from signalfire.response.models import (
    Incident,
    PostIncidentReview,
    ReviewActionItem,
    ReviewStatus,
    TaskStatus,
    TimelineKind,
)
from signalfire.response.schemas import ReviewIn, ReviewItemIn
from signalfire.response.service import append_entry, member_by_email
from signalfire.response.vocab import IncidentStatus


def _require_reviewer(actor: Actor, incident: Incident) -> None:
    if incident.org_id != actor.org_id:
        raise Forbidden("Reviews are internal to the organisation.")
    require(actor, Permission.response_review_write)


def require_internal(actor: Actor, incident: Incident) -> None:
    """Reviews do not exist for anyone outside the org's incident readers (external participants)."""
    if not is_org_reader(actor, incident):
        raise NotFound("No such review.")


def get_review(session: Session, actor: Actor, incident: Incident) -> PostIncidentReview | None:
    stmt = (
        readable_reviews(actor)
        .where(PostIncidentReview.incident_id == incident.id)
        .options(selectinload(PostIncidentReview.items))
    )
    return session.execute(stmt).scalars().first()


def get_review_by_id(session: Session, actor: Actor, review_id: uuid.UUID) -> PostIncidentReview:
    stmt = (
        readable_reviews(actor)
        .where(PostIncidentReview.id == review_id)
        .options(selectinload(PostIncidentReview.items))
    )
    return first_or_404(session, stmt, "No such review.")


def save_review(session: Session, actor: Actor, incident: Incident, data: ReviewIn) -> PostIncidentReview:
    """Start the review or update its draft."""
    _require_reviewer(actor, incident)
    review = get_review(session, actor, incident)
    if review is not None and review.status is ReviewStatus.CLOSED:
        raise Conflict("The review is closed.", slug="review-closed")
    factors = [f.strip() for f in data.contributing_factors if f.strip()]
    if any(len(f) > 500 for f in factors):
        raise ValidationFailed.single("contributing_factors", "Each factor is at most 500 characters.")
    created = review is None
    if review is None:
        review = PostIncidentReview(incident_id=incident.id, org_id=incident.org_id, created_by=actor.user_id)
        session.add(review)
    review.root_cause = data.root_cause
    review.contributing_factors = factors
    review.went_well = data.went_well
    review.went_badly = data.went_badly
    session.flush()
    if created:
        append_entry(
            session,
            actor,
            incident,
            kind=TimelineKind.REVIEW,
            body="Post-incident review started.",
            data={"review_id": str(review.id)},
        )
    record(
        session,
        action="response.review.save",
        target_type="response_review",
        target_id=review.id,
        actor=actor,
        summary={"incident": incident.reference, "created": created},
    )
    return review


def add_item(session: Session, actor: Actor, incident: Incident, data: ReviewItemIn) -> ReviewActionItem:
    _require_reviewer(actor, incident)
    review = get_review(session, actor, incident)
    if review is None:
        raise Conflict("Start the review first.", slug="no-review")
    if review.status is ReviewStatus.CLOSED:
        raise Conflict("The review is closed.", slug="review-closed")
    owner = member_by_email(session, incident.org_id, data.owner_email, "owner_email") if data.owner_email else None
    item = ReviewActionItem(
        review_id=review.id,
        position=len(review.items),
        title=data.title,
        owner_user_id=owner.id if owner else None,
        due_on=data.due_on,
    )
    session.add(item)
    session.flush()
    record(
        session,
        action="response.review.item_add",
        target_type="response_review",
        target_id=review.id,
        actor=actor,
        summary={"title": data.title, "owner": owner.email if owner else None, "due_on": data.due_on},
    )
    return item


def complete_item(session: Session, actor: Actor, incident: Incident, item_id: uuid.UUID) -> ReviewActionItem:
    _require_reviewer(actor, incident)
    review = get_review(session, actor, incident)
    item = session.execute(
        select(ReviewActionItem).where(
            ReviewActionItem.id == item_id, ReviewActionItem.review_id == (review.id if review else None)
        )
    ).scalar_one_or_none()
    if review is None or item is None:
        raise NotFound("No such follow-up.")
    if item.status is not TaskStatus.OPEN:
        raise Conflict("The follow-up is already done.", slug="no-change")
    item.status, item.done_at = TaskStatus.DONE, utcnow()
    record(
        session,
        action="response.review.item_done",
        target_type="response_review",
        target_id=review.id,
        actor=actor,
        summary={"item": item.title},
    )
    return item


def close_review(session: Session, actor: Actor, incident: Incident) -> PostIncidentReview:
    """Close the review: the incident is resolved, the root cause written, follow-ups owned and dated."""
    _require_reviewer(actor, incident)
    review = get_review(session, actor, incident)
    if review is None:
        raise Conflict("Start the review first.", slug="no-review")
    if review.status is ReviewStatus.CLOSED:
        raise Conflict("The review is already closed.", slug="review-closed")
    if incident.status.order < IncidentStatus.RESOLVED.order:
        raise Conflict("Resolve the incident before closing its review.", slug="incident-open")
    if not review.root_cause.strip():
        raise ValidationFailed.single("root_cause", "Write the root cause before closing the review.")
    for i, item in enumerate(review.items):
        if item.owner_user_id is None or item.due_on is None:
            raise ValidationFailed.single(f"items[{i}]", f"“{item.title}” needs an owner and a due date.")
    now = utcnow()
    review.status, review.closed_at, review.closed_by = ReviewStatus.CLOSED, now, actor.user_id
    append_entry(
        session,
        actor,
        incident,
        kind=TimelineKind.REVIEW,
        body="Post-incident review closed.",
        at=now,
        data={"review_id": str(review.id)},
    )
    record(
        session,
        action="response.review.close",
        target_type="response_review",
        target_id=review.id,
        actor=actor,
        summary={"incident": incident.reference, "items": len(review.items)},
    )
    return review
