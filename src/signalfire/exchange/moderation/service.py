"""Hub moderation of exchange items: approve a held item, return it to draft, hide and show again,
withdraw, flag out of scope. Every action needs a moderator (``policy.moderation.can_moderate``), acts only
on items in the moderation scope (others are 404), is written to the moderation log and to the audit log of
both the hub and the contributor org, and is told to the contributor with the moderator's reason.

Services never commit: the request is the unit of work.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Membership, Role, User
from signalfire.access.policy import first_or_404
from signalfire.access.policy.exchange import readable_items
from signalfire.access.policy.moderation import can_moderate, readable_moderation_items
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import Conflict, NotFound, ValidationFailed
from signalfire.exchange import authoring, routing
from signalfire.exchange.models import ExchangeItem, ItemStatus
from signalfire.exchange.moderation import gate
from signalfire.exchange.moderation.models import Community, ItemFlag, ModerationAction, ModerationEntry, ReviewMode
from signalfire.notify.outbox import enqueue_email, publish_event

REASON_MIN = 10
REASON_MAX = 2_000


class ItemDecision(StrEnum):
    """What a moderator can do to an item (the API's ``action`` and the page's buttons)."""

    APPROVE = "approve"
    RETURN = "return"
    HIDE = "hide"
    UNHIDE = "unhide"
    WITHDRAW = "withdraw"
    FLAG = "flag"
    UNFLAG = "unflag"


# The states each decision applies to, and whether the contributor must be given a reason.
_FROM: dict[ItemDecision, tuple[frozenset[ItemStatus], bool]] = {
    ItemDecision.APPROVE: (frozenset({ItemStatus.PENDING_REVIEW}), False),
    ItemDecision.RETURN: (frozenset({ItemStatus.PENDING_REVIEW}), True),
    ItemDecision.HIDE: (frozenset({ItemStatus.PUBLISHED}), True),
    ItemDecision.UNHIDE: (frozenset({ItemStatus.HIDDEN}), False),
    ItemDecision.WITHDRAW: (frozenset({ItemStatus.PUBLISHED, ItemStatus.HIDDEN}), True),
    ItemDecision.FLAG: (frozenset({ItemStatus.PUBLISHED, ItemStatus.HIDDEN, ItemStatus.PENDING_REVIEW}), True),
    ItemDecision.UNFLAG: (frozenset(ItemStatus) - {ItemStatus.DRAFT}, False),
}


def _require_moderator(actor: Actor, what: str = "No such item.") -> None:
    if not can_moderate(actor):
        raise NotFound(what)


def set_review_mode(session: Session, actor: Actor, mode: ReviewMode) -> Community:
    """Set whose first publications wait for review (items already held stay held)."""
    if not can_moderate(actor):
        raise NotFound("No such setting.")
    community = gate.community(session)
    if community.review_mode == mode:
        return community
    before = community.review_mode
    community.review_mode = mode
    record(
        session,
        action="exchange.moderation.review_setting_changed",
        target_type="exchange_community",
        target_id=community.id,
        actor=actor,
        summary={"review_mode": mode.value, "was": before.value},
    )
    return community


def moderation_item(session: Session, actor: Actor, item_id: uuid.UUID) -> ExchangeItem:
    """An item in the moderator's scope; for anyone else, or an item outside the scope, a 404."""
    return first_or_404(session, readable_moderation_items(actor).where(ExchangeItem.id == item_id), "No such item.")


def item_for_view(session: Session, actor: Actor, item_id: uuid.UUID) -> ExchangeItem:
    """An item whose moderation the actor may look at: one they may read (its contributor sees everything,
    other readers only a flag), or, for a moderator, one in the moderation scope. Else a 404."""
    found = session.execute(readable_items(actor).where(ExchangeItem.id == item_id).limit(1)).scalars().first()
    if found is not None:
        return found
    return moderation_item(session, actor, item_id)


def review(session: Session, actor: Actor, item_id: uuid.UUID) -> ExchangeItem:
    """A moderator opens an item to review it: a sensitive read, so audited (in the hub's log and the
    contributor's)."""
    item = moderation_item(session, actor, item_id)
    for org_id in {actor.org_id, item.org_id}:
        record(
            session,
            action="exchange.moderation.item_viewed",
            target_type="exchange_item",
            target_id=item.id,
            actor=actor,
            org_id=org_id,
            summary={"status": item.status},
        )
    return item


def decide(session: Session, actor: Actor, item_id: uuid.UUID, decision: ItemDecision, reason: str) -> ExchangeItem:
    """Apply one moderator decision to an item, with the reason the contributor will see."""
    _require_moderator(actor)
    item = moderation_item(session, actor, item_id)
    allowed, reason_needed = _FROM[decision]
    reason = reason.strip()
    if len(reason) > REASON_MAX:
        raise ValidationFailed.single("reason", f"at most {REASON_MAX} characters")
    if reason_needed and len(reason) < REASON_MIN:
        raise ValidationFailed.single("reason", f"tell the contributor why, in at least {REASON_MIN} characters")
    flag = session.get(ItemFlag, item.id)
    if decision == ItemDecision.UNFLAG and flag is None:
        raise Conflict("This item is not flagged out of scope.", slug="not-flagged")
    if item.status not in allowed:
        raise Conflict(
            f"Cannot {decision.value} an item that is {item.status.value.replace('_', ' ')}.", slug="wrong-state"
        )
    action = _apply(session, actor, item, decision, reason, flag)
    gate.log(session, actor, action, item.org_id, item_id=item.id, reason=reason)
    summary = {"action": action.value, "reason": reason, "status": item.status.value, "version": item.version}
    for org_id in {actor.org_id, item.org_id}:
        record(
            session,
            action=f"exchange.moderation.{action.value}",
            target_type="exchange_item",
            target_id=item.id,
            actor=actor,
            org_id=org_id,
            summary=summary,
        )
    _tell_contributor(session, item, action, reason)
    return item


def _apply(
    session: Session, actor: Actor, item: ExchangeItem, decision: ItemDecision, reason: str, flag: ItemFlag | None
) -> ModerationAction:
    if decision == ItemDecision.APPROVE:
        _release(session, actor, item)
        return ModerationAction.APPROVED
    if decision == ItemDecision.RETURN:
        item.status = ItemStatus.DRAFT
        return ModerationAction.RETURNED
    if decision == ItemDecision.HIDE:
        item.status = ItemStatus.HIDDEN
        return ModerationAction.HIDDEN
    if decision == ItemDecision.UNHIDE:
        item.status = ItemStatus.PUBLISHED
        return ModerationAction.UNHIDDEN
    if decision == ItemDecision.WITHDRAW:
        _withdraw(session, actor, item, reason)
        return ModerationAction.WITHDRAWN
    if decision == ItemDecision.FLAG:
        if flag is None:
            session.add(ItemFlag(item_id=item.id, reason=reason, flagged_by_id=actor.user_id, flagged_at=utcnow()))
        else:
            flag.reason, flag.flagged_by_id, flag.flagged_at = reason, actor.user_id, utcnow()
        return ModerationAction.FLAGGED
    assert flag is not None
    session.delete(flag)
    return ModerationAction.UNFLAGGED


def _submitter(session: Session, item: ExchangeItem) -> uuid.UUID | None:
    entry = session.execute(
        select(ModerationEntry.actor_user_id)
        .where(ModerationEntry.item_id == item.id, ModerationEntry.action == ModerationAction.SUBMITTED)
        .order_by(ModerationEntry.at.desc())
        .limit(1)
    ).first()
    return entry[0] if entry is not None else item.created_by_id


def _release(session: Session, actor: Actor, item: ExchangeItem) -> None:
    """Publish a held item as version 1, exactly as ``authoring.publish`` would have without review."""
    now = authoring._next_time(item)
    item.status = ItemStatus.PUBLISHED
    item.version = 1
    item.first_published_at = now
    item.published_at = now
    revision = authoring._add_revision(session, actor, item, "First publication (approved by the hub)")
    # The version is the contributor's: the person who asked to publish it stays its publisher.
    revision.published_by_id = _submitter(session, item)
    record(
        session,
        action="exchange.item.published",
        target_type="exchange_item",
        target_id=item.id,
        actor=actor,
        org_id=item.org_id,
        summary={
            "version": 1,
            "tlp": item.tlp,
            "category": item.category,
            "attribution": item.attribution,
            "audience": item.audience_kinds,
            "approved_by_hub": True,
        },
    )
    routing.notify_recipients(session, item)
    publish_event(
        session,
        org_id=item.org_id,
        event="exchange.item.published",
        data={"item_id": item.id, "version": 1, "tlp": item.tlp, "category": item.category},
    )


def _withdraw(session: Session, actor: Actor, item: ExchangeItem, reason: str) -> None:
    """As the contributor's own withdrawal: a revoked version is kept for exports and feeds."""
    now = authoring._next_time(item)
    item.status = ItemStatus.WITHDRAWN
    item.withdrawn_at = now
    item.withdrawn_reason = f"Withdrawn by the hub: {reason}"
    item.published_at = now
    item.version += 1
    authoring._add_revision(session, actor, item, f"Withdrawn by the hub: {reason}")


def _tell_contributor(session: Session, item: ExchangeItem, action: ModerationAction, reason: str) -> None:
    admins = session.execute(
        select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.org_id == item.org_id, User.is_active.is_(True), Membership.role == Role.admin)
    ).scalars()
    to = set(admins)
    if item.created_by_id is not None:
        creator = session.get(User, item.created_by_id)
        if creator is not None and creator.is_active:
            to.add(creator.email)
    if to:
        enqueue_email(
            session,
            to=sorted(to),
            topic="exchange.item.moderated",
            org_id=item.org_id,
            subject=f"Hub moderation: {action.label.lower()}: {item.title[:120]}",
            body=(
                f"The hub operator's moderators took this action on your exchange item '{item.title}': "
                f"{action.label}.\n\n"
                + (f"Reason given: {reason}\n\n" if reason else "")
                + "The item page in Signalfire shows its moderation history."
            ),
        )
    publish_event(
        session,
        org_id=item.org_id,
        event="exchange.item.moderated",
        data={"item_id": item.id, "action": action.value, "reason": reason, "status": item.status.value},
    )
