"""The notices channel's tables: an org's declared thresholds, evaluation results, and the notices a
crossing opens (with one row per government contact told).

A notice is not an incident report: nothing here refers to a reporting obligation, and the only tie to
an incident is an explicit link a person records (``Notice.incident_id``), audited.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from signalfire.core.clock import utcnow
from signalfire.core.db.base import Base, IdMixin, enum_column
from signalfire.response.vocab import RiskDomain


class NoticeStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Threshold(IdMixin, Base):
    """A capability threshold the org's safety framework names, and whom it commits to tell, by when."""

    __tablename__ = "notice_threshold"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_notice_threshold_org_name"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    # The framework and clause that makes the commitment, e.g. "Responsible Scaling Policy, ASL-3".
    framework: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    risk_domain: Mapped[RiskDomain] = mapped_column(enum_column(RiskDomain, "response_risk_domain"))
    # The evaluation whose result shows the threshold is reached, and the score at which it is.
    evaluation: Mapped[str] = mapped_column(String(200))
    cutoff: Mapped[float] = mapped_column(Float)
    # How long after the crossing is known the contacts must have been told.
    notify_within_minutes: Mapped[int]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    contacts: Mapped[list[ThresholdContact]] = relationship(
        back_populates="threshold", lazy="raise", cascade="all, delete-orphan"
    )


class ThresholdContact(Base):
    """Who must be told: one of the org's government contacts (response channel)."""

    __tablename__ = "notice_threshold_contact"

    threshold_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notice_threshold.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("response_contact.id", ondelete="CASCADE"), primary_key=True
    )

    threshold: Mapped[Threshold] = relationship(back_populates="contacts", lazy="raise")


class Evaluation(IdMixin, Base):
    """One evaluation result recorded against a model version of the org's inventory."""

    __tablename__ = "notice_evaluation"
    __table_args__ = (Index("ix_notice_evaluation_org", "org_id", "completed_at"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    model_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("response_model_version.id", ondelete="CASCADE"))
    model_key: Mapped[str] = mapped_column(String(160))
    evaluation: Mapped[str] = mapped_column(String(200))
    score: Mapped[float] = mapped_column(Float)
    # When the result was known: a crossing's notice clock starts here.
    completed_at: Mapped[datetime]
    summary: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))


class Notice(IdMixin, Base):
    """A notice owed to the threshold's contacts because an evaluation crossed it. One per threshold and
    model version: a later crossing by the same version points at the notice already opened."""

    __tablename__ = "notice_notice"
    __table_args__ = (
        UniqueConstraint("threshold_id", "model_version_id", name="uq_notice_notice_threshold_model"),
        Index("ix_notice_notice_org_due", "org_id", "due_at"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    threshold_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("notice_threshold.id", ondelete="CASCADE"))
    evaluation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("notice_evaluation.id", ondelete="CASCADE"))
    model_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("response_model_version.id", ondelete="CASCADE"))
    status: Mapped[NoticeStatus] = mapped_column(enum_column(NoticeStatus, "notice_status"), default=NoticeStatus.DRAFT)
    clock_start_at: Mapped[datetime]
    due_at: Mapped[datetime]
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    drafted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    approved_at: Mapped[datetime | None]
    approved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime | None]
    sent_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    # An explicit link to an incident of the same org, when both exist; never made automatically.
    incident_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("response_incident.id", ondelete="SET NULL"))
    linked_at: Mapped[datetime | None]
    linked_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    # When the sweep reminded the org that the notice is near its due time, and when it escalated it as
    # overdue (notices/reminders.py): each happens once.
    reminded_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]

    threshold: Mapped[Threshold] = relationship(lazy="raise")
    evaluation_result: Mapped[Evaluation] = relationship(lazy="raise")
    recipients: Mapped[list[NoticeRecipient]] = relationship(
        back_populates="notice", lazy="raise", order_by="NoticeRecipient.agency"
    )


class NoticeRecipient(IdMixin, Base):
    """One contact told, as it stood when the notice was sent, and the receipt from that body."""

    __tablename__ = "notice_recipient"
    __table_args__ = (UniqueConstraint("notice_id", "contact_id", name="uq_notice_recipient_notice_contact"),)

    notice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("notice_notice.id", ondelete="CASCADE"))
    contact_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("response_contact.id", ondelete="SET NULL"))
    agency: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(300))
    # The outbox job that carries an e-mail; None for a phone or portal contact (told by a person).
    job_id: Mapped[uuid.UUID | None]
    sent_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    # The body's own reference for the notice, or how the receipt came (e.g. "phone, duty officer J. Ruiz").
    receipt: Mapped[str] = mapped_column(String(300), default="")

    notice: Mapped[Notice] = relationship(back_populates="recipients", lazy="raise")
