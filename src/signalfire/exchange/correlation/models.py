"""Tables of tags and correlation: the correlation index (value -> items) and the org-extended
model-family vocabulary.

The index holds one row per published item and normalised value (an indicator, a technique, a
CVE/CWE id, a reference URL, a model family, a free tag). It is rewritten when an item is published
or revised and emptied when it is withdrawn (see ``correlation.index``), so the related-items query
is an indexed self-join instead of a scan. The index itself grants nothing: every read of it joins
through the exchange access policy.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from signalfire.core.clock import utcnow
from signalfire.core.db.base import Base, IdMixin

VALUE_MAX = 300


class CorrelationValue(Base):
    """One normalised value of one published item. ``kind`` is one of ``correlation.values.Kind``."""

    __tablename__ = "exchange_correlation_value"
    # Newest first per value: related items walk each shared value from its most recent items and stop after
    # a bounded number the viewer may read, however many items share it.
    __table_args__ = (Index("ix_exchange_correlation_value_lookup", "kind", "value", "published_at", "item_id"),)

    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exchange_item.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[str] = mapped_column(String(VALUE_MAX), primary_key=True)
    # The item's published_at, copied (the index is rewritten whenever it changes).
    published_at: Mapped[datetime]


class ModelFamily(IdMixin, Base):
    """A model family an org added to the shared base list (``data/model_families.json``)."""

    __tablename__ = "exchange_model_family"
    __table_args__ = (UniqueConstraint("org_id", "key", name="uq_exchange_model_family_org_key"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # The name case-folded with whitespace collapsed: what duplicates and correlation compare.
    key: Mapped[str] = mapped_column(String(100))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
