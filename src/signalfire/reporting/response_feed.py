"""Facts flow from response into reporting by themselves, in the same transaction.

When a unit of work changes an incident's clock facts (awareness, occurrence, containment, mitigation,
resolution, closure, the drill flag) or its severity, the incident's obligations are recomputed before
the transaction commits: resolving in response starts the final report's clock at once, with nobody
recording the resolution again. Response never imports reporting; reporting listens, and never writes
response tables. The minute sweep (``reminders.sweep``) stays as the backstop for writes that go around
the ORM.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, UOWTransaction

from signalfire.response.models import Incident

# What the clocks or the reassessment flag read from the incident.
WATCHED = (
    "occurred_at",
    "aware_at",
    "contained_at",
    "mitigated_at",
    "resolved_at",
    "closed_at",
    "is_drill",
    "severity",
)
_KEY = "signalfire.reporting.changed_incidents"
log = logging.getLogger("signalfire.reporting")


@event.listens_for(Session, "before_flush")
def _collect(session: Session, flush_context: UOWTransaction, instances: Any) -> None:
    for obj in session.dirty:
        if isinstance(obj, Incident):
            state = inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in WATCHED):
                session.info.setdefault(_KEY, set()).add(obj.id)


@event.listens_for(Session, "before_commit")
def _recompute(session: Session) -> None:
    changed: set[uuid.UUID] = session.info.pop(_KEY, set())
    if not changed:
        return
    session.flush()  # pending changes first, so the incident rows are as committed
    changed |= session.info.pop(_KEY, set())
    from signalfire.reporting.models import Case
    from signalfire.reporting.obligations import sync_incident

    # Only incidents reporting already holds records about: the others have no clocks yet.
    ids = session.execute(select(Case.incident_id).where(Case.incident_id.in_(changed))).scalars().all()
    for incident_id in sorted(ids):
        incident = session.get(Incident, incident_id)
        if incident is None:
            continue
        try:
            with session.begin_nested():  # a reporting failure must never block a response action
                sync_incident(session, incident)
        except Exception:
            # The minute sweep sees the facts differ from what the case last saw, and recomputes.
            log.exception("recomputing obligations of incident %s failed; the sweep will retry", incident_id)
    session.info.pop(_KEY, None)  # the recomputation itself changed no incident
