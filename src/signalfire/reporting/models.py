"""The reporting channel's tables.

Reporting reads the response channel's incident facts and never writes them. What it records itself:
the clock-start events of each incident (one row per recording, never one shared "awareness" field),
reportability assessments (every version kept), the obligations they create (one row per report owed),
the reports with their frozen, hashed versions, their delivery to authority orgs and the follow-up
thread, legal holds, and per-incident retention state.

Foreign keys to the incident are RESTRICT: an incident with reporting records cannot disappear under
them before their retention ends (the retention run purges them first, on the record).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from signalfire.core.clock import utcnow
from signalfire.core.db.base import Base, IdMixin, JSONType, enum_column

INCIDENT_FK = "response_incident.id"


class AssessmentOutcome(StrEnum):
    reportable = "reportable"
    not_reportable = "not_reportable"
    undetermined = "undetermined"

    @property
    def label(self) -> str:
        return {"reportable": "Reportable", "not_reportable": "Not reportable", "undetermined": "Undetermined"}[
            self.value
        ]


class Applicability(StrEnum):
    yes = "yes"
    no = "no"
    unknown = "unknown"


class ObligationStatus(StrEnum):
    """``due`` and ``late`` are open; the others are closed and never recomputed."""

    due = "due"
    late = "late"
    submitted = "submitted"
    waived = "waived"
    # No longer owed after a recomputation: a stricter (or, with a rationale, laxer) class took over,
    # or the stage fell away (e.g. resolved before an update fell due).
    superseded = "superseded"

    @property
    def is_open(self) -> bool:
        return self in (ObligationStatus.due, ObligationStatus.late)


OPEN_STATUSES = (ObligationStatus.due, ObligationStatus.late)


class ReportStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"


class MessageKind(StrEnum):
    acknowledgement = "acknowledgement"
    question = "question"
    answer = "answer"


class RecordedClockEvent(IdMixin, Base):
    """One recording of one clock-start event on one incident: when (UTC), who said so, on what evidence.

    A correction is a new row; the latest recording of an event is the one clocks use, and all stay.
    """

    __tablename__ = "reporting_clock_event"
    __table_args__ = (Index("ix_reporting_clock_event_incident", "incident_id", "event", "recorded_at"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(INCIDENT_FK, ondelete="RESTRICT"))
    event: Mapped[str] = mapped_column(String(40))
    # Effective time: when it happened (a fact learned late carries its real time).
    at: Mapped[datetime]
    evidence: Mapped[str] = mapped_column(Text, default="")
    # "person" (recorded on its own), "assessment" (the time given with an answer that implies it).
    source: Mapped[str] = mapped_column(String(20), default="person", server_default="person")
    # Why a fact the response record carries is overridden here (required for such an override).
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Recorded time: when it was entered.
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    recorded_by_label: Mapped[str] = mapped_column(String(300))


class Assessment(IdMixin, Base):
    """One version of an incident's reportability assessment under one regime version.

    The engine's result is stored as it was given (outcome, classes, missing questions, its rationale)
    next to the assessor's own rationale, so a later engine change cannot rewrite history.
    """

    __tablename__ = "reporting_assessment"
    __table_args__ = (
        UniqueConstraint("incident_id", "regime_id", "version", name="uq_reporting_assessment_version"),
        Index("ix_reporting_assessment_current", "incident_id", "regime_id", "is_current"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(INCIDENT_FK, ondelete="RESTRICT"))
    regime_id: Mapped[str] = mapped_column(String(80))
    regime_version: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    is_current: Mapped[bool] = mapped_column(default=True)
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    applicability: Mapped[Applicability] = mapped_column(enum_column(Applicability, "reporting_applicability"))
    missing_facts: Mapped[list[str]] = mapped_column(default=list)
    outcome: Mapped[AssessmentOutcome] = mapped_column(enum_column(AssessmentOutcome, "reporting_outcome"))
    classes: Mapped[list[str]] = mapped_column(default=list)
    possible_classes: Mapped[list[str]] = mapped_column(default=list)
    concurrent_reports: Mapped[list[str]] = mapped_column(default=list)
    possible_concurrent_reports: Mapped[list[str]] = mapped_column(default=list)
    missing: Mapped[list[str]] = mapped_column(default=list)
    engine_rationale: Mapped[list[str]] = mapped_column(default=list)
    rationale: Mapped[str] = mapped_column(Text, default="")
    # The incident facts the assessor saw, to flag "facts changed since this assessment".
    incident_snapshot: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Effective time (when the assessment was made, possibly before it was entered) and recorded time.
    assessed_at: Mapped[datetime]
    recorded_at: Mapped[datetime | None]
    assessed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    assessed_by_label: Mapped[str] = mapped_column(String(300))


class Obligation(IdMixin, Base):
    """One report owed: incident x regime x class x stage, with its due time from ``deadlines``.

    Open rows (due, late) follow each recomputation; closed rows (submitted, waived, superseded) are
    never changed again.
    """

    __tablename__ = "reporting_obligation"
    __table_args__ = (
        UniqueConstraint("incident_id", "regime_id", "class_id", "stage", name="uq_reporting_obligation_key"),
        # The deadline board: an org's open obligations, soonest first.
        Index("ix_reporting_obligation_board", "org_id", "is_open", "due_at"),
        # The reminder sweep across orgs (reminders run on the target).
        Index("ix_reporting_obligation_sweep", "is_open", "due_at"),
        Index("ix_reporting_obligation_target", "is_open", "target_at"),
        # The board's rows: an org's open obligations, most urgent target first.
        Index("ix_reporting_obligation_board_target", "org_id", "is_open", "target_at"),
        # (incident_id, regime_id) lookups use the unique key's leading columns.
    )

    # This is the busiest insert path (one row per report owed), and each foreign-key check is a lookup per
    # row: only the incident keeps one (RESTRICT: retention). The org is the incident's, copied for the
    # board's index; the assessment is append-only and purged only together with its obligations.
    org_id: Mapped[uuid.UUID]
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(INCIDENT_FK, ondelete="RESTRICT"))
    assessment_id: Mapped[uuid.UUID]
    regime_id: Mapped[str] = mapped_column(String(80))
    regime_version: Mapped[str] = mapped_column(String(40))
    class_id: Mapped[str] = mapped_column(String(80))
    stage: Mapped[str] = mapped_column(String(60))
    recipients: Mapped[list[str]] = mapped_column(default=list)
    start_event: Mapped[str] = mapped_column(String(200))
    start_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    legal_due_at: Mapped[datetime | None]
    basis: Mapped[str] = mapped_column(Text, default="")
    waiting_for: Mapped[str | None] = mapped_column(String(200))
    confidence: Mapped[str] = mapped_column(String(10))
    provisional: Mapped[bool] = mapped_column(default=False)
    required_fields: Mapped[list[str]] = mapped_column(default=list)
    due_from_reclassification_at: Mapped[datetime | None]
    past_due_on_reclassification: Mapped[bool] = mapped_column(default=False)
    # Urgency and reminders run on the target (trigger + org SLA where the text says "immediately");
    # lateness on ``due_at``, the conservative legal latest (regimes.md section 8).
    target_at: Mapped[datetime | None]
    target_basis: Mapped[str | None] = mapped_column(Text)
    due_reading: Mapped[str | None] = mapped_column(String(20))
    alt_due_at: Mapped[datetime | None]
    alt_due_reading: Mapped[str | None] = mapped_column(String(20))
    projected: Mapped[bool] = mapped_column(default=False, server_default="false")
    status: Mapped[ObligationStatus] = mapped_column(
        enum_column(ObligationStatus, "reporting_obligation_status"), default=ObligationStatus.due
    )
    is_open: Mapped[bool] = mapped_column(default=True)
    submitted_at: Mapped[datetime | None]
    # The report written for this obligation (reporting_report has the foreign key to us).
    report_id: Mapped[uuid.UUID | None]
    closed_reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    closed_by_label: Mapped[str | None] = mapped_column(String(300))
    computed_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def submitted_late(self) -> bool:
        return self.submitted_at is not None and self.due_at is not None and self.submitted_at > self.due_at


class ReminderLead(Base):
    """An org's reminder lead times in minutes before the due time; 0 and negative values escalate
    (at the due time, and that long after it). Orgs without rows use ``reminders.DEFAULT_LEADS``."""

    __tablename__ = "reporting_reminder_lead"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True)
    minutes: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class Reminder(Base):
    """A reminder sent for one obligation and one lead time: what makes the sweep idempotent."""

    __tablename__ = "reporting_reminder"

    obligation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("reporting_obligation.id", ondelete="CASCADE"), primary_key=True
    )
    lead_minutes: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    due_at: Mapped[datetime]
    sent_at: Mapped[datetime]
    escalation: Mapped[bool] = mapped_column(default=False)


class OrgReportingSettings(Base):
    """Per-org reporting settings. ``org_sla_minutes`` answers deadlines a text leaves to the org
    ("without undue delay", "immediately"); None means at once."""

    __tablename__ = "reporting_org_settings"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True)
    org_sla_minutes: Mapped[int | None] = mapped_column(Integer)
    # How long a SEV1/SEV2 incident may stay unassessed before the org is reminded; None: the default.
    assessment_prompt_minutes: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_label: Mapped[str] = mapped_column(String(300), default="")


class Report(IdMixin, Base):
    """The report written for one obligation: the current draft, and its submitted versions."""

    __tablename__ = "reporting_report"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(INCIDENT_FK, ondelete="RESTRICT"), index=True)
    obligation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("reporting_obligation.id", ondelete="RESTRICT"), unique=True
    )
    regime_id: Mapped[str] = mapped_column(String(80))
    regime_version: Mapped[str] = mapped_column(String(40))
    class_id: Mapped[str] = mapped_column(String(80))
    stage: Mapped[str] = mapped_column(String(60))
    status: Mapped[ReportStatus] = mapped_column(
        enum_column(ReportStatus, "reporting_report_status"), default=ReportStatus.draft
    )
    # {field_id: {"value": str, "preliminary": bool}}
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_label: Mapped[str] = mapped_column(String(300), default="")

    versions: Mapped[list[ReportVersion]] = relationship(
        back_populates="report", lazy="raise", order_by="ReportVersion.number"
    )


class ReportVersion(IdMixin, Base):
    """A submitted report, frozen: ``content`` is exactly what was sent, ``content_hash`` its sha256."""

    __tablename__ = "reporting_report_version"
    __table_args__ = (UniqueConstraint("report_id", "number", name="uq_reporting_report_version_number"),)

    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reporting_report.id", ondelete="RESTRICT"))
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(INCIDENT_FK, ondelete="RESTRICT"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]]
    content_hash: Mapped[str] = mapped_column(String(64))
    # Effective time: when it reached the authority (a filing made outside Signalfire, by e-mail or an
    # authority's portal, carries its real time); ``recorded_at`` is when it was entered here.
    submitted_at: Mapped[datetime]
    recorded_at: Mapped[datetime | None]
    channel: Mapped[str] = mapped_column(String(20), default="signalfire", server_default="signalfire")
    authority_reference: Mapped[str] = mapped_column(String(300), default="", server_default="")
    evidence: Mapped[str] = mapped_column(Text, default="", server_default="")
    submitted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    submitted_by_label: Mapped[str] = mapped_column(String(300))

    report: Mapped[Report] = relationship(back_populates="versions", lazy="raise")


class Delivery(IdMixin, Base):
    """A submitted report version addressed to one authority org (through a recipient binding)."""

    __tablename__ = "reporting_delivery"
    __table_args__ = (
        UniqueConstraint("report_version_id", "authority_org_id", name="uq_reporting_delivery_target"),
        Index("ix_reporting_delivery_inbox", "authority_org_id", "delivered_at"),
    )

    report_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reporting_report_version.id", ondelete="RESTRICT"))
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reporting_report.id", ondelete="RESTRICT"), index=True)
    # The reporting org (the sender).
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    authority_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    recipient_ids: Mapped[list[str]] = mapped_column(default=list)
    delivered_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    acknowledged_by_label: Mapped[str | None] = mapped_column(String(300))


class Message(IdMixin, Base):
    """The follow-up thread between the reporting org and one authority org about one report."""

    __tablename__ = "reporting_message"
    __table_args__ = (Index("ix_reporting_message_thread", "report_id", "authority_org_id", "created_at"),)

    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reporting_report.id", ondelete="RESTRICT"))
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    authority_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    author_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    author_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    author_label: Mapped[str] = mapped_column(String(300))
    kind: Mapped[MessageKind] = mapped_column(enum_column(MessageKind, "reporting_message_kind"))
    body: Mapped[str] = mapped_column(Text)
    in_reply_to_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("reporting_message.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecipientBinding(IdMixin, Base):
    """Per deployment: which authority org receives what a regime file addresses to a recipient id."""

    __tablename__ = "reporting_recipient_binding"
    __table_args__ = (UniqueConstraint("regime_id", "recipient_id", name="uq_reporting_recipient_binding_key"),)

    regime_id: Mapped[str] = mapped_column(String(80))
    recipient_id: Mapped[str] = mapped_column(String(80))
    authority_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_label: Mapped[str] = mapped_column(String(300), default="system")


class LegalHold(IdMixin, Base):
    """While a hold is active (not released), nothing of the incident's reporting records is purged."""

    __tablename__ = "reporting_legal_hold"
    __table_args__ = (Index("ix_reporting_legal_hold_incident", "incident_id", "released_at"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(INCIDENT_FK, ondelete="RESTRICT"))
    reason: Mapped[str] = mapped_column(Text)
    placed_at: Mapped[datetime]
    placed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    placed_by_label: Mapped[str] = mapped_column(String(300))
    released_at: Mapped[datetime | None]
    released_by_label: Mapped[str | None] = mapped_column(String(300))
    release_reason: Mapped[str | None] = mapped_column(Text)


class Case(Base):
    """Reporting's own state about an incident: when its obligations were last computed against the
    incident's facts, how long its records must be kept, and whether they were purged."""

    __tablename__ = "reporting_case"
    __table_args__ = (Index("ix_reporting_case_retention", "purged_at", "retain_until"),)

    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(INCIDENT_FK, ondelete="CASCADE"), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    # The incident facts clocks read, as they were when obligations were last computed: the sweep
    # recomputes an incident whose facts now differ (the response channel changes them, not us).
    seen_occurred_at: Mapped[datetime | None]
    seen_aware_at: Mapped[datetime | None]
    seen_resolved_at: Mapped[datetime | None]
    seen_closed_at: Mapped[datetime | None]
    seen_is_drill: Mapped[bool | None]
    synced_at: Mapped[datetime | None]
    retain_until: Mapped[datetime | None]
    retention_basis: Mapped[str] = mapped_column(Text, default="")
    purged_at: Mapped[datetime | None]


class OrgAttribute(IdMixin, Base):
    """One recorded value of an organisation attribute that regimes read (jurisdictions, legal roles,
    size facts), effective from a date. A change is a new row; the value in force on a day is the row
    with the latest ``effective_from`` not after it (ties: the latest recorded)."""

    __tablename__ = "reporting_org_attribute"
    __table_args__ = (Index("ix_reporting_org_attribute_lookup", "org_id", "name", "effective_from"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(60))
    value: Mapped[Any] = mapped_column(JSONType)
    effective_from: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    recorded_by_label: Mapped[str] = mapped_column(String(300))


class Prompt(Base):
    """A reminder sent about an incident (e.g. "SEV1 not yet assessed"): what makes that sweep idempotent."""

    __tablename__ = "reporting_prompt"

    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(INCIDENT_FK, ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    sent_at: Mapped[datetime]


# Registers the listeners that recompute obligations when the response record changes (imported here so
# that every process that loads the models has them).
from signalfire.reporting import response_feed  # noqa: E402, F401
