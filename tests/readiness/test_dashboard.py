"""Dashboard figures: each series counts the org's own rows in the right calendar month, and nobody else's."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.exchange import service as exchange
from signalfire.exchange.vocab import CoveredUse
from signalfire.intake import service as intake
from signalfire.intake.schemas import DismissIn, ManualSignalIn
from signalfire.readiness import dashboard
from signalfire.readiness.periods import month_starts
from signalfire.reporting.models import Obligation
from signalfire.response import service as response
from signalfire.response.schemas import TransitionIn
from signalfire.response.vocab import IncidentStatus, Severity
from tests.exchange import factories as xf
from tests.readiness import factories as f
from tests.reporting import factories as rep
from tests.reporting.factories import COP
from tests.response import factories as rf

NOW = f.utc(2026, 6, 15, 12)


def test_month_starts_run_oldest_first_and_end_with_the_current_month() -> None:
    starts = month_starts(NOW, 12)
    assert starts[0] == f.utc(2025, 7, 1) and starts[-1] == f.utc(2026, 6, 1) and len(starts) == 12


def test_dashboard_series_per_month(db: Session) -> None:
    march = f.utc(2026, 3, 10, 9)
    with time_machine.travel(march, tick=False):
        a = rep.developer(db)
        peer = f.developer(db)
        # Two reportable incidents: one report filed on time, one left overdue (both due 20 March).
        for filed in (True, False):
            inc = rep.incident(db, a, aware_at=march, severity=Severity.SEV1)
            rep.record(db, a, inc, "aware_of_model_involvement", march)
            rep.assess(db, a, inc, COP, rep.cop(death="yes"))
            if filed:
                initial = db.execute(
                    select(Obligation).where(Obligation.incident_id == inc.id, Obligation.stage == "initial")
                ).scalar_one()
                rep.submit(db, a, initial)
        contained = rf.incident(db, a, aware_at=march - timedelta(hours=4), severity=Severity.SEV2)
        response.change_status(
            db,
            a,
            contained,
            TransitionIn(status=IncidentStatus.CONTAINED, at=march - timedelta(hours=1), reason="blocked"),
        )
        mine = xf.published(db, a)
        exchange.record_read(db, peer, mine, CoveredUse.THREAT_DETECTION)
    with time_machine.travel(NOW - timedelta(days=3), tick=False):
        theirs = xf.published(db, peer)
        exchange.record_read(db, a, theirs, CoveredUse.SAFEGUARDS)
        old = intake.create_manual(db, a, ManualSignalIn(title="Report of a jailbreak on a forum"))
    with time_machine.travel(NOW - timedelta(days=3) + timedelta(minutes=30), tick=False):
        intake.dismiss(db, a, old, DismissIn(reason="Not about our models"))
    with time_machine.travel(NOW, tick=False):
        intake.create_manual(db, a, ManualSignalIn(title="Odd refusal pattern in the API logs"))
        intake.create_manual(db, peer, ManualSignalIn(title="Someone else's signal"))
        board = dashboard.build(db, a, NOW)
    march_index = board.months.index("Mar 2026")
    june = board.months.index("Jun 2026")
    deadlines = board.series["deadlines"]
    assert deadlines["on_time"][march_index] == 1 and deadlines["overdue"][march_index] == 1
    # Filing the initial report started the 4-weekly update clock: the first update fell due in April, unfiled.
    assert deadlines["overdue"][march_index + 1] == 1
    assert sum(deadlines["on_time"]) == 1 and sum(deadlines["late"]) == 0 and sum(deadlines["overdue"]) == 2
    sharing = board.series["sharing"]
    assert sharing["shared"][march_index] == 1 and sharing["acknowledgements_received"][march_index] == 1
    assert sharing["acknowledged"][june] == 1 and sum(sharing["acknowledged"]) == 1
    assert board.series["intake_volume"]["manual"][june] == 2
    assert board.series["triage_waiting_by_age"] == {
        "under 1 day": 1,
        "1 to 7 days": 0,
        "7 to 30 days": 0,
        "over 30 days": 0,
    }
    assert board.series["triage_decision_time_90d"]["within 1 h"] == 1
    assert board.series["response_times_hours"]["time_to_contain"]["sev2"] == 3.0
    assert [s.value for s in board.stats][:2] == ["3.0 h", "33%"]
