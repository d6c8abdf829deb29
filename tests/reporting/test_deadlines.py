"""Deadline scenarios per regime, each checked by hand against the regime text (regimes.md).

Times are UTC unless a comment says otherwise. "Legal" is the file's day-counting reading: for the EU
files Regulation 1182/71 in the recipient's zone (the Code's NCAs and Art. 73's market surveillance
authority are read in Helsinki time, the earliest EU day-end), for the others the elapsed reading.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from signalfire.reporting.rules.assessment_engine import Answer, AssessmentResult, assess
from signalfire.reporting.rules.deadlines import ObligationSpec, compute_obligations
from signalfire.reporting.rules.regime_loader import load_all
from signalfire.reporting.rules.regime_schema import Regime

REGIMES = load_all()


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def regime(regime_id: str, version: str | None = None) -> Regime:
    versions = REGIMES[regime_id]
    return next(r for r in versions if r.version == version) if version else versions[-1]


def run(
    regime_id: str,
    answers: Mapping[str, Answer],
    events: Mapping[str, datetime | None],
    *,
    version: str | None = None,
    reports_sent: Sequence[tuple[str, datetime]] = (),
    org_sla: timedelta | None = None,
    reclassified_at: datetime | None = None,
) -> dict[str, ObligationSpec]:
    r = regime(regime_id, version)
    found = compute_obligations(
        r,
        assess(r, answers),
        events,
        reports_sent=reports_sent,
        org_sla=org_sla,
        reclassified_at=reclassified_at,
    )
    by_stage = {o.stage: o for o in found}
    assert len(by_stage) == len(found), "one obligation per stage"
    return by_stage


# -- EU GPAI Code of Practice, Commitment 9 ---------------------------------------------------------------

COP_NO: dict[str, Answer] = {
    "ci_disruption": "no",
    "cyber_breach": "no",
    "death": "no",
    "health_harm": "no",
    "fundamental_rights": "no",
    "property_environment": "no",
}


def cop(**yes: Answer) -> dict[str, Answer]:
    return {**COP_NO, "model_involved": "yes", **yes}


def test_cop_death_aware_at_2330_utc_on_the_last_day_of_a_month() -> None:
    got = run("eu-gpai-cop-c9", cop(death="yes"), {"aware_of_model_involvement": utc(2026, 3, 31, 23, 30)})
    assert list(got) == ["initial", "update-1", "final"]
    initial = got["initial"]
    assert (initial.class_id, initial.start_event, initial.start_at) == (
        "death",
        "aware_of_model_involvement",
        utc(2026, 3, 31, 23, 30),
    )
    assert initial.due_at == utc(2026, 4, 10, 23, 30)  # 10 days elapsed (M9.3)
    # Legal: already 1 April in Brussels and Helsinki, so day 10 is Saturday 11 April; rolled to Monday 13,
    # ending at midnight in Helsinki (EEST, UTC+3).
    assert initial.legal_due_at == utc(2026, 4, 13, 21, 0)
    assert initial.recipients == ("eu_ai_office", "eu_ncas")
    assert initial.required_fields[:2] == ("m1_dates", "m2_harm") and len(initial.required_fields) == 7
    assert "Code of Practice Measure 9.3" in initial.basis and "2026-04-10T23:30:00Z" in initial.basis
    assert not initial.provisional
    assert got["update-1"].waiting_for == "initial_report_sent" and got["update-1"].due_at is None
    assert got["final"].waiting_for == "resolved" and len(got["final"].required_fields) == 9


def test_cop_dst_change_shortens_the_legal_day() -> None:
    # Wednesday 25 March 2026, 23:30 CET. Brussels moves to CEST on Sunday 29 March. Day 5 is Monday 30
    # March, which ends at 22:00 UTC; 5 x 24 h elapsed would run to 22:30 UTC (00:30 CEST on the 31st).
    got = run("eu-gpai-cop-c9", cop(cyber_breach="yes"), {"aware_of_model_involvement": utc(2026, 3, 25, 22, 30)})
    initial = got["initial"]
    assert initial.class_id == "cyber_breach"
    assert initial.legal_due_at == utc(2026, 3, 30, 22, 0)
    # The same local time five days on (00:30 EEST on the 31st in Helsinki, 23:30 CEST on the 30th in
    # Brussels) is 21:30 UTC: an hour before the elapsed reading, and the earliest plausible one.
    assert initial.due_at == utc(2026, 3, 30, 21, 30)
    assert (initial.due_reading, initial.alt_due_at) == ("same_local_time", utc(2026, 3, 30, 22, 30))
    assert "same local time" in initial.basis and "2026-03-30T22:30:00Z" in initial.basis


def test_cop_legal_day_end_follows_the_autumn_clock_change() -> None:
    got = run("eu-gpai-cop-c9", cop(health_harm="yes"), {"aware_of_model_involvement": utc(2026, 10, 14, 12)})
    initial = got["initial"]
    assert (initial.class_id, initial.due_at) == ("serious_harm", utc(2026, 10, 29, 12))
    # Thursday 29 October ends at midnight EET (UTC+2): clocks went back on 25 October.
    assert initial.legal_due_at == utc(2026, 10, 29, 22)
    assert initial.legal_due_at.astimezone(ZoneInfo("Europe/Helsinki")).hour == 0


def test_cop_incident_resolved_before_the_initial_report_was_due() -> None:
    events = {"aware_of_model_involvement": utc(2026, 5, 4, 9), "resolved": utc(2026, 5, 6, 15)}
    got = run("eu-gpai-cop-c9", cop(health_harm="yes"), events)
    assert list(got) == ["initial", "final"]  # still reportable; no updates once resolved
    assert got["initial"].due_at == utc(2026, 5, 19, 9)
    final = got["final"]
    assert (final.start_event, final.due_at) == ("resolved", utc(2026, 7, 5, 15))  # 60 days after resolution
    # Day 60 is Sunday 5 July: rolled to Monday 6 July, midnight in Helsinki.
    assert final.legal_due_at == utc(2026, 7, 6, 21)


def test_cop_reclassified_to_a_stricter_class_after_the_initial_report() -> None:
    aware = utc(2026, 6, 1, 8)
    sent = [("initial", utc(2026, 6, 10, 12))]
    before = run("eu-gpai-cop-c9", cop(health_harm="yes"), {"aware_of_model_involvement": aware}, reports_sent=sent)
    assert (before["initial"].class_id, before["initial"].due_at) == ("serious_harm", utc(2026, 6, 16, 8))
    assert before["initial"].sent_at == utc(2026, 6, 10, 12)

    changed = utc(2026, 6, 20, 10)
    after = run(
        "eu-gpai-cop-c9",
        cop(health_harm="yes", ci_disruption="yes"),
        {"aware_of_model_involvement": aware},
        reports_sent=sent,
        reclassified_at=changed,
    )
    initial = after["initial"]
    assert initial.class_id == "ci_disruption"
    assert initial.start_at == aware  # runs from the event as first recorded
    assert initial.due_at == utc(2026, 6, 3, 8)  # already past: overdue at once
    assert initial.past_due_on_reclassification
    assert initial.due_from_reclassification_at == utc(2026, 6, 22, 10)  # the later reading, beside it
    assert "reclassified" in initial.basis
    assert after["update-1"].class_id == "ci_disruption"
    assert after["update-1"].due_at == utc(2026, 7, 8, 12)  # 4 weeks after the initial report was sent


def test_cop_update_cadence_while_unresolved_and_after_resolution() -> None:
    aware = {"aware_of_model_involvement": utc(2026, 1, 5, 9)}
    initial_sent = ("initial", utc(2026, 1, 12, 9))
    got = run("eu-gpai-cop-c9", cop(death="yes"), aware, reports_sent=[initial_sent])
    # The next update and two projected ones (regimes.md s. 8: series show the next several). Brussels and
    # Helsinki move to summer time on 29 March, so 12 weeks on, the same local time is 08:00 UTC.
    assert [(s, o.due_at, o.projected) for s, o in got.items() if s.startswith("update-")] == [
        ("update-1", utc(2026, 2, 9, 9), False),
        ("update-2", utc(2026, 3, 9, 9), True),
        ("update-3", utc(2026, 4, 6, 8), True),
    ]

    early = ("update-1", utc(2026, 2, 2, 9))  # sent a week early
    got = run("eu-gpai-cop-c9", cop(death="yes"), aware, reports_sent=[initial_sent, early])
    assert got["update-1"].sent_at == utc(2026, 2, 2, 9)
    update2 = got["update-2"]
    assert (update2.start_event, update2.due_at) == (
        "sent:update-1",
        utc(2026, 3, 2, 9),
    )  # not the grid's 9 March
    assert (got["update-3"].due_at, got["update-3"].projected) == (utc(2026, 4, 6, 8), True)
    assert (got["update-4"].due_at, got["update-4"].projected) == (utc(2026, 5, 4, 8), True)
    assert "update-5" not in got

    resolved = {**aware, "resolved": utc(2026, 4, 20)}
    got = run("eu-gpai-cop-c9", cop(death="yes"), resolved, reports_sent=[initial_sent, early])
    assert [(s, o.due_at) for s, o in got.items() if s.startswith("update-")] == [
        ("update-1", utc(2026, 2, 9, 9)),
        ("update-2", utc(2026, 3, 2, 9)),
        ("update-3", utc(2026, 4, 6, 8)),  # update-2 not sent: back on the grid (12 weeks, summer time)
    ]  # update-4 (4 May) would fall after resolution
    assert got["final"].due_at == utc(2026, 6, 19)


def test_cop_unknown_involvement_runs_the_clock_provisionally() -> None:
    answers = {**COP_NO, "model_involved": "unknown", "death": "yes"}
    got = run("eu-gpai-cop-c9", answers, {"aware_of_model_involvement": utc(2026, 2, 2, 10)})
    assert got["initial"].provisional and got["initial"].class_id == "death"
    assert got["initial"].due_at == utc(2026, 2, 12, 10)


def test_cop_a_possible_stricter_class_governs_until_ruled_out() -> None:
    answers = {**cop(death="yes"), "ci_disruption": "unknown"}
    got = run("eu-gpai-cop-c9", answers, {"aware_of_model_involvement": utc(2026, 2, 2, 10)})
    initial = got["initial"]
    assert (initial.class_id, initial.due_at, initial.provisional) == (
        "ci_disruption",
        utc(2026, 2, 4, 10),
        False,
    )
    assert "only possibly applies" in initial.basis


# -- EU AI Act Art. 73 -------------------------------------------------------------------------------------

A73_NO: dict[str, Answer] = {
    "death": "no",
    "health_harm": "no",
    "ci_disruption": "no",
    "fundamental_rights": "no",
    "property_environment": "no",
    "widespread_infringement": "no",
    "sector_carve_out": "no",
}


def a73(**yes: Answer) -> dict[str, Answer]:
    return {**A73_NO, "causal_link": "yes", **yes}


def test_art73_backstop_from_awareness_at_2330_utc_on_the_last_day_of_a_month() -> None:
    got = run("eu-ai-act-art73", a73(health_harm="yes"), {"aware_of_incident": utc(2026, 8, 31, 23, 30)})
    assert list(got) == ["initial"]  # no cadence, no clocked final (Art. 73(5))
    initial = got["initial"]
    assert (initial.class_id, initial.start_event) == ("other_serious", "aware_of_incident")
    assert initial.due_at == utc(2026, 9, 15, 23, 30)  # 15 days (73(2))
    # In Helsinki it is already 1 September: day 15 is Wednesday 16 September, ending 21:00 UTC.
    assert initial.legal_due_at == utc(2026, 9, 16, 21)
    assert initial.recipients == ("eu_msa",)


def test_art73_immediately_after_a_suspected_link_with_an_org_sla() -> None:
    events = {"aware_of_incident": utc(2026, 9, 1, 10), "causal_link_suspected": utc(2026, 9, 3, 10)}
    got = run("eu-ai-act-art73", a73(death="yes"), events, org_sla=timedelta(hours=24))
    initial = got["initial"]
    # The legal due is the backstop (awareness + 10 days, 73(4)); "immediately" (link + SLA) is the target.
    assert (initial.class_id, initial.start_event) == ("death", "aware_of_incident")
    assert initial.due_at == utc(2026, 9, 11, 10)
    assert initial.target_at == utc(2026, 9, 4, 10)
    assert "immediately after causal_link_suspected" in initial.basis and "73(4)" in initial.basis


def test_art73_immediately_without_an_org_sla_means_at_once() -> None:
    events = {"aware_of_incident": utc(2026, 9, 1, 10), "causal_link_suspected": utc(2026, 9, 3, 10)}
    initial = run("eu-ai-act-art73", a73(death="yes"), events)["initial"]
    assert (initial.target_at, initial.due_at) == (utc(2026, 9, 3, 10), utc(2026, 9, 11, 10))
    assert "no org SLA set" in initial.basis


def test_art73_backstop_wins_when_the_link_comes_late() -> None:
    events = {"aware_of_incident": utc(2026, 9, 1, 10), "causal_link_confirmed": utc(2026, 9, 15, 10)}
    initial = run("eu-ai-act-art73", a73(death="yes"), events, org_sla=timedelta(hours=12))["initial"]
    assert (initial.start_event, initial.due_at) == ("aware_of_incident", utc(2026, 9, 11, 10))


def test_art73_legal_day_end_after_the_autumn_clock_change() -> None:
    initial = run("eu-ai-act-art73", a73(death="yes"), {"aware_of_incident": utc(2026, 10, 20, 10)})["initial"]
    assert initial.due_at == utc(2026, 10, 30, 10)
    assert initial.legal_due_at == utc(2026, 10, 30, 22)  # Friday, midnight EET (UTC+2)


def test_art73_reclassified_to_widespread_infringement() -> None:
    aware = {"aware_of_incident": utc(2026, 9, 7, 9)}
    initial = run(
        "eu-ai-act-art73",
        a73(fundamental_rights="yes", widespread_infringement="yes"),
        aware,
        reports_sent=[("initial", utc(2026, 9, 10, 9))],
        reclassified_at=utc(2026, 9, 12, 9),
    )["initial"]
    assert (initial.class_id, initial.due_at) == ("widespread_infringement", utc(2026, 9, 9, 9))
    assert initial.past_due_on_reclassification
    assert initial.due_from_reclassification_at == utc(2026, 9, 14, 9)


def test_art73_nothing_recorded_waits_for_awareness() -> None:
    initial = run("eu-ai-act-art73", a73(death="yes"), {})["initial"]
    assert (initial.due_at, initial.waiting_for, initial.start_event) == (
        None,
        "aware_of_incident",
        "aware_of_incident",
    )
    assert "waiting for aware_of_incident" in initial.basis


def test_art73_carved_out_medical_device_death_is_not_reported_here() -> None:
    assert (
        run(
            "eu-ai-act-art73",
            a73(death="yes", sector_carve_out="yes"),
            {"aware_of_incident": utc(2026, 9, 1)},
        )
        == {}
    )


# -- EU AI Act Art. 55(1)(c) -------------------------------------------------------------------------------

A55: dict[str, Answer] = {"model_involved": "yes", "death": "yes"}


def test_art55_org_sla_from_the_earliest_awareness() -> None:
    events = {"aware_of_incident": utc(2026, 2, 27, 23, 30), "aware_of_model_involvement": utc(2026, 3, 2)}
    initial = run("eu-ai-act-art55", A55, events, org_sla=timedelta(hours=72))["initial"]
    assert (initial.start_event, initial.due_at) == ("aware_of_incident", utc(2026, 3, 2, 23, 30))
    assert initial.legal_due_at == initial.due_at  # an SLA is elapsed time; it never rolls
    assert "org SLA 3 days" in initial.basis


def test_art55_without_an_sla_is_due_at_once() -> None:
    initial = run("eu-ai-act-art55", A55, {"aware_of_model_involvement": utc(2026, 3, 2)})["initial"]
    assert (initial.start_event, initial.due_at) == ("aware_of_model_involvement", utc(2026, 3, 2))


def test_art55_dst_weekend_and_month_end_do_not_move_an_sla() -> None:
    # Saturday 28 March 2026, 23:30 UTC: the night Brussels changes clock, at a month's end.
    initial = run("eu-ai-act-art55", A55, {"aware_of_incident": utc(2026, 3, 28, 23, 30)}, org_sla=timedelta(days=2))[
        "initial"
    ]
    assert initial.due_at == initial.legal_due_at == utc(2026, 3, 30, 23, 30)


def test_art55_waits_for_either_awareness() -> None:
    initial = run("eu-ai-act-art55", A55, {"occurred": utc(2026, 1, 1)})["initial"]
    assert initial.waiting_for == "earliest_of(aware_of_incident, aware_of_model_involvement)"


def test_art55_not_involved_is_not_reportable() -> None:
    assert run("eu-ai-act-art55", {"model_involved": "no"}, {"aware_of_incident": utc(2026, 3, 2)}) == {}


# -- California SB 53 --------------------------------------------------------------------------------------

SB53_NO: dict[str, Answer] = {
    "weights_compromise_harm": "no",
    "catastrophic_risk_materialised": "no",
    "loss_of_control_harm": "no",
    "deceptive_subversion": "no",
    "imminent_risk": "no",
}


def sb53(**yes: Answer) -> dict[str, Answer]:
    return {**SB53_NO, **yes}


def test_sb53_fifteen_days_from_discovery_at_2330_utc_on_the_last_day_of_a_month() -> None:
    got = run("us-ca-sb53", sb53(loss_of_control_harm="yes"), {"discovered": utc(2026, 1, 31, 23, 30)})
    assert list(got) == ["initial"]
    initial = got["initial"]
    assert (initial.class_id, initial.recipients) == ("loss_of_control_harm", ("ca_oes",))
    assert initial.due_at == initial.legal_due_at == utc(2026, 2, 15, 23, 30)  # a Sunday: no rolling
    assert "22757.13(c)" in initial.basis


def test_sb53_imminent_risk_adds_the_24_hour_disclosure() -> None:
    got = run(
        "us-ca-sb53",
        sb53(loss_of_control_harm="yes", imminent_risk="yes"),
        {"discovered": utc(2026, 2, 1, 8)},
    )
    assert list(got) == ["initial", "imminent-24h"]
    imminent = got["imminent-24h"]
    assert (imminent.due_at, imminent.recipients, imminent.provisional) == (
        utc(2026, 2, 2, 8),
        ("ca_public_safety",),
        False,
    )
    assert got["initial"].due_at == utc(2026, 2, 16, 8)  # both run


def test_sb53_unknown_imminent_risk_runs_the_24_hour_clock_provisionally() -> None:
    got = run(
        "us-ca-sb53",
        sb53(weights_compromise_harm="yes", imminent_risk="unknown"),
        {"discovered": utc(2026, 2, 1, 8)},
    )
    assert got["imminent-24h"].provisional and not got["initial"].provisional


def test_sb53_elapsed_days_across_the_us_clock_change() -> None:
    initial = run("us-ca-sb53", sb53(deceptive_subversion="yes"), {"discovered": utc(2026, 3, 1, 18)})["initial"]
    # 10:00 PST on 1 March; 15 days on, 10:00 PDT (17:00 UTC) comes an hour before 15 x 24 h (18:00 UTC).
    assert (initial.due_at, initial.due_reading) == (utc(2026, 3, 16, 17), "same_local_time")
    assert (initial.alt_due_at, initial.alt_due_reading) == (utc(2026, 3, 16, 18), "elapsed_utc")


def test_sb53_imminent_risk_recognised_after_the_initial_report_is_overdue_at_once() -> None:
    discovered = utc(2026, 2, 1, 8)
    got = run(
        "us-ca-sb53",
        sb53(loss_of_control_harm="yes", imminent_risk="yes"),
        {"discovered": discovered},
        reports_sent=[("initial", utc(2026, 2, 10))],
        reclassified_at=utc(2026, 2, 12),
    )
    imminent = got["imminent-24h"]
    assert imminent.due_at == utc(2026, 2, 2, 8) and imminent.past_due_on_reclassification
    assert imminent.due_from_reclassification_at == utc(2026, 2, 13)
    assert got["initial"].sent_at == utc(2026, 2, 10)


def test_sb53_not_a_critical_safety_incident() -> None:
    assert run("us-ca-sb53", sb53(imminent_risk="yes"), {"discovered": utc(2026, 2, 1)}) == {}


# -- New York RAISE (amended, in force 2027-01-01) -------------------------------------------------------


def test_raise_starts_at_the_earlier_of_determination_and_reasonable_belief() -> None:
    events = {"reasonable_belief": utc(2027, 3, 1, 10), "determined": utc(2027, 3, 2, 10)}
    initial = run("us-ny-raise", sb53(catastrophic_risk_materialised="yes"), events)["initial"]
    assert (initial.start_event, initial.due_at) == ("reasonable_belief", utc(2027, 3, 4, 10))  # 72 hours
    assert initial.recipients == ("ny_dfs_office",)


def test_raise_determination_alone_starts_the_clock() -> None:
    initial = run("us-ny-raise", sb53(loss_of_control_harm="yes"), {"determined": utc(2027, 3, 2, 10)})["initial"]
    assert (initial.start_event, initial.due_at) == ("determined", utc(2027, 3, 5, 10))


def test_raise_waits_for_either_start() -> None:
    got = run("us-ny-raise", sb53(loss_of_control_harm="yes", imminent_risk="yes"), {"discovered": utc(2027, 3, 1)})
    assert got["initial"].waiting_for == "earliest_of(determined, reasonable_belief)"
    assert got["imminent-24h"].waiting_for == "earliest_of(determined, reasonable_belief)"


def test_raise_imminent_risk_24_hours_from_the_same_start_at_a_month_end() -> None:
    got = run(
        "us-ny-raise",
        sb53(weights_compromise_harm="yes", imminent_risk="yes"),
        {"reasonable_belief": utc(2027, 1, 31, 23, 30)},
    )
    assert got["initial"].due_at == utc(2027, 2, 3, 23, 30)
    assert (got["imminent-24h"].due_at, got["imminent-24h"].recipients) == (
        utc(2027, 2, 1, 23, 30),
        ("ny_public_safety",),
    )


def test_raise_hours_ignore_the_new_york_clock_change() -> None:
    initial = run("us-ny-raise", sb53(loss_of_control_harm="yes"), {"reasonable_belief": utc(2027, 3, 13, 12)})[
        "initial"
    ]
    assert initial.due_at == initial.legal_due_at == utc(2027, 3, 16, 12)


def test_raise_2025_text_computes_for_audit() -> None:
    events = {"discovered": utc(2026, 1, 31, 23, 30), "reasonable_belief": utc(2026, 1, 30, 12)}
    got = run("us-ny-raise", {"safety_incident": "yes"}, events, version="2025-12-19")
    initial = got["initial"]
    assert (initial.regime_version, initial.start_event, initial.due_at) == (
        "2025-12-19",
        "reasonable_belief",
        utc(2026, 2, 2, 12),
    )
    assert initial.recipients == ("ny_attorney_general", "ny_dhses")
    only_discovery = run(
        "us-ny-raise",
        {"safety_incident": "unknown"},
        {"discovered": utc(2026, 1, 31, 23, 30)},
        version="2025-12-19",
    )["initial"]
    assert (only_discovery.due_at, only_discovery.provisional) == (utc(2026, 2, 3, 23, 30), True)
    assert run("us-ny-raise", {"safety_incident": "no"}, events, version="2025-12-19") == {}


# -- China CAC cybersecurity incident measures -----------------------------------------------------------


def cac(**answers: Answer) -> dict[str, Answer]:
    return {
        "relatively_major": "yes",
        "cii_operator": "no",
        "state_organ": "no",
        "suspected_crime": "no",
        **answers,
    }


def test_cac_cii_operator_one_hour_at_2330_utc_on_the_last_day_of_a_month() -> None:
    got = run("cn-cac-cyber-incident", cac(cii_operator="yes"), {"discovered": utc(2026, 3, 31, 23, 30)})
    initial = got["initial"]
    assert (initial.class_id, initial.due_at) == ("cii_operator", utc(2026, 4, 1, 0, 30))
    assert initial.recipients == ("cii_protection_department", "public_security")
    assert initial.required_fields[0] == "c1_operator_system"
    assert got["summary"].waiting_for == "handling_ended"


def test_cac_cii_state_organ_follows_the_stricter_clock() -> None:
    initial = run(
        "cn-cac-cyber-incident",
        cac(cii_operator="yes", state_organ="yes"),
        {"discovered": utc(2026, 5, 1, 2)},
    )["initial"]
    assert (initial.class_id, initial.due_at) == ("cii_operator", utc(2026, 5, 1, 3))


def test_cac_other_operator_with_a_suspected_crime() -> None:
    got = run("cn-cac-cyber-incident", cac(suspected_crime="yes"), {"discovered": utc(2026, 5, 1, 2)})
    assert (got["initial"].class_id, got["initial"].due_at) == ("other_operator", utc(2026, 5, 1, 6))
    police = got["public-security"]
    assert (police.due_at, police.recipients) == (utc(2026, 5, 1, 6), ("public_security",))
    assert "with the initial report" in police.basis


def test_cac_summary_30_days_after_handling_ends() -> None:
    events = {"discovered": utc(2026, 5, 1, 2), "handling_ended": utc(2026, 5, 20, 9)}
    summary = run("cn-cac-cyber-incident", cac(), events)["summary"]
    assert (summary.start_event, summary.due_at) == ("handling_ended", utc(2026, 6, 19, 9))
    assert summary.required_fields[-1] == "s_lessons"


def test_cac_unknown_cii_status_runs_the_one_hour_clock() -> None:
    initial = run("cn-cac-cyber-incident", cac(cii_operator="unknown"), {"discovered": utc(2026, 5, 1, 2)})["initial"]
    assert (initial.class_id, initial.due_at, initial.provisional) == (
        "cii_operator",
        utc(2026, 5, 1, 3),
        False,
    )


def test_cac_reclassified_as_cii_after_the_initial_report() -> None:
    initial = run(
        "cn-cac-cyber-incident",
        cac(cii_operator="yes"),
        {"discovered": utc(2026, 5, 1, 2)},
        reports_sent=[("initial", utc(2026, 5, 1, 5))],
        reclassified_at=utc(2026, 5, 1, 7),
    )["initial"]
    assert initial.due_at == utc(2026, 5, 1, 3) and initial.past_due_on_reclassification
    assert initial.due_from_reclassification_at == utc(2026, 5, 1, 8)


# -- China Generative AI Interim Measures ----------------------------------------------------------------


def test_genai_org_sla_from_discovery() -> None:
    initial = run(
        "cn-genai-interim",
        {"illegal_content": "yes", "user_illegal_activity": "no"},
        {"discovered": utc(2026, 3, 31, 23, 30)},
        org_sla=timedelta(hours=48),
    )["initial"]
    assert (initial.class_id, initial.due_at, initial.recipients) == (
        "illegal_content",
        utc(2026, 4, 2, 23, 30),
        ("competent_authorities",),
    )


def test_genai_without_an_sla_is_due_at_discovery() -> None:
    initial = run(
        "cn-genai-interim",
        {"user_illegal_activity": "yes", "illegal_content": "no"},
        {"discovered": utc(2026, 3, 1, 1)},
    )["initial"]
    assert (initial.class_id, initial.due_at) == ("user_illegal_activity", utc(2026, 3, 1, 1))


def test_genai_both_classes_follow_the_stricter_rank() -> None:
    initial = run(
        "cn-genai-interim",
        {"user_illegal_activity": "yes", "illegal_content": "yes"},
        {"discovered": utc(2026, 3, 1, 1)},
        org_sla=timedelta(hours=4),
    )["initial"]
    assert initial.class_id == "illegal_content"


def test_genai_unknown_is_provisional_and_no_is_nothing() -> None:
    events = {"discovered": utc(2026, 3, 1, 1)}
    assert run("cn-genai-interim", {"illegal_content": "unknown", "user_illegal_activity": "no"}, events)[
        "initial"
    ].provisional
    assert run("cn-genai-interim", {"illegal_content": "no", "user_illegal_activity": "no"}, events) == {}


def test_genai_waits_for_discovery() -> None:
    initial = run("cn-genai-interim", {"illegal_content": "yes"}, {"occurred": utc(2026, 3, 1)})["initial"]
    assert initial.waiting_for == "discovered"


# -- US CIRCIA (proposed rule; not enabled, still computable) ---------------------------------------------


def test_circia_covered_incident_72_hours_from_reasonable_belief() -> None:
    initial = run(
        "us-circia",
        {"covered_cyber_incident": "yes", "ransom_payment": "no"},
        {"reasonable_belief": utc(2026, 3, 31, 23, 30)},
    )["initial"]
    assert (initial.class_id, initial.due_at) == ("covered_cyber_incident", utc(2026, 4, 3, 23, 30))


def test_circia_ransom_payment_alone() -> None:
    got = run(
        "us-circia",
        {"covered_cyber_incident": "no", "ransom_payment": "yes"},
        {"ransom_paid": utc(2026, 4, 2, 12)},
    )
    assert list(got) == ["initial"]
    assert (got["initial"].class_id, got["initial"].due_at) == ("ransom_payment", utc(2026, 4, 3, 12))


def test_circia_covered_incident_with_a_ransom_payment() -> None:
    got = run(
        "us-circia",
        {"covered_cyber_incident": "yes", "ransom_payment": "yes"},
        {"reasonable_belief": utc(2026, 4, 1), "ransom_paid": utc(2026, 4, 2, 12)},
    )
    assert got["initial"].due_at == utc(2026, 4, 4)
    assert got["ransom-24h"].due_at == utc(2026, 4, 3, 12)


def test_circia_ransom_not_yet_paid_waits() -> None:
    got = run(
        "us-circia",
        {"covered_cyber_incident": "yes", "ransom_payment": "yes"},
        {"reasonable_belief": utc(2026, 4, 1)},
    )
    assert got["ransom-24h"].waiting_for == "ransom_paid"


def test_circia_not_covered_no_ransom() -> None:
    assert (
        run(
            "us-circia",
            {"covered_cyber_incident": "no", "ransom_payment": "no"},
            {"reasonable_belief": utc(2026, 4, 1)},
        )
        == {}
    )


# -- the function's contract ------------------------------------------------------------------------------


def test_the_initial_report_sent_event_and_list_agree_on_the_earlier() -> None:
    aware = utc(2026, 1, 5, 9)
    from_list = run(
        "eu-gpai-cop-c9",
        cop(death="yes"),
        {"aware_of_model_involvement": aware},
        reports_sent=[("initial", utc(2026, 1, 12, 9))],
    )["update-1"]
    from_event = run(
        "eu-gpai-cop-c9",
        cop(death="yes"),
        {"aware_of_model_involvement": aware, "initial_report_sent": utc(2026, 1, 11, 9)},
        reports_sent=[("initial", utc(2026, 1, 12, 9))],
    )["update-1"]
    assert from_list.due_at == utc(2026, 2, 9, 9)
    assert from_event.due_at == utc(2026, 2, 8, 9)


def test_resolved_before_the_initial_report_was_sent_needs_no_updates() -> None:
    got = run(
        "eu-gpai-cop-c9",
        cop(death="yes"),
        {"aware_of_model_involvement": utc(2026, 1, 5, 9), "resolved": utc(2026, 1, 6)},
    )
    assert list(got) == ["initial", "final"]


def test_input_zones_are_normalised_to_utc() -> None:
    paris = datetime(2026, 7, 1, 12, tzinfo=ZoneInfo("Europe/Paris"))
    initial = run("us-ca-sb53", sb53(loss_of_control_harm="yes"), {"discovered": paris})["initial"]
    assert initial.start_at == utc(2026, 7, 1, 10) and initial.start_at.tzinfo is UTC


def test_the_function_does_not_read_the_clock() -> None:
    def once() -> list[ObligationSpec]:
        r = regime("eu-gpai-cop-c9")
        return compute_obligations(r, assess(r, cop(death="yes")), {"aware_of_model_involvement": utc(2026, 1, 5)})

    with time_machine.travel(utc(2026, 1, 1), tick=False):
        early = once()
    with time_machine.travel(utc(2031, 1, 1), tick=False):
        late = once()
    assert early == late


def test_bad_inputs_are_rejected() -> None:
    r = regime("us-ca-sb53")
    result = assess(r, sb53(loss_of_control_harm="yes"))
    with pytest.raises(ValueError, match="timezone-aware"):
        compute_obligations(r, result, {"discovered": datetime(2026, 1, 1)})  # noqa: DTZ001 - the point
    with pytest.raises(ValueError, match="unknown clock event"):
        compute_obligations(r, result, {"noticed": utc(2026, 1, 1)})
    with pytest.raises(ValueError, match="must not be negative"):
        compute_obligations(r, result, {}, org_sla=timedelta(hours=-1))
    other = AssessmentResult("us-ny-raise", "2026-03-27", "reportable", ("loss_of_control_harm",), (), (), (), (), ())
    with pytest.raises(ValueError, match="assessment is for us-ny-raise"):
        compute_obligations(r, other, {})
