"""Reporting's read statements that belong to no single topic module (obligations.py, reports.py,
inbox.py, assessments.py and retention.py read their own rows through access.policy.reporting).

Two kinds of read live here. Reads for a person start from a readable statement of access.policy. Reads
for the deployment's operator (the `signalfire reporting` and `signalfire retention` commands that take
no `--as`) have no actor to apply a policy to; they are named `operator_*` so that no route can pick one
up by accident.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, OrgKind
from signalfire.access.permissions import Permission
from signalfire.access.policy import first_or_404, readable_orgs
from signalfire.access.policy.reporting import readable_cases, readable_clock_events
from signalfire.access.policy.response import readable_incidents
from signalfire.reporting.models import Assessment, Case, LegalHold, Obligation, RecipientBinding, RecordedClockEvent
from signalfire.response.models import Incident

RECENT_INCIDENTS = 20

# -- reads for a person ----------------------------------------------------------------------------------


def incident_org(session: Session, actor: Actor, incident: Incident) -> Organization:
    """The organisation an (already readable) incident belongs to: its kind and profile decide which
    regimes may apply."""
    return first_or_404(session, readable_orgs(actor).where(Organization.id == incident.org_id), "No such org.")


def organization_names(session: Session, actor: Actor, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Names from the org directory, for the authorities a report's threads are with."""
    wanted = list(ids)
    if not wanted:
        return {}
    return {o.id: o.name for o in session.execute(readable_orgs(actor).where(Organization.id.in_(wanted))).scalars()}


def authority_orgs(session: Session, actor: Actor) -> list[Organization]:
    """The authority organisations a regime's recipient can be bound to, by name."""
    stmt = readable_orgs(actor).where(Organization.kind == OrgKind.authority).order_by(Organization.name)
    return list(session.execute(stmt).scalars())


def recent_incidents(session: Session, actor: Actor, limit: int = RECENT_INCIDENTS) -> list[tuple[Incident, int]]:
    """The org's latest incidents (newest awareness first), each with its number of current assessments;
    nothing for someone who cannot read the org's obligations."""
    if not actor.can(Permission.reporting_obligation_read):
        return []
    counts = (
        select(Assessment.incident_id, func.count().label("n"))
        .where(Assessment.org_id == actor.org_id, Assessment.is_current.is_(True))
        .group_by(Assessment.incident_id)
        .subquery()
    )
    rows = session.execute(
        readable_incidents(actor)
        .where(Incident.org_id == actor.org_id)
        .add_columns(func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.incident_id == Incident.id)
        .order_by(Incident.aware_at.desc())
        .limit(limit)
    ).all()
    return [(i, int(n)) for i, n in rows]


def recorded_events(session: Session, actor: Actor, incident_id: uuid.UUID) -> list[RecordedClockEvent]:
    """Clock events recorded on an incident, latest recording first."""
    stmt = (
        readable_clock_events(actor)
        .where(RecordedClockEvent.incident_id == incident_id)
        .order_by(RecordedClockEvent.recorded_at.desc())
    )
    return list(session.execute(stmt).scalars())


def case_of(session: Session, actor: Actor, incident_id: uuid.UUID) -> Case | None:
    """The incident's reporting case (its retention dates), if one was opened."""
    return session.execute(readable_cases(actor).where(Case.incident_id == incident_id)).scalars().first()


# -- reads for the operator (no actor) -------------------------------------------------------------------


def operator_org(session: Session, slug: str) -> Organization | None:
    return session.execute(select(Organization).where(Organization.slug == slug)).scalar_one_or_none()


def operator_bindings(session: Session) -> list[tuple[RecipientBinding, Organization]]:
    """Every recipient binding with the authority org it points at."""
    rows = session.execute(
        select(RecipientBinding, Organization)
        .join(Organization, Organization.id == RecipientBinding.authority_org_id)
        .order_by(RecipientBinding.regime_id, RecipientBinding.recipient_id)
    ).all()
    return [(b, o) for b, o in rows]


def operator_binding(session: Session, regime_id: str, recipient_id: str) -> RecipientBinding | None:
    return session.execute(
        select(RecipientBinding).where(
            RecipientBinding.regime_id == regime_id, RecipientBinding.recipient_id == recipient_id
        )
    ).scalar_one_or_none()


def operator_assessed_incidents(session: Session, org_id: uuid.UUID | None = None) -> list[Incident]:
    """Incidents with at least one assessment (whose obligations a recompute can change)."""
    stmt = select(Incident).where(Incident.id.in_(select(Assessment.incident_id)))
    if org_id is not None:
        stmt = stmt.where(Incident.org_id == org_id)
    return list(session.execute(stmt).scalars())


def operator_open_obligations(session: Session, org_id: uuid.UUID) -> list[tuple[Obligation, str]]:
    """An org's open obligations with their incident's reference, soonest due first (waiting ones last)."""
    rows = session.execute(
        select(Obligation, Incident.reference)
        .join(Incident, Incident.id == Obligation.incident_id)
        .where(Obligation.org_id == org_id, Obligation.is_open.is_(True))
        .order_by(Obligation.due_at.asc().nulls_last())
    ).all()
    return [(o, ref) for o, ref in rows]


def operator_cases(session: Session, org_id: uuid.UUID) -> list[tuple[Case, str]]:
    """An org's reporting cases with their incident's reference, earliest retention end first."""
    rows = session.execute(
        select(Case, Incident.reference)
        .join(Incident, Incident.id == Case.incident_id)
        .where(Case.org_id == org_id)
        .order_by(Case.retain_until)
    ).all()
    return [(c, ref) for c, ref in rows]


def operator_holds(session: Session, org_id: uuid.UUID) -> list[tuple[LegalHold, str]]:
    """An org's legal holds (released ones included) with their incident's reference, oldest first."""
    rows = session.execute(
        select(LegalHold, Incident.reference)
        .join(Incident, Incident.id == LegalHold.incident_id)
        .where(LegalHold.org_id == org_id)
        .order_by(LegalHold.placed_at)
    ).all()
    return [(h, ref) for h, ref in rows]
