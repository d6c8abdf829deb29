"""Builders for notice tests, over the real services."""

from __future__ import annotations

from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.notices import service
from signalfire.notices.models import Threshold
from signalfire.notices.schemas import ThresholdIn
from signalfire.response import contacts
from signalfire.response.models import ContactChannel, GovernmentContact
from signalfire.response.schemas import ContactIn
from signalfire.response.vocab import RiskDomain
from tests.response import factories as rf


def contact(
    db: Session, actor: Actor, agency: str, channel: ContactChannel, address: str, *, government: bool = True
) -> GovernmentContact:
    return contacts.create_contact(
        db,
        actor,
        ContactIn(
            agency=agency,
            risk_domain=RiskDomain.CBRN,
            jurisdiction="US",
            channel=channel,
            address=address,
            reachable_24h=True,
            is_government=government,
        ),
    )


def world(db: Session, actor: Actor) -> tuple[Threshold, list[GovernmentContact]]:
    """Two model versions, two government contacts (e-mail and phone) and one threshold naming both:
    'bio uplift eval' at 0.7 or more, to be told within 24 hours."""
    rf.model_version(db, actor, "aurora-large", "3.1")
    rf.model_version(db, actor, "aurora-large", "3.2")
    people = [
        contact(db, actor, "AI Safety Institute desk", ContactChannel.SECURE_EMAIL, "desk@aisi.example.gov"),
        contact(db, actor, "National duty officer", ContactChannel.PHONE, "+1 202 000 0000"),
    ]
    threshold = service.create_threshold(
        db,
        actor,
        ThresholdIn(
            name="Requires protections above ASL-2",
            framework="Responsible Scaling Policy, section 7",
            description="Meaningful uplift to a novice acquiring biological weapons.",
            risk_domain=RiskDomain.CBRN,
            evaluation="bio uplift eval",
            cutoff=0.7,
            notify_within_hours=24,
            contact_ids=[c.id for c in people],
        ),
    )
    return threshold, people
