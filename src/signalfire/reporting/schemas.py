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
    at: datetime = Field(description="When it happened (effective time), with a time zone; not in the future.")
    evidence: Annotated[str, StringConstraints(max_length=5000)]
    reason: Annotated[str, StringConstraints(max_length=5000)] = Field(
        default="", description="Required when the time overrides one the response record carries."
    )


class AssessmentIn(StrictIn):
    regime_id: Short
    answers: dict[Short, AnswerValue] = Field(default_factory=dict, max_length=100)
    facts: dict[Short, AnswerValue] = Field(
        default_factory=dict, max_length=50, description="Facts left out are answered from the org profile."
    )
    rationale: Annotated[str, StringConstraints(max_length=10_000)] = ""
    event_times: dict[Short, datetime] = Field(
        default_factory=dict,
        max_length=20,
        description="Times of the clock events the answers imply (e.g. aware_of_model_involvement).",
    )
    effective_at: datetime | None = Field(
        default=None, description="When the assessment was made, if before it is entered here."
    )


class SubmitIn(StrictIn):
    """Submitting through Signalfire needs no body. A filing made outside (by e-mail or a portal) is
    recorded with its real time, channel and evidence, and is not delivered again."""

    filed_at: datetime | None = None
    channel: Literal["signalfire", "email", "portal", "post", "other"] = "signalfire"
    authority_reference: Annotated[str, StringConstraints(max_length=300)] = ""
    evidence: Annotated[str, StringConstraints(max_length=5000)] = ""


class OrgProfileIn(StrictIn):
    jurisdictions: list[Annotated[str, StringConstraints(max_length=10)]] | None = Field(default=None, max_length=60)
    roles: list[Short] | None = Field(default=None, max_length=20)
    training_compute_flop: float | None = Field(default=None, ge=0, le=1e30)
    annual_revenue_usd: float | None = Field(default=None, ge=0, le=1e30)
    effective_from: datetime | None = Field(default=None, description="Default now; a past time corrects history.")
    reason: Annotated[str, StringConstraints(max_length=2000)] = ""


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
    org_sla_minutes: int | None = Field(default=None, ge=0, le=30 * 24 * 60)
    leads: list[Annotated[int, Field(ge=-100_000, le=100_000)]] | None = Field(default=None, max_length=20)
    assessment_prompt_minutes: int | None = Field(
        default=None, ge=0, le=7 * 24 * 60, description="Remind to assess a SEV1/SEV2 after this long (default 60)."
    )


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
    source: str
    reason: str
    recorded_at: datetime
    recorded_by_label: str


class EventStateOut(Out):
    """A clock event as the clocks read it: its effective time and where it comes from."""

    event: str
    label: str
    at: datetime | None
    source: str
    recorded_at: datetime | None
    recorded_by: str | None
    evidence: str
    reason: str
    response_at: datetime | None
    implied_by: str | None


class ActionOut(Out):
    """The one action that starts a clock that is waiting."""

    kind: Literal["record_event", "respond", "submit_report"]
    event: str | None
    label: str
    href: str


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
    recorded_at: datetime | None
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
    due_at: datetime | None = Field(description="The legal latest, conservative (earliest plausible) reading.")
    due_reading: str | None
    alt_due_at: datetime | None = Field(description="The other plausible reading, when it differs.")
    alt_due_reading: str | None
    legal_due_at: datetime | None
    target_at: datetime | None = Field(description="Trigger + org SLA where the text says 'immediately'; else due.")
    target_basis: str | None
    projected: bool
    basis: str
    waiting_for: str | None
    waiting_for_label: str | None
    next_action: ActionOut | None
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


class UnassessedOut(Out):
    incident_id: uuid.UUID
    reference: str
    title: str
    severity: str
    aware_at: datetime


class OpenQuestionOut(Out):
    message_id: uuid.UUID
    report_id: uuid.UUID
    incident_id: uuid.UUID
    regime_id: str
    stage: str
    body: str
    asked_at: datetime


class BoardOut(Out):
    now: datetime
    overdue: int
    due_24h: int
    due_7d: int
    waiting: int
    rows: list[BoardRowOut]
    unassessed: list[UnassessedOut]
    open_questions: list[OpenQuestionOut]


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
    event_states: list[EventStateOut]
    recorded_events: list[ClockEventOut]
    unassessed: bool
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
    profile_facts: dict[str, str]
    clock_events: list[str]
    implied_events: dict[str, dict[str, datetime | None]]


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
    assessment_prompt_minutes: int


class OrgAttributeOut(Out):
    name: str
    value: Any
    effective_from: datetime
    reason: str
    recorded_at: datetime
    recorded_by_label: str


class OrgProfileOut(Out):
    jurisdictions: list[str] | None
    roles: list[str] | None
    training_compute_flop: float | None
    annual_revenue_usd: float | None
    role_choices: dict[str, str]
    history: list[OrgAttributeOut]


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
