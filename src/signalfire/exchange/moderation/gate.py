"""The two questions authoring asks the hub before anything goes out: may this org publish at all (a
suspended member may not), and must this first publication wait for a moderator's review?

Kept apart from ``moderation.service`` (which calls back into authoring to release an approved item) so
authoring can import it without a cycle.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import Forbidden
from signalfire.exchange.models import ExchangeItem, ItemStatus
from signalfire.exchange.moderation.models import (
    DEFAULT_COMMUNITY_ID,
    DEFAULT_COMMUNITY_SLUG,
    NEW_MEMBER_DAYS,
    Community,
    CommunityMember,
    MemberStatus,
    ModerationAction,
    ModerationEntry,
    ReviewMode,
)
from signalfire.exchange.vocab import Tlp


def community(session: Session) -> Community:
    """The exchange's community (created by migration 0021; made here too for databases built otherwise)."""
    found = session.get(Community, DEFAULT_COMMUNITY_ID)
    if found is not None:
        return found
    found = session.execute(select(Community).where(Community.slug == DEFAULT_COMMUNITY_SLUG)).scalar_one_or_none()
    if found is not None:
        return found
    made = Community(id=DEFAULT_COMMUNITY_ID, slug=DEFAULT_COMMUNITY_SLUG, name="The exchange")
    session.add(made)
    session.flush()
    return made


def is_suspended(session: Session, org_id: uuid.UUID) -> bool:
    row = session.execute(
        select(CommunityMember.id).where(
            CommunityMember.org_id == org_id, CommunityMember.status == MemberStatus.SUSPENDED
        )
    ).first()
    return row is not None


def check_may_publish(session: Session, actor: Actor) -> None:
    """A suspended member publishes nothing (first publications, revisions, TAXII additions)."""
    if is_suspended(session, actor.org_id):
        raise Forbidden(
            f"{actor.org_name} is suspended from the exchange community; the hub operator can reinstate it. "
            "Your drafts are kept."
        )


def is_new_member(session: Session, org_id: uuid.UUID) -> bool:
    """Admitted (or reinstated) by the hub within NEW_MEMBER_DAYS; founding members never are."""
    since = utcnow() - timedelta(days=NEW_MEMBER_DAYS)
    row = session.execute(
        select(CommunityMember.id).where(
            CommunityMember.org_id == org_id,
            CommunityMember.status == MemberStatus.ADMITTED,
            CommunityMember.decided_at >= since,
        )
    ).first()
    return row is not None


def needs_review(session: Session, item: ExchangeItem) -> bool:
    """Pre-publication review covers what goes to the whole community (all-members items below RED), from
    every member or only from new ones, as the community is set."""
    mode = community(session).review_mode
    if mode == ReviewMode.OFF or not item.audience_all_members or item.tlp == Tlp.RED:
        return False
    return mode == ReviewMode.ALL or is_new_member(session, item.org_id)


def log(
    session: Session,
    actor: Actor,
    action: ModerationAction,
    subject_org_id: uuid.UUID,
    *,
    item_id: uuid.UUID | None = None,
    reason: str = "",
) -> ModerationEntry:
    entry = ModerationEntry(
        id=uuid.uuid4(),
        community_id=community(session).id,
        action=action,
        item_id=item_id,
        subject_org_id=subject_org_id,
        reason=reason,
        actor_user_id=actor.user_id,
        actor_org_id=actor.org_id,
        at=utcnow(),
    )
    session.add(entry)
    return entry


def hold_for_review(session: Session, actor: Actor, item: ExchangeItem, change_note: str = "") -> bool:
    """Called by ``authoring.publish`` after screening: True when the item now waits for a moderator.

    The item gets no version, revision, notification or TAXII entry until it is approved, so members'
    feeds see it appear once, when it is published.
    """
    if not needs_review(session, item):
        return False
    item.status = ItemStatus.PENDING_REVIEW
    log(session, actor, ModerationAction.SUBMITTED, item.org_id, item_id=item.id, reason=change_note.strip())
    record(
        session,
        action="exchange.item.submitted_for_review",
        target_type="exchange_item",
        target_id=item.id,
        actor=actor,
        summary={"tlp": item.tlp, "category": item.category, "audience": item.audience_kinds},
    )
    return True
