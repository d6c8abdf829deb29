"""Rosters stored in the database: coverage over a 24x7 week finds every gap, with overlapping
rotations and overrides (property-based against a brute-force scan), and the coverage page shows them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, Role
from signalfire.response import coverage, oncall
from signalfire.response.schemas import LayerIn, OverrideIn, RosterIn, WindowIn
from tests import factories

MON = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
WEEK = timedelta(days=7)
STEP = timedelta(minutes=15)
QUARTERS = range(0, 24 * 4)
LayerSpec = tuple[list[int], int, int, list[tuple[int, int, frozenset[int]]]]


def _hhmm(quarter: int) -> str:
    return f"{quarter // 4:02d}:{quarter % 4 * 15:02d}"


windows = st.lists(
    st.tuples(
        st.sampled_from(QUARTERS),
        st.sampled_from(QUARTERS),
        st.frozensets(st.integers(0, 6), min_size=1, max_size=7),
    ),
    max_size=2,
)
layers = st.lists(
    st.tuples(
        st.lists(st.integers(0, 2), min_size=1, max_size=3),  # participants (indexes into 3 members)
        st.integers(-7 * 96, 7 * 96),  # anchor, in quarters from Monday 00:00
        st.sampled_from([4, 8, 12 * 4, 24 * 4, 7 * 96]),  # shift length in quarters: 1 h .. 1 week
        windows,
    ),
    min_size=0,
    max_size=3,
)
overrides = st.lists(st.tuples(st.integers(0, 2), st.integers(-96, 7 * 96), st.integers(1, 3 * 96)), max_size=4)


def _scan_gaps(roster: coverage.Roster, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Every quarter-hour with nobody on call, merged into stretches (inputs all sit on the grid)."""
    out: list[tuple[datetime, datetime]] = []
    t = start
    while t < end:
        if coverage.on_call_at(roster, t) is None:
            if out and out[-1][1] == t:
                out[-1] = (out[-1][0], t + STEP)
            else:
                out.append((t, t + STEP))
        t += STEP
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layer_specs=layers, override_specs=overrides)
def test_stored_roster_coverage_finds_every_gap(
    db: Session, layer_specs: list[LayerSpec], override_specs: list[tuple[int, int, int]]
) -> None:
    admin = factories.actor(db)
    org = db.get(Organization, admin.org_id)
    assert org is not None
    people = [admin] + [factories.actor_for(db, factories.member(db, org, Role.responder), org) for _ in range(2)]
    nested = db.begin_nested()
    try:
        data = RosterIn(
            team="IC rota",
            layers=[
                LayerIn(
                    name=f"L{n}",
                    participant_emails=[people[i].email for i in who],
                    anchor=MON + anchor * STEP,
                    shift_minutes=length * 15,
                    windows=[WindowIn(start=_hhmm(a), end=_hhmm(b), days=sorted(days)) for a, b, days in wins],
                )
                for n, (who, anchor, length, wins) in enumerate(layer_specs)
            ],
        )
        stored = oncall.create_roster(db, admin, data)
        for who, start, length in override_specs:
            oncall.add_override(
                db,
                admin,
                stored,
                OverrideIn(email=people[who].email, start=MON + start * STEP, end=MON + (start + length) * STEP),
            )
        db.expire_all()
        roster = oncall.get_roster(db, admin, stored.id)
        report = oncall.coverage_report(db, roster, MON, MON + WEEK)

        # The expected schedule is built from the inputs, not from what was stored.
        expected = coverage.Roster(
            layers=tuple(
                coverage.Layer(
                    f"L{n}",
                    tuple(str(people[i].user_id) for i in who),
                    MON + anchor * STEP,
                    timedelta(minutes=length * 15),
                    windows=tuple(
                        coverage.Window(time.fromisoformat(_hhmm(a)), time.fromisoformat(_hhmm(b)), frozenset(days))
                        for a, b, days in wins
                    ),
                )
                for n, (who, anchor, length, wins) in enumerate(layer_specs)
            ),
            overrides=tuple(
                coverage.Override(MON + s * STEP, MON + (s + n) * STEP, str(people[w].user_id))
                for w, s, n in override_specs
            ),
        )
        assert [(g.start, g.end) for g in report.gaps] == _scan_gaps(expected, MON, MON + WEEK)
        covered = WEEK - sum((g.duration for g in report.gaps), timedelta(0))
        assert abs(report.ratio - covered / WEEK) < 1e-9
    finally:
        nested.rollback()


def test_coverage_page_and_api_show_the_gap(db: Session, browser_client: Callable[[Actor | None], TestClient]) -> None:
    admin = factories.actor(db)
    roster = oncall.create_roster(
        db,
        admin,
        RosterIn(
            team="IC rota",
            layers=[
                LayerIn(
                    name="Day",
                    participant_emails=[admin.email],
                    anchor=MON - WEEK * 2,
                    shift_minutes=24 * 60,
                    windows=[WindowIn(start="08:00", end="20:00")],
                ),
                LayerIn(
                    name="Night",
                    participant_emails=[admin.email],
                    anchor=MON - WEEK * 2,
                    shift_minutes=24 * 60,
                    windows=[
                        WindowIn(start="20:00", end="08:00", days=[0, 1, 2, 3, 4, 5]),
                        WindowIn(start="20:00", end="02:00", days=[6]),
                    ],
                ),
            ],
        ),
    )
    # An override fills Tuesday's day shift with someone else; it closes no gap and opens none.
    oncall.add_override(
        db,
        admin,
        roster,
        OverrideIn(email=admin.email, start=MON + timedelta(days=1, hours=8), end=MON + timedelta(days=1, hours=20)),
    )
    db.commit()
    c = browser_client(admin)
    api = c.get(
        f"/api/v1/response/rosters/{roster.id}/coverage",
        params={"start": (MON - timedelta(days=7)).isoformat(), "days": 14},
    ).json()
    # Monday 02:00-08:00 is uncovered, in both weeks.
    assert [(g["start"], g["minutes"]) for g in api["gaps"]] == [
        ("2025-12-29T02:00:00Z", 360),
        ("2026-01-05T02:00:00Z", 360),
    ]
    page = c.get(f"/response/rosters/{roster.id}", params={"start": "2026-01-05T00:00", "days": 7})
    assert page.status_code == 200
    assert 'data-testid="gap-count">1<' in page.text
    assert "2026-01-05 02:00 UTC to 2026-01-05 08:00 UTC" in page.text
