"""Transparency inputs and outputs: report definitions, sign-off, figures and editions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from signalfire.core.schemas import LongText, SaneDate, ShortText, StrictIn
from signalfire.transparency.metrics import MetricKind
from signalfire.transparency.models import ReportStatus

MAX_SECTIONS = 20
MAX_PERIOD_DAYS = 366
SLUG = r"^[a-z0-9][a-z0-9-]{0,59}$"


class SectionIn(StrictIn):
    heading: ShortText = Field(min_length=1)
    body: LongText = ""
    metrics: list[MetricKind] = Field(default_factory=list, max_length=len(MetricKind))

    @model_validator(mode="after")
    def _distinct(self) -> SectionIn:
        if len(set(self.metrics)) != len(self.metrics):
            raise ValueError("a section lists each metric kind at most once")
        return self


class ReportFields(StrictIn):
    title: ShortText = Field(min_length=1)
    period_start: SaneDate
    period_end: SaneDate = Field(description="the last day of the period (inclusive)")
    threshold: Annotated[int, Field(ge=2, le=1000)] = Field(
        10, description='counts below it, zero included, are published as "< threshold"'
    )
    sections: list[SectionIn] = Field(min_length=1, max_length=MAX_SECTIONS)

    @model_validator(mode="after")
    def _period(self) -> ReportFields:
        if self.period_end < self.period_start:
            raise ValueError("period_end must not be before period_start")
        if (self.period_end - self.period_start).days + 1 > MAX_PERIOD_DAYS:
            raise ValueError(f"a period is at most {MAX_PERIOD_DAYS} days")
        return self


class ReportIn(ReportFields):
    slug: Annotated[str | None, Field(pattern=SLUG, description="part of the public URL; default from the period")] = (
        None
    )


class SignOffIn(StrictIn):
    note: Annotated[str, Field(max_length=2000)] = ""


class SectionOut(BaseModel):
    heading: str
    body: str
    metrics: list[MetricKind]


class CellOut(BaseModel):
    key: str
    label: str
    count: int
    value: int | None
    display: str
    suppressed: str | None


class TotalOut(BaseModel):
    count: int
    value: int | None
    display: str
    suppressed: str | None


class FigureOut(BaseModel):
    """A metric as computed now (the preview of a draft): exact counts beside the published form."""

    kind: MetricKind
    label: str
    cells: list[CellOut]
    total: TotalOut | None


class EditionRef(BaseModel):
    id: uuid.UUID
    number: int
    supersedes: int | None
    published_at: datetime
    sha256: str
    url: str
    json_url: str


class ReportOut(BaseModel):
    id: uuid.UUID
    slug: str
    title: str
    period_start: date
    period_end: date
    threshold: int
    status: ReportStatus
    sections: list[SectionOut]
    created_by_label: str
    updated_at: datetime
    updated_by_label: str
    signed_off_at: datetime | None
    signed_off_by_label: str | None
    editions: list[EditionRef]
    public_url: str | None


class ReportDetailOut(ReportOut):
    figures: list[FigureOut] | None = Field(description="computed now; null while the period has not ended")


class MetricOut(BaseModel):
    kind: MetricKind
    label: str
    description: str
    source: str
    effective_time: str
    permission: str
    cells: list[dict[str, str]]
    has_total: bool


class RecordOut(BaseModel):
    label: str
    href: str
    at: datetime | None
    cell: str


class RecordsOut(BaseModel):
    edition_id: uuid.UUID
    kind: MetricKind
    cell: str | None
    published: dict[str, int]
    records: list[RecordOut]
