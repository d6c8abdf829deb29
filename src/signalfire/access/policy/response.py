"""Who may read what in the response channel, as SQL.

* Members of the owning org with ``response:incident:read`` see the org's incidents and all that
  hangs off them (timeline, roles, actions, tasks, reviews).
* An external participant (outside counsel, a forensic contractor: a user of another org added to
  one incident) sees that incident, its timeline, roles, actions and tasks, and nothing else: not
  the org's other incidents, its reviews, rosters, contacts or metrics. Access ends when the
  participant is removed (``renounced_at`` set).
* Authorities never see incidents here (they receive reports through the reporting channel), even if
  one of their users was once added to an incident; other orgs see nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, Uuid, and_, false, literal, or_, select, union_all
from sqlalchemy.orm import aliased

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind
from signalfire.access.permissions import Permission
from signalfire.access.policy import nothing
from signalfire.response.models import (
    EscalationPolicyRecord,
    GovernmentContact,
    Incident,
    IncidentParticipant,
    ModelVersion,
    Page,
    Playbook,
    PostIncidentReview,
    ResponseAction,
    Roster,
    TimelineEntry,
)
from signalfire.response.vocab import ParticipantRole


def _external_incident_ids(actor: Actor) -> Select[Any]:
    return select(IncidentParticipant.incident_id).where(
        IncidentParticipant.user_id == actor.user_id,
        IncidentParticipant.role == ParticipantRole.EXTERNAL,
        IncidentParticipant.renounced_at.is_(None),
    )


def incident_predicate(actor: Actor) -> ColumnElement[bool]:
    """The condition on ``Incident`` that makes a row readable by ``actor``.

    The first conjunct names the orgs involved (the actor's own, plus those of incidents the actor
    joined as an external participant) so the database can drive the query from the org-leading
    indexes; an OR of the two cases alone would scan the whole table.
    """
    if actor.org_kind is OrgKind.authority:
        return false()
    external = _external_incident_ids(actor)
    joined = aliased(Incident)
    external_orgs = select(joined.org_id).where(joined.id.in_(external))
    if not actor.can(Permission.response_incident_read):
        return and_(Incident.org_id.in_(external_orgs), Incident.id.in_(external))
    orgs = union_all(select(literal(actor.org_id, Uuid)), external_orgs)
    return and_(Incident.org_id.in_(orgs), or_(Incident.org_id == actor.org_id, Incident.id.in_(external)))


def reads_every_org_incident(actor: Actor) -> bool:
    """True when ``incident_predicate`` admits every incident of the actor's own org, so org-wide
    aggregates (the metrics sketches) show the actor nothing it could not read row by row."""
    return actor.org_kind is not OrgKind.authority and actor.can(Permission.response_incident_read)


def readable_incidents(actor: Actor) -> Select[Incident]:
    return select(Incident).where(incident_predicate(actor))


def is_org_reader(actor: Actor, incident: Incident) -> bool:
    """True for members of the owning org who may read its incidents (not for external participants)."""
    return incident.org_id == actor.org_id and actor.can(Permission.response_incident_read)


def readable_timeline(actor: Actor) -> Select[TimelineEntry]:
    return (
        select(TimelineEntry).join(Incident, Incident.id == TimelineEntry.incident_id).where(incident_predicate(actor))
    )


def readable_participants(actor: Actor) -> Select[IncidentParticipant]:
    return (
        select(IncidentParticipant)
        .join(Incident, Incident.id == IncidentParticipant.incident_id)
        .where(incident_predicate(actor))
    )


def readable_actions(actor: Actor) -> Select[ResponseAction]:
    return (
        select(ResponseAction)
        .join(Incident, Incident.id == ResponseAction.incident_id)
        .where(incident_predicate(actor))
    )


def _org_only(actor: Actor, stmt: Select[Any], org_column: Any, permission: Permission) -> Select[Any]:
    """Org-internal records: the org's own members with ``permission``; never externals."""
    if actor.org_kind is OrgKind.authority or not actor.can(permission):
        return nothing(stmt)
    return stmt.where(org_column == actor.org_id)


def readable_reviews(actor: Actor) -> Select[PostIncidentReview]:
    """Post-incident reviews are internal: the org's incident readers only."""
    return _org_only(actor, select(PostIncidentReview), PostIncidentReview.org_id, Permission.response_incident_read)


def readable_model_versions(actor: Actor) -> Select[ModelVersion]:
    return _org_only(actor, select(ModelVersion), ModelVersion.org_id, Permission.response_incident_read)


def readable_playbooks(actor: Actor) -> Select[Playbook]:
    return _org_only(actor, select(Playbook), Playbook.org_id, Permission.response_incident_read)


def readable_rosters(actor: Actor) -> Select[Roster]:
    return _org_only(actor, select(Roster), Roster.org_id, Permission.response_incident_read)


def readable_escalation_policies(actor: Actor) -> Select[EscalationPolicyRecord]:
    return _org_only(
        actor,
        select(EscalationPolicyRecord),
        EscalationPolicyRecord.org_id,
        Permission.response_incident_read,
    )


def readable_pages(actor: Actor) -> Select[Page]:
    return _org_only(actor, select(Page), Page.org_id, Permission.response_incident_read)


def readable_contacts(actor: Actor) -> Select[GovernmentContact]:
    return _org_only(actor, select(GovernmentContact), GovernmentContact.org_id, Permission.response_incident_read)
