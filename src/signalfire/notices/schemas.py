"""API and form schemas of capability-threshold notices."""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, field_validator

from signalfire.core.schemas import LongText, Out, ShortText, StrictIn, UtcDatetime
from signalfire.notices.models import NoticeStatus
from signalfire.response.vocab import RiskDomain

MAX_CONTACTS = 20


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


class ThresholdIn(StrictIn):
    name: ShortText = Field(min_length=3)
    framework: Annotated[str, Field(min_length=3, max_length=300)]
    description: LongText = ""
    risk_domain: RiskDomain
    evaluation: ShortText = Field(min_length=2, description="The evaluation whose result shows the threshold.")
    cutoff: float = Field(description="A result at or above this score crosses the threshold.")
    notify_within_hours: int = Field(ge=1, le=24 * 366, description="Whom to tell, by how long after it is known.")
    contact_ids: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_CONTACTS)

    _cutoff = field_validator("cutoff")(_finite)


class ContactRef(Out):
    id: uuid.UUID
    agency: str
    jurisdiction: str
    channel: str
    reachable_24h: bool


class ThresholdOut(Out):
    id: uuid.UUID
    name: str
    framework: str
    description: str
    risk_domain: RiskDomain
    evaluation: str
    cutoff: float
    notify_within_minutes: int
    active: bool
    created_at: datetime
    contacts: list[ContactRef]


class EvaluationIn(StrictIn):
    model: ShortText = Field(description='A version of the model inventory: "<name> <version>".')
    evaluation: ShortText = Field(min_length=2)
    score: float
    completed_at: UtcDatetime | None = Field(default=None, description="When the result was known; default now.")
    summary: LongText = ""

    _score = field_validator("score")(_finite)


class EvaluationOut(Out):
    id: uuid.UUID
    model_key: str
    evaluation: str
    score: float
    completed_at: datetime
    summary: str
    recorded_at: datetime


class RecipientOut(Out):
    id: uuid.UUID
    agency: str
    channel: str
    address: str
    sent_at: datetime
    acknowledged_at: datetime | None
    receipt: str


class NoticeOut(Out):
    id: uuid.UUID
    reference: str
    status: NoticeStatus
    threshold_id: uuid.UUID
    evaluation_id: uuid.UUID
    model_version_id: uuid.UUID
    clock_start_at: datetime
    due_at: datetime
    clock: str
    subject: str
    body: str
    opened_at: datetime
    approved_at: datetime | None
    sent_at: datetime | None
    incident_id: uuid.UUID | None
    linked_at: datetime | None
    recipients: list[RecipientOut]


class CrossingOut(Out):
    """What recording an evaluation did: the result, and the notices it opened or found open."""

    evaluation: EvaluationOut
    opened: list[NoticeOut]
    already_open: list[NoticeOut]


class DraftIn(StrictIn):
    subject: ShortText = Field(min_length=3)
    body: LongText = Field(min_length=10)


class AcknowledgeIn(StrictIn):
    recipient_id: uuid.UUID
    receipt: ShortText = ""
    at: UtcDatetime | None = None


class LinkIn(StrictIn):
    incident_id: uuid.UUID | None = Field(description="An incident of the same org; null removes the link.")
