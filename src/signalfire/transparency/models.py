"""The transparency channel's tables: report definitions (drafts) and their published editions.

* ``TransparencyReport``: what an org intends to publish for a period: title, period, suppression threshold
  and sections (free text plus metric kinds from ``metrics.METRICS``). Internal to the org until published.
* ``TransparencyEdition``: one publication of a report, frozen: the figures as computed at publication,
  the public document as canonical JSON, and its SHA-256. Never updated or deleted (listeners below); a
  correction is a new edition that names the one it supersedes.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from signalfire.core.clock import utcnow
from signalfire.core.db.base import Base, IdMixin, enum_column


class ReportStatus(StrEnum):
    """``draft`` while being written (or changed after sign-off or publication), ``signed_off`` once a
    second person approved the definition and the figures, ``published`` when the latest edition is
    what the definition says."""

    DRAFT = "draft"
    SIGNED_OFF = "signed_off"
    PUBLISHED = "published"

    @property
    def label(self) -> str:
        return {"draft": "Draft", "signed_off": "Signed off", "published": "Published"}[self.value]


class TransparencyReport(IdMixin, Base):
    __tablename__ = "transparency_report"
    __table_args__ = (UniqueConstraint("org_id", "slug", name="uq_transparency_report_org_slug"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    # Part of the public URL: /public/transparency/<org slug>/<slug>. Fixed at creation.
    slug: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(200))
    # Calendar dates, both inclusive; figures count records whose effective time falls in
    # [period_start 00:00 UTC, period_end + 1 day 00:00 UTC).
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    # Counts below the threshold (zero included) are published as "< threshold".
    threshold: Mapped[int] = mapped_column(default=10)
    # [{"heading": str, "body": str, "metrics": [metric kind, ...]}]
    sections: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[ReportStatus] = mapped_column(
        enum_column(ReportStatus, "transparency_report_status"), default=ReportStatus.DRAFT
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_by_label: Mapped[str] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Who last changed the definition: neither the creator nor the last editor may sign it off.
    updated_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    updated_by_label: Mapped[str] = mapped_column(String(300))
    # The sign-off: who, when, and the SHA-256 of the document it approved (definition and figures).
    signed_off_at: Mapped[datetime | None]
    signed_off_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    signed_off_by_label: Mapped[str | None] = mapped_column(String(300))
    signed_off_hash: Mapped[str | None] = mapped_column(String(64))
    signoff_note: Mapped[str | None] = mapped_column(Text)
    edition_count: Mapped[int] = mapped_column(default=0)


class TransparencyEdition(IdMixin, Base):
    __tablename__ = "transparency_edition"
    __table_args__ = (
        UniqueConstraint("report_id", "number", name="uq_transparency_edition_number"),
        Index("ix_transparency_edition_org_published", "org_id", "published_at"),
    )

    # NO ACTION (checked at the end of the statement): an org's deletion cascades to both tables, while a
    # report with editions cannot be deleted on its own.
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("transparency_report.id"))
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    number: Mapped[int]
    # The edition this one replaces (its number), if any; the old edition itself is never changed.
    supersedes: Mapped[int | None]
    published_at: Mapped[datetime]
    published_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    published_by_label: Mapped[str] = mapped_column(String(300))
    author_label: Mapped[str] = mapped_column(String(300))
    signed_off_by_label: Mapped[str] = mapped_column(String(300))
    signed_off_at: Mapped[datetime]
    # Exact counts per metric and cell, as computed at publication (members only; the public document
    # carries the suppressed values). {"<kind>": {"<cell>": n, ...}, ...}
    figures: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The public document: its canonical JSON text (sorted keys, no spaces, UTF-8) and that text's SHA-256.
    canonical: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))


@event.listens_for(TransparencyEdition, "before_update")
def _edition_is_immutable(mapper: Mapper[Any], connection: Connection, target: TransparencyEdition) -> None:
    raise RuntimeError("a published transparency edition is immutable; publish a new edition instead")


@event.listens_for(TransparencyEdition, "before_delete")
def _edition_is_not_deleted(mapper: Mapper[Any], connection: Connection, target: TransparencyEdition) -> None:
    raise RuntimeError("a published transparency edition is kept; publish a new edition instead")
