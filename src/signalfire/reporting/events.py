"""Recording clock-start events on an incident (regimes.md section 8): each separately, in UTC, with
who recorded it and the evidence for it. A correction is a new recording; nothing is overwritten.

Every recording has two times: ``at``, when it happened (a fact learned late, or entered after the
fact, carries its real time), and ``recorded_at``, when it was entered. A fact the response record
already carries (awareness, containment, resolution ...) flows in by itself; recording it here overrides
the response record's time and needs a reason."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.permissions import Permission
from signalfire.access.policy import require
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import ValidationFailed
from signalfire.reporting.facts import RESPONSE_FACTS, clock_events
from signalfire.reporting.models import RecordedClockEvent
from signalfire.reporting.rules.clock_events import DESCRIPTIONS, ClockEvent
from signalfire.response.models import Incident

# Recorded times may run this far ahead of our clock (another machine's clock, a slow form).
CLOCK_SKEW = timedelta(minutes=2)
MAX_EVIDENCE = 5000

# Events a person records; the others follow from reports sent or from the records themselves.
RECORDABLE: tuple[ClockEvent, ...] = tuple(
    e
    for e in ClockEvent
    if e not in (ClockEvent.INITIAL_REPORT_SENT, ClockEvent.LAST_REPORT_SENT, ClockEvent.DOCUMENTED)
)
# Moments of learning about the incident: none can come after its resolution.
AWARENESS: frozenset[str] = frozenset(
    {
        ClockEvent.AWARE_OF_INCIDENT,
        ClockEvent.AWARE_OF_MODEL_INVOLVEMENT,
        ClockEvent.CAUSAL_LINK_SUSPECTED,
        ClockEvent.CAUSAL_LINK_CONFIRMED,
        ClockEvent.DETERMINED,
        ClockEvent.REASONABLE_BELIEF,
        ClockEvent.DISCOVERED,
    }
)


def describe(event: str) -> str:
    try:
        return DESCRIPTIONS[ClockEvent(event)]
    except ValueError:
        return event


def incident_start(incident: Incident) -> datetime:
    """The incident's earliest known instant: nothing about it (but its occurrence) can come before."""
    return min(t for t in (incident.occurred_at, incident.aware_at) if t is not None)


def check_event_time(
    event: str, at: datetime, known: dict[str, datetime | None], now: datetime, *, field: str = "at"
) -> None:
    """Refuse a time that contradicts the others: in the future, awareness after resolution (or a
    resolution before awareness), an occurrence after awareness of it."""
    try:
        _check_event_time(event, at, known, now)
    except ValidationFailed as exc:
        if field == "at":
            raise
        raise ValidationFailed.single(field, exc.errors[0].message) from None


def _check_event_time(event: str, at: datetime, known: dict[str, datetime | None], now: datetime) -> None:
    if at > now + CLOCK_SKEW:
        raise ValidationFailed.single("at", "The time is in the future.")
    resolved = known.get(ClockEvent.RESOLVED)
    if event in AWARENESS and resolved is not None and at > resolved:
        raise ValidationFailed.single(
            "at", f"Awareness ({event}) cannot come after the incident's resolution at {resolved:%Y-%m-%d %H:%M} UTC."
        )
    if event == ClockEvent.RESOLVED:
        later = sorted((e, t) for e, t in known.items() if e in AWARENESS and t is not None and t > at)
        if later:
            e, t = later[0]
            raise ValidationFailed.single(
                "at", f"The resolution cannot come before awareness ({e} at {t:%Y-%m-%d %H:%M} UTC)."
            )
    aware = known.get(ClockEvent.AWARE_OF_INCIDENT)
    if event == ClockEvent.OCCURRED and aware is not None and at > aware:
        raise ValidationFailed.single("at", "The incident cannot have occurred after the org became aware of it.")
    occurred = known.get(ClockEvent.OCCURRED)
    if event == ClockEvent.AWARE_OF_INCIDENT and occurred is not None and at < occurred:
        raise ValidationFailed.single("at", "Awareness of the incident cannot come before it occurred.")


def record_event(
    session: Session,
    actor: Actor,
    incident: Incident,
    *,
    event: str,
    at: datetime,
    evidence: str,
    reason: str = "",
    source: str = "person",
    field: str = "at",
) -> RecordedClockEvent:
    """Record one clock event. Callers recompute the incident's obligations afterwards.

    ``field`` names the form field errors point at (an assessment form asks for several times)."""
    require(actor, Permission.reporting_assessment_write)
    if event not in {e.value for e in RECORDABLE}:
        raise ValidationFailed.single("event", f"Not a recordable clock event: {event!r}.")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValidationFailed.single(field, "The time must include a time zone (UTC).")
    evidence = evidence.strip()
    reason = reason.strip()
    if not evidence:
        raise ValidationFailed.single("evidence", "Say what shows this time (a log line, a ticket, a message).")
    if len(evidence) > MAX_EVIDENCE:
        raise ValidationFailed.single("evidence", f"At most {MAX_EVIDENCE} characters.")
    if len(reason) > MAX_EVIDENCE:
        raise ValidationFailed.single("reason", f"At most {MAX_EVIDENCE} characters.")
    now = utcnow()
    at = at.astimezone(now.tzinfo)
    if event != ClockEvent.OCCURRED and at < incident_start(incident) - CLOCK_SKEW:
        raise ValidationFailed.single(
            field, f"The time is before the incident ({incident_start(incident):%Y-%m-%d %H:%M} UTC)."
        )
    known = clock_events(session, incident)
    known.pop(event, None)  # a correction replaces the event's own earlier time
    check_event_time(event, at, known, now, field=field)
    from_response = getattr(incident, RESPONSE_FACTS[event]) if event in RESPONSE_FACTS else None
    if from_response is not None and from_response != at and not reason:
        raise ValidationFailed.single(
            "reason",
            f"The response record already says {from_response:%Y-%m-%d %H:%M} UTC for this; "
            "say why reporting should use another time (it is kept with the record).",
        )
    # The latest recording of an event is the one in force: keep recording times strictly increasing per
    # incident, so two recordings in the same clock tick (a frozen clock, a coarse one) still have an order.
    last = session.execute(
        select(func.max(RecordedClockEvent.recorded_at)).where(RecordedClockEvent.incident_id == incident.id)
    ).scalar_one()
    recorded_at = max(now, last + timedelta(microseconds=1)) if last is not None else now
    row = RecordedClockEvent(
        org_id=incident.org_id,
        incident_id=incident.id,
        event=event,
        at=at,
        evidence=evidence,
        source=source,
        reason=reason,
        recorded_at=recorded_at,
        recorded_by=actor.user_id,
        recorded_by_label=actor.display_name,
    )
    session.add(row)
    session.flush()
    record(
        session,
        action="reporting.clock_event.record",
        target_type="response_incident",
        target_id=incident.id,
        actor=actor,
        summary={
            "event": event,
            "at": at,
            "recorded_at": now,
            "source": source,
            "evidence": evidence[:300],
            "reason": reason[:300],
            "overrides_response": from_response,
            "reference": incident.reference,
        },
    )
    return row
