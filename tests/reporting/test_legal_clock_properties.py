"""Properties of the legal clock over every packaged regime (issue 12; regimes.md section 8), with starts
drawn both at random and close to the clock changes of every recipient zone.

The properties come from the rules, not from the engine: the target is never after the legal latest;
moving a clock start later never brings a deadline forward; a due time that cannot be computed says which
recorded fact it waits for; the other reading shown beside the due is never earlier than it; a day period
is never later than its elapsed reading nor more than the one-hour clock change earlier; hours never move.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signalfire.reporting.rules.assessment_engine import Answer, AssessmentResult, assess
from signalfire.reporting.rules.clock_events import EVENT_IDS, referenced_events
from signalfire.reporting.rules.deadlines import ObligationSpec, compute_obligations
from signalfire.reporting.rules.regime_loader import load_all
from signalfire.reporting.rules.regime_schema import IncidentClass, IsoDuration, Regime
from tests.reporting.test_deadlines import cop, regime, run, utc

ALL = [r for versions in load_all().values() for r in versions]
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Clock changes in the recipient zones (UTC): EU last Sunday of March/October at 01:00 UTC; Los Angeles and
# New York at 02:00 local on the second Sunday of March and the first Sunday of November.
EU = [utc(2026, 3, 29, 1), utc(2026, 10, 25, 1), utc(2027, 3, 28, 1), utc(2027, 10, 31, 1)]
CHANGES = {
    "Europe/Brussels": EU,
    "Europe/Helsinki": EU,
    "America/Los_Angeles": [utc(2026, 3, 8, 10), utc(2026, 11, 1, 9)],  # PST -> PDT, PDT -> PST
    "America/New_York": [utc(2027, 3, 14, 7), utc(2027, 11, 7, 6)],  # EST -> EDT, EDT -> EST
}
TRANSITIONS = sorted({t for changes in CHANGES.values() for t in changes})

# hypothesis takes naive bounds and attaches the zone itself
uniform = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2029, 12, 31), timezones=st.just(UTC))  # noqa: DTZ001
# A start some whole days before a change, give or take three hours: the period then ends near it.
near_change = st.builds(
    lambda t, days, minutes: t - timedelta(days=days) + timedelta(minutes=minutes),
    st.sampled_from(TRANSITIONS),
    st.integers(min_value=0, max_value=90),
    st.integers(min_value=-180, max_value=180),
)
instants = uniform | near_change
slas = st.none() | st.integers(min_value=0, max_value=40 * 24 * 60).map(lambda m: timedelta(minutes=m))
STAGES = ["initial", "update-1", "update-2", "update-3", "final", "summary"]
EXPRESSION = re.compile(r"^(earliest_of|latest_of)\((.+)\)$")


@st.composite
def incidents(
    draw: st.DrawFn,
) -> tuple[Regime, dict[str, Answer], dict[str, datetime | None], timedelta | None, list[tuple[str, datetime]]]:
    r = draw(st.sampled_from(ALL))
    answers: dict[str, Answer] = {q: draw(st.sampled_from(["yes", "no", "unknown"])) for q in r.question_ids()}
    events = {e: draw(st.none() | instants) for e in sorted(r.referenced_events())}
    sent = [(s, draw(instants)) for s in STAGES[:4] if draw(st.booleans())]
    return r, answers, events, draw(slas), sent


Incident = tuple[Regime, dict[str, Answer], dict[str, datetime | None], timedelta | None, list[tuple[str, datetime]]]


def obligations(incident: Incident, reclassified_at: datetime | None = None) -> list[ObligationSpec]:
    r, answers, events, sla, sent = incident
    return compute_obligations(
        r, assess(r, answers), events, org_sla=sla, reports_sent=sent, reclassified_at=reclassified_at
    )


@PROPS
@given(incident=incidents(), reclassified_at=st.none() | instants)
def test_the_target_is_never_after_the_legal_latest(incident: Incident, reclassified_at: datetime | None) -> None:
    for o in obligations(incident, reclassified_at):
        if o.target_at is not None and o.due_at is not None:
            assert o.target_at <= o.due_at, o.basis
        if o.due_at is not None:
            assert o.target_at is not None  # a running clock always has an instant for urgency


@PROPS
@given(incident=incidents())
def test_a_missing_due_names_the_fact_it_waits_for(incident: Incident) -> None:
    r, _, events, _, sent = incident
    known = {e for e, at in events.items() if at is not None}
    if any(stage == "initial" for stage, _ in sent):
        known.add("initial_report_sent")  # the report sent supplies the event
    readable = r.referenced_events() | {"initial_report_sent"}
    for o in obligations(incident):
        if o.due_at is not None:
            assert o.waiting_for is None and o.start_at is not None
            continue
        assert o.waiting_for, o.basis
        match = EXPRESSION.match(o.waiting_for)
        names = [n.strip() for n in match.group(2).split(",")] if match else [o.waiting_for]
        assert names and set(names) <= set(EVENT_IDS) and set(names) <= readable, o.waiting_for
        missing = [n for n in names if n not in known]
        # earliest_of waits only while none is known; latest_of and a single event while one is missing.
        if match and match.group(1) == "earliest_of":
            assert missing == names, o.waiting_for
        else:
            assert missing, o.waiting_for


@PROPS
@given(incident=incidents())
def test_the_other_reading_is_never_earlier_than_the_due(incident: Incident) -> None:
    readings = {"elapsed_utc", "same_local_time", "legal"}
    for o in obligations(incident):
        if o.due_at is None:
            assert o.alt_due_at is None and o.due_reading is None
            continue
        assert o.due_reading in readings
        assert (o.alt_due_at is None) == (o.alt_due_reading is None)
        if o.alt_due_at is not None:
            assert o.alt_due_at > o.due_at and o.alt_due_reading in readings - {o.due_reading}
        assert o.legal_due_at is not None and o.due_at <= o.legal_due_at


def forced(r: Regime, cls: IncidentClass) -> AssessmentResult:
    """An assessment naming exactly one class, as if the answers had chosen it."""
    return AssessmentResult(r.id, r.version, "reportable", (cls.id,), (), (), (), (), ())


def timed_classes() -> list[tuple[Regime, IncidentClass]]:
    return [(r, c) for r in ALL for c in r.classes if c.deadline.duration is not None]


def initial_due(r: Regime, cls: IncidentClass, start: datetime, sla: timedelta | None) -> ObligationSpec:
    events: dict[str, datetime | None] = {e: start for e in referenced_events(cls.start)}
    found = compute_obligations(r, forced(r, cls), events, org_sla=sla)
    return next(o for o in found if o.stage == "initial")


def elapsed(duration: IsoDuration) -> timedelta:
    assert not (duration.years or duration.months)  # no packaged clock counts in months or years
    return timedelta(weeks=duration.weeks, days=duration.days, hours=duration.hours, minutes=duration.minutes)


minutes = st.integers(min_value=0, max_value=6 * 60).map(lambda m: timedelta(minutes=m))


def around_a_change(r: Regime, cls: IncidentClass) -> st.SearchStrategy[tuple[datetime, timedelta]]:
    """A start whose period (read as elapsed time) ends within an hour of a clock change, and a later start
    up to an hour after it: the pairs where a skipped or repeated wall time can matter."""
    duration = cls.deadline.duration
    assert duration is not None
    zones = {r.recipient(rid).time_zone for rid in cls.recipients}
    changes = sorted({t for z in zones for t in CHANGES.get(z, [])}) or TRANSITIONS
    return st.builds(
        lambda t, before, later: (t - elapsed(duration) + timedelta(minutes=before), timedelta(minutes=later)),
        st.sampled_from(changes),
        st.integers(min_value=-60, max_value=60),
        st.integers(min_value=0, max_value=60),
    )


@settings(PROPS, max_examples=300)
@given(pick=st.sampled_from(timed_classes()), data=st.data(), sla=slas)
def test_a_later_start_never_brings_the_due_forward(
    pick: tuple[Regime, IncidentClass], data: st.DataObject, sla: timedelta | None
) -> None:
    r, cls = pick
    start, later_by = data.draw(st.tuples(instants, minutes) | around_a_change(r, cls), label="starts")
    first, second = initial_due(r, cls, start, sla), initial_due(r, cls, start + later_by, sla)
    assert first.due_at is not None and second.due_at is not None
    assert second.due_at >= first.due_at, (first.basis, second.basis)


@PROPS
@given(pick=st.sampled_from(timed_classes()), start=instants)
def test_days_end_between_an_hour_early_and_the_elapsed_reading_and_hours_never_move(
    pick: tuple[Regime, IncidentClass], start: datetime
) -> None:
    r, cls = pick
    duration = cls.deadline.duration
    assert duration is not None
    due = initial_due(r, cls, start, None).due_at
    assert due is not None
    if duration.has_date_part:
        # Same local time differs from elapsed by at most a one-hour clock change; a legal day-end comes after
        # the same local time on the last day, so it can only be earlier through that same hour.
        assert start + elapsed(duration) - timedelta(hours=1) <= due <= start + elapsed(duration)
    else:
        assert due == start + elapsed(duration)


@PROPS
@given(
    anchor=instants,
    later_by=minutes,
    resolved_after=st.none() | st.integers(min_value=1, max_value=200).map(lambda d: timedelta(days=d)),
)
def test_a_later_initial_report_never_brings_an_update_or_the_final_forward(
    anchor: datetime, later_by: timedelta, resolved_after: timedelta | None
) -> None:
    aware = anchor - timedelta(days=3)

    def dues(sent_at: datetime) -> dict[str, datetime | None]:
        events: dict[str, datetime | None] = {"aware_of_model_involvement": aware}
        if resolved_after is not None:
            events["resolved"] = anchor + resolved_after + later_by  # resolved after both sendings
        got = run("eu-gpai-cop-c9", cop(death="yes"), events, reports_sent=[("initial", sent_at)])
        return {s: o.due_at for s, o in got.items() if s != "initial"}

    first, second = dues(anchor), dues(anchor + later_by)
    for stage, due in first.items():
        if stage in second and due is not None:
            later = second[stage]
            assert later is not None and later >= due, stage


def test_due_is_monotone_across_a_wall_time_skipped_by_the_spring_change() -> None:
    # Code, CI disruption, 2 days. Start Friday 27 March 2026, 00:59 UTC (01:59 CET, 02:59 EET): on Sunday
    # 29 March 01:59 CET / 02:59 EET still exist, so the due is 00:59 UTC. One minute later (02:00 CET,
    # 03:00 EET) the wall time falls in the gap the change skips. Whatever reading a skipped time gets, the due
    # must not jump back before 00:59 UTC: the clock started later. The moment local clocks pass that wall
    # time is the change itself, 01:00 UTC.
    ci = next(c for c in regime("eu-gpai-cop-c9").classes if c.id == "ci_disruption")
    before = initial_due(regime("eu-gpai-cop-c9"), ci, utc(2026, 3, 27, 0, 59), None).due_at
    after = initial_due(regime("eu-gpai-cop-c9"), ci, utc(2026, 3, 27, 1, 0), None).due_at
    assert before == utc(2026, 3, 29, 0, 59)
    assert after is not None and after >= before, f"due moved back to {after} when the start moved later"
