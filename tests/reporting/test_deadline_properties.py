"""Properties of assessment and deadlines over every packaged regime (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signalfire.reporting.rules.assessment_engine import Answer, AssessmentResult, assess
from signalfire.reporting.rules.clock_events import EVENT_IDS, render
from signalfire.reporting.rules.deadlines import ObligationSpec, compute_obligations
from signalfire.reporting.rules.regime_loader import load_all
from signalfire.reporting.rules.regime_schema import Regime

ALL = [r for versions in load_all().values() for r in versions]
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# hypothesis takes naive bounds and attaches the zone itself
EARLIEST = datetime(2025, 1, 1)  # noqa: DTZ001
LATEST = datetime(2029, 12, 31)  # noqa: DTZ001
instants = st.datetimes(min_value=EARLIEST, max_value=LATEST, timezones=st.just(UTC))
slas = st.none() | st.integers(min_value=0, max_value=30 * 24).map(lambda h: timedelta(hours=h))


@st.composite
def incidents(
    draw: st.DrawFn,
) -> tuple[Regime, dict[str, Answer], dict[str, datetime | None], timedelta | None, list[tuple[str, datetime]]]:
    regime = draw(st.sampled_from(ALL))
    answers: dict[str, Answer] = {q: draw(st.sampled_from(["yes", "no", "unknown"])) for q in regime.question_ids()}
    events = {e: draw(st.none() | instants) for e in sorted(regime.referenced_events())}
    stages = ["initial", "update-1", "update-2", "update-3"]
    sent = [(s, draw(instants)) for s in stages if draw(st.booleans())]
    return regime, answers, events, draw(slas), sent


def forced(regime: Regime, classes: tuple[str, ...]) -> AssessmentResult:
    """An assessment naming exactly these classes, as if the answers had chosen them."""
    return AssessmentResult(regime.id, regime.version, "reportable", classes, (), (), (), (), ())


def initial_due(
    regime: Regime, classes: tuple[str, ...], events: dict[str, datetime | None], sla: timedelta | None
) -> datetime | None:
    found = compute_obligations(regime, forced(regime, classes), events, org_sla=sla)
    return next(o.due_at for o in found if o.stage == "initial")


@FAST
@given(data=st.data(), events=st.dictionaries(st.sampled_from(sorted(EVENT_IDS)), instants), sla=slas)
def test_a_stricter_class_is_never_due_later(
    data: st.DataObject, events: dict[str, datetime | None], sla: timedelta | None
) -> None:
    regime = data.draw(st.sampled_from(ALL))
    ids = [c.id for c in regime.classes]
    chosen = tuple(data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=len(ids), unique=True)))
    extra = data.draw(st.sampled_from(ids))
    # Adding a class can only bring the initial report forward: the strictest wins.
    with_extra = initial_due(regime, (*chosen, extra), events, sla)
    alone = initial_due(regime, chosen, events, sla)
    if alone is not None:
        assert with_extra is not None and with_extra <= alone
    # Classes that share a clock are due in rank order.
    for a in regime.classes:
        for b in regime.classes:
            same_clock = render(a.start) == render(b.start) and a.immediately == b.immediately
            if same_clock and a.severity_rank < b.severity_rank:
                due_a, due_b = (
                    initial_due(regime, (a.id,), events, sla),
                    initial_due(regime, (b.id,), events, sla),
                )
                assert (due_a is None) == (due_b is None)
                if due_a is not None and due_b is not None:
                    assert due_a <= due_b


def check_times(obligation: ObligationSpec) -> None:
    if obligation.due_at is None:
        assert obligation.waiting_for is not None and obligation.legal_due_at is None
        return
    assert obligation.waiting_for is None and obligation.start_at is not None
    assert obligation.legal_due_at is not None
    assert obligation.start_at <= obligation.due_at <= obligation.legal_due_at
    for instant in (obligation.start_at, obligation.due_at, obligation.legal_due_at):
        assert instant.utcoffset() == timedelta(0)


@FAST
@given(incident=incidents())
def test_never_due_before_the_clock_starts_and_never_after_the_legal_reading(
    incident: tuple[
        Regime, dict[str, Answer], dict[str, datetime | None], timedelta | None, list[tuple[str, datetime]]
    ],
) -> None:
    regime, answers, events, sla, sent = incident
    result = assess(regime, answers)
    found = compute_obligations(regime, result, events, org_sla=sla, reports_sent=sent)
    assert (result.outcome == "not_reportable") == (found == [])
    keys = [(o.regime_id, o.regime_version, o.class_id, o.stage) for o in found]
    assert len(keys) == len(set(keys))  # one obligation per regime x class x stage
    for obligation in found:
        check_times(obligation)
        assert obligation.class_id in result.clock_classes


@FAST
@given(incident=incidents(), noise=st.dictionaries(st.sampled_from(sorted(EVENT_IDS)), st.none() | instants))
def test_stable_under_re_evaluation_and_unrelated_events(
    incident: tuple[
        Regime, dict[str, Answer], dict[str, datetime | None], timedelta | None, list[tuple[str, datetime]]
    ],
    noise: dict[str, datetime | None],
) -> None:
    regime, answers, events, sla, sent = incident
    result = assess(regime, answers)
    assert assess(regime, dict(reversed(list(answers.items())))) == result
    first = compute_obligations(regime, result, events, org_sla=sla, reports_sent=sent)
    assert compute_obligations(regime, result, events, org_sla=sla, reports_sent=sent) == first
    reordered = dict(reversed(list(events.items())))
    assert compute_obligations(regime, result, reordered, org_sla=sla, reports_sent=list(reversed(sent))) == first
    # Events this regime never reads change nothing (the initial report sent is read through reports_sent).
    unrelated = {k: v for k, v in noise.items() if k not in regime.referenced_events() and k != "initial_report_sent"}
    assert compute_obligations(regime, result, {**events, **unrelated}, org_sla=sla, reports_sent=sent) == first


@FAST
@given(incident=incidents(), data=st.data())
def test_answering_an_unknown_only_narrows_the_assessment(
    incident: tuple[
        Regime, dict[str, Answer], dict[str, datetime | None], timedelta | None, list[tuple[str, datetime]]
    ],
    data: st.DataObject,
) -> None:
    regime, answers, _, _, _ = incident
    before = assess(regime, answers)
    unknown = [q for q, a in answers.items() if a == "unknown"]
    if not unknown:
        return
    question = data.draw(st.sampled_from(unknown))
    value: Answer = data.draw(st.sampled_from(["yes", "no"]))
    after = assess(regime, {**answers, question: value})
    # What applied still applies; what could not apply still cannot; settled outcomes stay settled.
    assert set(before.classes) <= set(after.classes)
    assert set(after.clock_classes) <= set(before.clock_classes)
    if before.outcome != "undetermined":
        assert after.outcome == before.outcome
    # A question not listed as missing changes nothing when answered on its own.
    if question not in before.missing:
        assert (after.outcome, after.classes, after.possible_classes) == (
            before.outcome,
            before.classes,
            before.possible_classes,
        )
