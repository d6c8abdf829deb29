"""What reporting reads from the response channel, always through the response policy, never written.

The clock events a regime reads come from two places: the incident's own facts (when it occurred, when
the org became aware of it, when it was resolved and closed) and the events reporting records itself
(``reporting_clock_event``: awareness of the model's involvement, discovery, a causal link ...). A
recorded event wins over the incident's fact of the same name: it carries who said so and why.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.permissions import Permission
from signalfire.access.policy import first_or_404
from signalfire.access.policy.response import (
    readable_actions,
    readable_incidents,
    readable_reviews,
    readable_timeline,
)
from signalfire.core.errors import NotFound
from signalfire.reporting.models import Assessment, RecordedClockEvent, ReportVersion
from signalfire.reporting.rules import catalog
from signalfire.reporting.rules.clock_events import ClockEvent
from signalfire.reporting.rules.clock_events import label as clock_label
from signalfire.response.models import (
    Incident,
    PostIncidentReview,
    ResponseAction,
    ReviewActionItem,
    TimelineEntry,
)


def get_incident(session: Session, actor: Actor, incident_id: uuid.UUID) -> Incident:
    """One of the actor's own org's incidents, readable under the response policy, or 404."""
    if not actor.can(Permission.reporting_obligation_read):
        raise NotFound("No such incident.")
    stmt = readable_incidents(actor).where(Incident.id == incident_id, Incident.org_id == actor.org_id)
    return first_or_404(session, stmt, "No such incident.")


# The incident facts the response record carries, as clock events (regimes.md section 8: facts flow from
# response into reporting, one way). Discovery is read as awareness of the incident: the earliest
# plausible moment, conservative; a person may override any of these here, with a reason.
RESPONSE_FACTS: Mapping[str, str] = {
    ClockEvent.OCCURRED.value: "occurred_at",
    ClockEvent.AWARE_OF_INCIDENT.value: "aware_at",
    ClockEvent.DISCOVERED.value: "aware_at",
    ClockEvent.CONTAINED.value: "contained_at",
    ClockEvent.MITIGATED.value: "mitigated_at",
    ClockEvent.RESOLVED.value: "resolved_at",
    ClockEvent.HANDLING_ENDED.value: "closed_at",
}


def incident_events(incident: Incident) -> dict[str, datetime | None]:
    """The clock events the incident record itself carries."""
    return {event: getattr(incident, attr) for event, attr in RESPONSE_FACTS.items()}


def recorded_history(session: Session, incident_id: uuid.UUID) -> list[RecordedClockEvent]:
    """Every recording on the incident, oldest first (the latest of each event is the one in force)."""
    return list(
        session.execute(
            select(RecordedClockEvent)
            .where(RecordedClockEvent.incident_id == incident_id)
            .order_by(RecordedClockEvent.recorded_at, RecordedClockEvent.id)
        ).scalars()
    )


def recorded_events(session: Session, incident_id: uuid.UUID) -> dict[str, RecordedClockEvent]:
    """The latest recording of each event (earlier recordings stay in the table as history)."""
    latest: dict[str, RecordedClockEvent] = {}
    for row in recorded_history(session, incident_id):
        latest[row.event] = row
    return latest


def last_submission(session: Session, incident_id: uuid.UUID) -> datetime | None:
    value: datetime | None = session.execute(
        select(func.max(ReportVersion.submitted_at)).where(ReportVersion.incident_id == incident_id)
    ).scalar_one()
    return value


def implied_events(session: Session, incident_id: uuid.UUID) -> dict[str, str]:
    """Events the current assessments' answers presuppose ("yes" or "unknown" to a question that
    implies them), each with the question that implies it."""
    out: dict[str, str] = {}
    rows = session.execute(
        select(Assessment.regime_id, Assessment.regime_version, Assessment.answers).where(
            Assessment.incident_id == incident_id, Assessment.is_current.is_(True)
        )
    ).all()
    for regime_id, version, answers in rows:
        regime = catalog.get(regime_id, version)
        for q in regime.questions:
            if q.implies and answers.get(q.id, "unknown") in ("yes", "unknown"):
                for event in q.implies:
                    out.setdefault(event, f"{regime.id}: {q.id}")
    return out


@dataclass(frozen=True)
class EventState:
    """One clock event as the clocks read it, with where its time comes from.

    ``source``: "recorded" (a person recorded or overrode it), "assessment" (given with an answer),
    "response" (the response record), "assumed" (implied by an answer, no time given: the incident's
    awareness, the earliest plausible), "reports" (from a filing), or "missing".
    """

    event: str
    at: datetime | None
    source: str
    recorded_at: datetime | None = None
    recorded_by: str | None = None
    evidence: str = ""
    reason: str = ""
    response_at: datetime | None = None  # what the response record says, shown beside an override
    implied_by: str | None = None
    history: tuple[RecordedClockEvent, ...] = ()

    @property
    def label(self) -> str:
        return clock_label(self.event)


def event_states(session: Session, incident: Incident) -> dict[str, EventState]:
    """Every clock event of the incident, in vocabulary order, with its provenance."""
    response = incident_events(incident)
    history = recorded_history(session, incident.id)
    latest: dict[str, RecordedClockEvent] = {}
    for row in history:
        latest[row.event] = row
    implied = implied_events(session, incident.id)
    last = last_submission(session, incident.id)
    states: dict[str, EventState] = {}
    for event in ClockEvent:
        name = event.value
        rows = tuple(r for r in history if r.event == name)
        current = latest.get(name)
        if current is not None:
            states[name] = EventState(
                name,
                current.at,
                "recorded" if current.source == "person" else current.source,
                current.recorded_at,
                current.recorded_by_label,
                current.evidence,
                current.reason,
                response.get(name),
                implied.get(name),
                rows,
            )
        elif response.get(name) is not None:
            states[name] = EventState(name, response[name], "response", response_at=response[name], history=rows)
        elif name in implied:
            states[name] = EventState(
                name,
                incident.aware_at,
                "assumed",
                evidence=(
                    f"Implied by the answer to {implied[name]}; no time was given, so the incident's awareness "
                    "time is used (the earliest plausible: conservative). Record the real time to correct it."
                ),
                implied_by=implied[name],
            )
        elif name in (ClockEvent.LAST_REPORT_SENT.value, ClockEvent.DOCUMENTED.value) and last is not None:
            states[name] = EventState(name, last, "reports")
        else:
            states[name] = EventState(name, None, "missing", response_at=response.get(name), history=rows)
    return states


def clock_events(session: Session, incident: Incident) -> dict[str, datetime | None]:
    """Every clock event known for the incident, for the deadline function."""
    return {name: state.at for name, state in event_states(session, incident).items()}


def incident_snapshot(incident: Incident) -> dict[str, Any]:
    """The facts an assessor saw; compared later to flag a change that calls for reassessment."""
    return {
        "title": incident.title,
        "severity": incident.severity.value,
        "risk_domain": incident.risk_domain.value,
        "status": incident.status.value,
        "is_drill": incident.is_drill,
        "affected_models": list(incident.affected_models),
        "occurred_at": incident.occurred_at.isoformat() if incident.occurred_at else None,
        "aware_at": incident.aware_at.isoformat(),
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
    }


# Facts that can change what a regime's questions would be answered with (status and resolution only move
# clocks, which follow on their own).
RELEVANT = ("severity", "risk_domain", "affected_models", "is_drill", "occurred_at", "aware_at")


def _shown(value: Any) -> str:
    if isinstance(value, str) and len(value) > 18 and value[10:11] == "T":
        return value[:16].replace("T", " ") + " UTC"  # an ISO time from the snapshot
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    return "—" if value is None or value == "" else str(value)


def snapshot_changes(before: dict[str, Any], incident: Incident) -> list[str]:
    """Human-readable differences, in the facts that matter for reportability, between an assessment's
    snapshot and the incident now."""
    now = incident_snapshot(incident)
    return [
        f"{key.replace('_', ' ')}: {_shown(before[key])} → {_shown(now[key])}"
        for key in RELEVANT
        if key in before and before[key] != now[key]
    ]


@dataclass(frozen=True)
class IncidentFacts:
    """What a report draft is prefilled from (read under the response policy)."""

    incident: Incident
    timeline: list[TimelineEntry]
    actions: list[ResponseAction]
    review: PostIncidentReview | None
    review_items: list[ReviewActionItem]


def incident_facts(session: Session, actor: Actor, incident: Incident) -> IncidentFacts:
    timeline = list(
        session.execute(
            readable_timeline(actor).where(TimelineEntry.incident_id == incident.id).order_by(TimelineEntry.at)
        ).scalars()
    )
    actions = list(
        session.execute(
            readable_actions(actor)
            .where(ResponseAction.incident_id == incident.id)
            .order_by(ResponseAction.requested_at)
        ).scalars()
    )
    review = (
        session.execute(readable_reviews(actor).where(PostIncidentReview.incident_id == incident.id).limit(1))
        .scalars()
        .first()
    )
    items: list[ReviewActionItem] = []
    if review is not None:
        items = list(
            session.execute(
                select(ReviewActionItem)
                .where(ReviewActionItem.review_id == review.id)
                .order_by(ReviewActionItem.position)
            ).scalars()
        )
    return IncidentFacts(incident, timeline, actions, review, items)
