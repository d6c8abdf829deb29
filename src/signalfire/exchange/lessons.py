"""Lessons from incidents: an org turns one of its closed incidents' review into a draft item.

This is the only path from the response channel into the exchange, and it is always an explicit act
by a person of the owning org: the review is copied once into a *draft*, with the incident's
reference, any internal names the person lists and every identifier the sanitiser finds replaced by
placeholders (``exchange.sanitise``); a second person signs off the preview of those changes and the
draft is screened like any other item before it can be published. Nothing flows back: the exchange never
writes to an incident, and a shared item never creates or touches a reporting obligation.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.permissions import Permission
from signalfire.access.policy import first_or_404, require
from signalfire.access.policy.response import readable_incidents, readable_reviews
from signalfire.audit.chain import record
from signalfire.core.errors import Conflict, ValidationFailed
from signalfire.exchange.authoring import create_draft
from signalfire.exchange.models import ExchangeItem
from signalfire.exchange.sanitise.service import record_sanitisation, sanitise_texts
from signalfire.exchange.schemas import ItemIn, LessonIn
from signalfire.exchange.vocab import AudienceKind, Tlp
from signalfire.response.models import Incident, PostIncidentReview
from signalfire.response.vocab import IncidentStatus


def _lesson_text(incident: Incident, review: PostIncidentReview) -> tuple[str, str, str]:
    summary = incident.summary.strip()
    parts = []
    if review.root_cause.strip():
        parts.append("Root cause\n" + review.root_cause.strip())
    if review.contributing_factors:
        parts.append("Contributing factors\n" + "\n".join(f"- {f}" for f in review.contributing_factors))
    if review.went_badly.strip():
        parts.append("What made it worse\n" + review.went_badly.strip())
    if review.went_well.strip():
        parts.append("What helped\n" + review.went_well.strip())
    return f"Lesson learned: {incident.title}", summary, "\n\n".join(parts)


def draft_from_review(session: Session, actor: Actor, data: LessonIn) -> ExchangeItem:
    """Create a draft item from a closed incident's review, stripped of internal identifiers."""
    require(actor, Permission.exchange_item_write)
    require(actor, Permission.response_incident_read)
    review = first_or_404(
        session, readable_reviews(actor).where(PostIncidentReview.id == data.review_id), "No such review."
    )
    incident = first_or_404(
        session,
        readable_incidents(actor).where(Incident.id == review.incident_id, Incident.org_id == actor.org_id),
        "No such incident.",
    )
    if incident.status != IncidentStatus.CLOSED:
        raise Conflict("Only a closed incident's review can become a shared lesson.", slug="incident-not-closed")
    if data.tlp == Tlp.RED:
        raise ValidationFailed.single(
            "tlp", "a lesson starts addressed to all members; choose RED later by naming people on the draft"
        )
    identifiers = [incident.reference, *data.strip]
    raw_title, raw_summary, raw_details = _lesson_text(incident, review)
    # The sanitiser removes references, fingerprints, labels, hosts, internal URLs, model versions,
    # names, contact details and addresses; the preview of every change waits for a second person.
    sanitised = sanitise_texts(
        session, actor, {"title": raw_title, "summary": raw_summary, "details": raw_details}, identifiers
    )
    title, summary, details = (sanitised.fields[name] for name in ("title", "summary", "details"))
    item_in = ItemIn(
        category=data.category,
        title=title[:300],
        summary=summary[:5000],
        details=details[:100_000],
        severity=data.severity,
        tlp=data.tlp,
        permitted_uses=data.permitted_uses,
        audience=[AudienceKind.ALL_MEMBERS],
        attribution=data.attribution,
    )
    item = create_draft(session, actor, item_in, source_incident_id=incident.id)
    record_sanitisation(session, actor, item, "lesson", sanitised)
    record(
        session,
        action="exchange.item.lesson_drafted",
        target_type="exchange_item",
        target_id=item.id,
        actor=actor,
        summary={
            "incident_id": incident.id,
            "review_id": review.id,
            "stripped": len(identifiers),
            "sanitised": len(sanitised.changes),
        },
    )
    return item
