"""Reporting deadlines: one pure function from a regime, an assessment and recorded events to the
obligations that follow (regimes.md section 8).

Rules encoded here, none of them specific to a regime:

* One obligation per incident x regime x class x stage. Inside a regime the class due earliest governs
  (ties: severity rank, then file order); the stages after the initial report follow that class.
* Conservative ``due_at``: the earliest plausible reading, the clock start plus the deadline as elapsed
  time in UTC or the same local time that many days later in a recipient's zone (a clock change can make
  that an hour earlier). The legal day-end below never comes before both.
  ``legal_due_at`` is the reading the file's counting rule gives (``eu_1182_71``: skip the event day, end
  of the last day in the recipient's zone, weekend or listed holiday rolls to the next working day; hours
  never roll), the earliest over the stage's recipients. Alert on ``due_at``; show both.
* "Immediately" with a backstop: min(trigger + org SLA, start + deadline). An ``org_sla`` deadline is the
  org's SLA from the start. With no SLA given, "immediately" and "org SLA" mean at once.
* A start may be an expression (``earliest_of`` known events; ``latest_of`` once all are known). A start
  not yet recorded leaves the due unknown and names it in ``waiting_for``.
* Updates while unresolved: update k is due at the earlier of anchor + k x cadence and (update k-1 sent)
  + cadence. With the end event recorded, every update due before it; without, the updates sent so far
  plus the next one. Closing reports (final, summary) run from their anchor.
* Reclassification: clocks always run from the start events as first recorded, so a stricter class that
  is already past due shows as overdue at once; pass ``reclassified_at`` to record the later reading
  (the same allowance counted from the reclassification) beside it.

The function never reads the clock: "overdue" is for the caller to decide against its own ``now``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from signalfire.reporting.rules.assessment_engine import AssessmentResult
from signalfire.reporting.rules.clock_events import (
    EVENT_FROM_REPORT_STAGE,
    EVENT_IDS,
    ClockStart,
    render,
    resolve,
)
from signalfire.reporting.rules.regime_schema import (
    Confidence,
    Deadline,
    Immediately,
    IncidentClass,
    IsoDuration,
    Recipient,
    Regime,
    Sourced,
)


@dataclass(frozen=True, slots=True)
class ObligationSpec:
    """One report owed to one or more recipients.

    ``start_event`` is the clock event the due time runs from (``sent:<stage>`` when an update runs from
    the previous update sent); while waiting, the start expression. ``due_at``, ``legal_due_at`` and
    ``start_at`` are UTC, or None while ``waiting_for`` names the missing event. ``provisional`` is set
    when the report itself only possibly applies (unknown answers); a class that only possibly applies
    but governs because it is due first is named in ``basis``. ``sent_at`` echoes the matching
    entry of ``reports_sent``. The two reclassification fields are set only when ``reclassified_at`` is
    given, and only on the initial stage and the concurrent reports (the stages a stricter answer adds).
    """

    regime_id: str
    regime_version: str
    class_id: str
    stage: str
    recipients: tuple[str, ...]
    start_event: str
    start_at: datetime | None
    due_at: datetime | None
    legal_due_at: datetime | None
    basis: str
    waiting_for: str | None
    confidence: Confidence
    provisional: bool
    required_fields: tuple[str, ...]
    sent_at: datetime | None = None
    due_from_reclassification_at: datetime | None = None
    past_due_on_reclassification: bool = False
    # The instant urgency and reminders run on: trigger + org SLA where the text says "immediately",
    # else the due time. Never later than ``due_at``.
    target_at: datetime | None = None
    target_basis: str | None = None
    # Which reading gave ``due_at`` ("elapsed_utc" or "same_local_time"), and the other plausible
    # reading when it differs (shown beside it).
    due_reading: str | None = None
    alt_due_at: datetime | None = None
    alt_due_reading: str | None = None
    # A later occurrence of an open-ended series, shown ahead; recomputed on each filing.
    projected: bool = False


def compute_obligations(
    regime: Regime,
    assessment: AssessmentResult,
    events: Mapping[str, datetime | None],
    *,
    reports_sent: Sequence[tuple[str, datetime]] = (),
    org_sla: timedelta | None = None,
    reclassified_at: datetime | None = None,
) -> list[ObligationSpec]:
    """The obligations ``assessment`` creates under ``regime``, given the events recorded so far.

    ``events`` maps clock-event ids (``clock_events.ClockEvent``) to aware datetimes or None; the
    resolution of the incident is the ``resolved`` event (or whatever the file's stages name).
    ``reports_sent`` lists (stage, sent_at) with the stage names this function produces; the initial
    report sent also supplies ``initial_report_sent`` when ``events`` lacks it (the earlier wins).
    Output order: initial, concurrent reports, updates, closing reports. The regime's ``enabled`` flag
    is not consulted: pick the version with ``regime_loader.regime_in_force`` (a disabled file still
    computes, for audit). Raises ValueError for an assessment of another regime version, an unknown
    event id, a naive datetime or a negative SLA.
    """
    if (assessment.regime_id, assessment.regime_version) != (regime.id, regime.version):
        raise ValueError(
            f"assessment is for {assessment.regime_id} {assessment.regime_version}, not {regime.id} {regime.version}"
        )
    if org_sla is not None and org_sla < timedelta(0):
        raise ValueError("org_sla must not be negative")
    if reclassified_at is not None:
        reclassified_at = _utc(reclassified_at, "reclassified_at")
    sent = _sent_by_stage(reports_sent)
    runner = _Runner(regime, _clock_events(events, sent), org_sla)
    if not assessment.clock_classes:  # the engine's "not_reportable" has none
        return []

    governing, initial = _governing(
        set(assessment.classes), regime, runner, [regime.incident_class(c) for c in assessment.clock_classes]
    )
    # Provisional: the obligation itself may fall away once unknown answers are given.
    provisional = assessment.outcome == "undetermined"
    make = _Maker(regime, governing, sent, provisional, reclassified_at, governing.id not in assessment.classes)
    recipients = tuple(governing.recipients)
    out = [
        make.spec(
            "initial",
            "Initial report",
            initial,
            recipients,
            governing,
            regime.reports.initial.fields,
            reclassifiable=True,
        )
    ]

    possible_extra = set(assessment.possible_concurrent_reports)
    wanted = set(assessment.concurrent_reports) | possible_extra
    for rep in regime.reports.concurrent:
        if rep.id not in wanted:
            continue
        if rep.deadline.kind == "with_initial":
            clock = _Clock(
                initial.start_event,
                initial.start_at,
                initial.due,
                initial.waiting_for,
                "with the initial report",
                initial.target_at,
                initial.target_reading,
            )
        else:
            assert rep.start is not None  # the schema requires a start unless with_initial
            clock = runner.run(rep.start, rep.deadline, rep.recipients)
        out.append(
            make.spec(
                rep.id,
                rep.label,
                clock,
                tuple(rep.recipients),
                rep,
                rep.fields,
                reclassifiable=True,
                provisional=provisional or rep.id in possible_extra,
            )
        )

    updates = regime.reports.updates
    if updates is not None:
        series = runner.updates(updates.every, updates.anchor, updates.until, governing.recipients, sent)
        for stage, clock, projected in series:
            out.append(
                make.spec(
                    stage,
                    f"Update {stage.removeprefix('update-')}",
                    clock,
                    recipients,
                    updates,
                    updates.fields,
                    projected=projected,
                )
            )

    for name, closing in (("final", regime.reports.final), ("summary", regime.reports.summary)):
        if closing is not None:
            clock = runner.run(closing.anchor, closing.deadline, governing.recipients)
            out.append(
                make.spec(
                    name,
                    f"{name.capitalize()} report",
                    clock,
                    recipients,
                    closing,
                    closing.fields,
                )
            )
    return out


# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Due:
    """The readings of one period: ``due`` is the earliest plausible (the conservative legal latest),
    ``alt`` the other plausible reading when it differs, ``legal`` the counting rule's reading."""

    due: datetime
    reading: str  # "elapsed_utc" or "same_local_time"
    alt: datetime | None
    alt_reading: str | None
    legal: datetime


@dataclass(frozen=True, slots=True)
class _Clock:
    start_event: str
    start_at: datetime | None
    due: _Due | None
    waiting_for: str | None
    reading: str  # the rule in words, for the basis
    # Trigger + org SLA for "immediately" (never later than the due); None: the due itself.
    target_at: datetime | None = None
    target_reading: str | None = None

    @property
    def due_at(self) -> datetime | None:
        return self.due.due if self.due is not None else None

    @property
    def legal_due_at(self) -> datetime | None:
        return self.due.legal if self.due is not None else None


def _at_once(at: datetime) -> _Due:
    return _Due(at, "elapsed_utc", None, None, at)


class _Runner:
    """Evaluates clocks against one set of recorded events."""

    def __init__(self, regime: Regime, events: Mapping[str, datetime], org_sla: timedelta | None) -> None:
        self.regime = regime
        self.events = events
        self.org_sla = org_sla

    def run(
        self,
        start: ClockStart,
        deadline: Deadline,
        recipients: Sequence[str],
        immediately: Immediately | None = None,
    ) -> _Clock:
        """The legal due runs from ``start`` (the backstop); "immediately" only sets the target.

        regimes.md section 8: never store the target as the due time; lateness is judged on the due.
        """
        backstop = resolve(start, self.events)
        target_at: datetime | None = None
        target_reading: str | None = None
        if immediately is not None:
            trigger = resolve(immediately.trigger, self.events)
            if trigger.at is not None and trigger.event is not None:
                target_at = trigger.at + (self.org_sla or timedelta(0))
                target_reading = f"immediately after {trigger.event} ({_sla_words(self.org_sla)})"
        if backstop.at is None or backstop.event is None:
            return _Clock(
                render(start),
                None,
                None,
                render(start),
                f"{_deadline_words(deadline, self.org_sla)} from {render(start)}",
                target_at,
                target_reading,
            )
        due = self._due(backstop.at, deadline, recipients)
        words = f"{_deadline_words(deadline, self.org_sla)} from {backstop.event}"
        if immediately is not None:
            words = f"immediately after {render(immediately.trigger)}, at the latest {words}"
        if target_at is not None and target_at > due.due:
            target_at = due.due  # the target never runs past the legal latest
        return _Clock(backstop.event, backstop.at, due, None, words, target_at, target_reading)

    def initial(self, cls: IncidentClass) -> _Clock:
        return self.run(cls.start, cls.deadline, cls.recipients, cls.immediately)

    def updates(
        self,
        every: IsoDuration,
        anchor_expr: ClockStart,
        until_expr: ClockStart,
        recipients: Sequence[str],
        sent: Mapping[str, datetime],
    ) -> list[tuple[str, _Clock, bool]]:
        """(stage, clock, projected). While the series is open, the updates sent so far, the next one
        and ``SERIES_AHEAD - 1`` projected ones after it (recomputed on each filing and on the end)."""
        anchor, until = resolve(anchor_expr, self.events), resolve(until_expr, self.events)
        if anchor.at is None or anchor.event is None:
            if until.at is not None:
                return []  # ended before the anchor: nothing left to update
            clock = _Clock(
                render(anchor_expr),
                None,
                None,
                render(anchor_expr),
                f"{_words(every)} after {render(anchor_expr)}",
            )
            return [("update-1", clock, False)]
        last_sent = max((int(m.group(1)) for s in sent if (m := _UPDATE.match(s))), default=0)
        out: list[tuple[str, _Clock, bool]] = []
        previous: datetime | None = None  # when update k-1 was sent
        k = 1
        while True:
            grid = self._due_duration(anchor.at, every.times(k), recipients)
            options = [
                (anchor.event, anchor.at, grid, f"{_words(every.times(k))} ({k} x {every}) after {anchor.event}")
            ]
            if previous is not None:
                options.append(
                    (
                        f"sent:update-{k - 1}",
                        previous,
                        self._due_duration(previous, every, recipients),
                        f"{_words(every)} after update-{k - 1} was sent",
                    )
                )
            event, at, due, words = min(options, key=lambda o: o[2].due)
            if until.at is not None and due.due >= until.at:
                break
            if until.at is None and k > last_sent + SERIES_AHEAD:
                break
            legal = min(o[2].legal for o in options)
            due = _Due(due.due, due.reading, due.alt, due.alt_reading, legal)
            clock = _Clock(event, at, due, None, words + f", while {render(until_expr)} is not recorded")
            out.append((f"update-{k}", clock, until.at is None and k > last_sent + 1))
            previous = sent.get(f"update-{k}")
            k += 1
        return out

    def _due(self, start: datetime, deadline: Deadline, recipients: Sequence[str]) -> _Due:
        if deadline.duration is None:  # org_sla: elapsed, never rolled
            return _at_once(start + (self.org_sla or timedelta(0)))
        return self._due_duration(start, deadline.duration, recipients)

    def _due_duration(self, start: datetime, duration: IsoDuration, recipients: Sequence[str]) -> _Due:
        elapsed = duration.add_elapsed(start)
        if not duration.has_date_part:
            return _at_once(elapsed)  # hours are always elapsed and never roll
        zones = [self.regime.recipient(r) for r in recipients]
        local = min(_same_local_time(start, duration, ZoneInfo(r.time_zone)) for r in zones)
        if self.regime.counting.legal == "elapsed_utc":
            legal = elapsed
        else:
            legal = min(_legal_day_end(start, duration, r) for r in zones)
        plausible = sorted([(elapsed, "elapsed_utc"), (local, "same_local_time")])
        (first, first_reading), (second, second_reading) = plausible
        alt = (second, second_reading) if second != first else (None, None)
        # The legal day-end never comes first: in each zone the same local time on the last day is before
        # that day ends (rolling only moves the end later), so the earliest plausible reading is one of these.
        return _Due(first, first_reading, alt[0], alt[1], legal)


# How many occurrences of an open-ended series are shown ahead (the next one and projections).
SERIES_AHEAD = 3


def _same_local_time(start: datetime, duration: IsoDuration, zone: ZoneInfo) -> datetime:
    """The same wall-clock time ``duration``'s calendar days later in ``zone``. A repeated wall time (autumn)
    takes its first occurrence. A skipped one (spring) is reached at the change itself, the first instant
    the local clocks show that time or later: an earlier instant would read as a time the clocks still
    showed before it, and would let a later start give an earlier due."""
    local = start.astimezone(zone)
    day = duration.shift_date(local.date())
    wall = datetime.combine(day, local.time().replace(tzinfo=None))
    first, second = sorted(wall.replace(tzinfo=zone, fold=f).astimezone(UTC) for f in (0, 1))
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first  # the wall time exists (once, or twice: the first)
    lo, hi = first, second  # skipped: lo reads before the wall time, hi after; bisect to the change
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(zone).replace(tzinfo=None) >= wall:
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0)  # changes fall on whole seconds, and hi is less than 1 s past it


def _legal_day_end(start: datetime, duration: IsoDuration, recipient: Recipient) -> datetime:
    """Regulation 1182/71 Art. 3: the event day is not counted; the period ends with the last hour of
    its last day in the recipient's zone; a Saturday, Sunday or listed holiday rolls to the next
    working day."""
    zone = ZoneInfo(recipient.time_zone)
    last_day: date = duration.shift_date(start.astimezone(zone).date())
    holidays = set(recipient.holidays)
    while last_day.weekday() >= 5 or last_day in holidays:
        last_day += timedelta(days=1)
    return datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)


def _governing(
    definite: set[str], regime: Regime, runner: _Runner, candidates: Sequence[IncidentClass]
) -> tuple[IncidentClass, _Clock]:
    """The strictest candidate: earliest known due, then a class that applies over one that only may,
    then severity rank, then file order."""
    order = {c.id: i for i, c in enumerate(regime.classes)}
    timed = [(cls, runner.initial(cls)) for cls in candidates]

    def key(item: tuple[IncidentClass, _Clock]) -> tuple[datetime, bool, int, int]:
        cls, clock = item
        due = clock.due_at or datetime.max.replace(tzinfo=UTC)  # an unknown due sorts after every known one
        return due, cls.id not in definite, cls.severity_rank, order[cls.id]

    return min(timed, key=key)


class _Maker:
    """Builds specs with the fields every stage shares."""

    def __init__(
        self,
        regime: Regime,
        governing: IncidentClass,
        sent: Mapping[str, datetime],
        provisional: bool,
        reclassified_at: datetime | None,
        class_only_possible: bool,
    ) -> None:
        self.regime, self.governing, self.sent = regime, governing, sent
        self.provisional, self.reclassified_at = provisional, reclassified_at
        self.class_only_possible = class_only_possible

    def spec(
        self,
        stage: str,
        label: str,
        clock: _Clock,
        recipients: tuple[str, ...],
        rule: Sourced,
        fields: Sequence[str],
        *,
        reclassifiable: bool = False,
        provisional: bool | None = None,
        projected: bool = False,
    ) -> ObligationSpec:
        later: datetime | None = None
        past = False
        if (
            reclassifiable
            and self.reclassified_at is not None
            and clock.due_at is not None
            and clock.start_at is not None
        ):
            past = clock.due_at < self.reclassified_at
            counted_from_change = self.reclassified_at + (clock.due_at - clock.start_at)
            later = counted_from_change if counted_from_change > clock.due_at else None
        due = clock.due
        target = clock.target_at if clock.target_at is not None else clock.due_at
        return ObligationSpec(
            regime_id=self.regime.id,
            regime_version=self.regime.version,
            class_id=self.governing.id,
            stage=stage,
            recipients=recipients,
            start_event=clock.start_event,
            start_at=clock.start_at,
            due_at=clock.due_at,
            legal_due_at=clock.legal_due_at,
            basis=self._basis(label, clock, rule, past),
            waiting_for=clock.waiting_for,
            confidence=rule.confidence,
            provisional=self.provisional if provisional is None else provisional,
            required_fields=tuple(fields),
            sent_at=self.sent.get(stage),
            due_from_reclassification_at=later,
            past_due_on_reclassification=past,
            target_at=target,
            target_basis=clock.target_reading,  # set exactly when target_at is
            due_reading=due.reading if due is not None else None,
            alt_due_at=due.alt if due is not None else None,
            alt_due_reading=due.alt_reading if due is not None else None,
            projected=projected,
        )

    def _basis(self, label: str, clock: _Clock, rule: Sourced, past: bool) -> str:
        regime = f"{self.regime.id} {self.regime.version}"
        head = f"{label} under {regime}, class {self.governing.id}: {clock.reading}"
        source, confidence = rule.source, rule.confidence
        if clock.due is None or clock.start_at is None:
            text = f"{head}; waiting for {clock.waiting_for}. Source: {source} (confidence {confidence})."
            if clock.target_at is not None:
                text += f" Target: {_iso(clock.target_at)} ({clock.target_reading})."
            return text
        due = clock.due
        text = (
            f"{head}, started {_iso(clock.start_at)}, due {_iso(due.due)} ({_READINGS[due.reading]}). "
            f"Source: {source} (confidence {confidence})."
        )
        if due.alt is not None and due.alt_reading is not None:
            text += f" Other reading ({_READINGS[due.alt_reading]}): {_iso(due.alt)}."
        if due.legal != due.due:
            text += f" Legal reading ({self.regime.counting.legal}): {_iso(due.legal)}."
        if clock.target_at is not None and clock.target_at != due.due:
            text += f" Target: {_iso(clock.target_at)} ({clock.target_reading})."
        if self.class_only_possible:
            text += f" Class {self.governing.id} only possibly applies; its clock runs until it is ruled out."
        if past:
            text += " Already past due when the class was reclassified."
        return text


_READINGS = {
    "elapsed_utc": "elapsed time",
    "same_local_time": "same local time in the recipient's zone",
    "legal": "legal day-end",
}

_UPDATE = re.compile(r"^update-(\d+)$")


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)


def _sent_by_stage(reports_sent: Sequence[tuple[str, datetime]]) -> dict[str, datetime]:
    sent: dict[str, datetime] = {}
    for stage, at in reports_sent:
        at = _utc(at, f"reports_sent[{stage!r}]")
        sent[stage] = min(sent[stage], at) if stage in sent else at
    return sent


def _clock_events(events: Mapping[str, datetime | None], sent: Mapping[str, datetime]) -> dict[str, datetime]:
    clock: dict[str, datetime] = {}
    for key, at in events.items():
        if key not in EVENT_IDS:
            raise ValueError(f"unknown clock event {key!r}")
        if at is not None:
            clock[key] = _utc(at, key)
    for event, stage in EVENT_FROM_REPORT_STAGE.items():
        if stage in sent:
            clock[event] = min(clock[event], sent[stage]) if event in clock else sent[stage]
    return clock


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


_UNITS = (
    ("years", "year"),
    ("months", "month"),
    ("weeks", "week"),
    ("days", "day"),
    ("hours", "hour"),
    ("minutes", "minute"),
    ("seconds", "second"),
)


@lru_cache(maxsize=1024)
def _words(duration: IsoDuration) -> str:
    # Regimes use a handful of durations; a bulk fill asks for the same words 100,000 times.
    parts = [f"{n} {unit}{'s' if n != 1 else ''}" for attr, unit in _UNITS if (n := getattr(duration, attr))]
    return " ".join(parts) + f" ({duration})"


def _sla_words(org_sla: timedelta | None) -> str:
    if org_sla is None:
        return "no org SLA set: at once"
    minutes = int(org_sla.total_seconds()) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [
        f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute")) if n
    ]
    return "org SLA " + (" ".join(parts) or "0 minutes")


def _deadline_words(deadline: Deadline, org_sla: timedelta | None) -> str:
    if deadline.duration is not None:
        return _words(deadline.duration)
    return f"within the org's SLA ({_sla_words(org_sla)})"


__all__ = ["ObligationSpec", "compute_obligations"]
