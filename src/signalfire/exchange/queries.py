"""Read statements of the exchange that pages and the API show beside items (house style: routes and
views never query). Every protected read starts from a readable statement of access.policy."""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Membership, Organization, User
from signalfire.access.permissions import Permission
from signalfire.access.policy import readable_member_users
from signalfire.access.policy.exchange import MEMBER_KINDS, addressable_people, readable_read_log, readable_resolutions
from signalfire.access.policy.response import readable_reviews
from signalfire.core.errors import NotFound
from signalfire.exchange.models import (
    ExchangeItem,
    ItemAttachment,
    ItemRevision,
    Pseudonym,
    PseudonymResolution,
    ReadLog,
)
from signalfire.response.models import Incident, PostIncidentReview
from signalfire.response.vocab import IncidentStatus


def revisions(session: Session, item: ExchangeItem) -> list[ItemRevision]:
    """An item's versions, newest first (the item itself was read through the policy)."""
    stmt = select(ItemRevision).where(ItemRevision.item_id == item.id).order_by(ItemRevision.version.desc())
    return list(session.execute(stmt).scalars())


def read_log(
    session: Session, actor: Actor, item_id: uuid.UUID | None = None, limit: int = 500
) -> list[tuple[ReadLog, str, str]]:
    """The contributor's access log with the reader's name and org, newest first."""
    stmt = (
        readable_read_log(actor)
        .add_columns(User.display_name, Organization.name)
        .join(User, User.id == ReadLog.user_id)
        .join(Organization, Organization.id == ReadLog.org_id)
        .order_by(ReadLog.read_at.desc())
        .limit(limit)
    )
    if item_id is not None:
        stmt = stmt.where(ReadLog.item_id == item_id)
    return [(r, person, org) for r, person, org in session.execute(stmt)]


def resolutions(
    session: Session, actor: Actor, item_id: uuid.UUID | None = None
) -> list[tuple[PseudonymResolution, str, str, str]]:
    """Pseudonym resolutions the actor may see, with the pseudonym label and who resolved it.

    For one item: every resolution of the pseudonym the item is shared under, whether or not the hub
    named this item (resolving a pseudonym unmasks every item shared under it), plus any naming the item.
    """
    stmt = (
        readable_resolutions(actor)
        .add_columns(Pseudonym.label, User.display_name, Organization.name)
        .join(Pseudonym, Pseudonym.id == PseudonymResolution.pseudonym_id)
        .join(User, User.id == PseudonymResolution.resolved_by_user_id)
        .join(Organization, Organization.id == PseudonymResolution.resolved_by_org_id)
        .order_by(PseudonymResolution.resolved_at.desc())
    )
    if item_id is not None:
        item_pseudonym = select(ExchangeItem.pseudonym_id).where(ExchangeItem.id == item_id).scalar_subquery()
        stmt = stmt.where(
            or_(PseudonymResolution.item_id == item_id, PseudonymResolution.pseudonym_id == item_pseudonym)
        )
    return [(r, label, person, org) for r, label, person, org in session.execute(stmt)]


def addressable(session: Session, actor: Actor) -> tuple[list[Organization], list[tuple[User, Organization]]]:
    """Orgs and people a contributor may name in an audience (never authorities; see the firewall). Org names
    are a public directory; people come from the policy (their own org's, and other members' for a member)."""
    orgs = list(
        session.execute(
            select(Organization)
            .where(Organization.kind.in_(list(MEMBER_KINDS)), Organization.id != actor.org_id)
            .order_by(Organization.name)
        ).scalars()
    )
    people = [
        (u, o)
        for u, o in session.execute(addressable_people(actor).order_by(Organization.name, User.display_name)).all()
    ]
    return orgs, people


def closed_reviews(
    session: Session, actor: Actor, incident_id: uuid.UUID | None = None
) -> list[tuple[PostIncidentReview, Incident]]:
    """The org's reviews of closed incidents (of one incident, when given), the only starting points for a
    lesson."""
    if not actor.can(Permission.response_incident_read):
        return []
    stmt = (
        readable_reviews(actor)
        .add_columns(Incident)
        .join(Incident, Incident.id == PostIncidentReview.incident_id)
        .where(Incident.status == IncidentStatus.CLOSED, Incident.org_id == actor.org_id)
        .order_by(Incident.closed_at.desc())
    )
    if incident_id is not None:
        stmt = stmt.where(Incident.id == incident_id)
    return [(r, i) for r, i in session.execute(stmt)]


def member_users(session: Session, actor: Actor) -> list[tuple[Membership, User]]:
    """The actor's org's members (for designating who receives new items), by name."""
    return [(m, u) for m, u in session.execute(readable_member_users(actor).order_by(User.display_name))]


def attachment(session: Session, item_id: uuid.UUID, attachment_id: uuid.UUID) -> ItemAttachment:
    """An attachment of an item the caller has already read through the policy; anything else is a 404."""
    att = session.get(ItemAttachment, attachment_id)
    if att is None or att.item_id != item_id:
        raise NotFound("No such attachment.")
    return att
