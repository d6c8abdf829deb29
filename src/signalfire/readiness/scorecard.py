"""The scorecard's shapes: what an item asks, what a check finds, and the scorecard that holds them.

A check is a function of (session, context) that reads another channel's tables with aggregate SQL
filtered by the org and bounded by ``context.at``, and returns a ``Finding``: a state, a summary in
words that name no record, the date at which the state was established, the evidence (records with
links) and, where the item has them, the gaps.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from signalfire.response.vocab import RiskDomain


class State(StrEnum):
    """``ok``: the evidence meets the requirement. ``gap``: there is evidence, and it falls short.
    ``missing``: there is no evidence to judge by."""

    OK = "ok"
    GAP = "gap"
    MISSING = "missing"

    @property
    def label(self) -> str:
        return {"ok": "OK", "gap": "Gap", "missing": "No evidence"}[self.value]


class Channel(StrEnum):
    """Whose records a piece of evidence is: a viewer sees its label and link only with that channel's
    read permission (a token scoped to readiness alone sees states and dates, not incident titles)."""

    RESPONSE = "response"
    REPORTING = "reporting"
    EXCHANGE = "exchange"
    INTAKE = "intake"


@dataclass(frozen=True)
class Requirement:
    """What an item serves: a Code of Practice measure, index capabilities, a landscape dimension."""

    text: str
    dimension: str
    # A few words for tables: "Index: 24x7 duty roster", "Code of Practice M9.4: retention".
    short: str = ""
    code_of_practice: str | None = None
    index_capabilities: tuple[str, ...] = ()


@dataclass(frozen=True)
class Evidence:
    label: str
    channel: Channel
    url: str | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class Finding:
    state: State
    # Counts, dates and durations only: never a record's title (published scorecards show it).
    summary: str
    # When the state was established: the evidence's date, or the instant asked about for standing checks.
    as_of: datetime | None
    evidence: tuple[Evidence, ...] = ()
    gaps: tuple[str, ...] = ()
    # A figure where the item has one (e.g. the on-time rate, 0..1).
    metric: float | None = None
    # When evidence with a shelf life stops counting (a drill 12 months on), so the org can plan.
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Context:
    org_id: uuid.UUID
    org_slug: str
    exchange_member: bool
    at: datetime
    # Start of "the last 12 months" (inclusive).
    year_start: datetime
    domains: tuple[RiskDomain, ...]


Check = Callable[[Session, Context], Finding]


@dataclass(frozen=True)
class ItemDef:
    id: str
    label: str
    requirement: Requirement
    check: Check
    # False where even the summary of a live state says too much to other orgs (open incidents).
    public_detail: bool = True


@dataclass(frozen=True)
class ItemResult:
    item: ItemDef
    finding: Finding

    @property
    def state(self) -> State:
        return self.finding.state


@dataclass(frozen=True)
class Scorecard:
    org_id: uuid.UUID
    org_name: str
    org_slug: str
    at: datetime
    domains: tuple[RiskDomain, ...]
    items: tuple[ItemResult, ...] = field(default_factory=tuple)

    @property
    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in State}
        for result in self.items:
            out[result.state.value] += 1
        return out

    def get(self, item_id: str) -> ItemResult:
        for result in self.items:
            if result.item.id == item_id:
                return result
        raise KeyError(item_id)
