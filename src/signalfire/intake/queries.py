"""Read statements the intake pages and API show beside signals (routes never query). Every protected
read starts from a readable statement of access.policy."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization
from signalfire.access.permissions import Permission
from signalfire.access.policy.intake import readable_alert_sources, readable_clusters, readable_feeds, readable_signals
from signalfire.access.policy.response import readable_incidents
from signalfire.intake.models import AlertSource, Cluster, Feed, Signal
from signalfire.response.models import Incident
from signalfire.response.vocab import IncidentStatus


def open_incidents(session: Session, actor: Actor, limit: int = 50) -> list[Incident]:
    """The org's open incidents a signal can be brought into (none without the right to write incidents)."""
    if not actor.can(Permission.response_incident_write):
        return []
    stmt = (
        readable_incidents(actor)
        .where(Incident.org_id == actor.org_id, Incident.status != IncidentStatus.CLOSED)
        .order_by(Incident.aware_at.desc())
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


def linked_incident(session: Session, actor: Actor, signal: Signal) -> Incident | None:
    if signal.incident_id is None or not actor.can(Permission.response_incident_read):
        return None
    return session.execute(readable_incidents(actor).where(Incident.id == signal.incident_id)).scalars().first()


def original_of(session: Session, actor: Actor, signal: Signal) -> Signal | None:
    """The signal a duplicate points at, when the actor may read it."""
    if signal.duplicate_of_id is None:
        return None
    return session.execute(readable_signals(actor).where(Signal.id == signal.duplicate_of_id)).scalars().first()


def signal_by_reference(session: Session, actor: Actor, reference: str) -> Signal | None:
    return session.execute(readable_signals(actor).where(Signal.reference == reference)).scalars().first()


def signals_by_id(session: Session, actor: Actor, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Signal]:
    return {s.id: s for s in session.execute(readable_signals(actor).where(Signal.id.in_(ids))).scalars()}


def other_clusters(session: Session, actor: Actor, cluster: Cluster, limit: int = 30) -> list[Cluster]:
    """The most recent other clusters, to merge into."""
    stmt = readable_clusters(actor).where(Cluster.id != cluster.id).order_by(Cluster.last_signal_at.desc())
    return list(session.execute(stmt.limit(limit)).scalars())


def feeds(session: Session, actor: Actor) -> list[Feed]:
    return list(session.execute(readable_feeds(actor).order_by(Feed.created_at)).scalars())


def alert_sources(session: Session, actor: Actor) -> list[AlertSource]:
    return list(session.execute(readable_alert_sources(actor).order_by(AlertSource.created_at)).scalars())


def own_org(session: Session, actor: Actor) -> Organization:
    org = session.get(Organization, actor.org_id)
    if org is None:  # the actor was built from a membership of this org in the same request
        raise LookupError(f"organisation {actor.org_id} vanished")
    return org
