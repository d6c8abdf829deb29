"""Input and output shapes of the exchange API (and of the item form, which builds the same ItemIn)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from signalfire.core.schemas import Out, StrictIn
from signalfire.exchange.models import Attribution, CorrectionStatus, ItemStatus, ReadChannel, ResponseKind
from signalfire.exchange.tags import TAGS_MAX, validate_tags
from signalfire.exchange.vocab import (
    AudienceKind,
    Category,
    Confidence,
    CoveredUse,
    Modality,
    Priority,
    Severity,
    Tlp,
    validate_reference,
)

TITLE_MAX = 300
SUMMARY_MAX = 5_000
DETAILS_MAX = 100_000
INDICATORS_MAX = 100_000
LIST_MAX = 30
FAMILY_MAX = 100
MITIGATION_MAX = 2_000
REASON_MAX = 2_000
RESPONSE_BODY_MAX = 5_000


class PersonRef(StrictIn):
    """A named recipient: a person, in the capacity of one org they belong to."""

    user_id: uuid.UUID
    org_id: uuid.UUID


def _one_category(value: Any) -> Any:
    if isinstance(value, list | tuple | set):
        if len(value) != 1:
            raise ValueError("an item has exactly one category")
        return next(iter(value))
    return value


class ItemIn(StrictIn):
    """Everything a contributor states about an item. The TLP-against-audience rules are checked by the service
    (``authoring.check_audience``) so the UI form and the API refuse the same things the same way."""

    category: Category
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    summary: str = Field(default="", max_length=SUMMARY_MAX)
    details: str = Field(default="", max_length=DETAILS_MAX)
    indicators: str = Field(default="", max_length=INDICATORS_MAX)
    severity: Severity
    priority: Priority = Priority.ROUTINE
    confidence: Confidence = Confidence.MODERATE
    model_families: list[str] = Field(default_factory=list, max_length=LIST_MAX)
    modalities: list[Modality] = Field(default_factory=list, max_length=len(Modality))
    technique_refs: list[str] = Field(default_factory=list, max_length=LIST_MAX)
    mitigations: list[str] = Field(default_factory=list, max_length=LIST_MAX)
    tags: list[str] = Field(default_factory=list, max_length=TAGS_MAX)
    valid_until: AwareDatetime | None = None
    tlp: Tlp
    permitted_uses: list[CoveredUse] = Field(min_length=1, max_length=len(CoveredUse))
    audience: list[AudienceKind] = Field(min_length=1, max_length=len(AudienceKind))
    audience_org_ids: list[uuid.UUID] = Field(default_factory=list, max_length=200)
    audience_people: list[PersonRef] = Field(default_factory=list, max_length=200)
    attribution: Attribution = Attribution.NAMED

    _category_one = field_validator("category", mode="before")(_one_category)

    @field_validator("tlp", mode="before")
    @classmethod
    def _parse_tlp(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return Tlp.parse(value)
            except ValueError:
                raise ValueError("use one of CLEAR, GREEN, AMBER, AMBER+STRICT, RED") from None
        return value

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("model_families")
    @classmethod
    def _families(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip() for v in values if v.strip()]
        if any(len(v) > FAMILY_MAX for v in cleaned):
            raise ValueError(f"each entry must be at most {FAMILY_MAX} characters")
        return list(dict.fromkeys(cleaned))

    @field_validator("mitigations")
    @classmethod
    def _mitigations(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip() for v in values if v.strip()]
        if any(len(v) > MITIGATION_MAX for v in cleaned):
            raise ValueError(f"each entry must be at most {MITIGATION_MAX} characters")
        return list(dict.fromkeys(cleaned))

    @field_validator("technique_refs")
    @classmethod
    def _refs(cls, values: list[str]) -> list[str]:
        return list(dict.fromkeys(validate_reference(v) for v in values if v.strip()))

    @field_validator("tags")
    @classmethod
    def _tags(cls, values: list[str]) -> list[str]:
        return validate_tags(values)

    @field_validator("permitted_uses", "audience", "modalities")
    @classmethod
    def _dedupe(cls, values: list[Any]) -> list[Any]:
        return list(dict.fromkeys(values))


class ReviseIn(ItemIn):
    change_note: str = Field(default="", max_length=REASON_MAX)
    screening_override_reason: str | None = Field(default=None, max_length=REASON_MAX)


class PublishIn(StrictIn):
    screening_override_reason: str | None = Field(default=None, max_length=REASON_MAX)
    change_note: str = Field(default="", max_length=REASON_MAX)


class WithdrawIn(StrictIn):
    reason: str = Field(min_length=3, max_length=REASON_MAX)


class ResponseIn(StrictIn):
    kind: ResponseKind
    body: str = Field(default="", max_length=RESPONSE_BODY_MAX)
    pseudonymous: bool = False


class DecisionIn(StrictIn):
    accept: bool
    note: str = Field(default="", max_length=REASON_MAX)


class DesignationIn(StrictIn):
    category: Category
    user_id: uuid.UUID


class ResolveIn(StrictIn):
    reason: str = Field(min_length=10, max_length=REASON_MAX)
    item_id: uuid.UUID | None = None


class LessonIn(StrictIn):
    review_id: uuid.UUID
    category: Category
    tlp: Tlp = Tlp.AMBER
    severity: Severity = Severity.MEDIUM
    permitted_uses: list[CoveredUse] = Field(min_length=1, max_length=len(CoveredUse))
    attribution: Attribution = Attribution.PSEUDONYMOUS
    # Internal names to strip besides the incident's reference (hostnames, ticket ids, staff e-mails).
    strip: list[str] = Field(default_factory=list, max_length=50)

    _category_one = field_validator("category", mode="before")(_one_category)


# -- outputs -------------------------------------------------------------------------------------------


class ContributorOut(BaseModel):
    kind: str
    name: str
    stix_identity_id: str


class ItemSummaryOut(Out):
    """What a reader sees before declaring a purpose."""

    id: uuid.UUID
    version: int
    status: ItemStatus
    category: Category
    title: str
    summary: str
    severity: Severity
    priority: Priority
    confidence: Confidence
    tlp: Tlp
    handling: str
    permitted_uses: list[CoveredUse]
    model_families: list[str]
    modalities: list[str]
    technique_refs: list[str]
    tags: list[str] = Field(default_factory=list)
    valid_until: datetime | None
    published_at: datetime | None
    first_published_at: datetime | None
    contributor: ContributorOut
    is_contributor: bool


class AttachmentOut(Out):
    id: uuid.UUID
    filename: str
    content_type: str
    size_bytes: int
    sha256: str


class ResponseOut(BaseModel):
    id: uuid.UUID
    kind: ResponseKind
    body: str
    item_version: int
    author: str
    created_at: datetime
    correction_status: CorrectionStatus | None = None
    decision_note: str | None = None


class ItemDetailOut(ItemSummaryOut):
    details: str
    indicators: str
    mitigations: list[str]
    attachments: list[AttachmentOut]
    responses: list[ResponseOut]
    read_id: uuid.UUID | None
    declared_purpose: CoveredUse | None
    # Only for the contributor org: the audience as addressed.
    audience: dict[str, Any] | None = None


class RevisionOut(BaseModel):
    version: int
    modified: datetime
    tlp: Tlp
    revoked: bool
    change_note: str


class ReadOut(BaseModel):
    id: uuid.UUID
    item_id: uuid.UUID
    item_version: int
    reader: str
    org: str
    purpose: CoveredUse
    channel: ReadChannel
    read_at: datetime


class ResolutionOut(BaseModel):
    id: uuid.UUID
    pseudonym: str
    item_id: uuid.UUID | None
    resolved_by: str
    reason: str
    resolved_at: datetime


class ScreeningFindingOut(BaseModel):
    rule_id: str
    kind: str
    field: str
    excerpt: str
    message: str


class DraftOut(BaseModel):
    item: ItemSummaryOut
    screening: list[ScreeningFindingOut]


class DesignationOut(BaseModel):
    id: uuid.UUID
    category: Category
    user_id: uuid.UUID
    user: str
    created_at: datetime


class CoverageOut(BaseModel):
    org_id: uuid.UUID
    org: str
    category: Category
    designated: int


class PseudonymOut(BaseModel):
    id: uuid.UUID
    label: str
    stix_identity_id: str
    items: int


class ResolvedOut(BaseModel):
    pseudonym: str
    org_id: uuid.UUID
    org: str
