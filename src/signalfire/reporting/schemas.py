"""API schemas of the reporting channel. Inputs forbid unknown fields (StrictIn): a typo is a 422."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from signalfire.core.schemas import Out, StrictIn

AnswerValue = Literal["yes", "no", "unknown"]
Short = Annotated[str, StringConstraints(max_length=200)]


class ClockEventIn(StrictIn):
    event: Short
    at: datetime
    evidence: Annotated[str, StringConstraints(max_length=5000)]


class AssessmentIn(StrictIn):
    regime_id: Short
    answers: dict[Short, AnswerValue] = Field(default_factory=dict, max_length=100)
    facts: dict[Short, AnswerValue] = Field(default_factory=dict, max_length=50)
    rationale: Annotated[str, StringConstraints(max_length=10_000)] = ""


class ReasonIn(StrictIn):
    reason: Annotated[str, StringConstraints(max_length=5000)]


class FieldIn(StrictIn):
    value: Annotated[str, StringConstraints(max_length=20_000)] = ""
    preliminary: bool = False


class ReportUpdateIn(StrictIn):
    fields: dict[Short, FieldIn] = Field(max_length=100)


class QuestionIn(StrictIn):
    body: Annotated[str, StringConstraints(max_length=10_000)]


class AnswerIn(StrictIn):
    question_id: uuid.UUID
    body: Annotated[str, StringConstraints(max_length=10_000)]


class SettingsIn(StrictIn):
    org_sla_minutes: int | None = None
    leads: list[int] | None = Field(default=None, max_length=20)


class BindingIn(StrictIn):
    regime_id: Short
    recipient_id: Short
    authority_org_id: uuid.UUID


class RetentionRunIn(StrictIn):
    dry_run: bool = True


# -- outputs ---------------------------------------------------------------------------------------------


class ClockEventOut(Out):
    id: uuid.UUID
    event: str
    at: datetime
    evidence: str
    recorded_at: datetime
    recorded_by_label: str


class AssessmentOut(Out):
    id: uuid.UUID
    incident_id: uuid.UUID
    regime_id: str
    regime_version: str
    version: int
    is_current: bool
    answers: dict[str, Any]
    facts: dict[str, Any]
    applicability: str
    missing_facts: list[str]
    outcome: str
    classes: list[str]
    possible_classes: list[str]
    concurrent_reports: list[str]
    possible_concurrent_reports: list[str]
    missing: list[str]
    engine_rationale: list[str]
    rationale: str
    assessed_at: datetime
    assessed_by_label: str


class ObligationOut(Out):
    id: uuid.UUID
    incident_id: uuid.UUID
    assessment_id: uuid.UUID
    regime_id: str
    regime_version: str
    class_id: str
    stage: str
    recipients: list[str]
    start_event: str
    start_at: datetime | None
    due_at: datetime | None
    legal_due_at: datetime | None
    basis: str
    waiting_for: str | None
    confidence: str
    provisional: bool
    required_fields: list[str]
    due_from_reclassification_at: datetime | None
    past_due_on_reclassification: bool
    status: str
    submitted_at: datetime | None
    submitted_late: bool
    report_id: uuid.UUID | None
    closed_reason: str | None
    computed_at: datetime


class BoardRowOut(Out):
    obligation: ObligationOut
    reference: str
    title: str
    severity: str


class BoardOut(Out):
    now: datetime
    overdue: int
    due_24h: int
    due_7d: int
    waiting: int
    rows: list[BoardRowOut]


class HoldOut(Out):
    id: uuid.UUID
    incident_id: uuid.UUID
    reason: str
    placed_at: datetime
    placed_by_label: str
    released_at: datetime | None
    release_reason: str | None


class IncidentReportingOut(Out):
    incident_id: uuid.UUID
    reference: str
    is_drill: bool
    events: dict[str, datetime | None]
    recorded_events: list[ClockEventOut]
    assessments: list[AssessmentOut]
    obligations: list[ObligationOut]
    holds: list[HoldOut]
    retain_until: datetime | None
    retention_basis: str


class SyncOut(Out):
    created: int
    updated: int
    closed: int
    reopened: int


class AssessResultOut(Out):
    assessment: AssessmentOut
    obligations: SyncOut


class QuestionnaireOut(Out):
    regime_id: str
    regime_version: str
    questions: list[dict[str, Any]]
    facts: list[dict[str, Any]]
    answers: dict[str, str]
    fact_answers: dict[str, str]
    clock_events: list[str]


class FieldOut(Out):
    id: str
    label: str
    value: str
    preliminary: bool
    required: bool


class VersionSummaryOut(Out):
    number: int
    sha256: str
    submitted_at: datetime
    submitted_by_label: str


class MessageOut(Out):
    id: uuid.UUID
    authority_org_id: uuid.UUID
    author_label: str
    kind: str
    body: str
    in_reply_to_id: uuid.UUID | None
    created_at: datetime


class ReportOut(Out):
    id: uuid.UUID
    obligation_id: uuid.UUID
    incident_id: uuid.UUID
    regime_id: str
    regime_version: str
    class_id: str
    stage: str
    status: str
    fields: list[FieldOut]
    versions: list[VersionSummaryOut]
    messages: list[MessageOut]


class ExportOut(Out):
    sha256: str
    content: dict[str, Any]


class InboxRowOut(Out):
    delivery_id: uuid.UUID
    report_id: uuid.UUID
    sender: str
    regime_id: str
    stage: str
    version: int
    sha256: str
    delivered_at: datetime
    acknowledged_at: datetime | None
    open_questions: int


class DeliveryOut(Out):
    delivery_id: uuid.UUID
    report_id: uuid.UUID
    sender: str
    delivered_at: datetime
    acknowledged_at: datetime | None
    sha256: str
    content: dict[str, Any]
    messages: list[MessageOut]


class SettingsOut(Out):
    org_sla_minutes: int | None
    leads: list[int]
    custom_leads: bool
    lead_choices: list[int]


class BindingOut(Out):
    id: uuid.UUID
    regime_id: str
    recipient_id: str
    authority_org_id: uuid.UUID
    authority_org_name: str


class PurgeOut(Out):
    incident_id: uuid.UUID
    retain_until: datetime | None
    deleted: dict[str, int]


class RegimeSummaryOut(Out):
    id: str
    version: str
    title: str
    kind: str
    enabled: bool
    effective_from: str | None
    effective_to: str | None
    source: str
