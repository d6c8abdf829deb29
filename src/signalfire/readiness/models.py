"""The readiness channel's own tables. Everything else readiness shows is read from other channels.

* ``ReadinessSettings``: the risk domains an org says its models pose; per-domain items (playbooks,
  government contacts, roster coverage) are checked for these domains.
* ``ScorecardSnapshot``: a scorecard the org chose to publish, frozen as it was computed at
  publication. Others see the latest one not withdrawn; the org keeps its history.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from signalfire.core.clock import utcnow
from signalfire.core.db.base import Base, IdMixin


class ReadinessSettings(Base):
    __tablename__ = "readiness_settings"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True)
    # RiskDomain values; an org without a row uses readiness.items.DEFAULT_DOMAINS.
    risk_domains: Mapped[list[str]] = mapped_column(default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_label: Mapped[str] = mapped_column(String(300), default="")


class ScorecardSnapshot(IdMixin, Base):
    """A published scorecard. ``items`` holds only what is safe to show other orgs: item, state, date,
    requirement and a summary without record titles or links (see ``publication.public_items``)."""

    __tablename__ = "readiness_snapshot"
    __table_args__ = (Index("ix_readiness_snapshot_live", "withdrawn_at", "org_id", "published_at"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    # The instant the scorecard was computed for.
    as_of: Mapped[datetime]
    published_at: Mapped[datetime]
    published_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    published_by_label: Mapped[str] = mapped_column(String(300))
    # Set when the org withdraws it or publishes a newer one.
    withdrawn_at: Mapped[datetime | None]
    withdrawn_reason: Mapped[str | None] = mapped_column(String(300))
    # {"ok": n, "gap": n, "missing": n}
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    items: Mapped[list[Any]] = mapped_column(default=list)
