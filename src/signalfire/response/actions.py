"""Response actions: typed, owned, timed and verified records (rollback, restriction, revocation ...).

An action moves requested → in progress → completed → verified (or ends failed / cancelled). Each
stage's time is validated by ``lifecycle.validate_action_times``; the target time is a deadline the
UI counts down to. A rollback and any action naming a model must name versions in the org's
inventory. External notifications from a drill are recorded as suppressed and never sent.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.policy import first_or_404
from signalfire.access.policy.response import readable_actions
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import Conflict, ValidationFailed
from signalfire.notify.outbox import enqueue_email, publish_event
from signalfire.response import lifecycle
from signalfire.response.models import (
    GovernmentContact,
    Incident,
    IncidentTask,
    ModelVersion,
    ResponseAction,
    TaskStatus,
    TimelineKind,
)
from signalfire.response.schemas import ActionCreate, ActionProgress
from signalfire.response.service import (
    append_entry,
    get_model_version,
    member_by_email,
    require_writer,
    rule_error,
)
from signalfire.response.vocab import ActionKind, ActionStatus, IncidentStatus

# The Commitment-9 style target for a global rollback; other kinds have a target only when given.
DEFAULT_TARGET: dict[ActionKind, timedelta] = {ActionKind.MODEL_ROLLBACK: timedelta(hours=12)}

NEXT_STATUSES: dict[ActionStatus, frozenset[ActionStatus]] = {
    ActionStatus.REQUESTED: frozenset(
        {ActionStatus.IN_PROGRESS, ActionStatus.COMPLETED, ActionStatus.FAILED, ActionStatus.CANCELLED}
    ),
    ActionStatus.IN_PROGRESS: frozenset({ActionStatus.COMPLETED, ActionStatus.FAILED, ActionStatus.CANCELLED}),
    # A verification that fails marks the action failed; a new action is then requested.
    ActionStatus.COMPLETED: frozenset({ActionStatus.VERIFIED, ActionStatus.FAILED}),
    ActionStatus.VERIFIED: frozenset(),
    ActionStatus.FAILED: frozenset(),
    ActionStatus.CANCELLED: frozenset(),
}


def _versions(session: Session, actor: Actor, data: ActionCreate) -> tuple[ModelVersion | None, ModelVersion | None]:
    src = get_model_version(session, actor, data.from_version, field="from_version") if data.from_version else None
    dst = get_model_version(session, actor, data.to_version, field="to_version") if data.to_version else None
    if data.kind is ActionKind.MODEL_ROLLBACK:
        if src is None:
            raise ValidationFailed.single("from_version", "A rollback names the version it rolls back from.")
        if dst is None:
            raise ValidationFailed.single("to_version", "A rollback names the version it rolls back to.")
        if src.id == dst.id:
            raise ValidationFailed.single("to_version", "The rollback target is the version being rolled back.")
        if src.name != dst.name:
            raise ValidationFailed.single("to_version", f"Roll back to another version of {src.name}.")
    elif dst is not None:
        raise ValidationFailed.single("to_version", "Only a rollback has a target version.")
    return src, dst


def _check_kind_fields(data: ActionCreate, scope: list[str]) -> None:
    if data.kind is ActionKind.MODEL_ROLLBACK and not scope:
        raise ValidationFailed.single("scope", "Say where the rollback applies (surfaces, regions, internal).")
    if data.kind is ActionKind.CAPABILITY_RESTRICTION:
        if not (data.capability and data.capability.strip()):
            raise ValidationFailed.single("capability", "Say which capability is restricted or throttled.")
        if not scope:
            raise ValidationFailed.single("scope", "Say where the restriction applies.")
    if data.kind in (ActionKind.ACCESS_REVOCATION, ActionKind.ACCESS_BLOCK) and not (scope or data.params):
        raise ValidationFailed.single("scope", "Say which accounts, keys or access the action covers.")
    if data.kind is ActionKind.EXTERNAL_NOTIFICATION and not (
        data.params.get("recipient") or data.params.get("email") or data.params.get("contact_id")
    ):
        raise ValidationFailed.single("params", "Name the party notified (recipient, email or contact_id).")
    if len(str(data.params)) > 10_000:
        raise ValidationFailed.single("params", "At most 10,000 characters of parameters.")


def create_action(session: Session, actor: Actor, incident: Incident, data: ActionCreate) -> ResponseAction:
    require_writer(actor, incident)
    if incident.status is IncidentStatus.CLOSED:
        raise Conflict("The incident is closed; open a new incident that refers to it.", slug="incident-closed")
    now = utcnow()
    src, dst = _versions(session, actor, data)
    scope = [s.strip() for s in data.scope if s.strip()] or (
        list(src.surfaces) if src is not None and data.kind is ActionKind.MODEL_ROLLBACK else []
    )
    _check_kind_fields(data, scope)
    requested = data.requested_at or now
    target = data.target_at
    if target is None and data.target_minutes is not None:
        target = requested + timedelta(minutes=data.target_minutes)
    if target is None and data.kind in DEFAULT_TARGET:
        target = requested + DEFAULT_TARGET[data.kind]
    try:
        lifecycle.validate_action_times(requested, None, None, None, now, target=target, aware_at=incident.aware_at)
    except lifecycle.ResponseRuleError as exc:
        raise rule_error(exc) from None
    owner = member_by_email(session, incident.org_id, data.owner_email, "owner_email") if data.owner_email else None
    task = None
    if data.task_id is not None:
        task = session.execute(
            select(IncidentTask).where(IncidentTask.id == data.task_id, IncidentTask.incident_id == incident.id)
        ).scalar_one_or_none()
        if task is None:
            raise ValidationFailed.single("task_id", "No such task on this incident.")
    else:
        # A playbook step that calls for this kind of action is what the action carries out.
        task = session.execute(
            select(IncidentTask)
            .where(
                IncidentTask.incident_id == incident.id,
                IncidentTask.action_kind == data.kind,
                IncidentTask.status == TaskStatus.OPEN,
            )
            .order_by(IncidentTask.position)
            .limit(1)
        ).scalar_one_or_none()
    contact = _contact(session, incident, data.params)
    action = ResponseAction(
        incident_id=incident.id,
        org_id=incident.org_id,
        is_drill=incident.is_drill,
        kind=data.kind,
        status=ActionStatus.REQUESTED,
        title=data.title,
        detail=data.detail,
        owner_user_id=owner.id if owner else actor.user_id,
        from_version_id=src.id if src else None,
        to_version_id=dst.id if dst else None,
        scope=scope,
        capability=(data.capability or "").strip() or None,
        params=dict(data.params),
        requested_at=requested,
        target_at=target,
        task_id=task.id if task else None,
        created_at=now,
        created_by=actor.user_id,
    )
    session.add(action)
    session.flush()  # timeline, audit and event name the row
    text = f"{data.kind.label} requested: {data.title}"
    if src is not None and dst is not None:
        text += f" ({src.key} → {dst.key}, scope: {', '.join(scope)})"
    elif data.kind is ActionKind.CAPABILITY_RESTRICTION:
        text += f" ({action.capability} on {', '.join(scope)})"
    if target is not None:
        text += f"; target {target:%Y-%m-%d %H:%M} UTC"
    append_entry(
        session,
        actor,
        incident,
        kind=TimelineKind.ACTION,
        body=text + ".",
        at=requested,
        data={"action_id": str(action.id), "kind": data.kind.value, "status": action.status.value},
    )
    record(
        session,
        action="response.action.create",
        target_type="response_action",
        target_id=action.id,
        actor=actor,
        summary={
            "incident": incident.reference,
            "kind": data.kind,
            "from": src.key if src else None,
            "to": dst.key if dst else None,
            "scope": scope,
            "target_at": target,
        },
    )
    if data.kind is ActionKind.EXTERNAL_NOTIFICATION:
        _notify_external(session, incident, action, contact)
    publish_event(session, org_id=incident.org_id, event="response.action.created", data=action_event(action))
    return action


def _contact(session: Session, incident: Incident, params: dict[str, Any]) -> GovernmentContact | None:
    raw = params.get("contact_id")
    if raw is None:
        return None
    try:
        contact_id = uuid.UUID(str(raw))
    except ValueError:
        raise ValidationFailed.single("params.contact_id", "Not a contact id.") from None
    contact = session.execute(
        select(GovernmentContact).where(GovernmentContact.id == contact_id, GovernmentContact.org_id == incident.org_id)
    ).scalar_one_or_none()
    if contact is None:
        raise ValidationFailed.single("params.contact_id", "No such contact in this organisation.")
    return contact


def _notify_external(
    session: Session, incident: Incident, action: ResponseAction, contact: GovernmentContact | None
) -> None:
    """Send the notice by email when an address is known; from a drill, record it as suppressed instead."""
    address = action.params.get("email")
    if address is None and contact is not None and contact.channel.value in ("email", "secure_email"):
        address = contact.address
    party = action.params.get("recipient") or (contact.agency if contact else address)
    if incident.is_drill:
        action.suppressed = True
        append_entry(
            session,
            None,
            incident,
            kind=TimelineKind.NOTIFICATION,
            body=f"Drill: the notice to {party} was recorded and not sent.",
            at=action.requested_at,
            data={"action_id": str(action.id), "suppressed": True},
        )
        record(
            session,
            action="response.notification.suppressed",
            target_type="response_action",
            target_id=action.id,
            org_id=incident.org_id,
            summary={"party": party, "reason": "drill"},
        )
        return
    if address:
        enqueue_email(
            session,
            to=[str(address)],
            subject=f"{incident.reference}: {action.title}",
            body=action.detail or action.title,
            topic="response.external_notification",
            org_id=incident.org_id,
            dedupe_key=f"response.action.notify:{action.id}",
        )


def action_event(action: ResponseAction) -> dict[str, Any]:
    return {
        "id": action.id,
        "incident_id": action.incident_id,
        "kind": action.kind,
        "status": action.status,
        "is_drill": action.is_drill,
        "requested_at": action.requested_at,
        "target_at": action.target_at,
        "completed_at": action.completed_at,
        "verified_at": action.verified_at,
    }


def get_action(session: Session, actor: Actor, incident: Incident, action_id: uuid.UUID) -> ResponseAction:
    stmt = readable_actions(actor).where(ResponseAction.id == action_id, ResponseAction.incident_id == incident.id)
    return first_or_404(session, stmt, "No such action.")


def list_actions(session: Session, incident: Incident) -> list[ResponseAction]:
    """An incident's actions (the incident must come from the policy)."""
    return list(
        session.execute(
            select(ResponseAction)
            .where(ResponseAction.incident_id == incident.id)
            .order_by(ResponseAction.requested_at)
        ).scalars()
    )


# Actions whose verification must be independent of their owner: a rollback or a restriction that its own
# owner signs off proves less than one a second person checked (readiness counts only the latter).
FOUR_EYES = frozenset({ActionKind.MODEL_ROLLBACK, ActionKind.CAPABILITY_RESTRICTION})


def progress_action(
    session: Session, actor: Actor, incident: Incident, action: ResponseAction, data: ActionProgress
) -> ResponseAction:
    """Record the next stage. Verification needs a statement of how completion was checked."""
    require_writer(actor, incident)
    if incident.status is IncidentStatus.CLOSED:
        raise Conflict("The incident is closed.", slug="incident-closed")
    if data.status not in NEXT_STATUSES[action.status]:
        raise Conflict(
            f"An action that is {action.status.label.lower()} cannot become {data.status.label.lower()}.",
            slug="action-transition",
        )
    now = utcnow()
    at = data.at or now
    started, completed, verified = action.started_at, action.completed_at, action.verified_at
    if data.status is ActionStatus.IN_PROGRESS:
        started = at
    elif data.status is ActionStatus.COMPLETED:
        started = started or at  # an action that took no time: started = completed
        completed = at
    elif data.status is ActionStatus.VERIFIED:
        if not (data.verification and data.verification.strip()):
            raise ValidationFailed.single(
                "verification", "Say how completion was verified (probe, eval run, deployment manifest ...)."
            )
        if action.kind in FOUR_EYES and action.owner_user_id is not None and action.owner_user_id == actor.user_id:
            raise ValidationFailed.single(
                "status",
                f"A {action.kind.label.lower()} is verified by someone other than its owner: ask a colleague "
                "to check it (four eyes).",
            )
        verified = at
    elif not (data.note and data.note.strip()):
        raise ValidationFailed.single("note", f"Say why the action is {data.status.label.lower()}.")
    try:
        lifecycle.validate_action_times(
            action.requested_at,
            started,
            completed,
            verified,
            now,
            target=action.target_at,
            aware_at=incident.aware_at,
        )
        if data.status in (ActionStatus.FAILED, ActionStatus.CANCELLED):
            _not_before(at, action, now)
    except lifecycle.ResponseRuleError as exc:
        raise rule_error(exc) from None
    before = action.status
    action.status = data.status
    action.started_at, action.completed_at, action.verified_at = started, completed, verified
    if data.status is ActionStatus.VERIFIED:
        action.verified_by = actor.user_id
        action.verification = (data.verification or "").strip()
    text = f"{action.kind.label} “{action.title}”: {before.label.lower()} → {data.status.label.lower()}."
    if data.status is ActionStatus.COMPLETED and action.target_at is not None:
        text += " Within target." if at <= action.target_at else " Missed its target."
    if data.verification:
        text += f" Verified by: {data.verification.strip()}"
    if data.note:
        text += f" {data.note.strip()}"
    append_entry(
        session,
        actor,
        incident,
        kind=TimelineKind.ACTION,
        body=text,
        at=at,
        data={"action_id": str(action.id), "from": before.value, "to": data.status.value},
    )
    record(
        session,
        action="response.action.progress",
        target_type="response_action",
        target_id=action.id,
        actor=actor,
        summary={"incident": incident.reference, "from": before, "to": data.status, "at": at},
    )
    if action.task_id is not None and data.status in (ActionStatus.COMPLETED, ActionStatus.VERIFIED):
        task = session.get(IncidentTask, action.task_id)
        if task is not None and task.status is TaskStatus.OPEN:
            task.status, task.done_at, task.done_by = TaskStatus.DONE, at, actor.user_id
    publish_event(session, org_id=incident.org_id, event="response.action.updated", data=action_event(action))
    return action


def _not_before(at: datetime, action: ResponseAction, now: datetime) -> None:
    if at < action.requested_at:
        raise lifecycle.ActionTimeError(lifecycle.ErrorCode.OUT_OF_ORDER, "The time is before the request.", "at")
    if at > now + lifecycle.CLOCK_SKEW_TOLERANCE:
        raise lifecycle.ActionTimeError(lifecycle.ErrorCode.TIME_IN_FUTURE, "The time is in the future.", "at")
