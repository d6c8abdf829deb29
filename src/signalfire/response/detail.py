"""Everything the incident page and the incident API show, gathered in one place from the policy.

What an external participant sees is decided here too: their incident, its timeline, roles, actions
and tasks; never the org's playbooks, policies, inventory or review.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.permissions import Permission
from signalfire.access.policy.response import is_org_reader
from signalfire.response import actions as action_service
from signalfire.response import contacts, lifecycle, paging, playbooks, reviews
from signalfire.response import service as incident_service
from signalfire.response.models import (
    EscalationPolicyRecord,
    GovernmentContact,
    Incident,
    IncidentTask,
    ModelVersion,
    Page,
    Playbook,
    PostIncidentReview,
    ResponseAction,
    TimelineEntry,
)
from signalfire.response.service import ParticipantView
from signalfire.response.vocab import ActionKind, ActionStatus, ParticipantRole


@dataclass
class IncidentDetail:
    incident: Incident
    internal: bool
    timeline: list[TimelineEntry]
    participants: list[ParticipantView]
    actions: list[ResponseAction]
    tasks: list[IncidentTask]
    commander: ParticipantView | None
    names: dict[uuid.UUID, str]
    versions: dict[uuid.UUID, ModelVersion]
    can_write: bool
    can_command: bool
    can_review: bool
    options: list[lifecycle.TransitionOption]
    next_action_states: dict[uuid.UUID, list[ActionStatus]]
    pages: list[Page] = field(default_factory=list)
    playbooks: list[Playbook] = field(default_factory=list)
    policies: list[EscalationPolicyRecord] = field(default_factory=list)
    inventory: list[ModelVersion] = field(default_factory=list)
    contacts: list[GovernmentContact] = field(default_factory=list)
    review: PostIncidentReview | None = None

    @property
    def open_actions(self) -> int:
        return sum(1 for a in self.actions if a.status.is_open)


def incident_detail(session: Session, actor: Actor, incident: Incident) -> IncidentDetail:
    internal = is_org_reader(actor, incident)
    people = incident_service.participants(session, incident)
    acts = action_service.list_actions(session, incident)
    tasks = playbooks.list_tasks(session, incident)
    entries = incident_service.timeline(session, incident)
    ids: set[uuid.UUID | None] = {a.owner_user_id for a in acts} | {a.verified_by for a in acts}
    names = incident_service.user_labels(session, ids)
    commander = next(
        (p for p in people if p.participant.role is ParticipantRole.COMMANDER and p.participant.renounced_at is None),
        None,
    )
    can_write = internal and actor.can(Permission.response_incident_write)
    detail = IncidentDetail(
        incident=incident,
        internal=internal,
        timeline=entries,
        participants=people,
        actions=acts,
        tasks=tasks,
        commander=commander,
        names=names,
        versions={},
        can_write=can_write,
        can_command=can_write and actor.can(Permission.response_incident_command),
        can_review=internal and actor.can(Permission.response_review_write),
        options=lifecycle.transition_options(incident.status) if can_write else [],
        next_action_states={
            a.id: sorted(action_service.NEXT_STATUSES[a.status], key=list(ActionStatus).index) for a in acts
        },
    )
    # The versions the incident's own actions name are part of the incident, for anyone who may read it.
    detail.versions = incident_service.versions_by_id(
        session, {a.from_version_id for a in acts} | {a.to_version_id for a in acts}
    )
    if internal:
        detail.inventory = incident_service.list_model_versions(session, actor)
        detail.contacts = contacts.list_contacts(session, actor)
        detail.pages = paging.list_pages(session, actor, incident_id=incident.id)
        detail.playbooks = [p for p in playbooks.list_playbooks(session, actor)]
        detail.policies = paging.list_policies(session, actor)
        detail.review = reviews.get_review(session, actor, incident)
    return detail


ACTION_KINDS = list(ActionKind)
