"""API shapes of tags and correlation."""

from __future__ import annotations

from pydantic import BaseModel, Field

from signalfire.core.schemas import StrictIn
from signalfire.exchange.correlation.values import Kind
from signalfire.exchange.schemas import ItemSummaryOut
from signalfire.exchange.tags import FAMILY_NAME_MAX


class ReasonOut(BaseModel):
    kind: Kind
    text: str


class RelatedOut(BaseModel):
    """An item related to the one asked about, that the caller may read, with why it is related."""

    item: ItemSummaryOut
    score: int
    reasons: list[ReasonOut]
    explanation: str


class SearchHitOut(BaseModel):
    item: ItemSummaryOut
    matched: list[ReasonOut]


class NamedRef(BaseModel):
    id: str
    name: str


class VocabulariesOut(BaseModel):
    categories: list[str]
    atlas_techniques: list[NamedRef]
    cwe: list[NamedRef]
    model_families: list[str]
    sources: dict[str, str]


class ModelFamilyIn(StrictIn):
    name: str = Field(min_length=1, max_length=FAMILY_NAME_MAX)
