"""Readiness inputs and outputs: the scorecard as JSON (the export), published snapshots, settings."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from signalfire.core.schemas import Out, StrictIn
from signalfire.readiness.scorecard import Channel, State
from signalfire.response.vocab import RiskDomain


class OrgRef(BaseModel):
    id: uuid.UUID
    name: str
    slug: str


class RequirementOut(BaseModel):
    text: str
    short: str
    dimension: str
    code_of_practice: str | None
    index_capabilities: list[str]


class EvidenceOut(BaseModel):
    label: str
    channel: Channel
    url: str | None
    at: datetime | None


class PublicItemOut(BaseModel):
    """An item as other orgs may see it: no evidence records, and for some items a generic summary."""

    id: str
    label: str
    state: State
    summary: str
    as_of: datetime | None
    expires_at: datetime | None
    gaps: list[str]
    metric: float | None
    requirement: RequirementOut


class ItemOut(PublicItemOut):
    evidence: list[EvidenceOut]
    # Evidence the viewer's access does not cover (e.g. a token scoped to readiness only).
    hidden_evidence: int = 0


class PublicationOut(Out):
    snapshot_id: uuid.UUID
    as_of: datetime
    published_at: datetime
    published_by_label: str


class ScorecardOut(BaseModel):
    org: OrgRef
    as_of: datetime
    risk_domains: list[RiskDomain]
    counts: dict[str, int]
    items: list[ItemOut]
    published: PublicationOut | None = None


class SnapshotOut(BaseModel):
    id: uuid.UUID
    org: OrgRef
    as_of: datetime
    published_at: datetime
    published_by_label: str
    withdrawn_at: datetime | None
    counts: dict[str, int]
    items: list[PublicItemOut]


class PublicationIn(StrictIn):
    publish: bool = Field(description="true publishes the scorecard as it is now; false withdraws it")


class SettingsIn(StrictIn):
    risk_domains: list[RiskDomain] = Field(min_length=1, max_length=len(RiskDomain))


class SettingsOut(BaseModel):
    risk_domains: list[RiskDomain]
    is_default: bool
