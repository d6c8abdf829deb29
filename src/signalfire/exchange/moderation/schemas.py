"""Input and output shapes of the moderation and membership API (the pages use the same outputs)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from signalfire.core.schemas import Out, StrictIn
from signalfire.exchange.models import ItemStatus
from signalfire.exchange.moderation.membership import (
    CONTACTS_PER_CATEGORY_MAX,
    REASON_MAX,
    STATEMENT_MAX,
    MemberDecision,
)
from signalfire.exchange.moderation.models import MemberStatus, ModerationAction, ReviewMode
from signalfire.exchange.moderation.service import ItemDecision
from signalfire.exchange.vocab import Category, Tlp


class SettingsIn(StrictIn):
    review_mode: ReviewMode


class SettingsOut(Out):
    community: str
    review_mode: ReviewMode
    review_mode_label: str


class ItemDecisionIn(StrictIn):
    action: ItemDecision
    reason: str = Field(default="", max_length=REASON_MAX)


class EntryOut(Out):
    id: uuid.UUID
    at: datetime
    action: ModerationAction
    action_label: str
    item_id: uuid.UUID | None
    item_title: str | None
    # The org the line concerns, as the reader may know it (a pseudonymous item's pseudonym, never the org).
    concerns: str
    reason: str
    by: str


class ModeratedItemOut(Out):
    id: uuid.UUID
    title: str
    summary: str
    category: Category
    tlp: Tlp
    status: ItemStatus
    contributor: str
    updated_at: datetime
    out_of_scope: str | None = None


class ItemModerationOut(Out):
    """What the contributor (and a moderator) sees of an item's moderation."""

    item_id: uuid.UUID
    status: ItemStatus
    notice: str | None
    out_of_scope: str | None
    history: list[EntryOut]
    can_moderate: bool = False


class ContactOut(Out):
    user_id: uuid.UUID
    name: str


class MembershipOut(Out):
    org_id: uuid.UUID
    org: str
    kind: str
    status: MemberStatus | None
    status_label: str
    statement: str
    contacts: dict[str, list[ContactOut]]
    applied_at: datetime | None
    decided_at: datetime | None
    decision_reason: str | None


class ApplyIn(StrictIn):
    statement: str = Field(min_length=1, max_length=STATEMENT_MAX)
    contacts: dict[Category, list[uuid.UUID]] = Field(max_length=len(Category))

    def contact_lists(self) -> dict[Category, list[uuid.UUID]]:
        return {c: people[: CONTACTS_PER_CATEGORY_MAX + 1] for c, people in self.contacts.items()}


class MemberDecisionIn(StrictIn):
    decision: MemberDecision
    reason: str = Field(default="", max_length=REASON_MAX)
