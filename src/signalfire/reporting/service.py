"""Reporting operations that span its topic modules: one call for each thing a page, the API or a command
does, so that none of them composes rules or reads rows itself.

The rules live in topic modules, each small enough to read whole: assessments.py applies a regime to an
incident, obligations.py keeps the clocks, events.py records clock events, reports.py drafts and files,
inbox.py is the authority's side, retention.py holds and purges, bindings.py routes recipients. The pure
rules engine (regime files, applicability, deadline arithmetic) is the `rules` sub-package, which never
touches the database. Nothing here commits: the request or the
command's unit of work does.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization
from signalfire.access.permissions import Permission
from signalfire.access.policy import require
from signalfire.core.errors import NotFound
from signalfire.reporting import bindings, events, obligations, org_settings, queries, retention
from signalfire.reporting.facts import get_incident
from signalfire.reporting.models import LegalHold, RecipientBinding, RecordedClockEvent
from signalfire.reporting.obligations import SyncResult
from signalfire.response import service as response
from signalfire.response.models import Incident


def incident_by_reference(session: Session, actor: Actor, reference: str) -> Incident:
    """An incident of the actor's org by its reference, read through the reporting policy (else 404)."""
    found = response.get_incident_by_reference(session, actor, reference)
    return get_incident(session, actor, found.id)


def record_event(
    session: Session, actor: Actor, incident: Incident, *, event: str, at: datetime, evidence: str, reason: str = ""
) -> tuple[RecordedClockEvent, SyncResult]:
    """Record when a clock event happened and recompute the incident's obligations from it."""
    row = events.record_event(session, actor, incident, event=event, at=at, evidence=evidence, reason=reason)
    return row, obligations.sync_incident(session, incident, actor=actor)


def recompute_incident(session: Session, actor: Actor, incident: Incident) -> SyncResult:
    """Recompute one incident's obligations on request (after a regime or settings change)."""
    require(actor, Permission.reporting_assessment_write)
    return obligations.sync_incident(session, incident, actor=actor)


@dataclass(frozen=True)
class SettingsChange:
    settings: org_settings.ReportingSettings
    recomputed: int  # incidents whose open obligations were recomputed


def update_settings(
    session: Session,
    actor: Actor,
    *,
    org_sla_minutes: int | None,
    leads: list[int] | None,
    assessment_prompt_minutes: int | None = None,
) -> SettingsChange:
    """Change the org's SLA, reminder leads and assessment prompt, then recompute its open obligations
    (an SLA moves target times)."""
    settings = org_settings.update_settings(
        session,
        actor,
        org_sla_minutes=org_sla_minutes,
        leads=leads,
        assessment_prompt_minutes=assessment_prompt_minutes,
    )
    return SettingsChange(settings, obligations.resync_org(session, actor))


def place_hold_by_reference(session: Session, actor: Actor, reference: str, reason: str) -> LegalHold:
    return retention.place_hold(session, actor, incident_by_reference(session, actor, reference), reason)


# -- operator operations (no actor: the deployment's own commands) ---------------------------------------


def operator_org(session: Session, slug: str) -> Organization:
    org = queries.operator_org(session, slug)
    if org is None:
        raise NotFound(f"No organisation {slug!r}.")
    return org


@dataclass(frozen=True)
class Recomputed:
    incidents: int
    changed: int


def recompute_assessed(
    session: Session, *, org_id: uuid.UUID | None = None, progress: Callable[[int, int], None] | None = None
) -> Recomputed:
    """Recompute the obligations of every assessed incident (of one org, or all): after a regime file
    changed, say. Idempotent: a second run changes nothing.

    ``progress(done, total)``, if given, is told how many incidents are recomputed: once before the first and
    after each one (each is several statements; a deployment with years of incidents takes a while)."""
    incidents = queries.operator_assessed_incidents(session, org_id)
    total = len(incidents)
    if progress is not None:
        progress(0, total)
    changed = 0
    for done, incident in enumerate(incidents, start=1):
        changed += obligations.sync_incident(session, incident).changed
        if progress is not None:
            progress(done, total)
    return Recomputed(total, changed)


def bind_to_slug(session: Session, *, regime_id: str, recipient_id: str, authority_slug: str) -> RecipientBinding:
    org = operator_org(session, authority_slug)
    return bindings.bind(session, None, regime_id=regime_id, recipient_id=recipient_id, authority_org_id=org.id)


def unbind_target(session: Session, *, regime_id: str, recipient_id: str) -> None:
    row = queries.operator_binding(session, regime_id, recipient_id)
    if row is None:
        raise NotFound("No such binding.")
    bindings.unbind(session, None, row.id)
