"""The legal clock, rule by rule and regime by regime (issue 12; regimes.md section 8).

Every expected instant below was worked out by hand from regimes.md and the regime files, never read
back from the engine. The derivation sits next to each assertion. Times are UTC unless a comment says
otherwise; local times are given with their zone's abbreviation (CET/CEST Brussels, EET/EEST Helsinki,
PST/PDT Los Angeles, EST/EDT New York, CST Shanghai).

Clock changes used: EU, last Sunday of March and October at 01:00 UTC (29 March and 25 October 2026;
28 March and 31 October 2027). US, 02:00 local on the second Sunday of March and the first Sunday of
November (8 March and 1 November 2026; 14 March and 7 November 2027). China keeps UTC+8 all year.

Readings (section 8): the conservative due is the earlier of the start plus the period as elapsed time
and the same local wall-clock time N calendar days later in each recipient's zone; a legal day-end
(Regulation 1182/71 for the EU files) that falls earlier still wins. Hours are always elapsed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from signalfire.reporting.rules.assessment_engine import assess
from signalfire.reporting.rules.deadlines import ObligationSpec, compute_obligations
from signalfire.reporting.rules.regime_schema import Deadline, IsoDuration
from tests.reporting.test_deadlines import a73, cac, cop, regime, run, sb53, utc

COP = "eu-gpai-cop-c9"
A73 = "eu-ai-act-art73"
SB53 = "us-ca-sb53"
RAISE = "us-ny-raise"
RAISE_2026 = "2026-03-27"  # the amended text, in force 2027-01-01
CAC = "cn-cac-cyber-incident"


def updates(got: Mapping[str, object]) -> list[str]:
    return [stage for stage in got if stage.startswith("update-")]


def on_time(spec: ObligationSpec, sent: datetime) -> bool:
    """Filed on time: judged against the legal latest (due_at), never the target (s. 8)."""
    assert spec.due_at is not None
    return sent <= spec.due_at


# -- EU GPAI Code of Practice, Commitment 9 (AI Office: Brussels; NCAs: Helsinki) ------------------------


def test_cop_has_no_immediately_clause_so_the_target_is_the_due_even_with_an_sla() -> None:
    # Tuesday 3 March 2026, 10:00 UTC (11:00 CET, 12:00 EET); death, 10 days (M9.3). No clock change
    # before 29 March, so elapsed and same local time agree: Friday 13 March, 10:00 UTC.
    got = run(COP, cop(death="yes"), {"aware_of_model_involvement": utc(2026, 3, 3, 10)}, org_sla=timedelta(hours=1))
    initial = got["initial"]
    assert (initial.due_at, initial.due_reading, initial.alt_due_at) == (utc(2026, 3, 13, 10), "elapsed_utc", None)
    assert initial.target_at == initial.due_at and initial.target_basis is None
    # 1182/71: day 10 is Friday 13 March, ending at midnight EET in Helsinki (22:00 UTC).
    assert initial.legal_due_at == utc(2026, 3, 13, 22)
    sent = utc(2026, 3, 13, 9, 59)
    assert on_time(initial, sent)  # filed a minute inside the deadline
    assert not on_time(initial, utc(2026, 3, 13, 10, 1))


def test_cop_spring_clock_change_makes_the_same_local_time_an_hour_earlier() -> None:
    # Tuesday 24 March 2026, 10:00 UTC = 11:00 CET = 12:00 EET. Cyber breach, 5 days: Sunday 29 March,
    # the day both zones move forward at 01:00 UTC. 11:00 CEST and 12:00 EEST are both 09:00 UTC; elapsed
    # 120 hours is 10:00 UTC.
    initial = run(COP, cop(cyber_breach="yes"), {"aware_of_model_involvement": utc(2026, 3, 24, 10)})["initial"]
    assert initial.class_id == "cyber_breach"
    assert (initial.due_at, initial.due_reading) == (utc(2026, 3, 29, 9), "same_local_time")
    assert (initial.alt_due_at, initial.alt_due_reading) == (utc(2026, 3, 29, 10), "elapsed_utc")
    # 1182/71: day 5 is a Sunday, rolled to Monday 30 March, ending at midnight EEST (21:00 UTC).
    assert initial.legal_due_at == utc(2026, 3, 30, 21)
    assert initial.target_at == initial.due_at


def test_cop_autumn_clock_change_keeps_the_elapsed_reading() -> None:
    # Thursday 22 October 2026, 10:00 UTC = 12:00 CEST = 13:00 EEST. Death, 10 days: Sunday 1 November,
    # after the 25 October change. Elapsed: 10:00 UTC; 12:00 CET / 13:00 EET: 11:00 UTC, an hour later.
    initial = run(COP, cop(death="yes"), {"aware_of_model_involvement": utc(2026, 10, 22, 10)})["initial"]
    assert (initial.due_at, initial.due_reading) == (utc(2026, 11, 1, 10), "elapsed_utc")
    assert (initial.alt_due_at, initial.alt_due_reading) == (utc(2026, 11, 1, 11), "same_local_time")
    # 1182/71: Sunday rolls to Monday 2 November, midnight EET = 22:00 UTC.
    assert initial.legal_due_at == utc(2026, 11, 2, 22)


def test_cop_wall_time_skipped_by_the_spring_change_ends_at_the_change() -> None:
    # Friday 27 March 2026, 01:30 UTC = 02:30 CET = 03:30 EET. CI disruption, 2 days: Sunday 29 March, when
    # 02:30 in Brussels and 03:30 in Helsinki never show: at 01:00 UTC clocks jump from 02:00 CET to 03:00 CEST
    # (03:00 EET to 04:00 EEST). The earliest instant at which the local clocks have reached that wall time
    # is the change itself, 01:00 UTC, half an hour before the elapsed 01:30 UTC.
    # Not 00:30 UTC (02:30 read with the summer offset, when the clocks still show 01:30 CET): that reading
    # puts the due before a start one minute earlier gets (see test_legal_clock_properties,
    # test_due_is_monotone_across_a_wall_time_skipped_by_the_spring_change).
    initial = run(COP, cop(ci_disruption="yes"), {"aware_of_model_involvement": utc(2026, 3, 27, 1, 30)})["initial"]
    assert (initial.due_at, initial.due_reading) == (utc(2026, 3, 29, 1), "same_local_time")
    assert initial.alt_due_at == utc(2026, 3, 29, 1, 30)


def test_cop_wall_time_repeated_by_the_autumn_change_takes_the_earlier_reading() -> None:
    # Friday 23 October 2026, 00:30 UTC = 02:30 CEST = 03:30 EEST. CI disruption, 2 days: Sunday 25 October,
    # when 02:30 Brussels and 03:30 Helsinki occur twice (00:30 UTC in summer time, 01:30 UTC in winter
    # time). The earlier, 00:30 UTC, equals the elapsed reading: one reading only.
    initial = run(COP, cop(ci_disruption="yes"), {"aware_of_model_involvement": utc(2026, 10, 23, 0, 30)})["initial"]
    assert (initial.due_at, initial.alt_due_at) == (utc(2026, 10, 25, 0, 30), None)


def test_cop_updates_unresolved_show_the_next_and_two_projected() -> None:
    # Aware Monday 2 February 2026; initial report sent Monday 9 February, 14:00 UTC (15:00 CET, 16:00 EET).
    aware = {"aware_of_model_involvement": utc(2026, 2, 2, 9)}
    got = run(COP, cop(death="yes"), aware, reports_sent=[("initial", utc(2026, 2, 9, 14))])
    assert updates(got) == ["update-1", "update-2", "update-3"]
    # update-1: 4 weeks on, Monday 9 March 14:00 UTC (still winter time: both readings agree).
    # update-2: 8 weeks, Monday 6 April: 15:00 CEST / 16:00 EEST = 13:00 UTC, before elapsed 14:00.
    # update-3: 12 weeks, Monday 4 May, 13:00 UTC likewise.
    expected = [
        ("update-1", utc(2026, 3, 9, 14), False),
        ("update-2", utc(2026, 4, 6, 13), True),
        ("update-3", utc(2026, 5, 4, 13), True),
    ]
    assert [(s, got[s].due_at, got[s].projected) for s in updates(got)] == expected
    assert got["update-1"].start_event == "initial_report_sent"
    assert got["update-2"].alt_due_at == utc(2026, 4, 6, 14)
    # 1182/71 for weeks: the same weekday 4 weeks on, Monday 9 March, midnight EET = 22:00 UTC.
    assert got["update-1"].legal_due_at == utc(2026, 3, 9, 22)
    assert all(got[s].target_at == got[s].due_at for s in updates(got))
    assert got["final"].due_at is None and got["final"].waiting_for == "resolved"


def test_cop_an_early_update_moves_the_next_one_forward() -> None:
    aware = {"aware_of_model_involvement": utc(2026, 2, 2, 9)}
    sent = [("initial", utc(2026, 2, 9, 14)), ("update-1", utc(2026, 3, 2, 14))]  # a week early
    got = run(COP, cop(death="yes"), aware, reports_sent=sent)
    assert updates(got) == ["update-1", "update-2", "update-3", "update-4"]
    assert got["update-1"].sent_at == utc(2026, 3, 2, 14)
    # update-2: the earlier of the grid (6 April 13:00 UTC) and update-1 sent + 4 weeks: Monday 30 March,
    # 15:00 CET -> 15:00 CEST = 13:00 UTC (elapsed 14:00 UTC).
    update2 = got["update-2"]
    assert (update2.start_event, update2.start_at) == ("sent:update-1", utc(2026, 3, 2, 14))
    assert (update2.due_at, update2.due_reading, update2.projected) == (utc(2026, 3, 30, 13), "same_local_time", False)
    # Not yet filed, update-3 and update-4 stay on the grid: 12 and 16 weeks after 9 February.
    assert (got["update-3"].due_at, got["update-3"].projected) == (utc(2026, 5, 4, 13), True)
    assert (got["update-4"].due_at, got["update-4"].projected) == (utc(2026, 6, 1, 13), True)


def test_cop_a_late_update_does_not_push_the_next_one_back() -> None:
    aware = {"aware_of_model_involvement": utc(2026, 2, 2, 9)}
    sent = [("initial", utc(2026, 2, 9, 14)), ("update-1", utc(2026, 3, 12, 14))]  # three days late
    update2 = run(COP, cop(death="yes"), aware, reports_sent=sent)["update-2"]
    # Sent + 4 weeks would be 9 April; the grid's 6 April 13:00 UTC is earlier and governs.
    assert (update2.start_event, update2.due_at) == ("initial_report_sent", utc(2026, 4, 6, 13))


def test_cop_no_updates_after_resolution() -> None:
    events = {"aware_of_model_involvement": utc(2026, 2, 2, 9), "resolved": utc(2026, 4, 20, 10)}
    sent = [("initial", utc(2026, 2, 9, 14)), ("update-1", utc(2026, 3, 2, 14))]
    got = run(COP, cop(death="yes"), events, reports_sent=sent)
    # Only the updates due before Monday 20 April remain; update-3 (4 May) would fall after it.
    assert [(s, got[s].due_at, got[s].projected) for s in updates(got)] == [
        ("update-1", utc(2026, 3, 9, 14), False),
        ("update-2", utc(2026, 3, 30, 13), False),
    ]
    # Final: 60 days after 20 April 10:00 UTC (12:00 CEST) is Friday 19 June, 10:00 UTC by both readings.
    final = got["final"]
    assert (final.start_event, final.due_at, final.alt_due_at) == ("resolved", utc(2026, 6, 19, 10), None)
    assert final.legal_due_at == utc(2026, 6, 19, 21)  # Friday, midnight EEST


def test_cop_resolved_before_the_initial_report_has_no_updates() -> None:
    events = {"aware_of_model_involvement": utc(2026, 2, 2, 9), "resolved": utc(2026, 2, 5, 9)}
    got = run(COP, cop(death="yes"), events)
    assert updates(got) == []
    assert got["initial"].due_at == utc(2026, 2, 12, 9)


def test_cop_reclassified_stricter_but_not_yet_past() -> None:
    # Aware Monday 1 June 2026 08:00 UTC as serious harm (15 days). On 3 June 12:00 a cyber breach is
    # answered: 5 days from the original start, Saturday 6 June 08:00 UTC (CEST throughout).
    got = run(
        COP,
        cop(health_harm="yes", cyber_breach="yes"),
        {"aware_of_model_involvement": utc(2026, 6, 1, 8)},
        reclassified_at=utc(2026, 6, 3, 12),
    )
    initial = got["initial"]
    assert (initial.class_id, initial.start_at, initial.due_at) == (
        "cyber_breach",
        utc(2026, 6, 1, 8),
        utc(2026, 6, 6, 8),
    )
    assert not initial.past_due_on_reclassification
    assert initial.due_from_reclassification_at == utc(2026, 6, 8, 12)  # 5 days from the change, shown beside


def test_cop_reclassified_stricter_after_the_deadline_is_flagged_at_once() -> None:
    # Same start; the initial report went on 10 June 11:00 as serious harm; on 10 June 12:00 a CI disruption
    # is answered: 2 days from 1 June 08:00 is 3 June 08:00, a week past.
    got = run(
        COP,
        cop(health_harm="yes", ci_disruption="yes"),
        {"aware_of_model_involvement": utc(2026, 6, 1, 8)},
        reports_sent=[("initial", utc(2026, 6, 10, 11))],
        reclassified_at=utc(2026, 6, 10, 12),
    )
    initial = got["initial"]
    assert (initial.class_id, initial.start_at, initial.due_at) == (
        "ci_disruption",
        utc(2026, 6, 1, 8),
        utc(2026, 6, 3, 8),
    )
    assert initial.past_due_on_reclassification
    assert initial.due_from_reclassification_at == utc(2026, 6, 12, 12)
    # The update grid stays anchored on the report actually sent: 8 July 11:00 UTC.
    assert got["update-1"].due_at == utc(2026, 7, 8, 11)


def test_cop_retention_from_29_february_is_a_minimum_ending_on_1_march() -> None:
    period = regime(COP).retention.period
    assert period is not None and str(period) == "P5Y"
    # 2033 has no 29 February: "at least 5 years" is safe only through 1 March (s. 8), never 28 February.
    assert period.add_minimum(utc(2028, 2, 29, 12)) == utc(2033, 3, 1, 12)
    assert period.add_elapsed(utc(2028, 2, 29, 12)) == utc(2033, 2, 28, 12)
    # A start that exists five years on is unchanged by either reading.
    assert period.add_minimum(utc(2028, 2, 28, 12)) == period.add_elapsed(utc(2028, 2, 28, 12)) == utc(2033, 2, 28, 12)
    # 2032 is a leap year: 29 February 2028 + 4 years lands on 29 February itself.
    assert IsoDuration.parse("P4Y").add_minimum(utc(2028, 2, 29)) == utc(2032, 2, 29)


def test_circia_retention_from_29_february_is_a_minimum_too() -> None:
    period = regime("us-circia").retention.period
    assert period is not None and str(period) == "P2Y"
    assert period.add_minimum(utc(2028, 2, 29, 23, 30)) == utc(2030, 3, 1, 23, 30)


def test_maximum_periods_from_29_february_clamp_down() -> None:
    # A maximum read conservatively ends no later than the shorter reading: 28 February, never 1 March.
    assert IsoDuration.parse("P1Y").add_elapsed(utc(2028, 2, 29, 12)) == utc(2029, 2, 28, 12)
    assert IsoDuration.parse("P1M").add_elapsed(utc(2027, 1, 31, 9)) == utc(2027, 2, 28, 9)
    assert IsoDuration.parse("P1M").add_minimum(utc(2027, 1, 31, 9)) == utc(2027, 3, 1, 9)
    assert IsoDuration.parse("P1M").add_elapsed(utc(2028, 1, 31, 9)) == utc(2028, 2, 29, 9)  # leap year


def test_a_one_year_clock_from_29_february_is_due_on_28_february() -> None:
    # The Code with its death class given a P1Y limit (no packaged regime has a year-long report clock).
    # 29 February 2028 12:00 UTC = 13:00 CET = 14:00 EET; one year on, 28 February 2029 (a Wednesday) at the
    # same time by every reading. 1182/71 Art. 3(2)(c): a month lacking the date ends on its last day,
    # midnight EET = 22:00 UTC.
    base = regime(COP)
    classes = [
        c.model_copy(update={"deadline": Deadline._validate("P1Y")}) if c.id == "death" else c for c in base.classes
    ]
    yearly = base.model_copy(update={"classes": classes})
    found = compute_obligations(
        yearly, assess(yearly, cop(death="yes")), {"aware_of_model_involvement": utc(2028, 2, 29, 12)}
    )
    initial = next(o for o in found if o.stage == "initial")
    assert (initial.due_at, initial.alt_due_at) == (utc(2029, 2, 28, 12), None)
    assert initial.legal_due_at == utc(2029, 2, 28, 22)


# -- EU AI Act Art. 73 (market surveillance authority: Helsinki) -----------------------------------------


def test_art73_filed_inside_the_backstop_is_on_time_though_after_the_target() -> None:
    # Aware Monday 2 November 2026, 06:00 UTC (08:00 EET); a causal link suspected at 18:00 UTC. Serious harm
    # to health: immediately, at the latest 15 days after awareness (73(2)): Tuesday 17 November 06:00 UTC,
    # no clock change inside. Org SLA 4 hours: target 22:00 UTC on 2 November.
    events = {"aware_of_incident": utc(2026, 11, 2, 6), "causal_link_suspected": utc(2026, 11, 2, 18)}
    got = run(
        A73,
        a73(health_harm="yes"),
        events,
        org_sla=timedelta(hours=4),
        reports_sent=[("initial", utc(2026, 11, 10, 12))],
    )
    initial = got["initial"]
    assert (initial.class_id, initial.start_event) == ("other_serious", "aware_of_incident")
    assert (initial.due_at, initial.alt_due_at) == (utc(2026, 11, 17, 6), None)
    assert initial.target_at == utc(2026, 11, 2, 22)
    assert initial.target_basis is not None and "causal_link_suspected" in initial.target_basis
    # 1182/71: day 15 is Tuesday 17 November, ending at midnight EET = 22:00 UTC.
    assert initial.legal_due_at == utc(2026, 11, 17, 22)
    assert initial.sent_at == utc(2026, 11, 10, 12)
    assert initial.target_at < initial.sent_at and on_time(initial, initial.sent_at)  # late on target, on time in law
    assert "73(2)" in initial.basis


def test_art73_without_an_sla_the_target_is_the_trigger_itself() -> None:
    events = {"aware_of_incident": utc(2026, 11, 2, 6), "causal_link_suspected": utc(2026, 11, 2, 18)}
    for sla in (None, timedelta(0)):
        initial = run(A73, a73(health_harm="yes"), events, org_sla=sla)["initial"]
        assert (initial.target_at, initial.due_at) == (utc(2026, 11, 2, 18), utc(2026, 11, 17, 6))


def test_art73_the_trigger_is_the_earlier_of_suspected_and_confirmed() -> None:
    events = {
        "aware_of_incident": utc(2026, 11, 2, 6),
        "causal_link_suspected": utc(2026, 11, 4, 10),
        "causal_link_confirmed": utc(2026, 11, 3, 10),
    }
    initial = run(A73, a73(health_harm="yes"), events, org_sla=timedelta(hours=2))["initial"]
    assert initial.target_at == utc(2026, 11, 3, 12)


def test_art73_a_trigger_after_the_backstop_clamps_the_target_to_the_due() -> None:
    aware = utc(2026, 11, 2, 6)
    late_link = {"aware_of_incident": aware, "causal_link_confirmed": utc(2026, 11, 20, 9)}
    initial = run(A73, a73(health_harm="yes"), late_link, org_sla=timedelta(hours=1))["initial"]
    assert initial.target_at == initial.due_at == utc(2026, 11, 17, 6)
    # A long SLA does the same: 2 November 18:00 + 30 days is after 17 November.
    long_sla = {"aware_of_incident": aware, "causal_link_suspected": utc(2026, 11, 2, 18)}
    initial = run(A73, a73(health_harm="yes"), long_sla, org_sla=timedelta(days=30))["initial"]
    assert initial.target_at == initial.due_at == utc(2026, 11, 17, 6)


def test_art73_a_trigger_without_awareness_waits_for_awareness() -> None:
    initial = run(A73, a73(death="yes"), {"causal_link_suspected": utc(2026, 11, 2, 18)})["initial"]
    assert (initial.due_at, initial.waiting_for) == (None, "aware_of_incident")


def test_art73_spring_clock_change_in_helsinki() -> None:
    # Wednesday 24 March 2027, 12:00 UTC = 14:00 EET. Death, at the latest 10 days (73(4)): Saturday 3 April.
    # Helsinki is on EEST from 28 March: 14:00 EEST = 11:00 UTC, before elapsed 12:00 UTC.
    events = {"aware_of_incident": utc(2027, 3, 24, 12), "causal_link_suspected": utc(2027, 3, 24, 12)}
    initial = run(A73, a73(death="yes"), events)["initial"]
    assert (initial.due_at, initial.due_reading) == (utc(2027, 4, 3, 11), "same_local_time")
    assert (initial.alt_due_at, initial.alt_due_reading) == (utc(2027, 4, 3, 12), "elapsed_utc")
    # 1182/71: Saturday rolls to Monday 5 April, midnight EEST = 21:00 UTC.
    assert initial.legal_due_at == utc(2027, 4, 5, 21)
    assert initial.target_at == utc(2027, 3, 24, 12)  # no SLA: immediately = the trigger


def test_art73_autumn_clock_change_in_helsinki() -> None:
    # Thursday 28 October 2027, 09:00 UTC = 12:00 EEST. Death: Sunday 7 November; Helsinki is on EET from
    # 31 October, so 12:00 EET = 10:00 UTC, after elapsed 09:00 UTC.
    initial = run(A73, a73(death="yes"), {"aware_of_incident": utc(2027, 10, 28, 9)})["initial"]
    assert (initial.due_at, initial.due_reading) == (utc(2027, 11, 7, 9), "elapsed_utc")
    assert (initial.alt_due_at, initial.alt_due_reading) == (utc(2027, 11, 7, 10), "same_local_time")
    assert initial.legal_due_at == utc(2027, 11, 8, 22)  # Monday, midnight EET


def test_art73_reclassified_to_ci_disruption_runs_from_first_awareness() -> None:
    # Aware Monday 7 September 2026 09:00; link suspected 8 September 09:00; reported 10 September as serious
    # harm. On 12 September a CI disruption is answered: 2 days from 7 September 09:00 = 9 September 09:00.
    events = {"aware_of_incident": utc(2026, 9, 7, 9), "causal_link_suspected": utc(2026, 9, 8, 9)}
    initial = run(
        A73,
        a73(health_harm="yes", ci_disruption="yes"),
        events,
        reports_sent=[("initial", utc(2026, 9, 10, 9))],
        reclassified_at=utc(2026, 9, 12, 9),
    )["initial"]
    assert (initial.class_id, initial.start_at, initial.due_at) == (
        "ci_disruption",
        utc(2026, 9, 7, 9),
        utc(2026, 9, 9, 9),
    )
    assert initial.past_due_on_reclassification
    assert initial.due_from_reclassification_at == utc(2026, 9, 14, 9)
    assert initial.target_at == utc(2026, 9, 8, 9)


# -- California SB 53 (OES and public safety: Los Angeles) -----------------------------------------------


def test_sb53_has_no_immediately_clause_so_the_target_is_the_due() -> None:
    # Discovered Wednesday 1 July 2026 16:00 UTC; 15 days, no clock change: 16 July 16:00 UTC.
    initial = run(
        SB53, sb53(loss_of_control_harm="yes"), {"discovered": utc(2026, 7, 1, 16)}, org_sla=timedelta(hours=2)
    )["initial"]
    assert initial.due_at == initial.target_at == utc(2026, 7, 16, 16)
    assert on_time(initial, utc(2026, 7, 16, 15))  # a report on the last morning


def test_sb53_spring_clock_change_in_los_angeles() -> None:
    # Wednesday 25 February 2026, 20:00 UTC = 12:00 PST. 15 days: Thursday 12 March, after the 8 March change.
    # 12:00 PDT = 19:00 UTC, an hour before elapsed 20:00 UTC. Legal reading: elapsed (the file's counting).
    initial = run(SB53, sb53(deceptive_subversion="yes"), {"discovered": utc(2026, 2, 25, 20)})["initial"]
    assert (initial.due_at, initial.due_reading) == (utc(2026, 3, 12, 19), "same_local_time")
    assert (initial.alt_due_at, initial.alt_due_reading) == (utc(2026, 3, 12, 20), "elapsed_utc")
    assert initial.legal_due_at == utc(2026, 3, 12, 20)


def test_sb53_autumn_clock_change_in_los_angeles() -> None:
    # Tuesday 20 October 2026, 17:00 UTC = 10:00 PDT. 15 days: Wednesday 4 November, PST from 1 November:
    # 10:00 PST = 18:00 UTC, after elapsed 17:00 UTC.
    initial = run(SB53, sb53(deceptive_subversion="yes"), {"discovered": utc(2026, 10, 20, 17)})["initial"]
    assert (initial.due_at, initial.due_reading) == (utc(2026, 11, 4, 17), "elapsed_utc")
    assert (initial.alt_due_at, initial.alt_due_reading) == (utc(2026, 11, 4, 18), "same_local_time")


def test_sb53_wall_time_skipped_in_los_angeles_ends_at_the_change() -> None:
    # Saturday 21 February 2026, 10:30 UTC = 02:30 PST. 15 days: Sunday 8 March, when 02:30 never shows: at
    # 10:00 UTC the clocks jump from 02:00 PST to 03:00 PDT. Due at the change, 10:00 UTC, not 09:30 UTC
    # (02:30 read as PDT, when the clocks show 01:30 PST); elapsed is 10:30 UTC.
    initial = run(SB53, sb53(deceptive_subversion="yes"), {"discovered": utc(2026, 2, 21, 10, 30)})["initial"]
    assert (initial.due_at, initial.alt_due_at) == (utc(2026, 3, 8, 10), utc(2026, 3, 8, 10, 30))


def test_sb53_the_24_hour_disclosure_ignores_both_clock_changes() -> None:
    # Saturday 7 March 2026, 18:00 UTC (10:00 PST): 24 hours later is 18:00 UTC (11:00 PDT), no other reading.
    got = run(SB53, sb53(loss_of_control_harm="yes", imminent_risk="yes"), {"discovered": utc(2026, 3, 7, 18)})
    imminent = got["imminent-24h"]
    assert (imminent.due_at, imminent.due_reading, imminent.alt_due_at) == (utc(2026, 3, 8, 18), "elapsed_utc", None)
    assert imminent.legal_due_at == utc(2026, 3, 8, 18)
    # The 15-day report from the same start does move: 10:00 PDT on 22 March = 17:00 UTC.
    assert (got["initial"].due_at, got["initial"].alt_due_at) == (utc(2026, 3, 22, 17), utc(2026, 3, 22, 18))
    # Saturday 31 October 2026, 18:00 UTC (11:00 PDT): 24 hours later, 18:00 UTC (10:00 PST).
    autumn = run(SB53, sb53(loss_of_control_harm="yes", imminent_risk="yes"), {"discovered": utc(2026, 10, 31, 18)})
    assert (autumn["imminent-24h"].due_at, autumn["imminent-24h"].alt_due_at) == (utc(2026, 11, 1, 18), None)


def test_sb53_imminent_risk_answered_late_runs_from_discovery_and_is_flagged() -> None:
    # Discovered Sunday 1 March 2026 16:00 UTC; imminent risk answered 3 March 12:00: 24 hours from discovery
    # was 2 March 16:00, already past; counted from the answer it would be 4 March 12:00.
    got = run(
        SB53,
        sb53(loss_of_control_harm="yes", imminent_risk="yes"),
        {"discovered": utc(2026, 3, 1, 16)},
        reclassified_at=utc(2026, 3, 3, 12),
    )
    imminent = got["imminent-24h"]
    assert (imminent.start_at, imminent.due_at) == (utc(2026, 3, 1, 16), utc(2026, 3, 2, 16))
    assert imminent.past_due_on_reclassification
    assert imminent.due_from_reclassification_at == utc(2026, 3, 4, 12)
    assert not got["initial"].past_due_on_reclassification  # 15 days from 1 March are not yet over


# -- New York RAISE, amended text in force 2027-01-01 (DFS and public safety: New York) -------------------


def test_raise_72_hours_ignore_the_spring_change_and_have_no_immediately_target() -> None:
    # Reasonable belief Friday 12 March 2027, 15:00 UTC (10:00 EST); determination next day. 72 hours from
    # the earlier: Monday 15 March 15:00 UTC (11:00 EDT); New York moved on Sunday 14 March.
    events = {"reasonable_belief": utc(2027, 3, 12, 15), "determined": utc(2027, 3, 13, 15)}
    initial = run(
        RAISE, sb53(catastrophic_risk_materialised="yes"), events, version=RAISE_2026, org_sla=timedelta(hours=6)
    )["initial"]
    assert (initial.regime_version, initial.start_event) == (RAISE_2026, "reasonable_belief")
    assert (initial.due_at, initial.due_reading, initial.alt_due_at) == (utc(2027, 3, 15, 15), "elapsed_utc", None)
    assert initial.legal_due_at == initial.target_at == utc(2027, 3, 15, 15)


def test_raise_hours_ignore_the_autumn_change() -> None:
    # Determined Saturday 6 November 2027, 14:00 UTC (10:00 EDT); New York moves back on 7 November.
    got = run(
        RAISE,
        sb53(loss_of_control_harm="yes", imminent_risk="yes"),
        {"determined": utc(2027, 11, 6, 14)},
        version=RAISE_2026,
    )
    assert (got["imminent-24h"].due_at, got["imminent-24h"].alt_due_at) == (utc(2027, 11, 7, 14), None)
    assert (got["initial"].due_at, got["initial"].alt_due_at) == (utc(2027, 11, 9, 14), None)
    assert got["imminent-24h"].recipients == ("ny_public_safety",)


def test_raise_imminent_risk_answered_late_is_flagged() -> None:
    # Reasonable belief Monday 1 February 2027 10:00 UTC; initial sent 3 February 10:00; imminent risk answered
    # 3 February 12:00: the 24 hours ran out on 2 February 10:00.
    got = run(
        RAISE,
        sb53(weights_compromise_harm="yes", imminent_risk="yes"),
        {"reasonable_belief": utc(2027, 2, 1, 10)},
        version=RAISE_2026,
        reports_sent=[("initial", utc(2027, 2, 3, 10))],
        reclassified_at=utc(2027, 2, 3, 12),
    )
    imminent = got["imminent-24h"]
    assert (imminent.start_at, imminent.due_at) == (utc(2027, 2, 1, 10), utc(2027, 2, 2, 10))
    assert imminent.past_due_on_reclassification
    assert imminent.due_from_reclassification_at == utc(2027, 2, 4, 12)
    assert got["initial"].due_at == utc(2027, 2, 4, 10)
    assert got["initial"].sent_at == utc(2027, 2, 3, 10) and on_time(got["initial"], utc(2027, 2, 3, 10))


# -- China CAC (all recipients: Shanghai, no clock changes) ----------------------------------------------


def test_cac_hour_clocks_and_no_immediately_target() -> None:
    # Discovered Sunday 8 March 2026, 09:30 UTC (17:30 CST), the day the US changes clock: CII, 1 hour.
    initial = run(CAC, cac(cii_operator="yes"), {"discovered": utc(2026, 3, 8, 9, 30)}, org_sla=timedelta(minutes=5))[
        "initial"
    ]
    assert (initial.due_at, initial.due_reading, initial.alt_due_at) == (utc(2026, 3, 8, 10, 30), "elapsed_utc", None)
    assert initial.target_at == initial.due_at


def test_cac_day_periods_have_one_reading_because_china_has_no_dst() -> None:
    # Summary 30 days after handling ends (Art. 8). 1 March 2026 02:00 UTC (10:00 CST) -> 31 March 02:00 UTC,
    # across the US (8 March) and EU (29 March) changes: elapsed and same local time agree.
    spring = run(CAC, cac(), {"discovered": utc(2026, 2, 27), "handling_ended": utc(2026, 3, 1, 2)})["summary"]
    assert (spring.due_at, spring.due_reading, spring.alt_due_at) == (utc(2026, 3, 31, 2), "elapsed_utc", None)
    # 20 October 2026 02:00 UTC -> 19 November 02:00 UTC, across 25 October and 1 November.
    autumn = run(CAC, cac(), {"discovered": utc(2026, 10, 18), "handling_ended": utc(2026, 10, 20, 2)})["summary"]
    assert (autumn.due_at, autumn.alt_due_at) == (utc(2026, 11, 19, 2), None)


def test_cac_summary_from_29_february() -> None:
    # 29 February 2028 04:00 UTC (12:00 CST) + 30 days = Thursday 30 March 2028, 04:00 UTC.
    summary = run(CAC, cac(), {"discovered": utc(2028, 2, 28), "handling_ended": utc(2028, 2, 29, 4)})["summary"]
    assert summary.due_at == utc(2028, 3, 30, 4)


def test_cac_reclassified_as_cii_is_past_due_at_once() -> None:
    # Discovered 2 June 2026 01:00 UTC as another operator (4 hours); CII status answered at 03:00: the 1-hour
    # clock from discovery ran out at 02:00; counted from the answer, 04:00.
    got = run(
        CAC,
        cac(cii_operator="yes", suspected_crime="yes"),
        {"discovered": utc(2026, 6, 2, 1)},
        reclassified_at=utc(2026, 6, 2, 3),
    )
    initial = got["initial"]
    assert (initial.class_id, initial.start_at, initial.due_at) == (
        "cii_operator",
        utc(2026, 6, 2, 1),
        utc(2026, 6, 2, 2),
    )
    assert initial.past_due_on_reclassification
    assert initial.due_from_reclassification_at == utc(2026, 6, 2, 4)
    assert got["public-security"].due_at == utc(2026, 6, 2, 2)  # due with the initial report
