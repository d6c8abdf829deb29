"""Incidents: opening them, their timeline, status changes, roles and the model inventory.

Rules live in ``lifecycle`` (pure); this module loads the facts, calls them, and maps a refusal to a
4xx before anything is changed. Services never commit; the request or job does.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Membership, Organization, OrgKind, User
from signalfire.access.permissions import Permission
from signalfire.access.policy import first_or_404, require
from signalfire.access.policy.response import is_org_reader, readable_incidents, readable_model_versions
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import AppError, Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from signalfire.notify.outbox import publish_event
from signalfire.response import lifecycle
from signalfire.response.models import (
    Incident,
    IncidentParticipant,
    ModelVersion,
    ReferenceCounter,
    ResponseAction,
    TimelineEntry,
    TimelineKind,
    model_key,
)
from signalfire.response.schemas import (
    IncidentCreate,
    IncidentUpdate,
    ModelVersionIn,
    ParticipantIn,
    TransitionIn,
)
from signalfire.response.vocab import ActionStatus, IncidentStatus, ParticipantRole, Severity

MAX_TIMELINE_BODY = 20_000
MAX_DATA_KEYS = 50
# Kinds an external participant may add: what they found, not decisions or actions.
EXTERNAL_KINDS = frozenset({TimelineKind.NOTE, TimelineKind.EVIDENCE})


def rule_error(exc: lifecycle.ResponseRuleError) -> AppError:
    """A refused response rule as the error the API and UI render."""
    if exc.http_status == 409:
        return Conflict(exc.message, slug=exc.code.value.replace("_", "-"))
    return ValidationFailed.single(exc.field or "body", exc.message)


# -- model inventory -----------------------------------------------------------------------------------


def add_model_version(session: Session, actor: Actor, data: ModelVersionIn) -> ModelVersion:
    require(actor, Permission.response_playbook_manage)
    exists = session.execute(
        select(ModelVersion.id).where(
            ModelVersion.org_id == actor.org_id,
            ModelVersion.name == data.name,
            ModelVersion.version == data.version,
        )
    ).first()
    if exists:
        raise Conflict(f"{model_key(data.name, data.version)} is already in the inventory.")
    if data.deployed_at is not None and data.deployed_at > utcnow() + lifecycle.CLOCK_SKEW_TOLERANCE:
        raise ValidationFailed.single("deployed_at", "The deployment time is in the future.")
    mv = ModelVersion(
        org_id=actor.org_id,
        name=data.name,
        version=data.version,
        surfaces=[s.strip() for s in data.surfaces if s.strip()],
        deployed_at=data.deployed_at,
    )
    session.add(mv)
    session.flush()  # the audit entry needs the id
    record(
        session,
        action="response.model_version.add",
        target_type="response_model_version",
        target_id=mv.id,
        actor=actor,
        summary={"model": mv.key, "surfaces": mv.surfaces},
    )
    return mv


def resolve_model_keys(
    session: Session,
    org_id: uuid.UUID,
    keys: Sequence[str],
    *,
    field: str = "affected_models",
    single: bool = False,
) -> list[ModelVersion]:
    """The inventory entries named by ``"<name> <version>"`` keys; 422 naming the first unknown one
    (``field[i]``, or ``field`` itself when ``single``)."""

    def where(i: int) -> str:
        return field if single else f"{field}[{i}]"

    wanted = []
    for i, key in enumerate(keys):
        name, _, version = key.strip().rpartition(" ")
        if not name or not version:
            raise ValidationFailed.single(where(i), f'{key!r} is not "<model name> <version>".')
        wanted.append((i, name.strip(), version))
    if not wanted:
        return []
    rows = (
        session.execute(
            select(ModelVersion).where(ModelVersion.org_id == org_id, ModelVersion.name.in_({n for _, n, _ in wanted}))
        )
        .scalars()
        .all()
    )
    by_key = {(m.name, m.version): m for m in rows}
    found = []
    for i, name, version in wanted:
        mv = by_key.get((name, version))
        if mv is None:
            raise ValidationFailed.single(
                where(i), f"{model_key(name, version)} is not in the organisation's model inventory."
            )
        found.append(mv)
    return found


def get_model_version(session: Session, actor: Actor, key: str, *, field: str) -> ModelVersion:
    return resolve_model_keys(session, actor.org_id, [key], field=field, single=True)[0]


def versions_by_id(session: Session, ids: set[uuid.UUID | None]) -> dict[uuid.UUID, ModelVersion]:
    """Inventory rows named by records the caller has already read through the policy (e.g. actions)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {m.id: m for m in session.execute(select(ModelVersion).where(ModelVersion.id.in_(wanted))).scalars()}


def list_model_versions(session: Session, actor: Actor) -> list[ModelVersion]:
    stmt = readable_model_versions(actor).order_by(ModelVersion.name, ModelVersion.version)
    return list(session.execute(stmt).scalars())


# -- incidents ------------------------------------------------------------------------------------------


def _next_reference(session: Session, org_id: uuid.UUID, year: int) -> str:
    """Draw the org's next number for ``year`` under a row lock, so two creates never share one."""
    for _ in range(3):
        counter = session.execute(
            select(ReferenceCounter)
            .where(ReferenceCounter.org_id == org_id, ReferenceCounter.year == year)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one_or_none()
        if counter is not None:
            counter.last_number += 1
            return lifecycle.format_incident_ref(year, counter.last_number)
        try:
            with session.begin_nested():
                session.add(ReferenceCounter(org_id=org_id, year=year, last_number=1))
            return lifecycle.format_incident_ref(year, 1)
        except IntegrityError:  # another transaction created the counter first; lock it and go on
            continue
    raise Conflict("Could not allocate an incident reference; try again.", slug="reference-busy")


def _check_not_future(value: datetime | None, field: str, now: datetime) -> None:
    if value is not None and value > now + lifecycle.CLOCK_SKEW_TOLERANCE:
        raise ValidationFailed.single(field, "The time is in the future.")


def create_incident(session: Session, actor: Actor, data: IncidentCreate) -> Incident:
    """Open an incident in the actor's org. The reference is the org's next INC-<year>-<n>."""
    require(actor, Permission.response_incident_write)
    now = utcnow()
    try:
        lifecycle.check_awareness_time(data.aware_at, now=now)
    except lifecycle.ResponseRuleError as exc:
        raise rule_error(exc) from None
    _check_not_future(data.occurred_at, "occurred_at", now)
    _check_not_future(data.reported_at, "reported_at", now)
    if data.occurred_at is not None and data.occurred_at > data.aware_at:
        raise ValidationFailed.single(
            "occurred_at", "The incident cannot have occurred after the organisation became aware of it."
        )
    models = resolve_model_keys(session, actor.org_id, data.affected_models)
    reported_at = data.reported_at or now
    incident = Incident(
        org_id=actor.org_id,
        reference=_next_reference(session, actor.org_id, now.year),
        title=data.title,
        summary=data.summary,
        severity=data.severity,
        risk_domain=data.risk_domain,
        status=IncidentStatus.REPORTED,
        is_drill=data.is_drill,
        affected_models=list(dict.fromkeys(m.key for m in models)),
        occurred_at=data.occurred_at,
        aware_at=data.aware_at,
        reported_at=reported_at,
        status_changed_at=reported_at,
        source=data.source,
        created_at=now,
        created_by=actor.user_id,
    )
    session.add(incident)
    session.flush()  # timeline, audit and event need the id
    prefix = "Drill opened" if incident.is_drill else "Incident reported"
    append_entry(
        session,
        actor,
        incident,
        kind=TimelineKind.STATUS_CHANGE,
        body=f"{prefix}: {incident.title} ({incident.severity.label}, {incident.risk_domain.label}).",
        source=data.source,
        at=reported_at,
        data={"to": IncidentStatus.REPORTED.value, "aware_at": incident.aware_at.isoformat()},
    )
    record(
        session,
        action="response.incident.create",
        target_type="response_incident",
        target_id=incident.id,
        actor=actor,
        summary={
            "reference": incident.reference,
            "severity": incident.severity,
            "risk_domain": incident.risk_domain,
            "is_drill": incident.is_drill,
            "aware_at": incident.aware_at,
            "source": incident.source,
        },
    )
    publish_event(session, org_id=actor.org_id, event="response.incident.created", data=incident_event(incident))
    return incident


def incident_event(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "reference": incident.reference,
        "title": incident.title,
        "severity": incident.severity,
        "risk_domain": incident.risk_domain,
        "status": incident.status,
        "is_drill": incident.is_drill,
        "aware_at": incident.aware_at,
    }


def get_incident(session: Session, actor: Actor, incident_id: uuid.UUID) -> Incident:
    """A readable incident or 404. A read by an external participant is audited."""
    incident = first_or_404(session, readable_incidents(actor).where(Incident.id == incident_id), "No such incident.")
    if not is_org_reader(actor, incident):
        record(
            session,
            action="response.incident.read_external",
            target_type="response_incident",
            target_id=incident.id,
            actor=actor,
            org_id=incident.org_id,
            summary={"reference": incident.reference},
        )
    return incident


def get_incident_by_reference(session: Session, actor: Actor, reference: str) -> Incident:
    try:
        lifecycle.parse_incident_ref(reference)
    except lifecycle.ResponseRuleError:
        raise NotFound("No such incident.") from None
    incident = first_or_404(
        session,
        readable_incidents(actor).where(
            Incident.reference == reference.strip().upper(), Incident.org_id == actor.org_id
        ),
        "No such incident.",
    )
    return incident


def require_writer(actor: Actor, incident: Incident) -> None:
    """Changes to an incident are for its own org's members with write permission."""
    if incident.org_id != actor.org_id:
        raise Forbidden("External participants may add notes and evidence only.")
    require(actor, Permission.response_incident_write)


def update_incident(session: Session, actor: Actor, incident: Incident, data: IncidentUpdate) -> Incident:
    require_writer(actor, incident)
    now = utcnow()
    changes: dict[str, Any] = {}
    if data.aware_at is not None and data.aware_at != incident.aware_at:
        earliest = min(
            (
                t
                for t in (
                    incident.triaged_at,
                    incident.contained_at,
                    incident.mitigated_at,
                    incident.resolved_at,
                    incident.closed_at,
                )
                if t is not None
            ),
            default=None,
        )
        try:
            lifecycle.check_awareness_time(data.aware_at, now=now, earliest_transition_at=earliest)
        except lifecycle.ResponseRuleError as exc:
            raise rule_error(exc) from None
        if not (data.reason and data.reason.strip()):
            raise ValidationFailed.single(
                "reason",
                "Correcting the awareness time needs a reason: reporting deadlines are computed from it.",
            )
        if incident.occurred_at is not None and incident.occurred_at > data.aware_at:
            raise ValidationFailed.single("aware_at", "The awareness time is before the incident occurred.")
        changes["aware_at"] = (incident.aware_at.isoformat(), data.aware_at.isoformat())
    models: list[ModelVersion] | None = None
    if data.affected_models is not None:
        models = resolve_model_keys(session, incident.org_id, data.affected_models)
    if incident.status is IncidentStatus.CLOSED:
        raise Conflict(
            "A closed incident cannot be edited; open a new incident that refers to it.",
            slug="incident-closed",
        )
    if data.title is not None and data.title != incident.title:
        changes["title"] = (incident.title, data.title)
        incident.title = data.title
    if data.summary is not None and data.summary != incident.summary:
        changes["summary"] = ("…", "…")
        incident.summary = data.summary
    if data.severity is not None and data.severity != incident.severity:
        changes["severity"] = (incident.severity.value, data.severity.value)
        incident.severity = data.severity
    if models is not None:
        keys = list(dict.fromkeys(m.key for m in models))
        if keys != incident.affected_models:
            changes["affected_models"] = (incident.affected_models, keys)
            incident.affected_models = keys
    if data.aware_at is not None and "aware_at" in changes:
        incident.aware_at = data.aware_at
    if not changes:
        return incident
    described = ", ".join(f"{k} {v[0]} → {v[1]}" if k in ("severity", "aware_at") else k for k, v in changes.items())
    append_entry(
        session,
        actor,
        incident,
        kind=TimelineKind.DECISION,
        body=f"Updated {described}." + (f" Reason: {data.reason}" if data.reason else ""),
        data={"changes": {k: list(v) for k, v in changes.items()}},
    )
    record(
        session,
        action="response.incident.update",
        target_type="response_incident",
        target_id=incident.id,
        actor=actor,
        summary={"changes": changes, "reason": data.reason},
    )
    publish_event(session, org_id=incident.org_id, event="response.incident.updated", data=incident_event(incident))
    return incident


def open_action_count(session: Session, incident_id: uuid.UUID) -> int:
    open_states = [s for s in ActionStatus if s.is_open]
    return int(
        session.execute(
            select(func.count())
            .select_from(ResponseAction)
            .where(ResponseAction.incident_id == incident_id, ResponseAction.status.in_(open_states))
        ).scalar_one()
    )


def change_status(session: Session, actor: Actor, incident: Incident, data: TransitionIn) -> Incident:
    """Move the incident through its lifecycle (see ``lifecycle.check_transition``)."""
    require_writer(actor, incident)
    now = utcnow()
    at = data.at or now
    last = None if incident.status is IncidentStatus.REPORTED else incident.status_changed_at
    try:
        kind = lifecycle.check_transition(
            incident.status,
            data.status,
            at=at,
            aware_at=incident.aware_at,
            now=now,
            last_transition_at=last,
            open_action_count=open_action_count(session, incident.id),
            reason=data.reason,
        )
    except lifecycle.ResponseRuleError as exc:
        raise rule_error(exc) from None
    before = incident.status
    incident.status = data.status
    incident.status_changed_at = at
    if data.status is not IncidentStatus.REPORTED and incident.transition_time(data.status) is None:
        setattr(incident, f"{data.status.value}_at", at)
    verb = {
        lifecycle.TransitionKind.STEP: "Moved",
        lifecycle.TransitionKind.SKIP: "Moved (skipping "
        + ", ".join(s.label.lower() for s in lifecycle.skipped_statuses(before, data.status))
        + ")",
        lifecycle.TransitionKind.REOPEN: "Reopened",
    }[kind]
    body = f"{verb} from {before.label.lower()} to {data.status.label.lower()}."
    if data.reason:
        body += f" Reason: {data.reason}"
    append_entry(
        session,
        actor,
        incident,
        kind=TimelineKind.STATUS_CHANGE,
        body=body,
        at=at,
        data={"from": before.value, "to": data.status.value, "transition": kind.value, "reason": data.reason},
    )
    record(
        session,
        action="response.incident.status",
        target_type="response_incident",
        target_id=incident.id,
        actor=actor,
        summary={"from": before, "to": data.status, "at": at, "kind": kind, "reason": data.reason},
    )
    publish_event(
        session,
        org_id=incident.org_id,
        event="response.incident.status",
        data={**incident_event(incident), "from": before, "at": at},
    )
    return incident


# -- timeline -------------------------------------------------------------------------------------------


def add_timeline_entry(
    session: Session,
    actor: Actor | None,
    incident: Incident,
    *,
    kind: TimelineKind | str,
    body: str,
    source: str | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> TimelineEntry:
    """Append an entry to the incident's timeline (entries are never edited or removed).

    ``actor`` None means the system (a job). Members of the incident's org need
    ``response:incident:write``; an external participant may add notes and evidence only. ``source``
    keeps where an imported entry came from (e.g. "intake:signal:<id>", "exchange:item:<id>").
    The incident must have been obtained through the policy (``readable_incidents``).
    """
    try:
        kind = TimelineKind(kind)
    except ValueError:
        raise ValidationFailed.single("kind", f"Unknown timeline entry kind {kind!r}.") from None
    if actor is not None:
        if incident.org_id == actor.org_id:
            require(actor, Permission.response_incident_write)
        elif kind not in EXTERNAL_KINDS:
            raise Forbidden("External participants may add notes and evidence only.")
    entry = append_entry(session, actor, incident, kind=kind, body=body, source=source, data=data, at=at)
    session.flush()  # the audit entry names the row
    record(
        session,
        action="response.timeline.add",
        target_type="response_timeline_entry",
        target_id=entry.id,
        actor=actor,
        org_id=incident.org_id,
        summary={"incident": incident.reference, "kind": kind, "source": source},
    )
    return entry


def append_entry(
    session: Session,
    actor: Actor | None,
    incident: Incident,
    *,
    kind: TimelineKind,
    body: str,
    source: str | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> TimelineEntry:
    """The timeline write behind every service: checks the entry itself, not the actor (the calling
    service has done that and records the change in the audit log)."""
    body = body.strip()
    if not body:
        raise ValidationFailed.single("body", "The entry needs some text.")
    if len(body) > MAX_TIMELINE_BODY:
        raise ValidationFailed.single("body", f"At most {MAX_TIMELINE_BODY} characters.")
    if source is not None and len(source) > 200:
        raise ValidationFailed.single("source", "At most 200 characters.")
    if data is not None and len(data) > MAX_DATA_KEYS:
        raise ValidationFailed.single("data", f"At most {MAX_DATA_KEYS} keys.")
    now = utcnow()
    at = at or now
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValidationFailed.single("at", "The time must include a time zone.")
    _check_not_future(at, "at", now)
    entry = TimelineEntry(
        incident_id=incident.id,
        at=at,
        recorded_at=now,
        kind=kind,
        author_user_id=actor.user_id if actor else None,
        author_label=actor.display_name if actor else "Signalfire",
        body=body,
        source=source,
        data=data or {},
    )
    session.add(entry)
    return entry


def timeline(session: Session, incident: Incident) -> list[TimelineEntry]:
    """The incident's entries, oldest first (call only with an incident obtained through the policy)."""
    stmt = (
        select(TimelineEntry)
        .where(TimelineEntry.incident_id == incident.id)
        .order_by(TimelineEntry.at, TimelineEntry.recorded_at)
    )
    return list(session.execute(stmt).scalars())


# -- participants ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParticipantView:
    participant: IncidentParticipant
    email: str


def participants(session: Session, incident: Incident, *, current_only: bool = False) -> list[ParticipantView]:
    stmt = (
        select(IncidentParticipant, User.email)
        .join(User, User.id == IncidentParticipant.user_id)
        .where(IncidentParticipant.incident_id == incident.id)
        .order_by(IncidentParticipant.assumed_at)
    )
    if current_only:
        stmt = stmt.where(IncidentParticipant.renounced_at.is_(None))
    return [ParticipantView(p, email) for p, email in session.execute(stmt).all()]


def current_commander(session: Session, incident_id: uuid.UUID) -> IncidentParticipant | None:
    return (
        session.execute(
            select(IncidentParticipant).where(
                IncidentParticipant.incident_id == incident_id,
                IncidentParticipant.role == ParticipantRole.COMMANDER,
                IncidentParticipant.renounced_at.is_(None),
            )
        )
        .scalars()
        .first()
    )


def _user_by_email(session: Session, email: str, field: str) -> User:
    user = session.execute(select(User).where(User.email == email.strip().lower())).scalar_one_or_none()
    if user is None or not user.is_active:
        raise ValidationFailed.single(field, f"No active user with email {email!r}.")
    return user


def member_by_email(session: Session, org_id: uuid.UUID, email: str, field: str) -> User:
    """A member of ``org_id`` (rosters, owners and internal roles must be the org's own people)."""
    user = _user_by_email(session, email, field)
    is_member = session.execute(
        select(Membership.id).where(Membership.org_id == org_id, Membership.user_id == user.id)
    ).first()
    if not is_member:
        raise ValidationFailed.single(field, f"{email} is not a member of this organisation.")
    return user


def backdated(at: datetime | None, incident: Incident) -> datetime:
    """A time a person records for something already done: now by default, never in the future, and
    not before the org became aware of the incident."""
    now = utcnow()
    if at is None:
        return now
    _check_not_future(at, "at", now)
    if at < incident.aware_at:
        raise ValidationFailed.single("at", "The time is before the organisation became aware of the incident.")
    return at


def add_participant(session: Session, actor: Actor, incident: Incident, data: ParticipantIn) -> IncidentParticipant:
    """Give someone a role. A second commander is refused; a hand-over ends the current commander's
    term and starts the new one at the same instant."""
    require_writer(actor, incident)
    require(actor, Permission.response_incident_command)
    if incident.status is IncidentStatus.CLOSED:
        raise Conflict("The incident is closed.", slug="incident-closed")
    now = backdated(data.at, incident)
    if data.role is ParticipantRole.EXTERNAL:
        user = _user_by_email(session, data.email, "email")
        orgs = session.execute(
            select(Organization.id, Organization.kind)
            .join(Membership, Membership.org_id == Organization.id)
            .where(Membership.user_id == user.id)
        ).all()
        if any(org_id == incident.org_id for org_id, _ in orgs):
            raise ValidationFailed.single(
                "email", "A member of the organisation takes an internal role, not the external one."
            )
        if any(kind is OrgKind.authority for _, kind in orgs):
            raise ValidationFailed.single(
                "email", "Authorities receive incidents through reports, not as response participants."
            )
        if not (data.affiliation and data.affiliation.strip()):
            raise ValidationFailed.single(
                "affiliation",
                "Say who the external participant is (e.g. outside counsel, forensic contractor).",
            )
    else:
        user = member_by_email(session, incident.org_id, data.email, "email")
    holders = (
        session.execute(
            select(IncidentParticipant).where(
                IncidentParticipant.incident_id == incident.id,
                IncidentParticipant.role == data.role,
                IncidentParticipant.renounced_at.is_(None),
            )
        )
        .scalars()
        .all()
    )
    try:
        lifecycle.check_role_assignment(
            data.role,
            user=str(user.id),
            current_holders=[str(h.user_id) for h in holders],
            handover=data.handover,
        )
    except lifecycle.ResponseRuleError as exc:
        raise rule_error(exc) from None
    if data.handover and not data.role.is_exclusive:
        raise ValidationFailed.single("handover", "Only the commander role is handed over.")
    outgoing = holders[0] if (data.handover and holders) else None
    if outgoing is not None:
        outgoing.renounced_at = now
    label = user.display_name + (f" ({data.affiliation.strip()})" if data.affiliation else "")
    p = IncidentParticipant(
        incident_id=incident.id,
        user_id=user.id,
        role=data.role,
        label=label,
        affiliation=(data.affiliation or "").strip() or None,
        assumed_at=now,
        added_by=actor.user_id,
    )
    session.add(p)
    session.flush()  # the audit entry names the row
    if outgoing is not None:
        body = f"Command handed over from {outgoing.label} to {label}."
    else:
        body = f"{label} joined as {data.role.label.lower()}."
    append_entry(
        session,
        actor,
        incident,
        kind=TimelineKind.ROLE_CHANGE,
        body=body,
        at=now,
        data={
            "role": data.role.value,
            "user_id": str(user.id),
            "handover_from": str(outgoing.user_id) if outgoing else None,
        },
    )
    record(
        session,
        action="response.participant.add",
        target_type="response_participant",
        target_id=p.id,
        actor=actor,
        summary={
            "incident": incident.reference,
            "role": data.role,
            "user": user.email,
            "handover_from": outgoing.user_id if outgoing else None,
        },
    )
    return p


def remove_participant(session: Session, actor: Actor, incident: Incident, participant_id: uuid.UUID) -> None:
    """End someone's role (for an external participant: their access to the incident)."""
    require_writer(actor, incident)
    require(actor, Permission.response_incident_command)
    p = session.execute(
        select(IncidentParticipant).where(
            IncidentParticipant.id == participant_id, IncidentParticipant.incident_id == incident.id
        )
    ).scalar_one_or_none()
    if p is None:
        raise NotFound("No such participant.")
    if p.renounced_at is not None:
        raise Conflict("This person no longer holds the role.", slug="role-ended")
    if p.role is ParticipantRole.COMMANDER and incident.status is not IncidentStatus.CLOSED:
        raise Conflict("The incident needs a commander; hand over command instead.", slug="commander-required")
    now = utcnow()
    p.renounced_at = now
    append_entry(
        session,
        actor,
        incident,
        kind=TimelineKind.ROLE_CHANGE,
        body=f"{p.label} stood down as {p.role.label.lower()}.",
        at=now,
        data={"role": p.role.value, "user_id": str(p.user_id), "ended": True},
    )
    record(
        session,
        action="response.participant.remove",
        target_type="response_participant",
        target_id=p.id,
        actor=actor,
        summary={"incident": incident.reference, "role": p.role, "user_id": p.user_id},
    )


def field_errors(*pairs: tuple[str, str]) -> ValidationFailed:
    return ValidationFailed([FieldError(f, m) for f, m in pairs])


def list_incidents(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    drills: bool | None = None,
    severity: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Incident]:
    """Readable incidents, newest awareness first. ``status`` is a status value, "open" or "closed";
    ``drills`` True for drills only, False for real incidents only, None for both."""
    stmt = readable_incidents(actor)
    if status == "open":
        stmt = stmt.where(Incident.status != IncidentStatus.CLOSED)
    elif status:
        try:
            stmt = stmt.where(Incident.status == IncidentStatus(status))
        except ValueError:
            raise ValidationFailed.single("status", f"Unknown status {status!r}.") from None
    if severity:
        try:
            stmt = stmt.where(Incident.severity == Severity(severity))
        except ValueError:
            raise ValidationFailed.single("severity", f"Unknown severity {severity!r}.") from None
    if drills is not None:
        stmt = stmt.where(Incident.is_drill.is_(drills))
    stmt = stmt.order_by(Incident.aware_at.desc(), Incident.id).limit(min(max(limit, 1), 500)).offset(max(offset, 0))
    return list(session.execute(stmt).scalars())


def user_labels(session: Session, ids: set[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    """Display names for user ids shown next to records the actor may already read."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {i: n for i, n in session.execute(select(User.id, User.display_name).where(User.id.in_(wanted))).all()}
