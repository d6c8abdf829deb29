"""Read statements behind the moderation and membership pages and API; every protected read starts from a
readable statement of ``access.policy`` (moderation or exchange)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased, defer

from signalfire.access.actor import Actor
from signalfire.access.models import Membership, Organization, User
from signalfire.access.policy import readable_member_users
from signalfire.access.policy.moderation import readable_moderation_items, readable_moderation_log
from signalfire.exchange.models import ExchangeItem, ItemStatus
from signalfire.exchange.moderation.models import ItemFlag, ModerationEntry

LOG_LIMIT_MAX = 500


def moderation_items(
    session: Session, actor: Actor, statuses: tuple[ItemStatus, ...], limit: int = 200
) -> list[tuple[ExchangeItem, ItemFlag | None]]:
    """Items in the moderator's scope in these states, oldest first for the queue (what waited longest)."""
    item = ExchangeItem
    stmt = (
        readable_moderation_items(actor)
        .options(defer(item.indicators))
        .add_columns(ItemFlag)
        .outerjoin(ItemFlag, ItemFlag.item_id == item.id)
        .where(item.status.in_(statuses))
        .order_by(item.updated_at.asc(), item.id)
        .limit(limit)
    )
    return [(i, f) for i, f in session.execute(stmt)]


def flagged_items(session: Session, actor: Actor, limit: int = 200) -> list[tuple[ExchangeItem, ItemFlag]]:
    stmt = (
        readable_moderation_items(actor)
        .options(defer(ExchangeItem.details), defer(ExchangeItem.indicators))
        .add_columns(ItemFlag)
        .join(ItemFlag, ItemFlag.item_id == ExchangeItem.id)
        .order_by(ItemFlag.flagged_at.desc())
        .limit(limit)
    )
    return [(i, f) for i, f in session.execute(stmt)]


def flag_of(session: Session, item: ExchangeItem) -> ItemFlag | None:
    """The out-of-scope flag of an item the caller has already read through the policy."""
    return session.get(ItemFlag, item.id)


def log(
    session: Session, actor: Actor, *, item_id: uuid.UUID | None = None, limit: int = 200
) -> list[tuple[ModerationEntry, ExchangeItem | None, Organization, str]]:
    """Moderation log lines the actor may read, newest first, with the item, the org concerned and who acted."""
    subject = aliased(Organization)
    stmt = (
        readable_moderation_log(actor)
        .add_columns(ExchangeItem, subject, User.display_name)
        .outerjoin(ExchangeItem, ExchangeItem.id == ModerationEntry.item_id)
        .join(subject, subject.id == ModerationEntry.subject_org_id)
        .outerjoin(User, User.id == ModerationEntry.actor_user_id)
        .options(defer(ExchangeItem.details), defer(ExchangeItem.indicators))
        .order_by(ModerationEntry.at.desc(), ModerationEntry.id.desc())
        .limit(max(1, min(limit, LOG_LIMIT_MAX)))
    )
    if item_id is not None:
        stmt = stmt.where(ModerationEntry.item_id == item_id)
    return [(e, i, o, who or "A former user") for e, i, o, who in session.execute(stmt)]


def users_by_id(session: Session, actor: Actor, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Names of the actor's own org's people (for its application's contacts)."""
    if not ids:
        return {}
    rows = session.execute(readable_member_users(actor).where(User.id.in_(ids))).all()
    return {u.id: u.display_name for _m, u in rows}


def contact_names(session: Session, org_id: uuid.UUID, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Names of an applicant's designated contacts, for the moderator deciding on the application (the
    applicant put them forward to the hub for exactly this)."""
    if not ids:
        return {}
    rows = session.execute(
        select(User.id, User.display_name, User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.org_id == org_id, User.id.in_(ids))
    ).all()
    return {uid: f"{name} <{email}>" for uid, name, email in rows}
