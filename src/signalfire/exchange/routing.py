"""Routing: each org designates who receives new items of each category; publishing notifies them.

A designated person is notified only if the item's audience reaches them (the same SQL predicate as
every read), so routing can never widen an audience. The hub operator sees, per member org and
category, whether anyone is designated at all: the brief's "under-sharing" failure is an org that
receives nothing because nobody is listening.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Membership, Organization, OrgKind, User
from signalfire.access.permissions import Permission
from signalfire.access.policy import first_or_404, nothing, require
from signalfire.access.policy.exchange import MEMBER_KINDS, can_read_health, readable_items
from signalfire.access.service import build_actor
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import Conflict, Forbidden, ValidationFailed
from signalfire.core.settings import get_settings
from signalfire.exchange.models import Designation, ExchangeItem
from signalfire.exchange.vocab import Category, Tlp
from signalfire.notify.outbox import enqueue_email

# Labels whose title may travel in an e-mail; for stricter ones the e-mail only says that something arrived.
_TITLE_IN_EMAIL = frozenset({Tlp.CLEAR, Tlp.GREEN})


def readable_designations(actor: Actor) -> Select[Designation, User]:
    stmt = (
        select(Designation, User).join(User, User.id == Designation.user_id).where(Designation.org_id == actor.org_id)
    )
    return stmt if actor.can(Permission.exchange_item_read) else nothing(stmt)


def list_designations(session: Session, actor: Actor) -> list[tuple[Designation, User]]:
    stmt = readable_designations(actor).order_by(Designation.category, User.display_name)
    return [(d, u) for d, u in session.execute(stmt)]


def designate(session: Session, actor: Actor, category: Category, user_id: uuid.UUID) -> Designation:
    require(actor, Permission.exchange_routing_manage)
    if actor.org_kind == OrgKind.authority:
        raise Forbidden("Authorities do not receive routed exchange items.")
    member = session.execute(
        select(Membership.id).where(Membership.org_id == actor.org_id, Membership.user_id == user_id)
    ).first()
    if member is None:
        raise ValidationFailed.single("user_id", "is not a member of your organisation")
    taken = session.execute(
        select(Designation.id).where(
            Designation.org_id == actor.org_id, Designation.category == category, Designation.user_id == user_id
        )
    ).first()
    if taken is not None:
        raise Conflict("This person is already designated for this category.", slug="already-designated")
    designation = Designation(
        id=uuid.uuid4(),
        org_id=actor.org_id,
        category=category,
        user_id=user_id,
        created_by_id=actor.user_id,
        created_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(designation)
    except IntegrityError:
        raise Conflict("This person is already designated for this category.", slug="already-designated") from None
    record(
        session,
        action="exchange.designation.added",
        target_type="exchange_designation",
        target_id=designation.id,
        actor=actor,
        summary={"category": category, "user_id": user_id},
    )
    return designation


def remove_designation(session: Session, actor: Actor, designation_id: uuid.UUID) -> None:
    require(actor, Permission.exchange_routing_manage)
    designation = first_or_404(
        session,
        select(Designation).where(Designation.id == designation_id, Designation.org_id == actor.org_id),
        "No such designation.",
    )
    session.delete(designation)
    record(
        session,
        action="exchange.designation.removed",
        target_type="exchange_designation",
        target_id=designation_id,
        actor=actor,
        summary={"category": designation.category, "user_id": designation.user_id},
    )


def notify_recipients(session: Session, item: ExchangeItem) -> int:
    """Queue an e-mail to every designated person of another org whom the item's audience reaches."""
    rows = session.execute(
        select(Designation, User)
        .join(User, User.id == Designation.user_id)
        .where(Designation.category == item.category, Designation.org_id != item.org_id, User.is_active.is_(True))
    ).all()
    base = get_settings().public_base_url.rstrip("/")
    sent = 0
    for designation, user in rows:
        viewer = build_actor(session, user, designation.org_id, via="system")
        if viewer is None or viewer.org_id != designation.org_id:  # no longer a member of that org
            continue
        reachable = session.execute(
            readable_items(viewer).with_only_columns(ExchangeItem.id).where(ExchangeItem.id == item.id)
        ).first()
        if reachable is None:
            continue
        what = f"'{item.title}'" if item.tlp in _TITLE_IN_EMAIL else "A new item"
        job = enqueue_email(
            session,
            to=[user.email],
            topic="exchange.item.new",
            org_id=designation.org_id,
            dedupe_key=f"exchange.item.new:{item.id}:{item.version}:{user.id}:{designation.org_id}",
            subject=f"[{item.tlp.label}] New {item.category.label.lower()} shared in the exchange",
            body=(
                f"{what} ({item.tlp.label}, "
                f"{item.category.label.lower()}) was shared with {viewer.org_name} and you are designated for "
                f"this category.\n\nOpen it, and declare what you will use it for, at "
                f"{base}/exchange/items/{item.id}\n"
            ),
        )
        sent += job is not None
    return sent


@dataclass(frozen=True)
class CoverageCell:
    org_id: uuid.UUID
    org_name: str
    org_kind: OrgKind
    category: Category
    designated: int


def coverage(session: Session, actor: Actor) -> list[CoverageCell]:
    """Hub operator: for every exchange member org and category, how many people are designated (0 = gap)."""
    if not can_read_health(actor):
        raise Forbidden("Only the hub operator sees routing coverage across organisations.")
    orgs = (
        session.execute(
            select(Organization)
            .where(Organization.exchange_member.is_(True), Organization.kind.in_(list(MEMBER_KINDS)))
            .order_by(Organization.name)
        )
        .scalars()
        .all()
    )
    counts = {
        (o, c): int(n)
        for o, c, n in session.execute(
            select(Designation.org_id, Designation.category, func.count(Designation.id)).group_by(
                Designation.org_id, Designation.category
            )
        )
    }
    return [CoverageCell(o.id, o.name, o.kind, c, counts.get((o.id, c), 0)) for o in orgs for c in Category]
