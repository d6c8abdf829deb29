"""The vocabulary of events that start (or anchor) a reporting clock, and expressions over them.

Regimes start their clocks from different moments: the Code of Practice from awareness of the
model's involvement, Art. 73 from awareness of the incident, RAISE from the earlier of a
determination and a reasonable belief. regimes.md section 8 asks that each such event be recorded
on its own, never folded into one shared "awareness" field. A regime file names the events it needs
from this vocabulary; an org records their instants on its own incident.

A clock start in a regime file is either an event id or an expression::

    start: aware_of_model_involvement
    start: {earliest_of: [determined, reasonable_belief]}
    from: {latest_of: [documented, occurred]}

Adding an event here is a code change on purpose: an event is something the incident record must be
able to hold, not a per-regime detail.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag


class ClockEvent(StrEnum):
    """An instant an org records on its own incident (UTC)."""

    OCCURRED = "occurred"
    AWARE_OF_INCIDENT = "aware_of_incident"
    AWARE_OF_MODEL_INVOLVEMENT = "aware_of_model_involvement"
    CAUSAL_LINK_SUSPECTED = "causal_link_suspected"
    CAUSAL_LINK_CONFIRMED = "causal_link_confirmed"
    DETERMINED = "determined"
    REASONABLE_BELIEF = "reasonable_belief"
    DISCOVERED = "discovered"
    RANSOM_PAID = "ransom_paid"
    CONTAINED = "contained"
    MITIGATED = "mitigated"
    INITIAL_REPORT_SENT = "initial_report_sent"
    LAST_REPORT_SENT = "last_report_sent"
    RESOLVED = "resolved"
    HANDLING_ENDED = "handling_ended"
    DOCUMENTED = "documented"


DESCRIPTIONS: Mapping[ClockEvent, str] = {
    ClockEvent.OCCURRED: "The incident occurred (or began), as far as known.",
    ClockEvent.AWARE_OF_INCIDENT: "The org became aware of the incident.",
    ClockEvent.AWARE_OF_MODEL_INVOLVEMENT: (
        "The org became aware that its model was involved, directly or indirectly."
    ),
    ClockEvent.CAUSAL_LINK_SUSPECTED: (
        "The org suspected, with reasonable likelihood, a causal link between its system and the incident."
    ),
    ClockEvent.CAUSAL_LINK_CONFIRMED: ("The org established a causal link between its system and the incident."),
    ClockEvent.DETERMINED: "The org determined that a reportable incident occurred.",
    ClockEvent.REASONABLE_BELIEF: (
        "The org learned facts giving a reasonable belief that a reportable incident occurred."
    ),
    ClockEvent.DISCOVERED: "The org discovered the incident.",
    ClockEvent.RANSOM_PAID: "A ransom payment was made in connection with the incident.",
    ClockEvent.CONTAINED: "The incident was contained (its spread or harm stopped from growing).",
    ClockEvent.MITIGATED: "The incident's harm was mitigated.",
    ClockEvent.INITIAL_REPORT_SENT: "The initial report was sent to the authority.",
    ClockEvent.LAST_REPORT_SENT: "The last report on the incident was sent.",
    ClockEvent.RESOLVED: (
        "The incident was resolved: corrective measures adopted to rectify the harm and to assess and "
        "mitigate related risks."
    ),
    ClockEvent.HANDLING_ENDED: "Handling of the incident ended.",
    ClockEvent.DOCUMENTED: "The incident's documentation was last completed.",
}

# A report sent is itself a clock event for later stages (updates run from the initial report).
# The deadline function derives these events from the list of reports sent when the caller has not
# recorded them separately.
EVENT_FROM_REPORT_STAGE: Mapping[ClockEvent, str] = {ClockEvent.INITIAL_REPORT_SENT: "initial"}


# Short labels for people (the ids stay in data and the API).
LABELS: Mapping[ClockEvent, str] = {
    ClockEvent.OCCURRED: "Incident occurred",
    ClockEvent.AWARE_OF_INCIDENT: "Became aware of the incident",
    ClockEvent.AWARE_OF_MODEL_INVOLVEMENT: "Became aware of the model's involvement",
    ClockEvent.CAUSAL_LINK_SUSPECTED: "Causal link suspected",
    ClockEvent.CAUSAL_LINK_CONFIRMED: "Causal link established",
    ClockEvent.DETERMINED: "Determined reportable",
    ClockEvent.REASONABLE_BELIEF: "Reasonable belief it is reportable",
    ClockEvent.DISCOVERED: "Discovered the incident",
    ClockEvent.RANSOM_PAID: "Ransom paid",
    ClockEvent.CONTAINED: "Contained",
    ClockEvent.MITIGATED: "Mitigated",
    ClockEvent.INITIAL_REPORT_SENT: "Initial report sent",
    ClockEvent.LAST_REPORT_SENT: "Last report sent",
    ClockEvent.RESOLVED: "Resolved",
    ClockEvent.HANDLING_ENDED: "Handling ended (incident closed)",
    ClockEvent.DOCUMENTED: "Documentation last completed",
}


def label(event: str) -> str:
    """A person's words for an event id, or for an expression over them (``earliest_of(a, b)``)."""
    try:
        return LABELS[ClockEvent(event)]
    except ValueError:
        pass
    for name in ("earliest_of", "latest_of"):
        if event.startswith(name + "(") and event.endswith(")"):
            parts = [label(p.strip()) for p in event[len(name) + 1 : -1].split(",")]
            return ("the earlier of " if name == "earliest_of" else "the later of ") + " and ".join(parts)
    if event.startswith("sent:"):
        return f"{event.removeprefix('sent:').replace('-', ' ')} sent"
    return event


EVENT_IDS: frozenset[str] = frozenset(e.value for e in ClockEvent)


def _known_event(value: str) -> str:
    if value not in EVENT_IDS:
        known = ", ".join(e.value for e in ClockEvent)
        raise ValueError(f"unknown clock event {value!r}; known events: {known}")
    return value


EventId = Annotated[str, AfterValidator(_known_event)]


class EarliestOf(BaseModel):
    """The earliest of several starts that are known: the conservative reading of "the earlier of"."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    earliest_of: list[ClockStart] = Field(min_length=1)


class LatestOf(BaseModel):
    """The latest of several starts; known only when all of them are (retention "whichever is later")."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    latest_of: list[ClockStart] = Field(min_length=1)


def _start_tag(value: Any) -> str | None:
    if isinstance(value, str):
        return "event"
    if isinstance(value, EarliestOf):
        return "earliest_of"
    if isinstance(value, LatestOf):
        return "latest_of"
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        if key in ("earliest_of", "latest_of"):
            return str(key)
    return None


ClockStart = Annotated[
    Annotated[EventId, Tag("event")]
    | Annotated[EarliestOf, Tag("earliest_of")]
    | Annotated[LatestOf, Tag("latest_of")],
    Discriminator(
        _start_tag,
        custom_error_type="invalid_clock_start",
        custom_error_message="a clock start is an event id or a mapping with one key: earliest_of, latest_of",
    ),
]

EarliestOf.model_rebuild()
LatestOf.model_rebuild()


@dataclass(frozen=True, slots=True)
class ResolvedStart:
    """Where a clock-start expression stands given the recorded events.

    ``at`` and ``event`` are set when the start is known (``event`` names the event that supplied the
    instant); otherwise ``waiting_for`` renders what is still missing.
    """

    at: datetime | None
    event: str | None
    waiting_for: str | None


def render(start: ClockStart) -> str:
    """A stable one-line form, used in bases and ``waiting_for``."""
    if isinstance(start, EarliestOf):
        return "earliest_of(" + ", ".join(render(s) for s in start.earliest_of) + ")"
    if isinstance(start, LatestOf):
        return "latest_of(" + ", ".join(render(s) for s in start.latest_of) + ")"
    return start


def referenced_events(start: ClockStart) -> frozenset[str]:
    if isinstance(start, EarliestOf):
        return frozenset().union(*(referenced_events(s) for s in start.earliest_of))
    if isinstance(start, LatestOf):
        return frozenset().union(*(referenced_events(s) for s in start.latest_of))
    return frozenset({start})


def resolve(start: ClockStart, events: Mapping[str, datetime | None]) -> ResolvedStart:
    """Evaluate a start against recorded events. Ties go to the first listed, so the result is stable."""
    if isinstance(start, EarliestOf):
        parts = [resolve(s, events) for s in start.earliest_of]
        known = [p for p in parts if p.at is not None]
        if not known:
            return ResolvedStart(None, None, render(start))
        best = known[0]
        for p in known[1:]:
            if p.at is not None and best.at is not None and p.at < best.at:
                best = p
        return best
    if isinstance(start, LatestOf):
        parts = [resolve(s, events) for s in start.latest_of]
        for p in parts:
            if p.at is None:
                return ResolvedStart(None, None, p.waiting_for)
        best = parts[0]
        for p in parts[1:]:
            if p.at is not None and best.at is not None and p.at > best.at:
                best = p
        return best
    at = events.get(start)
    if at is None:
        return ResolvedStart(None, None, start)
    return ResolvedStart(at, start, None)
