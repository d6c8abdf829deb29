"""API and form schemas for the response channel. Inputs forbid unknown fields (StrictIn)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from signalfire.core.schemas import StrictIn
from signalfire.response.models import (
    ContactChannel,
    PageStatus,
    ReviewStatus,
    TaskStatus,
    TimelineKind,
)
from signalfire.response.vocab import (
    ActionKind,
    ActionStatus,
    IncidentStatus,
    ParticipantRole,
    RiskDomain,
    Severity,
)

MAX_TEXT = 20_000
MAX_MODELS = 50


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError("must include a time zone (e.g. 2026-11-23T14:00:00Z)")
    return value


# -- incidents -----------------------------------------------------------------------------------------


class IncidentCreate(StrictIn):
    title: str = Field(min_length=3, max_length=200)
    summary: str = Field(default="", max_length=MAX_TEXT)
    severity: Severity
    risk_domain: RiskDomain
    aware_at: datetime = Field(description="When the organisation became aware; reporting clocks start here.")
    occurred_at: datetime | None = None
    reported_at: datetime | None = Field(default=None, description="Defaults to now; may precede awareness.")
    is_drill: bool = False
    affected_models: list[str] = Field(
        default_factory=list,
        max_length=MAX_MODELS,
        description='"<model name> <version>" strings from the org\'s model inventory.',
    )
    # Where the incident was opened from, e.g. "intake:signal:<id>"; set by other channels' services.
    source: str | None = Field(default=None, max_length=200)

    _aware_times = field_validator("aware_at", "occurred_at", "reported_at")(_aware)


class IncidentUpdate(StrictIn):
    title: str | None = Field(default=None, min_length=3, max_length=200)
    summary: str | None = Field(default=None, max_length=MAX_TEXT)
    severity: Severity | None = None
    affected_models: list[str] | None = Field(default=None, max_length=MAX_MODELS)
    aware_at: datetime | None = None
    reason: str | None = Field(default=None, max_length=2000)

    _aware_times = field_validator("aware_at")(_aware)


class TransitionIn(StrictIn):
    status: IncidentStatus
    at: datetime | None = None
    reason: str | None = Field(default=None, max_length=2000)

    _aware_times = field_validator("at")(_aware)


class TimelineIn(StrictIn):
    kind: TimelineKind = TimelineKind.NOTE
    body: str = Field(min_length=1, max_length=MAX_TEXT)
    at: datetime | None = None

    _aware_times = field_validator("at")(_aware)


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class IncidentOut(Out):
    id: uuid.UUID
    org_id: uuid.UUID
    reference: str
    title: str
    summary: str
    severity: Severity
    risk_domain: RiskDomain
    status: IncidentStatus
    is_drill: bool
    affected_models: list[str]
    occurred_at: datetime | None
    aware_at: datetime
    reported_at: datetime
    triaged_at: datetime | None
    contained_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    source: str | None
    created_at: datetime


class TimelineEntryOut(Out):
    id: uuid.UUID
    incident_id: uuid.UUID
    at: datetime
    recorded_at: datetime
    kind: TimelineKind
    author_user_id: uuid.UUID | None
    author_label: str
    body: str
    source: str | None
    data: dict[str, Any]


# -- participants ----------------------------------------------------------------------------------------


class ParticipantIn(StrictIn):
    role: ParticipantRole
    email: str = Field(min_length=3, max_length=254)
    affiliation: str | None = Field(default=None, max_length=200)
    handover: bool = False
    at: datetime | None = Field(default=None, description="When the role was taken on (default now).")

    _aware_times = field_validator("at")(_aware)


class ParticipantOut(Out):
    id: uuid.UUID
    incident_id: uuid.UUID
    user_id: uuid.UUID
    role: ParticipantRole
    label: str
    affiliation: str | None
    assumed_at: datetime
    renounced_at: datetime | None


# -- model inventory -------------------------------------------------------------------------------------


class ModelVersionIn(StrictIn):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    version: str = Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
    surfaces: list[str] = Field(default_factory=list, max_length=30)
    deployed_at: datetime | None = None

    _aware_times = field_validator("deployed_at")(_aware)


class ModelVersionOut(Out):
    id: uuid.UUID
    name: str
    version: str
    key: str
    surfaces: list[str]
    deployed_at: datetime | None
    retired_at: datetime | None


# -- actions -----------------------------------------------------------------------------------------------


class ActionCreate(StrictIn):
    kind: ActionKind
    title: str = Field(min_length=3, max_length=200)
    detail: str = Field(default="", max_length=MAX_TEXT)
    owner_email: str | None = Field(default=None, max_length=254)
    from_version: str | None = Field(default=None, max_length=160, description='"<name> <version>"')
    to_version: str | None = Field(default=None, max_length=160, description='"<name> <version>" (rollback)')
    scope: list[str] = Field(default_factory=list, max_length=30)
    capability: str | None = Field(default=None, max_length=200)
    params: dict[str, Any] = Field(default_factory=dict)
    requested_at: datetime | None = None
    target_at: datetime | None = None
    target_minutes: int | None = Field(default=None, ge=1, le=60 * 24 * 90)
    task_id: uuid.UUID | None = None

    _aware_times = field_validator("requested_at", "target_at")(_aware)


class ActionProgress(StrictIn):
    """Move an action on: start, complete, verify, fail or cancel."""

    status: ActionStatus
    at: datetime | None = None
    verification: str | None = Field(default=None, max_length=MAX_TEXT)
    note: str | None = Field(default=None, max_length=2000)

    _aware_times = field_validator("at")(_aware)


class ActionOut(Out):
    id: uuid.UUID
    incident_id: uuid.UUID
    kind: ActionKind
    status: ActionStatus
    title: str
    detail: str
    owner_user_id: uuid.UUID | None
    from_version_id: uuid.UUID | None
    to_version_id: uuid.UUID | None
    scope: list[str]
    capability: str | None
    params: dict[str, Any]
    requested_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    verified_at: datetime | None
    verification: str | None
    target_at: datetime | None
    suppressed: bool
    is_drill: bool


# -- playbooks and tasks ---------------------------------------------------------------------------------


class PlaybookStep(StrictIn):
    title: str = Field(min_length=2, max_length=200)
    role: ParticipantRole | None = None
    target_minutes: int | None = Field(default=None, ge=1, le=60 * 24 * 90)
    detail: str = Field(default="", max_length=4000)
    action_kind: ActionKind | None = None


class PlaybookIn(StrictIn):
    slug: str = Field(min_length=2, max_length=80, pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=2, max_length=200)
    risk_domain: RiskDomain
    criteria: str = Field(default="", max_length=MAX_TEXT)
    steps: list[PlaybookStep] = Field(min_length=1, max_length=100)


class PlaybookOut(Out):
    id: uuid.UUID
    slug: str
    version: int
    name: str
    risk_domain: RiskDomain
    criteria: str
    steps: list[dict[str, Any]]
    is_current: bool
    created_at: datetime


class StartPlaybookIn(StrictIn):
    playbook_id: uuid.UUID
    at: datetime | None = None

    _aware_times = field_validator("at")(_aware)


class TaskOut(Out):
    id: uuid.UUID
    incident_id: uuid.UUID
    playbook_id: uuid.UUID | None
    position: int
    title: str
    role: ParticipantRole | None
    action_kind: ActionKind | None
    due_at: datetime | None
    status: TaskStatus
    done_at: datetime | None


class TaskUpdate(StrictIn):
    status: TaskStatus


# -- rosters and escalation ------------------------------------------------------------------------------


class WindowIn(StrictIn):
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    days: list[int] = Field(default_factory=lambda: list(range(7)), min_length=1, max_length=7)


class LayerIn(StrictIn):
    name: str = Field(min_length=1, max_length=120)
    participant_emails: list[str] = Field(min_length=1, max_length=50)
    anchor: datetime
    shift_minutes: int = Field(ge=15, le=60 * 24 * 28)
    time_zone: str = Field(default="UTC", max_length=60)
    windows: list[WindowIn] = Field(default_factory=list, max_length=14)
    until: datetime | None = None

    _aware_times = field_validator("anchor", "until")(_aware)


class RosterIn(StrictIn):
    team: str = Field(min_length=2, max_length=120)
    risk_domain: RiskDomain | None = None
    time_zone: str = Field(default="UTC", max_length=60)
    layers: list[LayerIn] = Field(default_factory=list, max_length=10)


class OverrideIn(StrictIn):
    email: str = Field(min_length=3, max_length=254)
    start: datetime
    end: datetime
    reason: str = Field(default="", max_length=300)

    _aware_times = field_validator("start", "end")(_aware)


class RosterOut(Out):
    id: uuid.UUID
    team: str
    risk_domain: RiskDomain | None
    time_zone: str


class ShiftOut(BaseModel):
    start: datetime
    end: datetime
    user_id: str
    layer: str
    override: bool


class GapOut(BaseModel):
    start: datetime
    end: datetime
    minutes: int


class CoverageOut(BaseModel):
    roster_id: uuid.UUID
    start: datetime
    end: datetime
    ratio: float
    gaps: list[GapOut]
    shifts: list[ShiftOut]


class LevelIn(StrictIn):
    targets: list[str] = Field(
        min_length=1, max_length=20, description='"user:<id>", "roster:<id>" or a member\'s email address'
    )
    wait_minutes: int = Field(ge=1, le=24 * 60)


class EscalationPolicyIn(StrictIn):
    name: str = Field(min_length=2, max_length=120)
    risk_domain: RiskDomain | None = None
    levels: list[LevelIn] = Field(min_length=1, max_length=10)
    repeat: int = Field(default=0, ge=0, le=9)
    webhooks: bool = True


class EscalationPolicyOut(Out):
    id: uuid.UUID
    name: str
    risk_domain: RiskDomain | None
    levels: list[dict[str, Any]]
    repeat: int
    webhooks: bool


class PageIn(StrictIn):
    policy_id: uuid.UUID
    summary: str | None = Field(default=None, max_length=300)


class PageOut(Out):
    id: uuid.UUID
    incident_id: uuid.UUID | None
    policy_id: uuid.UUID | None
    summary: str
    status: PageStatus
    paged_at: datetime
    acknowledged_at: datetime | None
    sent: list[str]
    next_check_at: datetime | None
    is_drill: bool


# -- contacts --------------------------------------------------------------------------------------------


class ContactIn(StrictIn):
    agency: str = Field(min_length=2, max_length=200)
    risk_domain: RiskDomain
    jurisdiction: str = Field(min_length=2, max_length=20)
    is_government: bool = True
    channel: ContactChannel
    address: str = Field(min_length=3, max_length=300)
    backup_address: str | None = Field(default=None, max_length=300)
    reachable_24h: bool = False
    hours: str = Field(default="", max_length=200)
    notes: str = Field(default="", max_length=4000)


class ContactOut(Out):
    id: uuid.UUID
    agency: str
    risk_domain: RiskDomain
    jurisdiction: str
    is_government: bool
    channel: ContactChannel
    address: str
    backup_address: str | None
    reachable_24h: bool
    hours: str
    notes: str
    last_verified_at: datetime | None


# -- reviews ----------------------------------------------------------------------------------------------


class ReviewIn(StrictIn):
    root_cause: str = Field(default="", max_length=MAX_TEXT)
    contributing_factors: list[str] = Field(default_factory=list, max_length=50)
    went_well: str = Field(default="", max_length=MAX_TEXT)
    went_badly: str = Field(default="", max_length=MAX_TEXT)


class ReviewItemIn(StrictIn):
    title: str = Field(min_length=2, max_length=300)
    owner_email: str | None = Field(default=None, max_length=254)
    due_on: date | None = None


class ReviewItemOut(Out):
    id: uuid.UUID
    title: str
    owner_user_id: uuid.UUID | None
    due_on: date | None
    status: TaskStatus
    done_at: datetime | None


class ReviewOut(Out):
    id: uuid.UUID
    incident_id: uuid.UUID
    status: ReviewStatus
    root_cause: str
    contributing_factors: list[str]
    went_well: str
    went_badly: str
    closed_at: datetime | None
    items: list[ReviewItemOut] = Field(default_factory=list)


# -- metrics ----------------------------------------------------------------------------------------------


class SummaryOut(BaseModel):
    count: int
    median_seconds: float
    p90_seconds: float


class MetricsOut(BaseModel):
    start: datetime
    end: datetime
    overall: dict[str, SummaryOut]
    by_severity: dict[str, dict[str, SummaryOut]]
    by_domain: dict[str, dict[str, SummaryOut]]
    drills_excluded: int
    inconsistent: int = Field(description="Incidents left out because a milestone precedes awareness.")
    approximate: bool = Field(
        description="True when the figures come from the pre-aggregated sketches (windows of more than "
        "2,000 incidents): each median and p90 is then within relative_accuracy of the exact value, or one "
        "second; counts are always exact."
    )
    relative_accuracy: float | None = None
