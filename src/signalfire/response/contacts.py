"""Government and external points of contact per risk domain and jurisdiction.

Readiness asks for a 24-hour contact per risk domain verified within its interval, so every contact
records whether it is reachable around the clock and when someone last confirmed it still works.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.permissions import Permission
from signalfire.access.policy import first_or_404, require
from signalfire.access.policy.response import readable_contacts
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.response.models import GovernmentContact
from signalfire.response.schemas import ContactIn


def create_contact(session: Session, actor: Actor, data: ContactIn) -> GovernmentContact:
    require(actor, Permission.response_playbook_manage)
    contact = GovernmentContact(org_id=actor.org_id, **data.model_dump())
    contact.jurisdiction = contact.jurisdiction.upper()
    session.add(contact)
    session.flush()
    record(
        session,
        action="response.contact.create",
        target_type="response_contact",
        target_id=contact.id,
        actor=actor,
        summary={
            "agency": contact.agency,
            "risk_domain": contact.risk_domain,
            "jurisdiction": contact.jurisdiction,
            "reachable_24h": contact.reachable_24h,
        },
    )
    return contact


def list_contacts(session: Session, actor: Actor) -> list[GovernmentContact]:
    stmt = readable_contacts(actor).order_by(
        GovernmentContact.risk_domain, GovernmentContact.jurisdiction, GovernmentContact.agency
    )
    return list(session.execute(stmt).scalars())


def verify_contact(session: Session, actor: Actor, contact_id: uuid.UUID) -> GovernmentContact:
    """Record that someone confirmed today that the contact still answers."""
    require(actor, Permission.response_playbook_manage)
    contact = first_or_404(
        session, readable_contacts(actor).where(GovernmentContact.id == contact_id), "No such contact."
    )
    contact.last_verified_at = utcnow()
    contact.verified_by = actor.user_id
    record(
        session,
        action="response.contact.verify",
        target_type="response_contact",
        target_id=contact.id,
        actor=actor,
        summary={"agency": contact.agency},
    )
    return contact
