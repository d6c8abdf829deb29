"""Sign-off records for text that moves into the exchange.

:class:`Sanitisation` keeps, for a draft made from a closed review or an intake signal, every change
the sanitiser made (the preview) and the second person's sign-off, bound to a hash of the text and the
attached files they signed off (``service.signoff_hash``). :class:`CounselSignoff` is counsel's approval to
publish despite antitrust findings, bound the same way: editing the text or attaching a file afterwards
voids either sign-off.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from signalfire.core.clock import utcnow
from signalfire.core.db.base import Base, IdMixin


class Sanitisation(IdMixin, Base):
    __tablename__ = "exchange_sanitisation"

    item_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exchange_item.id", ondelete="CASCADE"), unique=True, index=True
    )
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(20))  # "lesson" or "intake"
    # The preview: field, original span and text, class, replacement. Internal to the owning org.
    changes: Mapped[list[Any]] = mapped_column(default=list)
    drafted_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    signed_off_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    signed_off_at: Mapped[datetime | None]
    signed_off_hash: Mapped[str | None] = mapped_column(String(64))


class CounselSignoff(IdMixin, Base):
    __tablename__ = "exchange_counsel_signoff"

    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exchange_item.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    content_hash: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    findings: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
