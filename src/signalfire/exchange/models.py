"""Tables of the exchange: shared items and their revisions, audiences, reads, pseudonyms, routing, responses.

An :class:`ExchangeItem` row holds the item's current state; every published version is also kept as
an :class:`ItemRevision` with the exact snapshot readers and exports saw. The columns the access
policy filters on (status, TLP, audience flags, contributor org, publication time) are plain indexed
columns so the policy predicate runs inside the query at a million rows.

Who may see what is decided in ``signalfire.access.policy.exchange``; nothing here enforces access.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from signalfire.core.clock import utcnow
from signalfire.core.db.base import Base, IdMixin, TimestampMixin, enum_column
from signalfire.exchange.vocab import AudienceKind, Category, Confidence, CoveredUse, Priority, Severity, Tlp


class ItemStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"
    # Hub moderation (exchange/moderation): held for pre-publication review, or hidden by the hub. Neither
    # is "published", so every read path for other members drops them.
    PENDING_REVIEW = "pending_review"
    HIDDEN = "hidden"


# The withdrawal reason of an item whose contributor revoked its STIX objects (TAXII add, or a federation
# pull). Like every withdrawal, its revocation stays readable over TAXII to the item's audience.
REVOKED_AT_SOURCE = "revoked at the source"


class Attribution(StrEnum):
    """Named: readers see the contributor org. Pseudonymous: readers see the org's stable pseudonym."""

    NAMED = "named"
    PSEUDONYMOUS = "pseudonymous"


class ResponseKind(StrEnum):
    SIGHTING = "sighting"  # "seen it too"
    MITIGATED = "mitigated"
    NOT_APPLICABLE = "not_applicable"
    COMMENT = "comment"
    CORRECTION = "correction"  # a proposal to the contributor, visible only to the two orgs

    @property
    def label(self) -> str:
        return _RESPONSE_LABELS[self]


_RESPONSE_LABELS = {
    ResponseKind.SIGHTING: "Seen it too",
    ResponseKind.MITIGATED: "Mitigated",
    ResponseKind.NOT_APPLICABLE: "Not applicable to us",
    ResponseKind.COMMENT: "Comment",
    ResponseKind.CORRECTION: "Proposed correction",
}


class CorrectionStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class ReadChannel(StrEnum):
    """Where a read of an item's details came from; shown to the contributor beside the purpose."""

    UI = "ui"
    API = "api"
    TAXII = "taxii"
    EXPORT = "export"


# Bit i of ``permitted_uses_mask`` is the i-th covered use in Table 3 order, so the policy can test a
# declared purpose with one indexed-column expression on every database.
USE_BITS: dict[CoveredUse, int] = {use: 1 << i for i, use in enumerate(CoveredUse)}


def uses_to_mask(uses: list[CoveredUse] | set[CoveredUse] | tuple[CoveredUse, ...]) -> int:
    mask = 0
    for use in uses:
        mask |= USE_BITS[CoveredUse(use)]
    return mask


def mask_to_uses(mask: int) -> list[CoveredUse]:
    return [use for use, bit in USE_BITS.items() if mask & bit]


class Pseudonym(IdMixin, Base):
    """One stable pseudonym per contributor org. The link to the org is read only by the hub operator's
    resolution flow (and by the org itself); readers see ``label`` and ``stix_identity_id`` only."""

    __tablename__ = "exchange_pseudonym"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), unique=True)
    label: Mapped[str] = mapped_column(String(80), unique=True)
    # Random, never derived from the org id: a derived id could be recomputed by anyone who knows the org.
    stix_identity_id: Mapped[str] = mapped_column(String(60), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PseudonymResolution(IdMixin, Base):
    """The hub operator looked behind a pseudonym. Each one is audited and shown to the contributor org."""

    __tablename__ = "exchange_pseudonym_resolution"

    pseudonym_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exchange_pseudonym.id", ondelete="CASCADE"), index=True)
    # The contributor org, copied so its "who looked" page is one indexed query.
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("exchange_item.id", ondelete="SET NULL"))
    resolved_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    resolved_by_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"))
    reason: Mapped[str] = mapped_column(Text)
    resolved_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExchangeItem(IdMixin, TimestampMixin, Base):
    """A shared item's current state. ``version`` is the number of the latest published revision (0 for a
    draft that was never published)."""

    __tablename__ = "exchange_item"
    __table_args__ = (
        # The listing walks one of these newest first and tests the policy flags on the rows it yields
        # (see bench/exchange_listing.py): all visible items, by category, by TLP, an org's own items, and
        # the government-partner items an authority sees (which may be a small share of all items).
        Index("ix_exchange_item_status_published", "status", "published_at", "id"),
        Index("ix_exchange_item_status_category", "status", "category", "published_at", "id"),
        Index("ix_exchange_item_status_tlp", "status", "tlp", "published_at", "id"),
        Index("ix_exchange_item_org_status", "org_id", "status", "published_at", "id"),
        Index("ix_exchange_item_government", "audience_government", "status", "published_at", "id"),
        # Filters by tag or catalogue id (``?|`` over JSONB): without them a rare tag reads every item.
        Index("ix_exchange_item_tags", "tags", postgresql_using="gin"),
        Index("ix_exchange_item_technique_refs", "technique_refs", postgresql_using="gin"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    status: Mapped[ItemStatus] = mapped_column(
        enum_column(ItemStatus, "exchange_item_status"), default=ItemStatus.DRAFT
    )
    version: Mapped[int] = mapped_column(Integer, default=0)

    category: Mapped[Category] = mapped_column(enum_column(Category, "exchange_category"))
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[str] = mapped_column(Text, default="")
    # Indicators or reproduction material in text form (prompts, payload shapes, hashes).
    indicators: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[Severity] = mapped_column(enum_column(Severity, "exchange_severity"))
    priority: Mapped[Priority] = mapped_column(enum_column(Priority, "exchange_priority"))
    confidence: Mapped[Confidence] = mapped_column(enum_column(Confidence, "exchange_confidence"))
    model_families: Mapped[list[str]] = mapped_column(default=list)
    modalities: Mapped[list[str]] = mapped_column(default=list)
    technique_refs: Mapped[list[str]] = mapped_column(default=list)
    # Free tags (lower-case, see exchange.tags); exported as STIX labels.
    tags: Mapped[list[str]] = mapped_column(default=list, server_default=text("'[]'"))
    mitigations: Mapped[list[str]] = mapped_column(default=list)
    valid_until: Mapped[datetime | None]

    tlp: Mapped[Tlp] = mapped_column(enum_column(Tlp, "exchange_tlp"))
    permitted_uses_mask: Mapped[int] = mapped_column(Integer)
    audience_all_members: Mapped[bool] = mapped_column(default=False)
    audience_named_orgs: Mapped[bool] = mapped_column(default=False)
    audience_named_people: Mapped[bool] = mapped_column(default=False)
    audience_government: Mapped[bool] = mapped_column(default=False)
    audience_researchers: Mapped[bool] = mapped_column(default=False)

    attribution: Mapped[Attribution] = mapped_column(
        enum_column(Attribution, "exchange_attribution"), default=Attribution.NAMED
    )
    pseudonym_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("exchange_pseudonym.id"))

    first_published_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]  # time of the latest revision
    withdrawn_at: Mapped[datetime | None]
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    # Set when the item began as a lesson from one of the org's own closed incidents. Internal to the
    # contributor org; a plain id (no foreign key) so the exchange never depends on the response schema.
    source_incident_id: Mapped[uuid.UUID | None]

    audience_orgs: Mapped[list[ItemAudienceOrg]] = relationship(
        back_populates="item", lazy="raise", cascade="all, delete-orphan"
    )
    audience_people: Mapped[list[ItemAudiencePerson]] = relationship(
        back_populates="item", lazy="raise", cascade="all, delete-orphan"
    )

    @property
    def permitted_uses(self) -> list[CoveredUse]:
        return mask_to_uses(self.permitted_uses_mask)

    @permitted_uses.setter
    def permitted_uses(self, uses: list[CoveredUse]) -> None:
        self.permitted_uses_mask = uses_to_mask(uses)

    def permits(self, use: CoveredUse) -> bool:
        return bool(self.permitted_uses_mask & USE_BITS[use])

    @property
    def audience_kinds(self) -> list[AudienceKind]:
        flags = {
            AudienceKind.ALL_MEMBERS: self.audience_all_members,
            AudienceKind.NAMED_ORGS: self.audience_named_orgs,
            AudienceKind.NAMED_PEOPLE: self.audience_named_people,
            AudienceKind.GOVERNMENT_PARTNERS: self.audience_government,
            AudienceKind.RESEARCHERS: self.audience_researchers,
        }
        return [kind for kind, on in flags.items() if on]

    @property
    def is_published(self) -> bool:
        return self.status == ItemStatus.PUBLISHED


class ItemAudienceOrg(Base):
    """A member org named in an item's audience (audience kind ``named_orgs``)."""

    __tablename__ = "exchange_item_audience_org"
    __table_args__ = (Index("ix_exchange_item_audience_org_org", "org_id", "item_id"),)

    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exchange_item.id", ondelete="CASCADE"), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True)

    item: Mapped[ExchangeItem] = relationship(back_populates="audience_orgs", lazy="raise")


class ItemAudiencePerson(Base):
    """A person named in an item's audience, in the capacity of one org they belong to (TLP:RED goes
    to named people only, and only while they act for that org)."""

    __tablename__ = "exchange_item_audience_person"
    __table_args__ = (Index("ix_exchange_item_audience_person_user", "user_id", "org_id", "item_id"),)

    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exchange_item.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))

    item: Mapped[ExchangeItem] = relationship(back_populates="audience_people", lazy="raise")


class ItemRevision(IdMixin, Base):
    """One published version of an item, kept for ever. ``snapshot`` is the ItemSnapshot JSON that readers
    and exports get for that version (a pseudonymous item's contributor is the pseudonym in it)."""

    __tablename__ = "exchange_item_revision"
    __table_args__ = (UniqueConstraint("item_id", "version", name="uq_exchange_item_revision_version"),)

    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exchange_item.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    modified: Mapped[datetime]
    tlp: Mapped[Tlp] = mapped_column(enum_column(Tlp, "exchange_tlp"))
    revoked: Mapped[bool] = mapped_column(default=False)
    snapshot: Mapped[dict[str, Any]]
    # What the snapshot leaves out on purpose (it may leave the hub): the indicators text and the
    # audience as addressed. Kept for the contributor's own history.
    indicators: Mapped[str] = mapped_column(Text, default="")
    audience: Mapped[dict[str, Any]] = mapped_column(default=dict)
    change_note: Mapped[str] = mapped_column(Text, default="")
    published_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))


class ItemAttachment(IdMixin, Base):
    """Reproduction material attached to an item; size-limited and screened like the text."""

    __tablename__ = "exchange_item_attachment"

    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exchange_item.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReadLog(IdMixin, Base):
    """Who opened an item's details, for which declared covered use. Append-only; the contributor reads it."""

    __tablename__ = "exchange_read_log"
    __table_args__ = (Index("ix_exchange_read_log_item_read", "item_id", "read_at"),)

    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exchange_item.id", ondelete="CASCADE"))
    item_version: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), index=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"), index=True)
    purpose: Mapped[CoveredUse] = mapped_column(enum_column(CoveredUse, "exchange_covered_use"))
    channel: Mapped[ReadChannel] = mapped_column(enum_column(ReadChannel, "exchange_read_channel"))
    read_at: Mapped[datetime] = mapped_column(default=utcnow)


class Designation(IdMixin, Base):
    """An org names a person to receive new items of one category (routing)."""

    __tablename__ = "exchange_designation"
    __table_args__ = (
        UniqueConstraint("org_id", "category", "user_id", name="uq_exchange_designation_org_category_user"),
        Index("ix_exchange_designation_category", "category", "org_id"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    category: Mapped[Category] = mapped_column(enum_column(Category, "exchange_category"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ItemResponse(IdMixin, Base):
    """A reader's answer to an item: a sighting, mitigated, not applicable, a comment, or a proposed
    correction. Visible to whoever may read the item, except corrections (contributor and proposer only)."""

    __tablename__ = "exchange_item_response"
    __table_args__ = (Index("ix_exchange_item_response_item", "item_id", "created_at"),)

    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exchange_item.id", ondelete="CASCADE"))
    item_version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[ResponseKind] = mapped_column(enum_column(ResponseKind, "exchange_response_kind"))
    body: Mapped[str] = mapped_column(Text, default="")
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    attribution: Mapped[Attribution] = mapped_column(
        enum_column(Attribution, "exchange_attribution"), default=Attribution.NAMED
    )
    pseudonym_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("exchange_pseudonym.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    correction_status: Mapped[CorrectionStatus | None] = mapped_column(
        enum_column(CorrectionStatus, "exchange_correction_status")
    )
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    decision_note: Mapped[str | None] = mapped_column(Text)


class ScreeningOverride(IdMixin, Base):
    """A person published despite screening findings, and said why. Kept with the revision it allowed."""

    __tablename__ = "exchange_screening_override"

    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exchange_item.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"))
    reason: Mapped[str] = mapped_column(Text)
    # Findings as screening reported them (secrets already masked), so the record shows what was waved through.
    findings: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Acknowledgement(IdMixin, Base):
    """First sign that a recipient org took note of an item (a read with a purpose or a response);
    one row per item and org, so participation health is a plain aggregate."""

    __tablename__ = "exchange_acknowledgement"
    __table_args__ = (UniqueConstraint("item_id", "org_id", name="uq_exchange_acknowledgement_item_org"),)

    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exchange_item.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    acknowledged_at: Mapped[datetime]
    # Seconds from the item's first publication; stored so the health page needs no date arithmetic in SQL.
    seconds_after_publish: Mapped[int] = mapped_column(Integer)
