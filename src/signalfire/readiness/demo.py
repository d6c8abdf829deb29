"""Readiness part of the demo: Aurora Labs publishes its scorecard, computed from the story the other
channels seeded (so the landscape shows one published scorecard beside the public index)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from signalfire.access.service import build_actor
from signalfire.readiness import publication

if TYPE_CHECKING:
    from signalfire.demo import DemoContext


def seed(session: Session, ctx: DemoContext) -> None:
    alice = build_actor(session, ctx.users["alice@aurora.example"], ctx.orgs["aurora"].id, via="demo")
    assert alice is not None
    snapshot = publication.publish(session, alice)
    ctx.extra["readiness_snapshot_id"] = snapshot.id
