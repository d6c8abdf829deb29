"""Escalation planning against a frozen clock: who is paged when, and when nobody is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from hypothesis import given, settings
from hypothesis import strategies as st

from signalfire.response.escalation import (
    MAX_REPEAT,
    EscalationPolicy,
    Level,
    Notification,
    due_notifications,
    next_wakeup,
    schedule,
)

MIN = timedelta(minutes=1)
US = timedelta(microseconds=1)
PAGED = datetime(2026, 5, 4, 3, 17, 12, 250_000, tzinfo=UTC)
POLICY = EscalationPolicy(
    (
        Level(("ana",), 5 * MIN),
        Level(("ben", "team:security-leads"), 10 * MIN),
        Level(("cy",), 15 * MIN),
    )
)
SECOND_LEVEL_AT = PAGED + 5 * MIN


def clock() -> datetime:
    """The frozen wall clock, read the way the scheduler reads it."""
    return datetime.now(UTC)


def levels(notifications: list[Notification]) -> list[int]:
    return [n.level_index for n in notifications]


class Scheduler:
    """A minimal stand-in for the real job: wake, send what is due and unsent, sleep until told."""

    def __init__(self, policy: EscalationPolicy, paged_at: datetime) -> None:
        self.policy = policy
        self.paged_at = paged_at
        self.acknowledged_at: datetime | None = None
        self.sent: dict[tuple[int, int], datetime] = {}

    def tick(self) -> datetime | None:
        now = clock()
        for n in due_notifications(self.policy, paged_at=self.paged_at, acknowledged_at=self.acknowledged_at, now=now):
            self.sent.setdefault((n.cycle, n.level_index), now)
        return next_wakeup(self.policy, self.paged_at, self.acknowledged_at, now)


def test_second_level_is_notified_exactly_at_the_boundary_when_nobody_acknowledged() -> None:
    with time_machine.travel(SECOND_LEVEL_AT - US, tick=False) as traveller:
        assert clock() == SECOND_LEVEL_AT - US
        due = due_notifications(POLICY, paged_at=PAGED, acknowledged_at=None, now=clock())
        assert levels(due) == [0]
        assert next_wakeup(POLICY, PAGED, None, clock()) == SECOND_LEVEL_AT

        traveller.move_to(SECOND_LEVEL_AT)
        due = due_notifications(POLICY, paged_at=PAGED, acknowledged_at=None, now=clock())
        assert levels(due) == [0, 1]
        assert due[1] == Notification(1, ("ben", "team:security-leads"), SECOND_LEVEL_AT, 0)
        assert next_wakeup(POLICY, PAGED, None, clock()) == SECOND_LEVEL_AT + 10 * MIN


def test_second_level_is_never_notified_when_the_first_acknowledged_in_time() -> None:
    acked = SECOND_LEVEL_AT - US
    with time_machine.travel(SECOND_LEVEL_AT, tick=False) as traveller:
        for later in (timedelta(0), 10 * MIN, 365 * timedelta(days=1)):
            traveller.move_to(SECOND_LEVEL_AT + later)
            assert levels(due_notifications(POLICY, paged_at=PAGED, acknowledged_at=acked, now=clock())) == [0]
            assert next_wakeup(POLICY, PAGED, acked, clock()) is None


def test_an_acknowledgement_exactly_at_the_boundary_counts_as_in_time() -> None:
    with time_machine.travel(SECOND_LEVEL_AT + MIN, tick=False):
        due = due_notifications(POLICY, paged_at=PAGED, acknowledged_at=SECOND_LEVEL_AT, now=clock())
        assert levels(due) == [0]


def test_a_scheduler_driven_by_next_wakeup_pages_each_level_on_time_and_stops_on_ack() -> None:
    scheduler = Scheduler(POLICY, PAGED)
    with time_machine.travel(PAGED, tick=False) as traveller:
        wake = scheduler.tick()
        assert scheduler.sent == {(0, 0): PAGED}
        assert wake == SECOND_LEVEL_AT
        traveller.move_to(wake)
        wake = scheduler.tick()
        assert scheduler.sent[(0, 1)] == SECOND_LEVEL_AT
        # ben acknowledges one microsecond before level 2 would fire.
        assert wake == PAGED + 15 * MIN
        traveller.move_to(wake - US)
        scheduler.acknowledged_at = clock()
        assert scheduler.tick() is None
        traveller.move_to(PAGED + timedelta(hours=2))
        assert scheduler.tick() is None
    assert sorted(scheduler.sent) == [(0, 0), (0, 1)]


def test_a_late_scheduler_run_sends_what_it_missed() -> None:
    # The worker was down for 40 minutes: on waking it sends both escalations at once, late
    # rather than never.
    scheduler = Scheduler(POLICY, PAGED)
    with time_machine.travel(PAGED + 40 * MIN, tick=False):
        assert scheduler.tick() is None
    assert sorted(scheduler.sent) == [(0, 0), (0, 1), (0, 2)]


def test_repeats_run_the_chain_again_after_the_last_wait() -> None:
    policy = EscalationPolicy(POLICY.levels, repeat=2)
    plan = schedule(policy, PAGED)
    assert [(n.cycle, n.level_index, n.at - PAGED) for n in plan] == [
        (cycle, level, cycle * 30 * MIN + offset)
        for cycle in range(3)
        for level, offset in enumerate((timedelta(0), 5 * MIN, 15 * MIN))
    ]
    with time_machine.travel(PAGED + 30 * MIN, tick=False):
        due = due_notifications(policy, paged_at=PAGED, acknowledged_at=None, now=clock())
        assert [(n.cycle, n.level_index) for n in due] == [(0, 0), (0, 1), (0, 2), (1, 0)]
        assert next_wakeup(policy, PAGED, None, clock()) == PAGED + 35 * MIN
        # An acknowledgement during the second pass stops the rest of it.
        acked = PAGED + 31 * MIN
        assert next_wakeup(policy, PAGED, acked, clock()) is None
    with time_machine.travel(PAGED + 10 * timedelta(hours=1), tick=False):
        assert len(due_notifications(policy, paged_at=PAGED, acknowledged_at=None, now=clock())) == 9
        assert len(due_notifications(policy, paged_at=PAGED, acknowledged_at=acked, now=clock())) == 4


def test_nothing_is_due_before_the_page() -> None:
    assert due_notifications(POLICY, paged_at=PAGED, acknowledged_at=None, now=PAGED - US) == []
    assert next_wakeup(POLICY, PAGED, None, PAGED - US) == PAGED


def test_the_page_itself_is_always_sent() -> None:
    due = due_notifications(POLICY, paged_at=PAGED, acknowledged_at=PAGED, now=PAGED + timedelta(hours=1))
    assert levels(due) == [0]


def test_snapshot_round_trip_and_rejection() -> None:
    policy = EscalationPolicy((Level(("a",), 90 * timedelta(seconds=1) + 7 * US), Level(("b", "c"), MIN)), 3)
    assert EscalationPolicy.from_snapshot(policy.to_snapshot()) == policy
    for bad in ({}, {"repeat": 0, "levels": "x"}, {"repeat": 0, "levels": [{"targets": "a", "wait_us": 1}]}):
        with pytest.raises(TypeError):
            EscalationPolicy.from_snapshot(bad)
    with pytest.raises(ValueError, match="at least one level"):
        EscalationPolicy.from_snapshot({"repeat": 0, "levels": []})


def test_bad_policies_and_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="target"):
        Level((), MIN)
    with pytest.raises(ValueError, match="wait"):
        Level(("a",), timedelta(0))
    with pytest.raises(ValueError, match="level"):
        EscalationPolicy(())
    with pytest.raises(ValueError, match="repeat"):
        EscalationPolicy(POLICY.levels, repeat=MAX_REPEAT + 1)
    with pytest.raises(ValueError, match="before paged_at"):
        due_notifications(POLICY, paged_at=PAGED, acknowledged_at=PAGED - US, now=PAGED)
    with pytest.raises(ValueError, match="aware"):
        due_notifications(POLICY, paged_at=PAGED, acknowledged_at=None, now=PAGED.replace(tzinfo=None))


policies = st.builds(
    EscalationPolicy,
    st.lists(
        st.builds(Level, st.just(("x",)), st.integers(1, 3_600_000_000).map(lambda n: n * US)),
        min_size=1,
        max_size=4,
    ).map(tuple),
    st.integers(0, 3),
)
offsets = st.integers(0, 4 * 3_600_000_000 * 4).map(lambda n: n * US)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(policies, st.none() | offsets, offsets)
def test_due_and_next_wakeup_partition_the_schedule(
    policy: EscalationPolicy, ack_offset: timedelta | None, now_offset: timedelta
) -> None:
    acked = None if ack_offset is None else PAGED + ack_offset
    now = PAGED + now_offset
    plan = schedule(policy, PAGED)
    due = due_notifications(policy, paged_at=PAGED, acknowledged_at=acked, now=now)
    wake = next_wakeup(policy, PAGED, acked, now)
    # Due is exactly the planned notifications up to now that no acknowledgement had stopped.
    assert due == [n for n in plan if n.at <= now and (n is plan[0] or acked is None or acked > n.at)]
    if wake is None:
        # Everything still ahead is stopped by the acknowledgement.
        assert all(n.at <= now or (acked is not None and acked <= n.at) for n in plan)
    else:
        assert wake > now
        # Nothing new becomes due before the wake-up, and something does at it.
        assert due_notifications(policy, paged_at=PAGED, acknowledged_at=acked, now=wake - US) == due
        assert len(due_notifications(policy, paged_at=PAGED, acknowledged_at=acked, now=wake)) > len(due)
