"""Incident status machine, action times, roles, references and the vocabularies they use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from signalfire.response.lifecycle import (
    CLOCK_SKEW_TOLERANCE,
    ActionTimeError,
    ErrorCode,
    ResponseRuleError,
    RoleError,
    TransitionError,
    TransitionKind,
    check_awareness_time,
    check_role_assignment,
    check_transition,
    format_incident_ref,
    parse_incident_ref,
    skipped_statuses,
    transition_options,
    validate_action_times,
)
from signalfire.response.vocab import (
    ActionKind,
    ActionStatus,
    IncidentStatus,
    ParticipantRole,
    RiskDomain,
    Severity,
)

S = IncidentStatus
NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
AWARE = NOW - timedelta(hours=6)
ENTERED = NOW - timedelta(hours=1)
NAIVE = NOW.replace(tzinfo=None)


def check(
    current: IncidentStatus,
    target: IncidentStatus,
    *,
    at: datetime = NOW - timedelta(minutes=5),
    aware_at: datetime = AWARE,
    now: datetime = NOW,
    last_transition_at: datetime | None = ENTERED,
    open_action_count: int = 0,
    reason: str | None = None,
) -> TransitionKind:
    return check_transition(
        current,
        target,
        at=at,
        aware_at=aware_at,
        now=now,
        last_transition_at=last_transition_at,
        open_action_count=open_action_count,
        reason=reason,
    )


def refused(
    code: ErrorCode, field: str | None, *, current: IncidentStatus, target: IncidentStatus, **kwargs: Any
) -> TransitionError:
    with pytest.raises(TransitionError) as info:
        check(current, target, **kwargs)
    assert info.value.code is code
    assert info.value.field == field
    return info.value


# --- status moves -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.REPORTED, S.TRIAGED),
        (S.TRIAGED, S.CONTAINED),
        (S.CONTAINED, S.MITIGATED),
        (S.MITIGATED, S.RESOLVED),
        (S.RESOLVED, S.CLOSED),
    ],
)
def test_each_forward_step_needs_no_reason(current: IncidentStatus, target: IncidentStatus) -> None:
    assert check(current, target) is TransitionKind.STEP


def test_resolving_before_containing_needs_a_reason() -> None:
    error = refused(ErrorCode.REASON_REQUIRED, "reason", current=S.TRIAGED, target=S.RESOLVED)
    assert "contained, mitigated" in error.message
    assert error.http_status == 422
    refused(ErrorCode.REASON_REQUIRED, "reason", current=S.TRIAGED, target=S.RESOLVED, reason="   ")
    assert check(S.TRIAGED, S.RESOLVED, reason="False alarm: eval harness bug") is TransitionKind.SKIP


def test_closing_straight_from_report_is_a_skip_with_a_reason() -> None:
    assert check(S.REPORTED, S.CLOSED, reason="Duplicate of INC-2026-0003") is TransitionKind.SKIP
    assert skipped_statuses(S.REPORTED, S.CLOSED) == [S.TRIAGED, S.CONTAINED, S.MITIGATED, S.RESOLVED]
    assert skipped_statuses(S.RESOLVED, S.CLOSED) == []


def test_closing_with_open_actions_is_a_conflict() -> None:
    error = refused(ErrorCode.OPEN_ACTIONS, "status", current=S.RESOLVED, target=S.CLOSED, open_action_count=2)
    assert error.http_status == 409
    assert "2 open" in error.message
    # Open actions only block closing, not resolving.
    assert check(S.MITIGATED, S.RESOLVED, open_action_count=2) is TransitionKind.STEP


def test_reopen_needs_a_reason_and_never_returns_to_reported() -> None:
    refused(ErrorCode.REASON_REQUIRED, "reason", current=S.RESOLVED, target=S.CONTAINED)
    assert check(S.RESOLVED, S.CONTAINED, reason="Bypass found again") is TransitionKind.REOPEN
    assert check(S.MITIGATED, S.TRIAGED, reason="Wrong domain") is TransitionKind.REOPEN
    error = refused(ErrorCode.TRANSITION_NOT_ALLOWED, "status", current=S.TRIAGED, target=S.REPORTED, reason="x")
    assert error.http_status == 409


def test_closed_is_final_and_no_change_is_refused() -> None:
    for target in (S.TRIAGED, S.RESOLVED):
        refused(ErrorCode.INCIDENT_CLOSED, "status", current=S.CLOSED, target=target, reason="recurred")
    refused(ErrorCode.NO_CHANGE, "status", current=S.CONTAINED, target=S.CONTAINED)


def test_transition_options_match_check_transition() -> None:
    assert [(o.target, o.kind, o.reason_required) for o in transition_options(S.CONTAINED)] == [
        (S.TRIAGED, TransitionKind.REOPEN, True),
        (S.MITIGATED, TransitionKind.STEP, False),
        (S.RESOLVED, TransitionKind.SKIP, True),
        (S.CLOSED, TransitionKind.SKIP, True),
    ]
    assert transition_options(S.CLOSED) == []
    for current in IncidentStatus:
        offered = {o.target: o for o in transition_options(current)}
        for target in IncidentStatus:
            try:
                kind = check(current, target, reason="because")
            except TransitionError:
                assert target not in offered
            else:
                assert offered[target].kind is kind


# --- transition times ---------------------------------------------------------------------------


def test_future_time_is_refused_beyond_the_skew_tolerance_only() -> None:
    assert check(S.REPORTED, S.TRIAGED, at=NOW + CLOCK_SKEW_TOLERANCE) is TransitionKind.STEP
    refused(
        ErrorCode.TIME_IN_FUTURE,
        "at",
        current=S.REPORTED,
        target=S.TRIAGED,
        at=NOW + CLOCK_SKEW_TOLERANCE + timedelta(microseconds=1),
    )


def test_time_before_awareness_is_refused() -> None:
    assert check(S.REPORTED, S.TRIAGED, at=AWARE, last_transition_at=None) is TransitionKind.STEP
    refused(
        ErrorCode.BEFORE_AWARENESS,
        "at",
        current=S.REPORTED,
        target=S.TRIAGED,
        at=AWARE - timedelta(microseconds=1),
        last_transition_at=None,
    )


def test_time_before_previous_transition_is_refused_but_equal_is_fine() -> None:
    assert check(S.RESOLVED, S.CLOSED, at=ENTERED) is TransitionKind.STEP
    refused(
        ErrorCode.BEFORE_PREVIOUS_TRANSITION,
        "at",
        current=S.RESOLVED,
        target=S.CLOSED,
        at=ENTERED - timedelta(seconds=1),
    )


def test_status_rules_are_reported_before_time_rules() -> None:
    refused(ErrorCode.REASON_REQUIRED, "reason", current=S.TRIAGED, target=S.RESOLVED, at=NOW + timedelta(days=1))


def test_naive_times_are_refused() -> None:
    refused(ErrorCode.NAIVE_TIME, "at", current=S.REPORTED, target=S.TRIAGED, at=NAIVE)
    refused(ErrorCode.NAIVE_TIME, "aware_at", current=S.REPORTED, target=S.TRIAGED, aware_at=NAIVE)
    with pytest.raises(ValueError, match="now"):
        check(S.REPORTED, S.TRIAGED, now=NAIVE)


def test_awareness_time_checks() -> None:
    check_awareness_time(AWARE, now=NOW, earliest_transition_at=AWARE)
    with pytest.raises(TransitionError) as info:
        check_awareness_time(NOW + timedelta(hours=1), now=NOW)
    assert info.value.code is ErrorCode.TIME_IN_FUTURE
    with pytest.raises(TransitionError) as info:
        check_awareness_time(ENTERED + timedelta(seconds=1), now=NOW, earliest_transition_at=ENTERED)
    assert (info.value.code, info.value.field) == (ErrorCode.AWARENESS_AFTER_TRANSITION, "aware_at")


# --- action times -------------------------------------------------------------------------------

REQ = NOW - timedelta(hours=4)


def action_error(**kwargs: datetime | None) -> ActionTimeError:
    args: dict[str, datetime | None] = {
        "requested": REQ,
        "started": None,
        "completed": None,
        "verified": None,
    }
    args.update(kwargs)
    target = args.pop("target", None)
    aware = args.pop("aware_at", None)
    with pytest.raises(ActionTimeError) as info:
        validate_action_times(
            args["requested"] or REQ,
            args["started"],
            args["completed"],
            args["verified"],
            NOW,
            target=target,
            aware_at=aware,
        )
    return info.value


def test_valid_action_times_pass() -> None:
    h = timedelta(hours=1)
    validate_action_times(REQ, REQ, REQ + h, REQ + 2 * h, NOW, target=REQ + 12 * h, aware_at=AWARE)
    validate_action_times(REQ, None, None, None, NOW)
    # An instantaneous action records the same time for start and completion.
    validate_action_times(REQ, REQ + h, REQ + h, None, NOW)


@pytest.mark.parametrize(
    ("kwargs", "code", "field"),
    [
        ({"started": REQ - timedelta(seconds=1)}, ErrorCode.OUT_OF_ORDER, "started_at"),
        (
            {"started": REQ + timedelta(hours=2), "completed": REQ + timedelta(hours=1)},
            ErrorCode.OUT_OF_ORDER,
            "completed_at",
        ),
        ({"completed": REQ + timedelta(hours=1)}, ErrorCode.MISSING_TIME, "completed_at"),
        ({"started": REQ, "verified": REQ + timedelta(hours=1)}, ErrorCode.MISSING_TIME, "verified_at"),
        (
            {"started": REQ, "completed": REQ + timedelta(hours=2), "verified": REQ + timedelta(hours=1)},
            ErrorCode.OUT_OF_ORDER,
            "verified_at",
        ),
        ({"started": REQ, "completed": NOW + timedelta(hours=1)}, ErrorCode.TIME_IN_FUTURE, "completed_at"),
        ({"requested": NOW + timedelta(minutes=3)}, ErrorCode.TIME_IN_FUTURE, "requested_at"),
        ({"target": REQ}, ErrorCode.OUT_OF_ORDER, "target_at"),
        ({"aware_at": REQ + timedelta(seconds=1)}, ErrorCode.BEFORE_AWARENESS, "requested_at"),
        ({"started": NAIVE - timedelta(hours=3)}, ErrorCode.NAIVE_TIME, "started_at"),
    ],
)
def test_bad_action_times(kwargs: dict[str, datetime], code: ErrorCode, field: str) -> None:
    error = action_error(**kwargs)
    assert (error.code, error.field, error.http_status) == (code, field, 422)


# --- roles --------------------------------------------------------------------------------------


def test_a_second_commander_is_refused_but_a_handover_is_not() -> None:
    check_role_assignment(ParticipantRole.COMMANDER, user="ana", current_holders=[])
    with pytest.raises(RoleError) as info:
        check_role_assignment(ParticipantRole.COMMANDER, user="ben", current_holders=["ana"])
    assert (info.value.code, info.value.http_status) == (ErrorCode.SECOND_COMMANDER, 409)
    check_role_assignment(ParticipantRole.COMMANDER, user="ben", current_holders=["ana"], handover=True)
    with pytest.raises(RoleError) as info:
        check_role_assignment(ParticipantRole.COMMANDER, user="ben", current_holders=[], handover=True)
    assert info.value.code is ErrorCode.NO_COMMANDER_TO_HAND_OVER
    with pytest.raises(RoleError) as info:
        check_role_assignment(ParticipantRole.COMMANDER, user="ana", current_holders=["ana"], handover=True)
    assert info.value.code is ErrorCode.ROLE_ALREADY_HELD


def test_other_roles_may_have_several_holders() -> None:
    check_role_assignment(ParticipantRole.SCRIBE, user="cy", current_holders=["ana", "ben"])
    with pytest.raises(RoleError):
        check_role_assignment(ParticipantRole.LIAISON, user="ana", current_holders=["ana"])


# --- references ---------------------------------------------------------------------------------


def test_incident_reference_format_and_parse() -> None:
    assert format_incident_ref(2026, 7) == "INC-2026-0007"
    assert format_incident_ref(2026, 12345) == "INC-2026-12345"
    assert format_incident_ref(2026, 3, prefix="DRL") == "DRL-2026-0003"
    assert parse_incident_ref("INC-2026-0007") == ("INC", 2026, 7)
    assert parse_incident_ref(" inc-2026-12345 ") == ("INC", 2026, 12345)
    for bad in ("INC-2026-007", "INC-2026-00007", "INC-0999-0001", "INC-2026-0000", "INC2026-0001", ""):
        with pytest.raises(ResponseRuleError) as info:
            parse_incident_ref(bad)
        assert info.value.code is ErrorCode.BAD_REFERENCE
    for year, number, prefix in ((999, 1, "INC"), (2026, 0, "INC"), (2026, 1, "inc")):
        with pytest.raises(ValueError):
            format_incident_ref(year, number, prefix=prefix)


# --- vocabularies -------------------------------------------------------------------------------


def test_every_member_has_a_label() -> None:
    for enum in (Severity, RiskDomain, IncidentStatus, ActionKind, ActionStatus, ParticipantRole):
        labels = [member.label for member in enum]
        assert all(labels)
        assert len(set(labels)) == len(labels)


def test_vocabulary_properties() -> None:
    assert [s.rank for s in Severity] == [1, 2, 3, 4]
    assert [s.order for s in IncidentStatus] == list(range(6))
    assert {s for s in ActionStatus if s.is_open} == {ActionStatus.REQUESTED, ActionStatus.IN_PROGRESS}
    assert [r for r in ParticipantRole if r.is_exclusive] == [ParticipantRole.COMMANDER]
    assert ActionKind("model_rollback") is ActionKind.MODEL_ROLLBACK
