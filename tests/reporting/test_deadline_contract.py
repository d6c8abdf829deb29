"""The rest of the deadline function's contract, pinned where mutation testing found it loose
(docs/mutation.md): the basis text a reader sees, the edges of reclassification and of the update series,
the host's time zone, bad input, and concurrent reports beyond the shipped files.

Expected instants are worked out by hand from the regime files (comments show how); the basis sentences
are written out as the module docstring and regimes.md section 8 describe them, with each rule's source
and confidence taken from the file. Times are UTC unless a comment says otherwise.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime, timedelta, tzinfo

import pytest

from signalfire.reporting.rules.assessment_engine import assess
from signalfire.reporting.rules.deadlines import compute_obligations
from tests.reporting.test_deadlines import a73, cop, regime, run, sb53, utc

COP, COP_V = "eu-gpai-cop-c9", "2025-07-10"
A73, A73_V = "eu-ai-act-art73", "2025-09-26"


def _class(regime_id: str, class_id: str) -> tuple[str, str]:
    cls = regime(regime_id).incident_class(class_id)
    return cls.source, cls.confidence


# -- the basis, word for word ---------------------------------------------------------------------------


def test_cop_basis_for_the_initial_report_updates_and_final() -> None:
    # Death, aware Tuesday 3 March 2026 10:00: 10 days elapsed is Friday 13 March 10:00 (no clock change
    # before 29 March, so the same local time agrees). 1182/71: day 10 ends at midnight EET, 22:00.
    # Initial report sent Thursday 5 March 12:00 (13:00 CET, 14:00 EET); update 1 sent Tuesday 10 March 12:00.
    sent = [("initial", utc(2026, 3, 5, 12)), ("update-1", utc(2026, 3, 10, 12))]
    got = run(COP, cop(death="yes"), {"aware_of_model_involvement": utc(2026, 3, 3, 10)}, reports_sent=sent)
    src, conf = _class(COP, "death")
    initial = got["initial"]
    assert initial.basis == (
        f"Initial report under {COP} {COP_V}, class death: 10 days (P10D) from aware_of_model_involvement, "
        f"started 2026-03-03T10:00:00Z, due 2026-03-13T10:00:00Z (elapsed time). Source: {src} (confidence {conf})."
        " Legal reading (eu_1182_71): 2026-03-13T22:00:00Z."
    )
    assert (initial.regime_id, initial.regime_version, initial.confidence) == (COP, COP_V, conf)
    assert initial.projected is False and initial.target_basis is None
    assert initial.due_from_reclassification_at is None and initial.past_due_on_reclassification is False

    updates = regime(COP).reports.updates
    assert updates is not None
    # Update 1: 4 weeks after the initial report. 13:00 CET / 14:00 EET on Thursday 2 April are 11:00 UTC
    # (summer time since 29 March), an hour before 28 x 24 h (12:00). 1182/71: day 28 is 2 April, ending
    # at midnight EEST, 21:00.
    u1 = got["update-1"]
    assert (u1.start_event, u1.start_at, u1.due_at) == ("initial_report_sent", utc(2026, 3, 5, 12), utc(2026, 4, 2, 11))
    assert (u1.due_reading, u1.alt_due_at, u1.alt_due_reading) == (
        "same_local_time",
        utc(2026, 4, 2, 12),
        "elapsed_utc",
    )
    assert u1.recipients == ("eu_ai_office", "eu_ncas") and u1.sent_at == utc(2026, 3, 10, 12)
    assert u1.basis == (
        f"Update 1 under {COP} {COP_V}, class death: 4 weeks (P4W) (1 x P4W) after initial_report_sent, while "
        "resolved is not recorded, started 2026-03-05T12:00:00Z, due 2026-04-02T11:00:00Z (same local time in the "
        f"recipient's zone). Source: {updates.source} (confidence {updates.confidence}). Other reading (elapsed "
        "time): 2026-04-02T12:00:00Z. Legal reading (eu_1182_71): 2026-04-02T21:00:00Z."
    )
    # Update 2: 4 weeks after update 1 was sent (Tuesday 7 April, 13:00 CEST / 14:00 EEST = 11:00) comes
    # before the grid's 8 weeks (30 April). Elapsed would be 12:00; 1182/71: Tuesday 7 April, 21:00.
    u2 = got["update-2"]
    assert (u2.start_event, u2.start_at, u2.due_at) == ("sent:update-1", utc(2026, 3, 10, 12), utc(2026, 4, 7, 11))
    assert u2.basis.startswith(
        f"Update 2 under {COP} {COP_V}, class death: 4 weeks (P4W) after update-1 was sent, while resolved is not "
        "recorded, started 2026-03-10T12:00:00Z, due 2026-04-07T11:00:00Z"
    )
    # One sent, so the next one (2) and two projected ones (3, 4) are shown.
    assert [(s, o.projected) for s, o in got.items() if s.startswith("update-")] == [
        ("update-1", False),
        ("update-2", False),
        ("update-3", True),
        ("update-4", True),
    ]
    final = got["final"]
    assert final.recipients == ("eu_ai_office", "eu_ncas") and final.projected is False
    assert final.basis == (
        f"Final report under {COP} {COP_V}, class death: 60 days (P60D) from resolved; waiting for resolved. "
        f"Source: {regime(COP).reports.final.source} (confidence high)."  # type: ignore[union-attr]
    )


def test_cop_update_waiting_for_the_initial_report() -> None:
    got = run(COP, cop(death="yes"), {"aware_of_model_involvement": utc(2026, 3, 3, 10)})
    u1 = got["update-1"]
    assert (u1.start_event, u1.start_at, u1.due_at, u1.waiting_for) == (
        "initial_report_sent",
        None,
        None,
        "initial_report_sent",
    )
    assert u1.projected is False and u1.recipients == ("eu_ai_office", "eu_ncas")
    assert u1.basis.startswith(
        f"Update 1 under {COP} {COP_V}, class death: 4 weeks (P4W) after initial_report_sent; waiting for "
        "initial_report_sent. Source: "
    )


def test_a_possible_class_that_governs_says_so_in_the_basis() -> None:
    # Death applies, critical-infrastructure disruption is unknown: its 2 days (Thursday 5 March 10:00)
    # govern until it is ruled out. 1182/71: day 2 is Thursday 5 March, ending 22:00 (EET).
    initial = run(COP, cop(death="yes", ci_disruption="unknown"), {"aware_of_model_involvement": utc(2026, 3, 3, 10)})[
        "initial"
    ]
    src, conf = _class(COP, "ci_disruption")
    assert initial.basis == (
        f"Initial report under {COP} {COP_V}, class ci_disruption: 2 days (P2D) from aware_of_model_involvement, "
        f"started 2026-03-03T10:00:00Z, due 2026-03-05T10:00:00Z (elapsed time). Source: {src} (confidence {conf})."
        " Legal reading (eu_1182_71): 2026-03-05T22:00:00Z."
        " Class ci_disruption only possibly applies; its clock runs until it is ruled out."
    )


def test_art73_immediately_basis_and_target_with_an_org_sla() -> None:
    # Death, aware Tuesday 3 March 2026 10:00; link suspected Wednesday 4 March 09:00; SLA 2 h 1 min:
    # target 11:01 on 4 March. Backstop 10 days: Friday 13 March 10:00; 1182/71 in Helsinki: 22:00.
    events = {"aware_of_incident": utc(2026, 3, 3, 10), "causal_link_suspected": utc(2026, 3, 4, 9)}
    initial = run(A73, a73(death="yes"), events, org_sla=timedelta(hours=2, minutes=1))["initial"]
    src, conf = _class(A73, "death")
    assert (initial.target_at, initial.due_at) == (utc(2026, 3, 4, 11, 1), utc(2026, 3, 13, 10))
    reading = "immediately after causal_link_suspected (org SLA 2 hours 1 minute)"
    assert initial.target_basis == reading
    assert initial.basis == (
        f"Initial report under {A73} {A73_V}, class death: immediately after earliest_of(causal_link_suspected, "
        "causal_link_confirmed), at the latest 10 days (P10D) from aware_of_incident, started 2026-03-03T10:00:00Z, "
        f"due 2026-03-13T10:00:00Z (elapsed time). Source: {src} (confidence {conf}). Legal reading (eu_1182_71): "
        f"2026-03-13T22:00:00Z. Target: 2026-03-04T11:01:00Z ({reading})."
    )


@pytest.mark.parametrize(
    ("sla", "words"),
    [
        (None, "no org SLA set: at once"),
        (timedelta(0), "org SLA 0 minutes"),
        (timedelta(hours=1), "org SLA 1 hour"),
        (timedelta(minutes=1), "org SLA 1 minute"),
        (timedelta(days=1), "org SLA 1 day"),
        (timedelta(days=2, hours=2, minutes=2), "org SLA 2 days 2 hours 2 minutes"),
        (timedelta(hours=3, minutes=59), "org SLA 3 hours 59 minutes"),
    ],
)
def test_the_sla_in_words(sla: timedelta | None, words: str) -> None:
    events = {"aware_of_incident": utc(2026, 3, 3, 10), "causal_link_suspected": utc(2026, 3, 4, 9)}
    initial = run(A73, a73(death="yes"), events, org_sla=sla)["initial"]
    assert initial.target_basis == f"immediately after causal_link_suspected ({words})"


def test_an_sla_past_the_backstop_is_capped_and_keeps_its_reading() -> None:
    # Link suspected on the day of awareness, SLA 30 days: the target cannot run past the 10-day backstop.
    events = {"aware_of_incident": utc(2026, 3, 3, 10), "causal_link_suspected": utc(2026, 3, 3, 10)}
    initial = run(A73, a73(death="yes"), events, org_sla=timedelta(days=30))["initial"]
    assert initial.target_at == initial.due_at == utc(2026, 3, 13, 10)
    assert initial.target_basis == "immediately after causal_link_suspected (org SLA 30 days)"
    assert "Target:" not in initial.basis  # the same instant as the due: nothing more to say


def test_no_target_reading_without_a_trigger() -> None:
    initial = run(A73, a73(death="yes"), {"aware_of_incident": utc(2026, 3, 3, 10)}, org_sla=timedelta(hours=1))[
        "initial"
    ]
    assert initial.target_at == initial.due_at and initial.target_basis is None


def test_waiting_for_the_backstop_with_the_trigger_known() -> None:
    # The link is suspected before awareness is recorded: the due waits, the target is already set.
    events = {"causal_link_suspected": utc(2026, 3, 4, 9)}
    initial = run(A73, a73(death="yes"), events, org_sla=timedelta(hours=1))["initial"]
    src, conf = _class(A73, "death")
    assert (initial.due_at, initial.waiting_for, initial.start_event) == (
        None,
        "aware_of_incident",
        "aware_of_incident",
    )
    assert (initial.target_at, initial.target_basis) == (
        utc(2026, 3, 4, 10),
        "immediately after causal_link_suspected (org SLA 1 hour)",
    )
    assert initial.basis == (
        f"Initial report under {A73} {A73_V}, class death: 10 days (P10D) from aware_of_incident; waiting for "
        f"aware_of_incident. Source: {src} (confidence {conf}). Target: 2026-03-04T10:00:00Z (immediately after "
        "causal_link_suspected (org SLA 1 hour))."
    )


def test_an_org_sla_deadline_waiting_names_the_sla() -> None:
    initial = run("eu-ai-act-art55", {"model_involved": "yes"}, {}, org_sla=timedelta(hours=1))["initial"]
    assert initial.basis.startswith(
        "Initial report under eu-ai-act-art55 2024-07-12, class serious_incident: within the org's SLA (org SLA "
        "1 hour) from earliest_of(aware_of_incident, aware_of_model_involvement); waiting for earliest_of("
    )


# -- reclassification edges -------------------------------------------------------------------------------


def test_reclassified_exactly_at_the_start_or_the_due() -> None:
    events = {"aware_of_model_involvement": utc(2026, 3, 3, 10)}
    # At the start itself: nothing later to record, nothing past due.
    at_start = run(COP, cop(death="yes"), events, reclassified_at=utc(2026, 3, 3, 10))["initial"]
    assert (at_start.due_from_reclassification_at, at_start.past_due_on_reclassification) == (None, False)
    # At the due instant: a report filed then is still on time, so not past due; counted from the change,
    # 10 days more is 23 March 10:00.
    at_due = run(COP, cop(death="yes"), events, reclassified_at=utc(2026, 3, 13, 10))["initial"]
    assert (at_due.due_from_reclassification_at, at_due.past_due_on_reclassification) == (utc(2026, 3, 23, 10), False)
    assert "past due" not in at_due.basis
    late = run(COP, cop(death="yes"), events, reclassified_at=utc(2026, 3, 13, 10, 1))["initial"]
    assert late.past_due_on_reclassification is True
    assert late.basis.endswith(
        " Legal reading (eu_1182_71): 2026-03-13T22:00:00Z. Already past due when the class was reclassified."
    )


def test_reclassification_fields_stay_off_updates_and_closing_reports() -> None:
    # Update 1 (due 2 April 11:00, see above) is long past when the class is reclassified on 20 April.
    got = run(
        COP,
        cop(death="yes"),
        {"aware_of_model_involvement": utc(2026, 3, 3, 10), "resolved": utc(2026, 4, 20)},
        reports_sent=[("initial", utc(2026, 3, 5, 12))],
        reclassified_at=utc(2026, 4, 20),
    )
    assert got["initial"].past_due_on_reclassification is True
    for stage in ("update-1", "final"):
        assert got[stage].due_at is not None
        assert (got[stage].due_from_reclassification_at, got[stage].past_due_on_reclassification) == (None, False)


# -- the update series' end ------------------------------------------------------------------------------


def test_an_update_due_at_the_instant_of_resolution_is_not_owed() -> None:
    # Update 1 is due 2 April 11:00 (above). "Every update due before" the resolution: resolved at that
    # instant, none is owed; a minute later, update 1 is.
    base = {"aware_of_model_involvement": utc(2026, 3, 3, 10)}
    sent = [("initial", utc(2026, 3, 5, 12))]
    at = run(COP, cop(death="yes"), {**base, "resolved": utc(2026, 4, 2, 11)}, reports_sent=sent)
    assert not [s for s in at if s.startswith("update-")]
    after = run(COP, cop(death="yes"), {**base, "resolved": utc(2026, 4, 2, 11, 1)}, reports_sent=sent)
    assert [s for s in after if s.startswith("update-")] == ["update-1"]


def test_the_earliest_of_two_sends_of_a_stage_counts() -> None:
    sent = [("initial", utc(2026, 3, 5, 12)), ("initial", utc(2026, 3, 6, 12))]
    got = run(COP, cop(death="yes"), {"aware_of_model_involvement": utc(2026, 3, 3, 10)}, reports_sent=sent)
    assert got["initial"].sent_at == utc(2026, 3, 5, 12)
    assert got["update-1"].start_at == utc(2026, 3, 5, 12)


# -- a skipped local time, and the host's zone -----------------------------------------------------------


def test_a_skipped_local_time_is_reached_at_the_change() -> None:
    # Discovered Saturday 21 February 2026, 02:10 PST (10:10 UTC); 15 days later 02:10 on Sunday 8 March
    # does not exist in Los Angeles (02:00 PST jumps to 03:00 PDT at 10:00 UTC). The first instant the
    # clocks show 02:10 or later is the change itself, 10:00:00 UTC exactly; 15 x 24 h is 10:10.
    initial = run("us-ca-sb53", sb53(loss_of_control_harm="yes"), {"discovered": utc(2026, 2, 21, 10, 10)})["initial"]
    assert (initial.due_at, initial.due_reading) == (utc(2026, 3, 8, 10), "same_local_time")
    assert (initial.alt_due_at, initial.alt_due_reading) == (utc(2026, 3, 8, 10, 10), "elapsed_utc")


@pytest.fixture()
def host_in_auckland(monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.setenv("TZ", "Pacific/Auckland")
    time.tzset()
    yield None
    monkeypatch.undo()
    time.tzset()


def test_results_are_utc_whatever_the_hosts_zone(host_in_auckland: object) -> None:
    # Tuesday 24 March 2026, 10:00 (11:00 CET, 12:00 EET), cyber breach, 5 days: Sunday 29 March, the
    # day of the EU change: the same local time is 09:00, elapsed 10:00. 1182/71: rolled to Monday 30
    # March, ending at midnight EEST (21:00).
    initial = run(COP, cop(cyber_breach="yes"), {"aware_of_model_involvement": utc(2026, 3, 24, 10)})["initial"]
    assert initial.due_at == utc(2026, 3, 29, 9) and initial.legal_due_at == utc(2026, 3, 30, 21)
    for value in (initial.due_at, initial.legal_due_at, initial.start_at, initial.alt_due_at):
        assert value is not None and value.utcoffset() == timedelta(0) and value.tzname() == "UTC"
    assert "due 2026-03-29T09:00:00Z" in initial.basis and "+13:00" not in initial.basis


# -- bad input -------------------------------------------------------------------------------------------


class _NoOffset(tzinfo):
    def utcoffset(self, dt: datetime | None) -> None:
        return None

    def dst(self, dt: datetime | None) -> None:
        return None

    def tzname(self, dt: datetime | None) -> None:
        return None


def test_bad_input_is_named() -> None:
    r = regime(COP)
    result = assess(r, cop(death="yes"))
    aware = {"aware_of_model_involvement": utc(2026, 3, 3, 10)}
    with pytest.raises(ValueError, match=r"^org_sla must not be negative$"):
        compute_obligations(r, result, aware, org_sla=timedelta(seconds=-1))
    with pytest.raises(ValueError, match=r"^reclassified_at must be timezone-aware$"):
        compute_obligations(r, result, aware, reclassified_at=datetime(2026, 3, 4))  # noqa: DTZ001
    with pytest.raises(ValueError, match=r"^reports_sent\['initial'\] must be timezone-aware$"):
        compute_obligations(r, result, aware, reports_sent=[("initial", datetime(2026, 3, 4))])  # noqa: DTZ001
    with pytest.raises(ValueError, match=r"^aware_of_model_involvement must be timezone-aware$"):
        compute_obligations(r, result, {"aware_of_model_involvement": datetime(2026, 3, 4)})  # noqa: DTZ001
    # A zone object that gives no offset is as unusable as none.
    with pytest.raises(ValueError, match=r"^resolved must be timezone-aware$"):
        compute_obligations(r, result, {**aware, "resolved": datetime(2026, 3, 4, tzinfo=_NoOffset())})


# -- concurrent reports beyond the shipped files ---------------------------------------------------------


def test_concurrent_reports_with_the_initial_and_on_a_clock_of_their_own() -> None:
    # Art. 73 with two extra reports (no shipped file has two): "alongside" goes with the initial report,
    # "two-days" runs 2 days from awareness to the Helsinki authority. Only the wanted ones appear.
    base = regime(A73)
    model = regime("us-ca-sb53").reports.concurrent[0]
    with_initial = regime("cn-cac-cyber-incident").reports.concurrent[0]
    assert with_initial.deadline.kind == "with_initial"
    alongside = with_initial.model_copy(update={"id": "alongside", "label": "Alongside", "recipients": ["eu_msa"]})
    two_days = model.model_copy(
        update={
            "id": "two-days",
            "label": "Two days",
            "start": "aware_of_incident",
            "recipients": ["eu_msa"],
            "deadline": base.incident_class("ci_disruption").deadline,
        }
    )
    r = base.model_copy(update={"reports": base.reports.model_copy(update={"concurrent": [alongside, two_days]})})
    events = {"aware_of_incident": utc(2026, 3, 3, 10), "causal_link_suspected": utc(2026, 3, 4, 9)}
    result = assess(r, a73(death="yes"))

    only_second = compute_obligations(
        r, dataclasses.replace(result, concurrent_reports=("two-days",)), events, org_sla=timedelta(hours=1)
    )
    assert [o.stage for o in only_second] == ["initial", "two-days"]
    # Thursday 5 March 10:00 elapsed; 1182/71: day 2 is Thursday 5 March, ending 22:00 (EET).
    second = only_second[1]
    assert (second.start_event, second.due_at, second.legal_due_at) == (
        "aware_of_incident",
        utc(2026, 3, 5, 10),
        utc(2026, 3, 5, 22),
    )
    assert second.basis.startswith(f"Two days under {A73} {A73_V}, class death: 2 days (P2D) from aware_of_incident")

    both = compute_obligations(
        r, dataclasses.replace(result, concurrent_reports=("alongside", "two-days")), events, org_sla=timedelta(hours=1)
    )
    initial, beside = both[0], both[1]
    assert [o.stage for o in both] == ["initial", "alongside", "two-days"]
    assert (beside.start_event, beside.start_at, beside.due_at) == (
        initial.start_event,
        initial.start_at,
        initial.due_at,
    )
    assert (beside.target_at, beside.target_basis) == (
        utc(2026, 3, 4, 10),
        "immediately after causal_link_suspected (org SLA 1 hour)",
    )
    assert beside.basis.startswith(f"Alongside under {A73} {A73_V}, class death: with the initial report, started")


# -- the governing class when one clock has not started --------------------------------------------------


def test_a_known_due_governs_over_a_class_whose_start_is_not_recorded() -> None:
    # Both CIRCIA classes apply; only the reasonable belief is recorded. The ransom payment's 24 hours
    # cannot be placed, so the covered incident's 72 hours govern (the earliest known due).
    got = run(
        "us-circia",
        {"covered_cyber_incident": "yes", "ransom_payment": "yes"},
        {"reasonable_belief": utc(2026, 4, 1)},
    )
    assert (got["initial"].class_id, got["initial"].due_at) == ("covered_cyber_incident", utc(2026, 4, 4))
