"""Inputs and outputs of the intake API. Inputs forbid unknown fields; sizes are explicit."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field, field_validator

from signalfire.core.schemas import Out, StrictIn
from signalfire.intake.models import AlertFormat, DecisionKind, FeedKind, SourceKind, TriageState
from signalfire.response.vocab import RiskDomain, Severity

MAX_TEXT = 20_000
MAX_TITLE = 200
MAX_ATTACHMENTS = 3


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError("must include a time zone")
    return value


# -- reporters (public form, downstream API) ----------------------------------------------------------


class AttachmentIn(StrictIn):
    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(default="application/octet-stream", max_length=100)
    # Base64; the decoded size is checked against the attachment limit.
    data_base64: str = Field(max_length=8 * 1024 * 1024)


class ReportIn(StrictIn):
    """A report from a downstream developer, addressed to the receiving org by its slug."""

    org: str = Field(min_length=3, max_length=60, description="Slug of the organisation the report is for.")
    title: str = Field(min_length=3, max_length=MAX_TITLE)
    description: str = Field(min_length=1, max_length=MAX_TEXT)
    model: str | None = Field(default=None, max_length=200, description="Which model or product it concerns.")
    url: str | None = Field(default=None, max_length=2000)
    occurred_at: datetime | None = None
    reporter_name: str | None = Field(default=None, max_length=200)
    contact: str | None = Field(default=None, max_length=300)
    anonymous: bool = Field(default=False, description="Hide who sent it from the receiving organisation.")
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)

    _aware_times = field_validator("occurred_at")(_aware)


class ReceiptOut(Out):
    reference: str
    receipt_secret: str
    status: str
    received_at: datetime
    status_url: str


class ReportStatus(StrEnum):
    """What a reporter is told; it reveals nothing about the receiving org's triage."""

    received = "received"
    in_review = "in_review"
    acted_on = "acted_on"
    closed = "closed"

    @property
    def label(self) -> str:
        return {"received": "Received", "in_review": "Under review", "acted_on": "Being acted on", "closed": "Closed"}[
            self.value
        ]


class AdditionOut(Out):
    body: str
    received_at: datetime


class ReporterMessageOut(Out):
    """A message as the reporter sees it: who spoke (the org or you), never which member wrote it."""

    side: str
    body: str
    created_at: datetime


class ReportStatusOut(Out):
    reference: str
    title: str
    status: ReportStatus
    status_label: str
    received_at: datetime
    additions: list[AdditionOut]
    messages: list[ReporterMessageOut] = Field(default_factory=list)


class ReplyIn(StrictIn):
    body: str = Field(min_length=1, max_length=MAX_TEXT)


class AnswerIn(StrictIn):
    body: str = Field(min_length=1, max_length=MAX_TEXT)
    internal: bool = Field(default=False, description="An internal note: never shown to the reporter.")


class ThreadMessageOut(Out):
    id: uuid.UUID
    side: str
    internal: bool
    body: str
    author_user_id: uuid.UUID | None
    created_at: datetime
    emailed: bool


class AdditionIn(StrictIn):
    body: str = Field(min_length=1, max_length=MAX_TEXT)


# -- triage ---------------------------------------------------------------------------------------------


class ManualSignalIn(StrictIn):
    title: str = Field(min_length=3, max_length=MAX_TITLE)
    text: str = Field(default="", max_length=MAX_TEXT)
    url: str | None = Field(default=None, max_length=2000)


class AssignIn(StrictIn):
    assignee_id: uuid.UUID | None = Field(default=None, description="A member of your org; null unassigns.")


class DismissIn(StrictIn):
    reason: str = Field(min_length=3, max_length=2000)
    # Dismiss every open signal of the signal's cluster with the same reason.
    whole_cluster: bool = False


class ReopenIn(StrictIn):
    reason: str = Field(min_length=3, max_length=2000)


class DuplicateIn(StrictIn):
    duplicate_of: uuid.UUID


class PromoteIncidentIn(StrictIn):
    """Either bring the signal into an existing incident, or open a new one from it."""

    incident_id: uuid.UUID | None = None
    title: str | None = Field(default=None, min_length=3, max_length=200)
    severity: Severity | None = None
    risk_domain: RiskDomain | None = None
    aware_at: datetime | None = None
    affected_models: list[str] = Field(default_factory=list, max_length=20)
    # Also bring the other open signals of the cluster into the incident.
    whole_cluster: bool = False

    _aware_times = field_validator("aware_at")(_aware)


class PromoteExchangeIn(StrictIn):
    title: str | None = Field(default=None, min_length=3, max_length=200)
    summary: str | None = Field(default=None, max_length=MAX_TEXT)


class MergeIn(StrictIn):
    into: uuid.UUID
    clusters: list[uuid.UUID] = Field(min_length=1, max_length=50)


class SplitIn(StrictIn):
    signal_ids: list[uuid.UUID] = Field(min_length=1, max_length=500)
    title: str | None = Field(default=None, max_length=300)


class ReviewIn(StrictIn):
    outcome: str = Field(pattern="^(confirm|undo)$")
    note: str = Field(default="", max_length=2000)


class SignalOut(Out):
    id: uuid.UUID
    reference: str
    source_kind: SourceKind
    title: str
    url: str | None
    received_at: datetime
    published_at: datetime | None
    state: TriageState
    likely_severity: Severity
    relevance: float
    matched_models: list[str]
    cluster_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    incident_id: uuid.UUID | None
    exchange_item_id: uuid.UUID | None
    duplicate_of_id: uuid.UUID | None
    alert_status: str | None
    update_count: int
    # Acknowledged, not yet clustered or scored for relevance by the worker ("clustering pending").
    placement_pending: bool


class DecisionOut(Out):
    id: uuid.UUID
    kind: DecisionKind
    automatic: bool
    actor_label: str
    reason: str
    data: dict[str, Any]
    at: datetime
    review_requested: bool
    reviewed_at: datetime | None
    review_outcome: str | None


class SignalDetailOut(SignalOut):
    text: str
    raw_payload: dict[str, Any]
    raw_content_type: str | None
    attribution: str | None
    severity_reasons: list[str]
    dismiss_reason: str | None
    reporter_name: str | None
    reporter_contact: str | None
    anonymous: bool
    similarity: float | None
    decisions: list[DecisionOut]
    additions: list[AdditionOut]


class ClusterOut(Out):
    id: uuid.UUID
    title: str
    signal_count: int
    created_at: datetime
    last_signal_at: datetime


class ClusterDetailOut(ClusterOut):
    signals: list[SignalOut]


class PromotionOut(Out):
    signal: SignalOut
    incident_id: uuid.UUID | None = None
    incident_reference: str | None = None
    exchange_item_id: uuid.UUID | None = None


# -- sources ------------------------------------------------------------------------------------------


class FeedIn(StrictIn):
    url: str = Field(min_length=8, max_length=2000)
    kind: FeedKind = FeedKind.rss_atom
    title: str = Field(default="", max_length=300)
    poll_interval_seconds: int = Field(default=900, ge=60, le=7 * 86400)


class FeedActiveIn(StrictIn):
    active: bool


class FeedOut(Out):
    id: uuid.UUID
    url: str
    kind: FeedKind
    title: str
    active: bool
    poll_interval_seconds: int
    next_poll_at: datetime
    last_polled_at: datetime | None
    last_success_at: datetime | None
    last_status: int | None
    last_error: str | None
    consecutive_failures: int
    items_total: int


class AlertSourceIn(StrictIn):
    name: str = Field(min_length=1, max_length=120)
    format: AlertFormat = AlertFormat.alertmanager


class AlertSourceOut(Out):
    id: uuid.UUID
    name: str
    format: AlertFormat
    active: bool
    created_at: datetime
    last_received_at: datetime | None
    received_count: int
    webhook_url: str


class AlertSourceCreatedOut(AlertSourceOut):
    hmac_secret: str
    bearer_secret: str


class AlertReceiptOut(Out):
    signal_id: uuid.UUID
    reference: str
    created: bool
    update_count: int
    alert_status: str | None


class IntakeSettingsIn(StrictIn):
    public_form_enabled: bool | None = None
    intro: str | None = Field(default=None, max_length=4000)
    allow_anonymous: bool | None = None
    min_fill_seconds: int | None = Field(default=None, ge=0, le=120)
    model_names: list[str] | None = Field(default=None, max_length=100)

    @field_validator("model_names")
    @classmethod
    def _names(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        cleaned = [v.strip() for v in value if v.strip()]
        if any(len(v) > 100 for v in cleaned):
            raise ValueError("each name is at most 100 characters")
        return list(dict.fromkeys(cleaned))


class IntakeSettingsOut(Out):
    public_form_enabled: bool
    intro: str
    allow_anonymous: bool
    min_fill_seconds: int
    model_names: list[str]
    public_form_url: str


class ImportResultOut(Out):
    created: int
    updated: int
    skipped: int
    errors: list[str]


class MatchOut(Out):
    """Known or new: the cluster (and incident) a signal most likely belongs to, or "new"."""

    signal_id: uuid.UUID
    answer: str  # "known" or "new"
    cluster_id: uuid.UUID | None
    matched_signal_id: uuid.UUID | None
    incident_id: uuid.UUID | None
    score: float
    reason: str
    verdict: str
    decided_at: datetime | None


class ThresholdsIn(StrictIn):
    cluster_threshold: float | None = Field(default=None, ge=0.01, le=1.0)
    known_threshold: float | None = Field(default=None, ge=0.01, le=1.0)
    reset: bool = False


class CalibrationPointOut(Out):
    threshold: float
    precision: float | None
    recall: float | None
    f1: float | None
    predicted_known: int


class CalibrationOut(Out):
    cluster_threshold: float
    known_threshold: float
    embedded: bool
    decided: int
    accepted: int
    rejected: int
    at_threshold: CalibrationPointOut | None
    best: CalibrationPointOut | None
    grid: list[CalibrationPointOut]
