"""Who may read what in the readiness channel, as SQL.

* An org's own scorecard is computed for its members with ``readiness:scorecard:read``; it is not a row.
* A published scorecard (a snapshot not withdrawn) is readable by every signed-in user with
  ``readiness:scorecard:read``, whatever their org: publishing is the org's choice to show it.
* An org's withdrawn or superseded snapshots stay readable by its own members only (its history).
"""

from __future__ import annotations

from sqlalchemy import Select, or_, select

from signalfire.access.actor import Actor
from signalfire.access.permissions import Permission
from signalfire.access.policy import nothing
from signalfire.readiness.models import ScorecardSnapshot


def readable_snapshots(actor: Actor) -> Select[ScorecardSnapshot]:
    stmt = select(ScorecardSnapshot).where(
        or_(ScorecardSnapshot.withdrawn_at.is_(None), ScorecardSnapshot.org_id == actor.org_id)
    )
    return stmt if actor.can(Permission.readiness_scorecard_read) else nothing(stmt)


def published_snapshots(actor: Actor) -> Select[ScorecardSnapshot]:
    """Only the live publications (one per org at most), for the landscape."""
    return readable_snapshots(actor).where(ScorecardSnapshot.withdrawn_at.is_(None))
