"""The demo's intake story seeds through the real services and tells what it promises."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire import demo
from signalfire.intake import demo as intake_demo
from signalfire.intake.models import AlertSource, Cluster, Feed, Signal, SourceKind, TriageState
from signalfire.response import demo as response_demo
from signalfire.response.models import TimelineEntry


@pytest.mark.slow  # seeding the foundation hashes eleven demo passwords
def test_demo_story(db: Session) -> None:
    ctx = demo.seed_foundation(db)
    response_demo.seed(db, ctx)
    intake_demo.seed(db, ctx)
    org = ctx.orgs["aurora"].id
    signals = db.execute(select(Signal).where(Signal.org_id == org)).scalars().all()
    assert 20 <= len(signals) <= 30
    kinds = {s.source_kind for s in signals}
    assert kinds == set(SourceKind)
    jailbreak = db.execute(select(Cluster).where(Cluster.org_id == org, Cluster.signal_count >= 6)).scalar_one()
    assert "aurora-large" in jailbreak.title
    assert sum(1 for s in signals if s.state is TriageState.dismissed and s.dismiss_reason) >= 2
    assert any(s.state is TriageState.duplicate for s in signals)
    promoted = [s for s in signals if s.state is TriageState.promoted_incident]
    assert promoted and all(s.incident_id == ctx.extra["jailbreak_incident_id"] for s in promoted)
    sources = {
        e.source
        for e in db.execute(
            select(TimelineEntry).where(TimelineEntry.incident_id == ctx.extra["jailbreak_incident_id"])
        ).scalars()
    }
    assert {f"intake:signal:{s.id}" for s in promoted} <= sources
    feeds = db.execute(select(Feed).where(Feed.org_id == org)).scalars().all()
    assert len(feeds) == 2 and any(f.last_error and f.consecutive_failures for f in feeds)
    assert db.execute(select(func.count()).select_from(AlertSource).where(AlertSource.org_id == org)).scalar() == 1
    assert any(s.update_count >= 3 for s in signals if s.source_kind is SourceKind.monitoring_alert)
