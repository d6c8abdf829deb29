"""Stable per-org pseudonyms, and their resolution by the hub operator.

An org that shares pseudonymously always appears under the same pseudonym, so members can follow a
contributor's track record without learning who it is. Only the hub operator can look behind it;
every look is recorded, audited on both sides and announced to the contributor org.
"""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Membership, Organization, Role, User
from signalfire.access.policy.exchange import can_resolve_pseudonyms
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import Forbidden, NotFound, ValidationFailed
from signalfire.exchange.models import ExchangeItem, Pseudonym, PseudonymResolution
from signalfire.notify.outbox import enqueue_email, publish_event

_FIRST = (
    "Amber",
    "Basalt",
    "Cedar",
    "Cobalt",
    "Ember",
    "Flint",
    "Granite",
    "Harbor",
    "Indigo",
    "Juniper",
    "Kestrel",
    "Lumen",
    "Marlin",
    "Nimbus",
    "Onyx",
    "Pine",
    "Quartz",
    "Raven",
    "Sable",
    "Tern",
    "Umber",
    "Vesper",
    "Willow",
    "Zephyr",
)
_SECOND = (
    "Anchor",
    "Beacon",
    "Compass",
    "Delta",
    "Echo",
    "Falcon",
    "Grove",
    "Heron",
    "Isle",
    "Jetty",
    "Keel",
    "Lantern",
    "Meadow",
    "North",
    "Orbit",
    "Prism",
    "Ridge",
    "Summit",
    "Tide",
    "Vale",
)


def _new_label() -> str:
    return f"Contributor {secrets.choice(_FIRST)} {secrets.choice(_SECOND)} {secrets.randbelow(900) + 100}"


def ensure_pseudonym(session: Session, org_id: uuid.UUID) -> Pseudonym:
    """The org's pseudonym, created on first use. Labels and STIX ids are random, never derived from the org."""
    existing = session.execute(select(Pseudonym).where(Pseudonym.org_id == org_id)).scalar_one_or_none()
    if existing is not None:
        return existing
    for _ in range(20):
        label = _new_label()
        taken = session.execute(select(Pseudonym.id).where(Pseudonym.label == label)).first()
        if taken is None:
            break
    else:  # 24 * 20 * 900 labels; collisions this many times in a row mean something else is wrong
        raise RuntimeError("could not find a free pseudonym label")
    pseudonym = Pseudonym(
        id=uuid.uuid4(), org_id=org_id, label=label, stix_identity_id=f"identity--{uuid.uuid4()}", created_at=utcnow()
    )
    session.add(pseudonym)
    session.flush()
    return pseudonym


def list_pseudonyms(session: Session, actor: Actor) -> list[tuple[Pseudonym, int]]:
    """For the hub operator: every pseudonym with its number of items (not the org behind it)."""
    if not can_resolve_pseudonyms(actor):
        raise Forbidden("Only the hub operator sees the list of pseudonyms.")
    count = func.count(ExchangeItem.id)
    rows = session.execute(
        select(Pseudonym, count)
        .outerjoin(ExchangeItem, ExchangeItem.pseudonym_id == Pseudonym.id)
        .group_by(Pseudonym.id)
        .order_by(Pseudonym.label)
    ).all()
    return [(p, int(n)) for p, n in rows]


def resolve(
    session: Session, actor: Actor, pseudonym_id: uuid.UUID, reason: str, item_id: uuid.UUID | None = None
) -> Organization:
    """Tell the hub operator which org is behind a pseudonym, and record that it did, with its reason."""
    if not can_resolve_pseudonyms(actor):
        raise NotFound("No such pseudonym.")
    pseudonym = session.get(Pseudonym, pseudonym_id)
    if pseudonym is None:
        raise NotFound("No such pseudonym.")
    reason = reason.strip()
    if len(reason) < 10:
        raise ValidationFailed.single("reason", "say why you need to know, in at least 10 characters")
    if item_id is not None:
        owner = session.execute(select(ExchangeItem.pseudonym_id).where(ExchangeItem.id == item_id)).first()
        if owner is None or owner[0] != pseudonym.id:
            raise ValidationFailed.single("item_id", "is not an item shared under this pseudonym")
    org = session.get_one(Organization, pseudonym.org_id)
    now = utcnow()
    resolution = PseudonymResolution(
        id=uuid.uuid4(),
        pseudonym_id=pseudonym.id,
        org_id=org.id,
        item_id=item_id,
        resolved_by_user_id=actor.user_id,
        resolved_by_org_id=actor.org_id,
        reason=reason,
        resolved_at=now,
    )
    session.add(resolution)
    summary = {"pseudonym": pseudonym.label, "reason": reason, "item_id": item_id}
    record(
        session,
        action="exchange.pseudonym.resolved",
        target_type="exchange_pseudonym",
        target_id=pseudonym.id,
        actor=actor,
        summary=summary,
    )
    # The same fact in the contributor org's own audit log, so its admins see it where they look.
    record(
        session,
        action="exchange.pseudonym.resolved",
        target_type="exchange_pseudonym",
        target_id=pseudonym.id,
        actor=actor,
        org_id=org.id,
        summary=summary,
    )
    _tell_contributor(session, org, pseudonym, actor, reason)
    return org


def _tell_contributor(session: Session, org: Organization, pseudonym: Pseudonym, actor: Actor, reason: str) -> None:
    admins = (
        session.execute(
            select(User.email)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.org_id == org.id, Membership.role == Role.admin, User.is_active.is_(True))
        )
        .scalars()
        .all()
    )
    if admins:
        enqueue_email(
            session,
            to=sorted(admins),
            topic="exchange.pseudonym.resolved",
            org_id=org.id,
            subject=f"The hub operator resolved your exchange pseudonym '{pseudonym.label}'",
            body=(
                f"{actor.display_name} ({actor.org_name}) looked up which organisation shares as "
                f"'{pseudonym.label}'.\n\nReason given: {reason}\n\nEvery resolution is listed on the "
                "exchange access log page in Signalfire."
            ),
        )
    publish_event(
        session,
        org_id=org.id,
        event="exchange.pseudonym.resolved",
        data={"pseudonym": pseudonym.label, "resolved_by_org": actor.org_name, "reason": reason},
    )
