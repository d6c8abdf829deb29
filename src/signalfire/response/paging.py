"""Escalation policies and pages, delivered through the outbox.

A page snapshots its policy when it starts. Level 0 goes out at once; each later notification is
due at an instant the pure ``escalation`` module computes from ``paged_at`` and ``acknowledged_at``.
Two things make sure it goes out on time and exactly once:

* at each step a task ``response.escalation_check`` is enqueued with ``run_after`` = the next due
  instant, so the worker wakes for it at that moment;
* the periodic job ``response.escalations`` sweeps pages whose ``next_check_at`` has passed, so a
  lost or late task sends late rather than never.

Both call ``process_page``, which sends only notifications not yet in ``page.sent`` (and the outbox
dedupe key makes a concurrent double run harmless). An acknowledgement at or before a notification's
instant suppresses it.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Membership, User
from signalfire.access.permissions import Permission
from signalfire.access.policy import first_or_404, require
from signalfire.access.policy.response import readable_escalation_policies, readable_pages
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import Conflict, NotFound, ValidationFailed
from signalfire.core.settings import get_settings
from signalfire.notify.outbox import enqueue_email, enqueue_task, publish_event
from signalfire.response import escalation
from signalfire.response.models import (
    EscalationPolicyRecord,
    Incident,
    Page,
    PageStatus,
    Roster,
    TimelineKind,
)
from signalfire.response.oncall import on_call_user
from signalfire.response.schemas import EscalationPolicyIn
from signalfire.response.service import append_entry

CHECK_TASK = "response.escalation_check"
SWEEP_JOB = "response.escalations"
MAX_SWEEP = 500


# -- policies -------------------------------------------------------------------------------------------


def _resolve_target(session: Session, org_id: uuid.UUID, target: str, field: str) -> str:
    """Normalise a level target to "user:<id>" or "roster:<id>" of this org."""
    target = target.strip()
    kind, sep, value = target.partition(":")
    if not sep and "@" in target:
        user = session.execute(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(User.email == target.lower(), Membership.org_id == org_id)
        ).scalar_one_or_none()
        if user is None:
            raise ValidationFailed.single(field, f"{target} is not a member of this organisation.")
        return f"user:{user.id}"
    try:
        ident = uuid.UUID(value)
    except ValueError:
        raise ValidationFailed.single(field, 'Use "user:<id>", "roster:<id>" or a member\'s email.') from None
    if kind == "user":
        ok = session.execute(
            select(Membership.id).where(Membership.user_id == ident, Membership.org_id == org_id)
        ).first()
    elif kind == "roster":
        ok = session.execute(select(Roster.id).where(Roster.id == ident, Roster.org_id == org_id)).first()
    else:
        raise ValidationFailed.single(field, 'Use "user:<id>", "roster:<id>" or a member\'s email.')
    if not ok:
        raise ValidationFailed.single(field, f"{target} is not in this organisation.")
    return f"{kind}:{ident}"


def to_pure_policy(levels: list[dict[str, Any]], repeat: int) -> escalation.EscalationPolicy:
    """The pure policy of stored levels ``{"targets": [...], "wait_minutes": n}``."""
    return escalation.EscalationPolicy(
        tuple(
            escalation.Level(tuple(str(t) for t in lvl["targets"]), timedelta(minutes=int(lvl["wait_minutes"])))
            for lvl in levels
        ),
        repeat,
    )


def create_policy(session: Session, actor: Actor, data: EscalationPolicyIn) -> EscalationPolicyRecord:
    require(actor, Permission.response_roster_manage)
    levels: list[dict[str, Any]] = []
    for i, level in enumerate(data.levels):
        targets = [
            _resolve_target(session, actor.org_id, t, f"levels[{i}].targets[{j}]") for j, t in enumerate(level.targets)
        ]
        levels.append({"targets": list(dict.fromkeys(targets)), "wait_minutes": level.wait_minutes})
    try:
        to_pure_policy(levels, data.repeat)
    except ValueError as exc:
        raise ValidationFailed.single("levels", str(exc)) from None
    row = EscalationPolicyRecord(
        org_id=actor.org_id,
        name=data.name,
        risk_domain=data.risk_domain,
        levels=levels,
        repeat=data.repeat,
        webhooks=data.webhooks,
    )
    session.add(row)
    session.flush()
    record(
        session,
        action="response.escalation_policy.create",
        target_type="response_escalation_policy",
        target_id=row.id,
        actor=actor,
        summary={"name": row.name, "levels": levels, "repeat": row.repeat},
    )
    return row


def list_policies(session: Session, actor: Actor) -> list[EscalationPolicyRecord]:
    return list(session.execute(readable_escalation_policies(actor).order_by(EscalationPolicyRecord.name)).scalars())


def get_policy(session: Session, actor: Actor, policy_id: uuid.UUID) -> EscalationPolicyRecord:
    return first_or_404(
        session,
        readable_escalation_policies(actor).where(EscalationPolicyRecord.id == policy_id),
        "No such escalation policy.",
    )


# -- acknowledgement links --------------------------------------------------------------------------------


def ack_token(page_id: uuid.UUID) -> str:
    """The secret in a page's acknowledgement link: an HMAC of its id, so nothing secret is stored."""
    key = get_settings().secret_key.get_secret_value().encode()
    mac = hmac.new(key, f"response.ack:{page_id}".encode(), hashlib.sha256).hexdigest()[:40]
    return f"{page_id}.{mac}"


def ack_url(page_id: uuid.UUID) -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/response/ack/{ack_token(page_id)}"


def page_for_token(session: Session, token: str) -> Page:
    """The page a link names, or 404 for anything forged or malformed."""
    page_part, _, _ = token.partition(".")
    try:
        page_id = uuid.UUID(page_part)
    except ValueError:
        raise NotFound("This acknowledgement link is not valid.") from None
    if not hmac.compare_digest(ack_token(page_id), token):
        raise NotFound("This acknowledgement link is not valid.")
    page = session.get(Page, page_id)
    if page is None:
        raise NotFound("This acknowledgement link is not valid.")
    return page


# -- pages ----------------------------------------------------------------------------------------------


def start_page(
    session: Session,
    actor: Actor,
    policy_id: uuid.UUID,
    *,
    incident: Incident | None = None,
    summary: str | None = None,
) -> Page:
    """Start paging with ``policy_id``: level 0 now, later levels while nobody acknowledges."""
    require(actor, Permission.response_incident_write)
    policy = get_policy(session, actor, policy_id)
    if incident is not None and incident.org_id != actor.org_id:
        raise NotFound("No such incident.")
    now = utcnow()
    pure = to_pure_policy(policy.levels, policy.repeat)
    text = summary or (
        f"{incident.reference} {incident.severity.label}: {incident.title}"
        if incident
        else f"Page from {actor.display_name}"
    )
    page = Page(
        org_id=actor.org_id,
        incident_id=incident.id if incident else None,
        policy_id=policy.id,
        snapshot=pure.to_snapshot(),
        webhooks=policy.webhooks,
        summary=text[:300],
        status=PageStatus.PAGING,
        paged_at=now,
        sent=[],
        next_check_at=now,
        is_drill=bool(incident and incident.is_drill),
        created_by=actor.user_id,
    )
    session.add(page)
    session.flush()  # notifications and the audit entry need the id
    record(
        session,
        action="response.page.start",
        target_type="response_page",
        target_id=page.id,
        actor=actor,
        summary={"policy": policy.name, "incident": incident.reference if incident else None},
    )
    if incident is not None:
        append_entry(
            session,
            actor,
            incident,
            kind=TimelineKind.PAGE,
            body=f"Paging started with escalation policy “{policy.name}”.",
            at=now,
            data={"page_id": str(page.id), "policy_id": str(policy.id)},
        )
    process_page(session, page, now)
    return page


def _recipients(session: Session, targets: tuple[str, ...], at: datetime) -> tuple[list[User], list[str]]:
    """The users a level's targets name at ``at``, and the targets that named nobody (a roster gap)."""
    users: list[User] = []
    nobody: list[str] = []
    for target in targets:
        kind, _, value = target.partition(":")
        user: User | None = None
        if kind == "user":
            user = session.get(User, uuid.UUID(value))
        elif kind == "roster":
            user = on_call_user(session, uuid.UUID(value), at)
        if user is None or not user.is_active:
            nobody.append(target)
        elif user not in users:
            users.append(user)
    return users, nobody


def process_page(session: Session, page: Page, now: datetime) -> int:
    """Send every notification due by ``now`` and not yet sent; schedule the next check. Returns how many."""
    if page.status is not PageStatus.PAGING:
        return 0
    policy = escalation.EscalationPolicy.from_snapshot(page.snapshot)
    due = escalation.due_notifications(policy, paged_at=page.paged_at, acknowledged_at=page.acknowledged_at, now=now)
    sent = list(page.sent)
    incident = session.get(Incident, page.incident_id) if page.incident_id else None
    count = 0
    for note in due:
        key = f"{note.cycle}:{note.level_index}"
        if key in sent:
            continue
        users, nobody = _recipients(session, note.targets, note.at)
        level_name = f"level {note.level_index + 1}" + (f" (repeat {note.cycle})" if note.cycle else "")
        subject = f"[Signalfire page{' DRILL' if page.is_drill else ''}] {page.summary}"
        body = (
            f"{page.summary}\n\nYou are being paged ({level_name}). Acknowledge here:\n{ack_url(page.id)}\n\n"
            f"If nobody acknowledges, the page escalates to the next level."
        )
        dedupe = f"response.page:{page.id}:{key}"
        if users:
            enqueue_email(
                session,
                to=[u.email for u in users],
                subject=subject,
                body=body,
                topic="response.page",
                org_id=page.org_id,
                dedupe_key=dedupe,
            )
        if page.webhooks:
            publish_event(
                session,
                org_id=page.org_id,
                event="response.page",
                data={
                    "page_id": page.id,
                    "level": note.level_index,
                    "cycle": note.cycle,
                    "summary": page.summary,
                    "incident_id": page.incident_id,
                    "recipients": [u.email for u in users],
                    "is_drill": page.is_drill,
                    "due_at": note.at,
                },
                dedupe_key=dedupe,
            )
        sent.append(key)
        count += 1
        if incident is not None:
            who = ", ".join(u.display_name for u in users) or "nobody"
            text = f"Paged {level_name}: {who}."
            if nobody:
                text += f" No one on call for {len(nobody)} target(s)."
            append_entry(
                session,
                None,
                incident,
                kind=TimelineKind.PAGE,
                body=text,
                at=note.at,
                data={"page_id": str(page.id), "level": note.level_index, "cycle": note.cycle},
            )
        record(
            session,
            action="response.page.notify",
            target_type="response_page",
            target_id=page.id,
            org_id=page.org_id,
            summary={
                "level": note.level_index,
                "cycle": note.cycle,
                "recipients": [u.email for u in users],
                "unfilled": nobody,
            },
        )
    page.sent = sent
    nxt = escalation.next_wakeup(policy, page.paged_at, page.acknowledged_at, now)
    page.next_check_at = nxt
    if nxt is None and page.acknowledged_at is None:
        page.status = PageStatus.EXHAUSTED
    elif nxt is not None:
        enqueue_task(
            session,
            CHECK_TASK,
            {"page_id": str(page.id)},
            run_after=nxt,
            org_id=page.org_id,
            dedupe_key=f"{CHECK_TASK}:{page.id}:{nxt.isoformat()}",
        )
    return count


def run_escalations(session: Session, now: datetime) -> int:
    """The sweep: process every paging page whose next check has come. Returns notifications sent."""
    pages = (
        session.execute(
            select(Page)
            .where(Page.status == PageStatus.PAGING, Page.next_check_at <= now)
            .order_by(Page.next_check_at)
            .limit(MAX_SWEEP)
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    return sum(process_page(session, page, now) for page in pages)


def check_page(session: Session, page_id: uuid.UUID, now: datetime) -> int:
    page = session.execute(select(Page).where(Page.id == page_id).with_for_update()).scalar_one_or_none()
    return process_page(session, page, now) if page is not None else 0


def acknowledge(session: Session, page: Page, *, actor: Actor | None = None, via: str = "link") -> Page:
    """Stop the escalation. An acknowledgement at a notification's instant counts as in time."""
    if page.status is PageStatus.ACKNOWLEDGED:
        raise Conflict("This page was already acknowledged.", slug="already-acknowledged")
    now = utcnow()
    page.acknowledged_at = now
    page.acknowledged_by = actor.user_id if actor else None
    page.status = PageStatus.ACKNOWLEDGED
    page.next_check_at = None
    who = actor.display_name if actor else "the acknowledgement link"
    record(
        session,
        action="response.page.ack",
        target_type="response_page",
        target_id=page.id,
        actor=actor,
        org_id=page.org_id,
        summary={"via": via},
    )
    if page.incident_id is not None:
        incident = session.get(Incident, page.incident_id)
        if incident is not None:
            append_entry(
                session,
                None,
                incident,
                kind=TimelineKind.PAGE,
                body=f"Page acknowledged by {who}.",
                at=now,
                data={"page_id": str(page.id), "acknowledged": True},
            )
    return page


def acknowledge_as(session: Session, actor: Actor, page_id: uuid.UUID) -> Page:
    require(actor, Permission.response_incident_read)
    page = first_or_404(session, readable_pages(actor).where(Page.id == page_id), "No such page.")
    return acknowledge(session, page, actor=actor, via="app")


def list_pages(session: Session, actor: Actor, *, incident_id: uuid.UUID | None = None, limit: int = 50) -> list[Page]:
    stmt = readable_pages(actor).order_by(Page.paged_at.desc()).limit(limit)
    if incident_id is not None:
        stmt = stmt.where(Page.incident_id == incident_id)
    return list(session.execute(stmt).scalars())
