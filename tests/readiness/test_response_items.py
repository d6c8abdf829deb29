"""Scorecard items computed from the response channel: roster, commanders, playbooks, rollback, restriction,
drills, government contacts. Each builds its evidence through the response services under a frozen clock,
and checks the edge where evidence is twelve months and one day old."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy.orm import Session

from signalfire.readiness import service as readiness
from signalfire.readiness.periods import months_before
from signalfire.readiness.scorecard import State
from signalfire.response import oncall, service
from signalfire.response.schemas import LayerIn, OverrideIn, RosterIn, TransitionIn, WindowIn
from signalfire.response.vocab import ActionKind, IncidentStatus, RiskDomain
from tests.readiness import factories as f
from tests.response import factories as rf

NOW = f.utc(2026, 6, 15, 12)
YEAR_AGO = months_before(NOW, 12)  # 2025-06-15 12:00
A_DAY_OLDER = YEAR_AGO - timedelta(days=1)


# -- roster --------------------------------------------------------------------------------------------------


def test_roster_round_the_clock_is_ok_and_a_daytime_rota_lists_its_gaps(db: Session) -> None:
    with time_machine.travel(NOW, tick=False):
        a = f.developer(db)
        assert f.finding(db, a, "roster_24x7", NOW).state is State.MISSING
        f.roster(db, a, [a.email], anchor=NOW - timedelta(days=3), windows=[WindowIn(start="08:00", end="20:00")])
        day_only = f.finding(db, a, "roster_24x7", NOW)
        assert day_only.state is State.GAP
        assert day_only.gaps[0] == "All risk domains in scope: Mon 2026-06-15 20:00 to Tue 2026-06-16 08:00 UTC (12 h)"
        assert day_only.gaps[-1] == "All risk domains in scope: and 16 more"  # 28 nights, 12 listed
        assert "336 h in total over the next 4 weeks" in day_only.summary
        f.roster(db, a, [a.email], anchor=NOW - timedelta(days=3), windows=[WindowIn(start="20:00", end="08:00")])
        both = f.finding(db, a, "roster_24x7", NOW)
    assert both.state is State.OK and both.as_of == NOW and not both.gaps
    assert [e.url.startswith("/response/rosters/") for e in both.evidence if e.url] == [True, True]


def test_roster_per_domain_rota_leaves_other_domains_uncovered(db: Session) -> None:
    with time_machine.travel(NOW, tick=False):
        a = f.developer(db)
        readiness.update_risk_domains(db, a, [RiskDomain.MISUSE, RiskDomain.CBRN])
        f.roster(db, a, [a.email], anchor=NOW - timedelta(days=1), domain=RiskDomain.MISUSE)
        found = f.finding(db, a, "roster_24x7", NOW)
    assert found.state is State.GAP
    assert found.gaps == ("CBRN: no roster covers this",)


def test_an_override_fills_a_gap_only_from_when_it_was_recorded(db: Session) -> None:
    with time_machine.travel(NOW - timedelta(hours=1), tick=False):
        a = f.developer(db)
        rota = oncall.create_roster(
            db,
            a,
            RosterIn(
                team="IC",
                layers=[
                    LayerIn(
                        name="until Wednesday",
                        participant_emails=[a.email],
                        anchor=NOW - timedelta(days=1),
                        shift_minutes=24 * 60,
                        until=NOW + timedelta(days=2),
                    )
                ],
            ),
        )
    with time_machine.travel(NOW, tick=False):
        oncall.add_override(
            db,
            a,
            rota,
            OverrideIn(
                email=a.email, start=NOW + timedelta(days=2), end=NOW + timedelta(days=40), reason="covering the rest"
            ),
        )
        before = f.finding(db, a, "roster_24x7", NOW - timedelta(minutes=30))
        after = f.finding(db, a, "roster_24x7", NOW)
    assert before.state is State.GAP
    assert before.gaps == ("All risk domains in scope: Wed 2026-06-17 12:00 to Mon 2026-07-13 11:30 UTC (25 d 23 h)",)
    assert after.state is State.OK


def test_roster_created_a_year_and_a_day_ago_still_counts_and_not_before_it_existed(db: Session) -> None:
    with time_machine.travel(A_DAY_OLDER, tick=False):
        a = f.developer(db)
        f.roster(db, a, [a.email], anchor=A_DAY_OLDER)
    with time_machine.travel(NOW, tick=False):
        assert f.finding(db, a, "roster_24x7", NOW).state is State.OK
        assert f.finding(db, a, "roster_24x7", A_DAY_OLDER - timedelta(seconds=1)).state is State.MISSING


# -- commanders ----------------------------------------------------------------------------------------------


def test_each_open_incident_needs_a_commander_at_the_time_asked(db: Session) -> None:
    with time_machine.travel(NOW, tick=False):
        a = f.developer(db)
        assert f.finding(db, a, "incident_commander", NOW).state is State.OK  # nothing open
        inc = rf.incident(db, a, aware_at=NOW - timedelta(hours=3), reported_at=NOW - timedelta(hours=3))
        lacking = f.finding(db, a, "incident_commander", NOW)
        assert lacking.state is State.GAP and lacking.gaps == (f"{inc.reference} has no commander",)
        f.commander(db, a, inc, a.email, NOW - timedelta(hours=1))
        assert f.finding(db, a, "incident_commander", NOW).state is State.OK
        # An hour and a half ago the incident was open and nobody commanded it yet; four hours ago it was
        # not yet reported.
        assert f.finding(db, a, "incident_commander", NOW - timedelta(minutes=90)).state is State.GAP
        assert f.finding(db, a, "incident_commander", NOW - timedelta(hours=4)).state is State.OK


def test_a_year_old_open_incident_still_needs_a_commander_and_closed_ones_do_not(db: Session) -> None:
    with time_machine.travel(A_DAY_OLDER, tick=False):
        a = f.developer(db)
        old = rf.incident(db, a, aware_at=A_DAY_OLDER - timedelta(hours=1))
        done = rf.incident(db, a, aware_at=A_DAY_OLDER - timedelta(hours=1))
        service.change_status(
            db, a, done, TransitionIn(status=IncidentStatus.RESOLVED, at=A_DAY_OLDER, reason="false alarm")
        )
        service.change_status(db, a, done, TransitionIn(status=IncidentStatus.CLOSED, at=A_DAY_OLDER))
    with time_machine.travel(NOW, tick=False):
        found = f.finding(db, a, "incident_commander", NOW)
    assert found.state is State.GAP and found.gaps == (f"{old.reference} has no commander",)
    assert "1 of 1 open incident has" in found.summary


# -- playbooks -----------------------------------------------------------------------------------------------


def test_playbooks_must_cover_each_domain_in_scope_with_criteria(db: Session) -> None:
    with time_machine.travel(NOW - timedelta(days=10), tick=False):
        a = f.developer(db)
        readiness.update_risk_domains(db, a, [RiskDomain.MISUSE, RiskDomain.MODEL_WEIGHTS])
        f.playbook(db, a, RiskDomain.MISUSE)
        f.playbook(db, a, RiskDomain.MODEL_WEIGHTS, criteria="")
    with time_machine.travel(NOW - timedelta(days=2), tick=False):
        partial = f.finding(db, a, "playbooks", NOW - timedelta(days=2))
        assert partial.state is State.GAP
        assert partial.gaps == ("Model weights / security: playbook has no declaration criteria",)
        f.playbook(db, a, RiskDomain.MODEL_WEIGHTS, criteria="Always SEV1 on unexplained weight access.")
    with time_machine.travel(NOW, tick=False):
        done = f.finding(db, a, "playbooks", NOW)
        before = f.finding(db, a, "playbooks", NOW - timedelta(days=11))
    assert done.state is State.OK and done.as_of == NOW - timedelta(days=2)  # complete once v2 had criteria
    assert before.state is State.MISSING


def test_a_playbook_saved_a_year_and_a_day_ago_is_still_in_force(db: Session) -> None:
    with time_machine.travel(A_DAY_OLDER, tick=False):
        a = f.developer(db)
        readiness.update_risk_domains(db, a, [RiskDomain.CYBER_OFFENCE])
        f.playbook(db, a, RiskDomain.CYBER_OFFENCE)
    with time_machine.travel(NOW, tick=False):
        found = f.finding(db, a, "playbooks", NOW)
    assert found.state is State.OK and found.as_of == A_DAY_OLDER


# -- rollback and restriction --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "item"), [(ActionKind.MODEL_ROLLBACK, "rollback"), (ActionKind.CAPABILITY_RESTRICTION, "restriction")]
)
def test_timed_action_within_12_hours_verified_in_the_last_year(db: Session, kind: ActionKind, item: str) -> None:
    with time_machine.travel(NOW, tick=False):
        a = f.developer(db)
        assert f.finding(db, a, item, NOW).state is State.MISSING
        f.timed_action(db, a, kind, requested=NOW - timedelta(days=40), took=timedelta(hours=13))
        slow = f.finding(db, a, item, NOW)
        assert slow.state is State.GAP and "13 h, over the 12 h target" in slow.summary
        f.timed_action(db, a, kind, requested=NOW - timedelta(days=20), took=timedelta(hours=6), verify_after=None)
        unverified = f.finding(db, a, item, NOW)
        assert unverified.state is State.GAP and unverified.gaps == ("completion not independently verified",)
        action = f.timed_action(db, a, kind, requested=NOW - timedelta(days=10), took=timedelta(hours=12), drill=True)
        ok = f.finding(db, a, item, NOW)
    assert ok.state is State.OK
    assert ok.as_of == action.verified_at and "in a drill" in ok.summary and "12 h (target 12 h)" in ok.summary
    assert ok.expires_at == months_before(action.completed_at, -12)  # type: ignore[arg-type]
    assert ok.evidence[0].url == f"/response/incidents/{action.incident_id}"


@pytest.mark.parametrize(
    ("kind", "item"), [(ActionKind.MODEL_ROLLBACK, "rollback"), (ActionKind.CAPABILITY_RESTRICTION, "restriction")]
)
def test_timed_action_twelve_months_old_counts_and_a_day_older_does_not(
    db: Session, kind: ActionKind, item: str
) -> None:
    with time_machine.travel(NOW, tick=False):
        a = f.developer(db)
        b = f.developer(db)
        f.timed_action(db, a, kind, requested=YEAR_AGO - timedelta(hours=2), took=timedelta(hours=2))
        f.timed_action(db, b, kind, requested=A_DAY_OLDER - timedelta(hours=2), took=timedelta(hours=2))
        exactly = f.finding(db, a, item, NOW)
        older = f.finding(db, b, item, NOW)
    assert exactly.state is State.OK
    assert older.state is State.MISSING and "more than 12 months ago" in older.summary
    assert older.evidence  # the old action is still shown, it just no longer counts


@pytest.mark.parametrize(
    ("kind", "item"), [(ActionKind.MODEL_ROLLBACK, "rollback"), (ActionKind.CAPABILITY_RESTRICTION, "restriction")]
)
def test_a_self_verified_action_is_not_evidence(db: Session, kind: ActionKind, item: str) -> None:
    with time_machine.travel(NOW, tick=False):
        a = f.developer(db)
        action = f.timed_action(db, a, kind, requested=NOW - timedelta(days=10), took=timedelta(hours=2))
        assert f.finding(db, a, item, NOW).state is State.OK  # verified by a colleague
        # A verification recorded by the owner (as rows written before four eyes were enforced could be).
        action.verified_by = action.owner_user_id
        db.flush()
        self_checked = f.finding(db, a, item, NOW)
    assert self_checked.state is State.GAP and self_checked.gaps == ("completion not independently verified",)


# -- drills --------------------------------------------------------------------------------------------------


def test_drill_in_the_last_year(db: Session) -> None:
    with time_machine.travel(NOW, tick=False):
        a = f.developer(db)
        b = f.developer(db)
        rf.incident(db, a, aware_at=NOW - timedelta(days=5))  # a real incident is not a drill
        assert f.finding(db, a, "drill", NOW).state is State.MISSING
        drill = rf.incident(db, a, aware_at=YEAR_AGO, is_drill=True, risk_domain=RiskDomain.MODEL_WEIGHTS)
        rf.incident(db, b, aware_at=A_DAY_OLDER, is_drill=True)
        ok = f.finding(db, a, "drill", NOW)
        stale = f.finding(db, b, "drill", NOW)
    assert ok.state is State.OK and ok.as_of == YEAR_AGO and ok.expires_at == NOW
    assert ok.evidence[0].url == f"/response/incidents/{drill.id}"
    assert stale.state is State.MISSING and "more than 12 months ago" in stale.summary


# -- government contacts -------------------------------------------------------------------------------------


def test_government_contacts_per_domain_reachable_and_recently_verified(db: Session) -> None:
    with time_machine.travel(NOW, tick=False):
        a = f.developer(db)
        readiness.update_risk_domains(
            db, a, [RiskDomain.MISUSE, RiskDomain.CBRN, RiskDomain.CYBER_OFFENCE, RiskDomain.AUTONOMY]
        )
        assert f.finding(db, a, "government_contacts", NOW).state is State.MISSING
        f.contact(db, a, RiskDomain.MISUSE, verified_at=NOW - timedelta(days=90))  # exactly at the limit: fresh
        f.contact(db, a, RiskDomain.CBRN, verified_at=NOW - timedelta(days=1), round_clock=False)
        f.contact(db, a, RiskDomain.CYBER_OFFENCE, verified_at=NOW - timedelta(days=90, seconds=1))
        f.contact(db, a, RiskDomain.AUTONOMY, verified_at=NOW, government=False)
        found = f.finding(db, a, "government_contacts", NOW)
    assert found.state is State.GAP
    assert found.gaps == (
        "CBRN: no government contact reachable 24 hours a day",
        "Cyber offence: 24-hour contact last verified 2026-03-17, over 90 days ago",
        "Autonomy / loss of control: no government contact reachable 24 hours a day",
    )
    assert found.summary.startswith("1 of 4 risk domains")


def test_a_contact_verified_a_year_and_a_day_ago_is_stale_and_a_fresh_one_is_ok(db: Session) -> None:
    with time_machine.travel(NOW, tick=False):
        a = f.developer(db)
        readiness.update_risk_domains(db, a, [RiskDomain.MISUSE])
        row = f.contact(db, a, RiskDomain.MISUSE, verified_at=A_DAY_OLDER)
        stale = f.finding(db, a, "government_contacts", NOW)
        row.last_verified_at = NOW - timedelta(days=3)
        db.flush()
        fresh = f.finding(db, a, "government_contacts", NOW)
    assert stale.state is State.GAP and "last verified 2025-06-14" in stale.gaps[0]
    assert fresh.state is State.OK and fresh.expires_at == NOW + timedelta(days=87)
