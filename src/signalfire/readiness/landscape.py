"""The public landscape (the index table as structured data) and how an org's own scorecard lines up with it.

``data/landscape.yaml`` is validated on load: every developer has an entry for every dimension, statuses
come from a fixed list, and capability ids are unique. The landscape is self-declared public information;
the org's column beside it is computed from evidence, item by item.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from signalfire.readiness.items import ITEMS
from signalfire.readiness.scorecard import ItemResult, Scorecard, State

DATA = Path(__file__).resolve().parent / "data" / "landscape.yaml"
Status = Literal["declared", "partial", "none_found"]
STATUS_LABELS: dict[str, str] = {"declared": "Declared", "partial": "Partial", "none_found": "None found"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    title: str
    retrieved: str
    note: str


class RequirementText(_Strict):
    id: str
    title: str
    summary: str


class Dimension(_Strict):
    id: str
    label: str


class Capability(_Strict):
    id: str
    label: str


class Entry(_Strict):
    status: Status
    summary: str
    source: str | None = None
    capabilities: list[Capability] = Field(default_factory=list)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


class Developer(_Strict):
    name: str
    entries: dict[str, Entry]


class Landscape(_Strict):
    source: Source
    requirement: RequirementText
    dimensions: list[Dimension]
    developers: list[Developer]

    @model_validator(mode="after")
    def _complete(self) -> Landscape:
        ids = [d.id for d in self.dimensions]
        if len(set(ids)) != len(ids):
            raise ValueError("dimension ids must be unique")
        for dev in self.developers:
            if set(dev.entries) != set(ids):
                raise ValueError(f"{dev.name}: entries must cover exactly the dimensions {ids}")
        caps = [c.id for c in self.capabilities]
        if len(set(caps)) != len(caps):
            raise ValueError("capability ids must be unique")
        return self

    @property
    def capabilities(self) -> list[Capability]:
        """The concrete response capabilities the index lists (from whichever developer declared them)."""
        seen: dict[str, Capability] = {}
        for dev in self.developers:
            for entry in dev.entries.values():
                for cap in entry.capabilities:
                    seen.setdefault(cap.id, cap)
        return list(seen.values())


@cache
def load() -> Landscape:
    return Landscape.model_validate(yaml.safe_load(DATA.read_text(encoding="utf-8")))


# -- the org beside the landscape ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Alignment:
    """The org's evidence for one landscape row: the scorecard items that serve it and their overall state
    (``None`` where Signalfire has no records for the row, e.g. public transparency reports)."""

    key: str
    label: str
    items: tuple[ItemResult, ...]

    @property
    def state(self) -> State | None:
        states = {r.state for r in self.items}
        if not states:
            return None
        if states == {State.OK}:
            return State.OK
        if states == {State.MISSING}:
            return State.MISSING
        return State.GAP


def by_dimension(card: Scorecard) -> list[Alignment]:
    land = load()
    return [
        Alignment(d.id, d.label, tuple(r for r in card.items if r.item.requirement.dimension == d.id))
        for d in land.dimensions
    ]


def by_capability(card: Scorecard) -> list[Alignment]:
    land = load()
    return [
        Alignment(c.id, c.label, tuple(r for r in card.items if c.id in r.item.requirement.index_capabilities))
        for c in land.capabilities
    ]


def unmapped_capabilities() -> list[str]:
    """Capabilities of the index no scorecard item serves (kept empty by a test)."""
    served = {cap for item in ITEMS for cap in item.requirement.index_capabilities}
    return [c.id for c in load().capabilities if c.id not in served]


def labels() -> dict[str, dict[str, str]]:
    """Id -> label for dimensions and capabilities, for templates."""
    land = load()
    return {
        "dimensions": {d.id: d.label for d in land.dimensions},
        "capabilities": {c.id: c.label for c in land.capabilities},
    }
