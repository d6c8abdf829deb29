"""Scorecard items computed from intake (external monitoring, the public channel) and from the exchange
(items shared, others' items acknowledged)."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy.orm import Session

from signalfire.access.models import OrgKind
from signalfire.exchange import service as exchange
from signalfire.exchange.vocab import CoveredUse
from signalfire.intake import polling
from signalfire.intake.feeds import FeedEntry
from signalfire.readiness.periods import months_before
from signalfire.readiness.scorecard import State
from tests import factories
from tests.exchange import factories as xf
from tests.readiness import factories as f

NOW = f.utc(2026, 6, 15, 12)
A_DAY_OLDER = months_before(NOW, 12) - timedelta(days=1)


# -- external monitoring -------------------------------------------------------------------------------------


def test_external_monitoring_needs_a_successful_poll_in_the_last_day(db: Session) -> None:
    with time_machine.travel(NOW, tick=False):
        a = f.developer(db)
        assert f.finding(db, a, "external_monitoring", NOW).state is State.MISSING
        f.feed(db, a, last_success_at=NOW - timedelta(days=1, seconds=1), error="HTTP 503")
        stale = f.finding(db, a, "external_monitoring", NOW)
        f.feed(db, a, last_success_at=NOW - timedelta(days=1))
        fresh = f.finding(db, a, "external_monitoring", NOW)
    assert stale.state is State.GAP
    assert stale.gaps == (
        "none of 1 active source polled successfully in the last day",
        "1 source failing (see the last error on the sources page)",
    )
    assert "last error: HTTP 503" in stale.evidence[0].label and stale.evidence[0].url == "/intake/sources"
    assert fresh.state is State.OK and fresh.as_of == NOW - timedelta(days=1) and fresh.expires_at == NOW
    assert fresh.summary == "1 external source of 2 active polled successfully in the last day; 1 feed failing."


def test_for_a_past_date_items_that_arrived_then_prove_the_polling(db: Session) -> None:
    then = A_DAY_OLDER
    with time_machine.travel(then, tick=False):
        a = f.developer(db)
        row = f.feed(db, a, last_success_at=then)
        polling.store_entries(
            db,
            row,
            [
                FeedEntry(
                    guid="g1",
                    title="Model jailbreak reported",
                    link=None,
                    published=then,
                    summary_text="A jailbreak of a chat model.",
                )
            ],
        )
    with time_machine.travel(NOW, tick=False):
        row.last_success_at = row.last_polled_at = NOW - timedelta(hours=2)  # later polls overwrite the time
        db.flush()
        past = f.finding(db, a, "external_monitoring", then + timedelta(hours=1))
        day_after = f.finding(db, a, "external_monitoring", then + timedelta(days=1, seconds=1))
        now = f.finding(db, a, "external_monitoring", NOW)
    assert past.state is State.OK and "1 item arrived" in past.summary
    assert day_after.state is State.GAP
    assert now.state is State.OK


# -- public channel ------------------------------------------------------------------------------------------


def test_public_channel_open_closed_and_unknown(db: Session) -> None:
    with time_machine.travel(A_DAY_OLDER, tick=False):
        a = f.developer(db)
        assert f.finding(db, a, "public_channel", A_DAY_OLDER).state is State.MISSING
        f.public_form(db, a, enabled=True)
    with time_machine.travel(NOW, tick=False):
        open_ = f.finding(db, a, "public_channel", NOW)  # set up a year and a day ago: still open
        assert open_.state is State.OK and open_.as_of == A_DAY_OLDER
        assert open_.evidence[0].url == f"/report/{f.card(db, a, NOW).org_slug}"
        f.public_form(db, a, enabled=False)
        closed = f.finding(db, a, "public_channel", NOW)
        earlier = f.finding(db, a, "public_channel", NOW - timedelta(days=1))
    assert closed.state is State.GAP and closed.gaps == ("public report form turned off",)
    assert earlier.state is State.MISSING and "unknown" in earlier.summary


# -- exchange ------------------------------------------------------------------------------------------------


def test_exchange_participation_both_ways_in_the_last_year(db: Session) -> None:
    with time_machine.travel(A_DAY_OLDER, tick=False):
        a = f.developer(db)
        peer = f.developer(db)
        old = xf.published(db, a)
        exchange.record_read(db, peer, old, CoveredUse.THREAT_DETECTION)
    with time_machine.travel(NOW, tick=False):
        nothing = f.finding(db, a, "exchange", NOW)
        assert nothing.state is State.MISSING  # shared a year and a day ago: no longer counts
        mine = xf.published(db, a)
        shared_only = f.finding(db, a, "exchange", NOW)
        theirs = xf.published(db, peer)
        exchange.record_read(db, a, theirs, CoveredUse.THREAT_DETECTION)
        exchange.record_read(db, peer, mine, CoveredUse.SAFEGUARDS)
        both = f.finding(db, a, "exchange", NOW)
    assert shared_only.state is State.GAP
    assert shared_only.gaps == ("no item of another organisation acknowledged in the last 12 months",)
    assert both.state is State.OK
    assert both.summary == (
        "In the last 12 months: 1 item shared; 1 item of others acknowledged and 0 responses "
        "given; 1 acknowledgement received."
    )
    assert both.evidence[0].url == f"/exchange/items/{mine.id}"


def test_an_org_outside_the_exchange_has_no_evidence(db: Session) -> None:
    with time_machine.travel(NOW, tick=False):
        org = factories.org(db, OrgKind.frontier_developer, exchange_member=False)
        a = factories.actor(db, organization=org)
        found = f.finding(db, a, "exchange", NOW)
    assert found.state is State.MISSING and "not a member" in found.summary
