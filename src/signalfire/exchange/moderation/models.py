"""Tables of hub moderation: the community's settings, its members' admission records, a moderation log and
the per-item out-of-scope flag.

The exchange has one community today (the hub's); its settings live on a row so that a second community
needs no schema change. Whether an item is held, hidden or withdrawn is its ``ExchangeItem.status``
(``pending_review``, ``hidden``, ``withdrawn``), so every read path that already asks for published items
drops it without knowing about moderation. Who may see what is decided in ``access.policy``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from signalfire.core.clock import utcnow
from signalfire.core.db.base import Base, IdMixin, TimestampMixin, enum_column

DEFAULT_COMMUNITY_SLUG = "exchange"
DEFAULT_COMMUNITY_ID = uuid.UUID("6b1e5c52-8f0e-4d43-9a1c-3c1f0e0a0016")


class ReviewMode(StrEnum):
    """Which first publications to all members wait for a hub moderator's approval."""

    OFF = "off"
    NEW_MEMBERS = "new_members"  # orgs admitted (or reinstated) within NEW_MEMBER_DAYS
    ALL = "all"

    @property
    def label(self) -> str:
        return {
            ReviewMode.OFF: "Off",
            ReviewMode.NEW_MEMBERS: f"New members (admitted or reinstated in the last {NEW_MEMBER_DAYS} days)",
            ReviewMode.ALL: "Every member",
        }[self]


NEW_MEMBER_DAYS = 90


class Community(IdMixin, TimestampMixin, Base):
    __tablename__ = "exchange_community"

    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Pre-publication review: whose first publications to all members wait for a moderator.
    review_mode: Mapped[ReviewMode] = mapped_column(
        enum_column(ReviewMode, "exchange_review_mode"), default=ReviewMode.OFF
    )


class MemberStatus(StrEnum):
    APPLIED = "applied"
    ADMITTED = "admitted"
    REFUSED = "refused"
    SUSPENDED = "suspended"

    @property
    def label(self) -> str:
        return {
            MemberStatus.APPLIED: "Application under review",
            MemberStatus.ADMITTED: "Member",
            MemberStatus.REFUSED: "Application refused",
            MemberStatus.SUSPENDED: "Suspended",
        }[self]


class CommunityMember(IdMixin, TimestampMixin, Base):
    """An org's standing in a community: its application, the hub's decision and any suspension.

    Orgs that were members before admissions existed have no row until the hub acts on them.
    ``Organization.exchange_member`` stays the flag the access policy reads for "all members".
    """

    __tablename__ = "exchange_community_member"
    __table_args__ = (
        UniqueConstraint("community_id", "org_id", name="uq_exchange_community_member_org"),
        Index("ix_exchange_community_member_org_status", "org_id", "status"),
    )

    community_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exchange_community.id", ondelete="CASCADE"))
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    status: Mapped[MemberStatus] = mapped_column(enum_column(MemberStatus, "exchange_member_status"))
    statement: Mapped[str] = mapped_column(Text, default="")
    # Category value -> user ids (as strings) of the org's people who receive that category once admitted.
    contacts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    applied_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    applied_at: Mapped[datetime | None]
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    # The hub's reason for the latest decision (refusal, suspension, reinstatement); shown to the org.
    decision_reason: Mapped[str | None] = mapped_column(Text)


class ModerationAction(StrEnum):
    SUBMITTED = "submitted"  # a first publication held for review
    APPROVED = "approved"
    RETURNED = "returned"  # sent back to draft with a reason
    HIDDEN = "hidden"
    UNHIDDEN = "unhidden"
    WITHDRAWN = "withdrawn"
    FLAGGED = "flagged_out_of_scope"
    UNFLAGGED = "unflagged"
    APPLIED = "applied"
    ADMITTED = "admitted"
    REFUSED = "refused"
    SUSPENDED = "suspended"
    REINSTATED = "reinstated"

    @property
    def label(self) -> str:
        return _ACTION_LABELS[self]


_ACTION_LABELS = {
    ModerationAction.SUBMITTED: "Held for review",
    ModerationAction.APPROVED: "Approved and published",
    ModerationAction.RETURNED: "Returned to draft",
    ModerationAction.HIDDEN: "Hidden",
    ModerationAction.UNHIDDEN: "Shown again",
    ModerationAction.WITHDRAWN: "Withdrawn by the hub",
    ModerationAction.FLAGGED: "Flagged out of scope",
    ModerationAction.UNFLAGGED: "Out-of-scope flag cleared",
    ModerationAction.APPLIED: "Applied to join",
    ModerationAction.ADMITTED: "Admitted",
    ModerationAction.REFUSED: "Application refused",
    ModerationAction.SUSPENDED: "Suspended",
    ModerationAction.REINSTATED: "Reinstated",
}
ITEM_ACTIONS = frozenset(
    {
        ModerationAction.SUBMITTED,
        ModerationAction.APPROVED,
        ModerationAction.RETURNED,
        ModerationAction.HIDDEN,
        ModerationAction.UNHIDDEN,
        ModerationAction.WITHDRAWN,
        ModerationAction.FLAGGED,
        ModerationAction.UNFLAGGED,
    }
)


class ModerationEntry(IdMixin, Base):
    """One line of the moderation log. ``subject_org_id`` is the org the action concerns (the item's
    contributor or the applicant), which is who may read the line besides the hub's moderators."""

    __tablename__ = "exchange_moderation_entry"
    __table_args__ = (
        Index("ix_exchange_moderation_entry_at", "at"),
        Index("ix_exchange_moderation_entry_subject", "subject_org_id", "at"),
        Index("ix_exchange_moderation_entry_item", "item_id", "at"),
    )

    community_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exchange_community.id", ondelete="CASCADE"))
    action: Mapped[ModerationAction] = mapped_column(enum_column(ModerationAction, "exchange_moderation_action"))
    item_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("exchange_item.id", ondelete="CASCADE"))
    subject_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    actor_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ItemFlag(Base):
    """An item the hub flagged as out of scope for the community. The item stays readable; readers and the
    contributor see the flag and its reason."""

    __tablename__ = "exchange_item_flag"

    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exchange_item.id", ondelete="CASCADE"), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    flagged_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    flagged_at: Mapped[datetime] = mapped_column(default=utcnow)
