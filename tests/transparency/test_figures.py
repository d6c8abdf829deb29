"""A report's figures equal counts made independently from the records, placed in the period by their
effective time (not when they were entered), with small counts suppressed at the threshold.

Every expected number below is written by hand from the records this test creates, never read back from
the code under test.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import time_machine
from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.exchange import authoring
from signalfire.exchange.vocab import Category
from signalfire.intake.models import SourceKind
from signalfire.reporting import reports
from signalfire.reporting.models import Obligation
from signalfire.response import actions
from signalfire.response.schemas import ActionCreate, ActionProgress
from signalfire.response.vocab import ActionKind, ActionStatus, RiskDomain, Severity
from signalfire.transparency import service
from signalfire.transparency.suppression import suppress
from tests.exchange import factories as xf
from tests.intake import factories as inf
from tests.readiness.factories import developer
from tests.reporting import factories as rpf
from tests.response import factories as rf
from tests.transparency import helpers

NOW = datetime(2026, 10, 15, 12, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def _incidents(db: Session, a: Actor, other: Actor) -> None:
    inside = [
        (utc(2026, 7, 1, 0, 0), Severity.SEV1, RiskDomain.MISUSE),  # the first instant of the period
        (utc(2026, 8, 3, 9), Severity.SEV1, RiskDomain.MISUSE),
        (utc(2026, 9, 30, 23, 59), Severity.SEV1, RiskDomain.MISUSE),  # the last minute
        (utc(2026, 8, 4, 9), Severity.SEV2, RiskDomain.MISUSE),
        (utc(2026, 8, 5, 9), Severity.SEV2, RiskDomain.CYBER_OFFENCE),
        (utc(2026, 8, 6, 9), Severity.SEV4, RiskDomain.CYBER_OFFENCE),
    ]
    for at, sev, dom in inside:
        rf.incident(db, a, aware_at=at, severity=sev, risk_domain=dom)
    # Not counted: before and after the period, a drill, another org's incident.
    rf.incident(db, a, aware_at=utc(2026, 6, 30, 23, 59), severity=Severity.SEV1)
    rf.incident(db, a, aware_at=utc(2026, 10, 1, 0, 0), severity=Severity.SEV1)
    rf.incident(db, a, aware_at=utc(2026, 8, 1), severity=Severity.SEV1, is_drill=True)
    rf.incident(db, other, aware_at=utc(2026, 8, 1), severity=Severity.SEV1)


def _signals(db: Session, a: Actor, other: Actor) -> None:
    for i, (kind, at) in enumerate(
        [
            (SourceKind.public_form, utc(2026, 7, 2)),
            (SourceKind.public_form, utc(2026, 8, 2)),
            (SourceKind.public_form, utc(2026, 9, 2)),
            (SourceKind.feed_item, utc(2026, 9, 3)),
            (SourceKind.manual, utc(2026, 10, 2)),  # after the period
        ]
    ):
        inf.signal(
            db, a.org_id, source_kind=kind, received_at=at, title=f"Report {i} of misuse", text=f"Case {i}: " + "x" * i
        )
    inf.signal(db, other.org_id, source_kind=SourceKind.public_form, received_at=utc(2026, 8, 2))


def _action(db: Session, a: Actor, inc: Any, kind: ActionKind, done: datetime, **data: Any) -> Any:
    act = actions.create_action(
        db, a, inc, ActionCreate(kind=kind, title=f"{kind.value} {done:%m%d%H}", requested_at=utc(2026, 6, 21), **data)
    )
    actions.progress_action(db, a, inc, act, ActionProgress(status=ActionStatus.COMPLETED, at=done))
    return act


def _actions(db: Session, a: Actor) -> Any:
    # The incident itself is from June (outside the period): its actions count by when they were completed.
    inc = rf.incident(db, a, aware_at=utc(2026, 6, 20), severity=Severity.SEV3)
    for day in (2, 3, 4):
        _action(db, a, inc, ActionKind.ACCESS_REVOCATION, utc(2026, 7, day), scope=[f"account-{day}"])
    # Completed in the period, then its verification failed: not an action carried out.
    failed = _action(db, a, inc, ActionKind.ACCESS_REVOCATION, utc(2026, 7, 6), scope=["account-6"])
    progress = ActionProgress(status=ActionStatus.FAILED, at=utc(2026, 7, 7), note="The key still worked.")
    actions.progress_action(db, a, inc, failed, progress)
    removal = {"content_reference": "case-17 outputs"}
    _action(db, a, inc, ActionKind.CONTENT_REMOVAL, utc(2026, 7, 5), params={**removal, "items_removed": 40})
    _action(db, a, inc, ActionKind.CONTENT_REMOVAL, utc(2026, 9, 5), params={**removal, "items_removed": 15})
    _action(db, a, inc, ActionKind.CONTENT_REMOVAL, utc(2026, 10, 2), params={**removal, "items_removed": 99})
    return inc


def _filings(db: Session, a: Actor, inc: Any) -> None:
    """Two filings made outside Signalfire and entered on 15 October: counted by when they were made."""
    rpf.record(db, a, inc, "aware_of_model_involvement", utc(2026, 6, 20))
    rpf.record(db, a, inc, "discovered", utc(2026, 6, 20))
    rpf.assess(db, a, inc, rpf.COP, rpf.cop(death="yes"))
    rpf.assess(db, a, inc, rpf.SB53, rpf.sb53(loss_of_control_harm="yes"))
    initial = {
        o.regime_id: o
        for o in db.execute(
            select(Obligation).where(Obligation.incident_id == inc.id, Obligation.stage == "initial")
        ).scalars()
    }
    for regime, at in ((rpf.COP, utc(2026, 7, 10, 16)), (rpf.SB53, utc(2026, 10, 5, 9))):
        draft = reports.start_report(db, a, initial[regime].id)
        rpf.fill(db, a, draft)
        reports.submit(
            db, a, draft.id, outside=reports.OutsideFiling(at=at, channel="portal", evidence="Portal receipt")
        )


def _shared(db: Session, a: Actor, other: Actor) -> None:
    """Counted by when an item was first published, not when its draft was written."""
    with time_machine.travel(utc(2026, 6, 25, 12), tick=False):
        early = xf.draft(db, a, category=Category.VULNERABILITY)  # drafted before the period ...
    with time_machine.travel(utc(2026, 8, 10, 12), tick=False):
        authoring.publish(db, a, early.id)  # ... published in it
        xf.published(db, other, category=Category.VULNERABILITY)  # shared with a's org too: not a's figure
    with time_machine.travel(utc(2026, 9, 20, 12), tick=False):
        late = xf.draft(db, a, category=Category.THREAT)  # drafted in the period ...
    with time_machine.travel(utc(2026, 10, 3, 12), tick=False):
        authoring.publish(db, a, late.id)  # ... published after it


def _shown(figure: dict[str, Any]) -> dict[str, str]:
    return {c["key"]: c["display"] for c in figure["cells"] if c["suppressed"] is None}


def _hidden(figure: dict[str, Any]) -> set[str]:
    return {c["key"] for c in figure["cells"] if c["display"] == "< 3"}


def test_published_figures_equal_independent_counts_with_suppression_at_the_threshold(db: Session) -> None:
    with time_machine.travel(NOW, tick=False):
        a, other = rpf.developer(db), developer(db)
        _incidents(db, a, other)
        _signals(db, a, other)
        _filings(db, a, _actions(db, a))
    _shared(db, a, other)
    with time_machine.travel(NOW, tick=False):
        report, edition, _ = helpers.published(db, a, threshold=3)

    assert edition.figures["incidents_by_severity"] == {"sev1": 3, "sev2": 2, "sev3": 0, "sev4": 1}
    assert edition.figures["incidents_by_risk_domain"] == {
        "cbrn": 0, "cyber_offence": 2, "autonomy": 0, "misuse": 4, "model_weights": 0, "privacy": 0, "other": 0
    }  # fmt: skip
    assert edition.figures["signals_by_channel"] == {
        "public_form": 3, "downstream_api": 0, "monitoring_alert": 0, "feed_item": 1, "manual": 0
    }  # fmt: skip
    by_kind = edition.figures["response_actions_by_kind"]
    assert {k: v for k, v in by_kind.items() if v} == {"access_revocation": 3, "content_removal": 2}
    assert edition.figures["content_removals"] == {"actions": 2, "items_removed": 55}
    assert edition.figures["exchange_items_by_category"] == {
        "vulnerability": 1,
        "threat": 0,
        "capability_of_concern": 0,
    }
    filed = edition.figures["reports_filed_by_regime"]
    assert {k: v for k, v in filed.items() if v} == {"eu-gpai-cop-c9": 1}
    assert "us-ca-sb53" in filed and "cn-genai-interim" in filed  # every packaged regime has its row

    doc = service.public_edition(db, helpers.org_slug(db, a), report.slug).document
    figs = {f["kind"]: f for s in doc["sections"] for f in s["figures"]}
    # k = 3: exactly 3 is shown; 2, 1 and 0 are "< 3".
    assert _shown(figs["incidents_by_severity"]) == {"sev1": "3"}
    assert _hidden(figs["incidents_by_severity"]) == {"sev2", "sev3", "sev4"}
    assert figs["incidents_by_severity"]["total"]["display"] == "6"
    assert _shown(figs["incidents_by_risk_domain"]) == {"misuse": "4"}
    assert _shown(figs["signals_by_channel"]) == {"public_form": "3"}
    assert figs["signals_by_channel"]["total"]["display"] == "4"
    assert _shown(figs["response_actions_by_kind"]) == {"access_revocation": "3"}
    assert figs["response_actions_by_kind"]["total"]["display"] == "5"
    # Two units, no total: items are shown, the two removal actions are not.
    assert _shown(figs["content_removals"]) == {"items_removed": "55"}
    assert _hidden(figs["content_removals"]) == {"actions"}
    assert figs["content_removals"]["total"] is None
    assert _shown(figs["exchange_items_by_category"]) == {}
    assert figs["exchange_items_by_category"]["total"]["display"] == "< 3"
    # The public document never carries a suppressed value.
    for f in figs.values():
        for c in f["cells"]:
            assert (c["value"] is None) == (c["suppressed"] is not None)


def test_suppression_rule_at_and_around_the_threshold() -> None:
    shown, total = suppress([9, 10, 12, 11], 10, with_total=True)
    assert [s.display for s in shown] == ["< 10", ">= 10", "12", "11"]  # 9 hidden, then 10, the smallest other
    assert [s.suppressed for s in shown] == ["primary", "secondary", None, None]
    assert total is not None and total.display == "42"
    shown, _ = suppress([10, 11, 9, 12], 10, with_total=True)
    assert [s.display for s in shown] == [">= 10", "11", "< 10", "12"]
    # Zero is below the threshold too; with two or more hidden cells nothing more is withheld.
    shown, total = suppress([0, 9, 10], 10, with_total=True)
    assert [s.display for s in shown] == ["< 10", "< 10", "10"] and total is not None and total.display == "19"
    shown, total = suppress([1, 2], 10, with_total=True)
    assert [s.display for s in shown] == ["< 10", "< 10"] and total is not None and total.display == "< 10"
    shown, total = suppress([1, 50], 10, with_total=False)
    assert [s.display for s in shown] == ["< 10", "50"] and total is None
    shown, total = suppress([2, 2], 2, with_total=True)
    assert [s.display for s in shown] == ["2", "2"] and total is not None and total.display == "4"
