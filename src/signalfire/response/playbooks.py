"""Risk-domain playbooks as versioned data, and the tasks they create on an incident.

Saving a playbook under an existing slug adds a new version and retires the old one as current; no
version is ever edited, so the plan in force on any past date can be shown. Starting a playbook
on an incident creates one task per step, due at its target time after the start.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.permissions import Permission
from signalfire.access.policy import first_or_404, require
from signalfire.access.policy.response import readable_playbooks
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import Conflict, NotFound
from signalfire.response.models import Incident, IncidentTask, Playbook, TaskStatus, TimelineKind
from signalfire.response.schemas import PlaybookIn, TaskUpdate
from signalfire.response.service import append_entry, backdated, require_writer
from signalfire.response.vocab import ActionKind, IncidentStatus, ParticipantRole


def save_playbook(session: Session, actor: Actor, data: PlaybookIn) -> Playbook:
    """Create a playbook, or a new version of the one with the same slug."""
    require(actor, Permission.response_playbook_manage)
    latest = session.execute(
        select(Playbook)
        .where(Playbook.org_id == actor.org_id, Playbook.slug == data.slug)
        .order_by(Playbook.version.desc())
        .limit(1)
        .with_for_update()
    ).scalar_one_or_none()
    if latest is not None and latest.risk_domain is not data.risk_domain:
        raise Conflict(
            f"Playbook {data.slug!r} is for {latest.risk_domain.label}; use a new slug for another risk domain.",
            slug="playbook-domain",
        )
    for old in session.execute(
        select(Playbook).where(
            Playbook.org_id == actor.org_id, Playbook.slug == data.slug, Playbook.is_current.is_(True)
        )
    ).scalars():
        old.is_current = False
    book = Playbook(
        org_id=actor.org_id,
        slug=data.slug,
        version=(latest.version + 1) if latest else 1,
        name=data.name,
        risk_domain=data.risk_domain,
        criteria=data.criteria,
        steps=[s.model_dump(mode="json") for s in data.steps],
        is_current=True,
        created_at=utcnow(),
        created_by=actor.user_id,
    )
    session.add(book)
    session.flush()
    record(
        session,
        action="response.playbook.save",
        target_type="response_playbook",
        target_id=book.id,
        actor=actor,
        summary={"slug": book.slug, "version": book.version, "steps": len(book.steps)},
    )
    return book


def list_playbooks(session: Session, actor: Actor, *, current_only: bool = True) -> list[Playbook]:
    stmt = readable_playbooks(actor).order_by(Playbook.risk_domain, Playbook.slug, Playbook.version.desc())
    if current_only:
        stmt = stmt.where(Playbook.is_current.is_(True))
    return list(session.execute(stmt).scalars())


def get_playbook(session: Session, actor: Actor, playbook_id: uuid.UUID) -> Playbook:
    return first_or_404(session, readable_playbooks(actor).where(Playbook.id == playbook_id), "No such playbook.")


def versions(session: Session, actor: Actor, slug: str) -> list[Playbook]:
    stmt = readable_playbooks(actor).where(Playbook.slug == slug).order_by(Playbook.version.desc())
    return list(session.execute(stmt).scalars())


def start_playbook(
    session: Session, actor: Actor, incident: Incident, playbook_id: uuid.UUID, *, at: datetime | None = None
) -> list[IncidentTask]:
    """Create the playbook's tasks on the incident, in step order, due at each step's target time after
    the start (``at``, default now)."""
    require_writer(actor, incident)
    if incident.status is IncidentStatus.CLOSED:
        raise Conflict("The incident is closed.", slug="incident-closed")
    book = get_playbook(session, actor, playbook_id)
    already = session.execute(
        select(IncidentTask.id).where(IncidentTask.incident_id == incident.id, IncidentTask.playbook_id == book.id)
    ).first()
    if already:
        raise Conflict(f"{book.name} v{book.version} is already running on this incident.", slug="playbook-started")
    now = backdated(at, incident)
    offset = (
        int(
            session.execute(
                select(func.coalesce(func.max(IncidentTask.position), -1)).where(
                    IncidentTask.incident_id == incident.id
                )
            ).scalar_one()
        )
        + 1
    )
    tasks = []
    for i, step in enumerate(book.steps):
        minutes = step.get("target_minutes")
        tasks.append(
            IncidentTask(
                incident_id=incident.id,
                playbook_id=book.id,
                position=offset + i,
                title=str(step["title"]),
                detail=str(step.get("detail") or ""),
                role=ParticipantRole(step["role"]) if step.get("role") else None,
                action_kind=ActionKind(step["action_kind"]) if step.get("action_kind") else None,
                due_at=now + timedelta(minutes=int(minutes)) if minutes else None,
                created_at=now,
            )
        )
    session.add_all(tasks)
    session.flush()
    append_entry(
        session,
        actor,
        incident,
        kind=TimelineKind.PLAYBOOK,
        body=f"Started playbook {book.name} (v{book.version}): {len(tasks)} task(s).",
        at=now,
        data={"playbook_id": str(book.id), "version": book.version},
    )
    record(
        session,
        action="response.playbook.start",
        target_type="response_incident",
        target_id=incident.id,
        actor=actor,
        summary={"playbook": book.slug, "version": book.version, "tasks": len(tasks)},
    )
    return tasks


def list_tasks(session: Session, incident: Incident) -> list[IncidentTask]:
    return list(
        session.execute(
            select(IncidentTask).where(IncidentTask.incident_id == incident.id).order_by(IncidentTask.position)
        ).scalars()
    )


def update_task(
    session: Session, actor: Actor, incident: Incident, task_id: uuid.UUID, data: TaskUpdate
) -> IncidentTask:
    require_writer(actor, incident)
    task = session.execute(
        select(IncidentTask).where(IncidentTask.id == task_id, IncidentTask.incident_id == incident.id)
    ).scalar_one_or_none()
    if task is None:
        raise NotFound("No such task.")
    if task.status is data.status:
        raise Conflict(f"The task is already {data.status.value}.", slug="no-change")
    now = utcnow()
    before = task.status
    task.status = data.status
    task.done_at = now if data.status is not TaskStatus.OPEN else None
    task.done_by = actor.user_id if data.status is not TaskStatus.OPEN else None
    append_entry(
        session,
        actor,
        incident,
        kind=TimelineKind.TASK,
        body=f"Task “{task.title}”: {before.value} → {data.status.value}.",
        at=now,
        data={"task_id": str(task.id), "to": data.status.value},
    )
    record(
        session,
        action="response.task.update",
        target_type="response_task",
        target_id=task.id,
        actor=actor,
        summary={"incident": incident.reference, "from": before, "to": data.status},
    )
    return task
