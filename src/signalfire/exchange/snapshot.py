"""An immutable picture of one published version of an exchange item.

The service layer builds an :class:`ItemSnapshot` from its database rows; the STIX exporter, the
TAXII server and the feeds work only from snapshots, so they never touch the session and a given
version always renders the same way.

Only what may leave the hub is here. The audience lists are deliberately absent (a bundle must not
reveal who else received an item), and a pseudonymous item's contributor is the pseudonym itself:
the link to the real organisation stays in the hub's database.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from signalfire.exchange.tags import validate_tags
from signalfire.exchange.vocab import (
    Category,
    Confidence,
    CoveredUse,
    Modality,
    Priority,
    Severity,
    Tlp,
    validate_reference,
)

_IDENTITY_ID_RE = re.compile(r"identity--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

TITLE_MAX_CHARS = 300
LIST_ENTRY_MAX_CHARS = 2000


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A timezone-aware datetime, normalised to UTC; naive datetimes are refused."""


def _check_identity_id(value: str) -> str:
    if _IDENTITY_ID_RE.fullmatch(value) is None:
        raise ValueError("must be a STIX identity id: 'identity--' followed by a lower-case UUID")
    return value


StixIdentityId = Annotated[str, AfterValidator(_check_identity_id)]


def _dedupe(values: list[str]) -> list[str]:
    seen: set[str] = set()
    kept = []
    for value in values:
        if value not in seen:
            seen.add(value)
            kept.append(value)
    return kept


class HubIdentity(BaseModel):
    """The hub that runs the exchange and publishes its STIX; it vouches for contributor identities."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stix_identity_id: StixIdentityId
    name: str = Field(min_length=1, max_length=TITLE_MAX_CHARS)
    created: UtcDatetime


class Contributor(BaseModel):
    """Who an item is attributed to: a member org, or the stable pseudonym the hub issued it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["org", "pseudonym"]
    stix_identity_id: StixIdentityId
    name: str = Field(min_length=1, max_length=TITLE_MAX_CHARS)
    created: UtcDatetime


class ItemSnapshot(BaseModel):
    """One version of a published item, exactly as readers and exports see it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: UUID
    version: int = Field(ge=1)
    created: UtcDatetime
    modified: UtcDatetime
    category: Category
    title: str = Field(min_length=1, max_length=TITLE_MAX_CHARS)
    summary: str
    details: str
    severity: Severity
    priority: Priority
    confidence: Confidence
    model_families: list[str] = Field(default_factory=list)
    modalities: list[str] = Field(default_factory=list)
    technique_refs: list[str] = Field(default_factory=list)
    mitigations: list[str] = Field(default_factory=list)
    # Free tags (exchange.tags), exported as the report's STIX labels.
    tags: list[str] = Field(default_factory=list)
    valid_until: UtcDatetime | None = None
    tlp: Tlp
    permitted_uses: list[CoveredUse] = Field(min_length=1)
    contributor: Contributor
    hub: HubIdentity
    revoked: bool = False
    # A version received over TAXII whose posted ``report`` stands for the item: its STIX objects are the
    # posted ones (kept by the TAXII store under this item version), so no report of the item's own is made.
    carried_by: str | None = None

    @field_validator("title")
    @classmethod
    def _title_not_blank(cls, value: str) -> str:
        stripped = value.strip()
        if not stripped:
            raise ValueError("title must not be blank")
        return stripped

    @field_validator("model_families", "mitigations")
    @classmethod
    def _clean_text_list(cls, values: list[str]) -> list[str]:
        cleaned = [value.strip() for value in values]
        if any(not value for value in cleaned):
            raise ValueError("entries must not be blank")
        if any(len(value) > LIST_ENTRY_MAX_CHARS for value in cleaned):
            raise ValueError(f"entries must be at most {LIST_ENTRY_MAX_CHARS} characters")
        return _dedupe(cleaned)

    @field_validator("modalities")
    @classmethod
    def _known_modalities(cls, values: list[str]) -> list[str]:
        known = {modality.value for modality in Modality}
        for value in values:
            if value not in known:
                raise ValueError(f"unknown modality {value!r}; use one of {', '.join(sorted(known))}")
        return _dedupe(values)

    @field_validator("technique_refs")
    @classmethod
    def _valid_references(cls, values: list[str]) -> list[str]:
        return _dedupe([validate_reference(value) for value in values])

    @field_validator("tags")
    @classmethod
    def _valid_tags(cls, values: list[str]) -> list[str]:
        return validate_tags(values)

    @field_validator("permitted_uses")
    @classmethod
    def _canonical_uses(cls, values: list[CoveredUse]) -> list[CoveredUse]:
        # Table 3 order, so two snapshots with the same uses serialise identically.
        return [use for use in CoveredUse if use in values]

    @model_validator(mode="after")
    def _times_in_order(self) -> ItemSnapshot:
        if self.modified < self.created:
            raise ValueError("modified must not be earlier than created")
        if self.contributor.stix_identity_id == self.hub.stix_identity_id:
            raise ValueError("the contributor identity must differ from the hub identity")
        return self
