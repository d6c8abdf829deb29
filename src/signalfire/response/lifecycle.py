"""Incident lifecycle rules: status moves, their times, action times, roles and references.

Everything here is pure: the caller loads the facts (current status, awareness time, open action
count, ...) and passes them in; a rule that fails raises a ``ResponseRuleError`` subclass carrying a
stable ``code``, a user-safe ``message``, the offending ``field`` and a suggested ``http_status``,
and nothing has been changed. The caller maps it to its own 4xx error.

Status moves (``reported → triaged → contained → mitigated → resolved → closed``):

* one step forward is always allowed;
* a forward move that skips statuses (e.g. resolving a false alarm straight from triage, without
  containing it) needs a non-blank reason, kept with the transition;
* a step back ("reopen": containment failed, the fix did not hold) needs a reason and may only go
  to triaged, contained or mitigated: a triaged incident is never un-triaged;
* closed is final: a recurrence opens a new incident that refers to the old one, so the closed
  record, its metrics and any regulatory filings built on it stay as they were;
* closing needs every action settled (none requested or in progress).

Times: a transition time may not be in the future (beyond ``CLOCK_SKEW_TOLERANCE``), before the
org became aware, or before the previous transition. Equal times are allowed, so a responder can
record "resolved and closed at 14:00".
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise

from signalfire.response.vocab import IncidentStatus, ParticipantRole

# Times come from people's browsers and from other systems whose clocks drift; two minutes absorbs
# ordinary skew and form-submission latency while still rejecting a time typed a day ahead.
CLOCK_SKEW_TOLERANCE = timedelta(minutes=2)

_REOPEN_TARGETS = frozenset({IncidentStatus.TRIAGED, IncidentStatus.CONTAINED, IncidentStatus.MITIGATED})


class ErrorCode(StrEnum):
    """Stable machine-readable codes for every rule in this module."""

    NO_CHANGE = "no_change"
    INCIDENT_CLOSED = "incident_closed"
    TRANSITION_NOT_ALLOWED = "transition_not_allowed"
    REASON_REQUIRED = "reason_required"
    OPEN_ACTIONS = "open_actions"
    NAIVE_TIME = "naive_time"
    TIME_IN_FUTURE = "time_in_future"
    BEFORE_AWARENESS = "before_awareness"
    BEFORE_PREVIOUS_TRANSITION = "before_previous_transition"
    AWARENESS_AFTER_TRANSITION = "awareness_after_transition"
    MISSING_TIME = "missing_time"
    OUT_OF_ORDER = "out_of_order"
    SECOND_COMMANDER = "second_commander"
    NO_COMMANDER_TO_HAND_OVER = "no_commander_to_hand_over"
    ROLE_ALREADY_HELD = "role_already_held"
    BAD_REFERENCE = "bad_reference"


# State conflicts (the request is well formed but the incident is in the wrong state) are 409;
# everything else is a problem with the submitted values, 422.
_CONFLICT_CODES = frozenset(
    {
        ErrorCode.NO_CHANGE,
        ErrorCode.INCIDENT_CLOSED,
        ErrorCode.TRANSITION_NOT_ALLOWED,
        ErrorCode.OPEN_ACTIONS,
        ErrorCode.SECOND_COMMANDER,
        ErrorCode.NO_COMMANDER_TO_HAND_OVER,
        ErrorCode.ROLE_ALREADY_HELD,
    }
)


class ResponseRuleError(Exception):
    """A response rule refused the input. Nothing was changed."""

    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    @property
    def http_status(self) -> int:
        return 409 if self.code in _CONFLICT_CODES else 422

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code.value!r}, {self.message!r}, field={self.field!r})"


class TransitionError(ResponseRuleError):
    """An incident status change (or the awareness time it is measured from) was refused."""


class ActionTimeError(ResponseRuleError):
    """A response action's times are inconsistent."""


class RoleError(ResponseRuleError):
    """A role assignment was refused (e.g. a second commander)."""


class TransitionKind(StrEnum):
    STEP = "step"
    """One status forward."""
    SKIP = "skip"
    """Forward past one or more statuses; needs a reason."""
    REOPEN = "reopen"
    """Back to an earlier status; needs a reason."""


@dataclass(frozen=True)
class TransitionOption:
    """A status the incident may move to next, for building the UI's buttons."""

    target: IncidentStatus
    kind: TransitionKind
    reason_required: bool


def _kind(current: IncidentStatus, target: IncidentStatus) -> TransitionKind | None:
    """The kind of move, or None when the move is never allowed."""
    if current is IncidentStatus.CLOSED or current is target:
        return None
    if target.order == current.order + 1:
        return TransitionKind.STEP
    if target.order > current.order:
        return TransitionKind.SKIP
    return TransitionKind.REOPEN if target in _REOPEN_TARGETS else None


def transition_options(current: IncidentStatus) -> list[TransitionOption]:
    """Every status reachable from ``current`` in one move, in lifecycle order."""
    options = []
    for target in IncidentStatus:
        kind = _kind(current, target)
        if kind is not None:
            options.append(TransitionOption(target, kind, reason_required=kind is not TransitionKind.STEP))
    return options


def skipped_statuses(current: IncidentStatus, target: IncidentStatus) -> list[IncidentStatus]:
    """The statuses a forward move passes over without entering (empty for steps and reopens)."""
    return [s for s in IncidentStatus if current.order < s.order < target.order]


def _require_aware(value: datetime, field: str, error: type[ResponseRuleError]) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise error(ErrorCode.NAIVE_TIME, "The time must include a time zone.", field)


def _require_aware_now(now: datetime) -> None:
    # ``now`` comes from the server's clock, never from the user: a naive one is a programming error.
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")


def check_transition(
    current: IncidentStatus,
    target: IncidentStatus,
    *,
    at: datetime,
    aware_at: datetime,
    now: datetime,
    last_transition_at: datetime | None,
    open_action_count: int,
    reason: str | None = None,
    tolerance: timedelta = CLOCK_SKEW_TOLERANCE,
) -> TransitionKind:
    """Check a status change from ``current`` to ``target`` effective at ``at``.

    ``aware_at`` is when the org became aware of the incident; ``last_transition_at`` is when the
    incident entered ``current`` (None if unknown); ``open_action_count`` counts actions whose
    status ``is_open``. Returns the kind of move (to record with the transition) or raises
    ``TransitionError``. Status rules are checked before times, so the first error reported is the
    most fundamental one.
    """
    _require_aware_now(now)
    _require_aware(at, "at", TransitionError)
    _require_aware(aware_at, "aware_at", TransitionError)

    if current is target:
        raise TransitionError(ErrorCode.NO_CHANGE, f"The incident is already {current.label.lower()}.", "status")
    if current is IncidentStatus.CLOSED:
        raise TransitionError(
            ErrorCode.INCIDENT_CLOSED,
            "A closed incident cannot change status; open a new incident that refers to it.",
            "status",
        )
    kind = _kind(current, target)
    if kind is None:
        raise TransitionError(
            ErrorCode.TRANSITION_NOT_ALLOWED,
            f"An incident cannot go from {current.label.lower()} back to {target.label.lower()}.",
            "status",
        )
    if kind is not TransitionKind.STEP and not (reason and reason.strip()):
        if kind is TransitionKind.SKIP:
            passed = ", ".join(s.label.lower() for s in skipped_statuses(current, target))
            message = f"Moving to {target.label.lower()} without being {passed} needs a reason."
        else:
            message = f"Reopening the incident as {target.label.lower()} needs a reason."
        raise TransitionError(ErrorCode.REASON_REQUIRED, message, "reason")
    if target is IncidentStatus.CLOSED and open_action_count > 0:
        raise TransitionError(
            ErrorCode.OPEN_ACTIONS,
            f"The incident has {open_action_count} open action(s); complete or cancel them before closing.",
            "status",
        )

    if at > now + tolerance:
        raise TransitionError(ErrorCode.TIME_IN_FUTURE, "The time is in the future.", "at")
    if at < aware_at:
        raise TransitionError(
            ErrorCode.BEFORE_AWARENESS,
            "The time is before the organisation became aware of the incident.",
            "at",
        )
    if last_transition_at is not None and at < last_transition_at:
        raise TransitionError(
            ErrorCode.BEFORE_PREVIOUS_TRANSITION,
            f"The time is before the incident became {current.label.lower()}.",
            "at",
        )
    return kind


def check_awareness_time(
    aware_at: datetime,
    *,
    now: datetime,
    earliest_transition_at: datetime | None = None,
    tolerance: timedelta = CLOCK_SKEW_TOLERANCE,
) -> None:
    """Check the time the org became aware, when it is first recorded or later corrected.

    ``earliest_transition_at`` is the first status change after ``reported`` (triage onwards), if
    any: awareness may not be moved after it. The report itself may precede awareness (an
    automated signal can open an incident before anyone is aware of it).
    """
    _require_aware_now(now)
    _require_aware(aware_at, "aware_at", TransitionError)
    if aware_at > now + tolerance:
        raise TransitionError(ErrorCode.TIME_IN_FUTURE, "The awareness time is in the future.", "aware_at")
    if earliest_transition_at is not None and aware_at > earliest_transition_at:
        raise TransitionError(
            ErrorCode.AWARENESS_AFTER_TRANSITION,
            "The awareness time is after the incident was already triaged or further.",
            "aware_at",
        )


def validate_action_times(
    requested: datetime,
    started: datetime | None,
    completed: datetime | None,
    verified: datetime | None,
    now: datetime,
    *,
    target: datetime | None = None,
    aware_at: datetime | None = None,
    tolerance: timedelta = CLOCK_SKEW_TOLERANCE,
) -> None:
    """Check a response action's times. Raises ``ActionTimeError``.

    The stages are sequential: started ≥ requested, completed ≥ started, verified ≥ completed, and a
    later stage needs the earlier one recorded (record ``started = completed`` for an action that
    took no time). No recorded time may be in the future; ``target`` (the time by which the action
    should be complete, e.g. requested + 12 h for a global rollback) is a deadline and may be, but
    must come after the request. With ``aware_at``, the request may not precede awareness.
    """
    _require_aware_now(now)
    stages: list[tuple[str, datetime | None]] = [
        ("requested_at", requested),
        ("started_at", started),
        ("completed_at", completed),
        ("verified_at", verified),
    ]
    for field, value in stages:
        if value is not None:
            _require_aware(value, field, ActionTimeError)
    if target is not None:
        _require_aware(target, "target_at", ActionTimeError)
    if aware_at is not None:
        _require_aware(aware_at, "aware_at", ActionTimeError)

    for (prev_field, prev), (field, value) in pairwise(stages):
        if value is None:
            continue
        if prev is None:
            raise ActionTimeError(
                ErrorCode.MISSING_TIME,
                f"{_words(field)} needs {_words(prev_field)} to be recorded first.",
                field,
            )
        if value < prev:
            raise ActionTimeError(ErrorCode.OUT_OF_ORDER, f"{_words(field)} is before {_words(prev_field)}.", field)
    for field, value in stages:
        if value is not None and value > now + tolerance:
            raise ActionTimeError(ErrorCode.TIME_IN_FUTURE, f"{_words(field)} is in the future.", field)
    if aware_at is not None and requested < aware_at:
        raise ActionTimeError(
            ErrorCode.BEFORE_AWARENESS,
            "The action was requested before the organisation became aware of the incident.",
            "requested_at",
        )
    if target is not None and target <= requested:
        raise ActionTimeError(ErrorCode.OUT_OF_ORDER, "The target time must be after the request.", "target_at")


def _words(field: str) -> str:
    return field.removesuffix("_at").capitalize() + " time"


def check_role_assignment(
    role: ParticipantRole,
    *,
    user: str,
    current_holders: Collection[str],
    handover: bool = False,
) -> None:
    """Check giving ``role`` to ``user`` given who holds it now. Raises ``RoleError``.

    The commander role is exclusive: while someone holds it, it can only change hands through an
    explicit hand-over (``handover=True``), which the caller records as the outgoing commander's
    ``renounced_at`` and the incoming one's ``assumed_at`` at the same instant. Other roles may be
    held by several people, but not twice by the same person.
    """
    if user in current_holders:
        raise RoleError(ErrorCode.ROLE_ALREADY_HELD, f"{user} already holds the {role.label.lower()} role.", "user")
    if not role.is_exclusive:
        return
    if handover and not current_holders:
        raise RoleError(
            ErrorCode.NO_COMMANDER_TO_HAND_OVER,
            "There is no commander to hand over from; assign one.",
            "user",
        )
    if current_holders and not handover:
        raise RoleError(
            ErrorCode.SECOND_COMMANDER,
            "The incident already has a commander; hand over instead of adding a second one.",
            "user",
        )


_REF_PATTERN = re.compile(r"([A-Z]{2,5})-(\d{4})-(\d{4,})")


def format_incident_ref(year: int, number: int, *, prefix: str = "INC") -> str:
    """``INC-2026-0007``: the org's ``number``-th incident of ``year`` (four digits, more if needed)."""
    if not re.fullmatch(r"[A-Z]{2,5}", prefix):
        raise ValueError("prefix must be 2 to 5 capital letters")
    if not 1000 <= year <= 9999:
        raise ValueError("year must have four digits")
    if number < 1:
        raise ValueError("number must be positive")
    return f"{prefix}-{year:04d}-{number:04d}"


def parse_incident_ref(ref: str) -> tuple[str, int, int]:
    """The (prefix, year, number) of a reference made by ``format_incident_ref``."""
    text = ref.strip().upper()
    match = _REF_PATTERN.fullmatch(text)
    if match is not None:
        prefix, year, number = match.group(1), int(match.group(2)), int(match.group(3))
        # Only the canonical spelling parses, so one incident never has two references.
        if year >= 1000 and number >= 1 and format_incident_ref(year, number, prefix=prefix) == text:
            return prefix, year, number
    raise ResponseRuleError(ErrorCode.BAD_REFERENCE, f"{ref!r} is not an incident reference.", "reference")
