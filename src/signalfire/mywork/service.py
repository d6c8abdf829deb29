"""What needs one person now, across channels, each list read through its own channel's policy.

Nothing here is stored: every item is a view of a record that lives in its channel (a signal assigned to
you, an action you own, a rollback waiting for a second person to verify it, a report whose target or due
time is near, an authority's question, a page nobody has acknowledged, a report delivered to your
authority and not yet acknowledged, a draft whose antitrust findings wait for counsel's sign-off). Each
query starts from that channel's readable statement, so this page can show nothing its channel would not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind
from signalfire.access.permissions import Permission
from signalfire.access.policy.intake import readable_signals
from signalfire.access.policy.notices import readable_notices
from signalfire.access.policy.reporting import readable_deliveries, readable_obligations
from signalfire.access.policy.response import readable_actions, readable_pages
from signalfire.core.clock import utcnow
from signalfire.exchange.antitrust import counsel
from signalfire.intake.models import Signal, TriageState
from signalfire.notices.models import Notice
from signalfire.reporting import inbox, prompts
from signalfire.reporting.models import Delivery, Obligation
from signalfire.reporting.rules import catalog
from signalfire.response.actions import FOUR_EYES
from signalfire.response.models import Incident, Page, PageStatus, ResponseAction
from signalfire.response.vocab import ActionStatus

# How far ahead a report's target or due time counts as "near".
HORIZON = timedelta(hours=48)
LIMIT = 50

KINDS: dict[str, str] = {
    "page": "Pages to acknowledge",
    "obligation": "Reports due soon",
    "notice": "Capability-threshold notices to send",
    "question": "Authority questions to answer",
    "signoff": "Counsel sign-offs waiting for you",
    "assessment": "Incidents to assess",
    "verification": "Verifications requested",
    "action": "Actions you own",
    "signal": "Signals assigned to you",
    "delivery": "Reports to acknowledge",
}


@dataclass(frozen=True)
class WorkItem:
    kind: str
    title: str
    detail: str
    href: str
    when: datetime | None
    urgent: bool


@dataclass
class MyWork:
    now: datetime
    items: list[WorkItem] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.items)

    def by_kind(self) -> list[tuple[str, str, list[WorkItem]]]:
        return [(k, label, [i for i in self.items if i.kind == k]) for k, label in KINDS.items()]


def my_work(session: Session, actor: Actor, *, now: datetime | None = None) -> MyWork:
    now = now or utcnow()
    work = MyWork(now)
    if actor.org_kind is OrgKind.authority:
        work.items += _deliveries(session, actor)
        return work
    if actor.can(Permission.response_incident_write):
        work.items += _pages(session, actor, now)
    if actor.can(Permission.reporting_report_submit):
        work.items += _obligations(session, actor, now)
        work.items += _notices(session, actor, now)
    if actor.can(Permission.reporting_inbox_respond):
        work.items += _questions(session, actor)
    if actor.can(Permission.exchange_screening_counsel):
        work.items += _signoffs(session, actor)
    if actor.can(Permission.reporting_assessment_write):
        work.items += _assessments(session, actor, now)
    if actor.can(Permission.response_incident_write):
        work.items += _verifications(session, actor)
    work.items += _actions(session, actor, now)
    work.items += _signals(session, actor)
    return work


def _pages(session: Session, actor: Actor, now: datetime) -> list[WorkItem]:
    rows = session.execute(
        readable_pages(actor).where(Page.status == PageStatus.PAGING).order_by(Page.paged_at).limit(LIMIT)
    ).scalars()
    return [
        WorkItem(
            "page",
            p.summary,
            f"paging since {p.paged_at:%Y-%m-%d %H:%M} UTC",
            f"/response/incidents/{p.incident_id}" if p.incident_id else "/response/oncall",
            p.paged_at,
            True,
        )
        for p in rows
    ]


def _obligations(session: Session, actor: Actor, now: datetime) -> list[WorkItem]:
    soon = now + HORIZON
    rows = session.execute(
        readable_obligations(actor)
        .add_columns(Incident.reference)
        .join(Incident, Incident.id == Obligation.incident_id)
        .where(Obligation.is_open.is_(True), or_(Obligation.target_at <= soon, Obligation.due_at <= soon))
        .order_by(Obligation.target_at)
        .limit(LIMIT)
    ).all()
    out = []
    for o, reference in rows:
        regime = catalog.get(o.regime_id, o.regime_version)
        label = catalog.stage_label(regime, o.stage)
        due = f"legal due {o.due_at:%Y-%m-%d %H:%M} UTC" if o.due_at else "due time not yet known"
        target = f"target {o.target_at:%Y-%m-%d %H:%M} UTC; " if o.target_at and o.target_at != o.due_at else ""
        late = o.due_at is not None and o.due_at < now
        out.append(
            WorkItem(
                "obligation",
                f"{reference}: {label} ({regime.title.split(':')[0]})",
                ("OVERDUE: " if late else "") + target + due,
                f"/reporting/incidents/{o.incident_id}",
                o.target_at,
                late or (o.target_at is not None and o.target_at < now),
            )
        )
    return out


def _notices(session: Session, actor: Actor, now: datetime) -> list[WorkItem]:
    """Notices not yet sent whose clock ends within the horizon (or has ended)."""
    rows = session.execute(
        readable_notices(actor)
        .where(Notice.sent_at.is_(None), Notice.due_at <= now + HORIZON)
        .order_by(Notice.due_at)
        .limit(LIMIT)
    ).scalars()
    return [
        WorkItem(
            "notice",
            f"{n.reference}: {n.subject}",
            ("OVERDUE: " if n.due_at < now else "") + f"{n.status.label.lower()}, due {n.due_at:%Y-%m-%d %H:%M} UTC",
            f"/notices/{n.id}",
            n.due_at,
            n.due_at < now + timedelta(hours=6),
        )
        for n in rows
    ]


def _questions(session: Session, actor: Actor) -> list[WorkItem]:
    return [
        WorkItem(
            "question",
            q.message.body[:140],
            f"asked {q.message.created_at:%Y-%m-%d %H:%M} UTC about the {q.stage} report ({q.regime_id})",
            f"/reporting/reports/{q.report_id}",
            q.message.created_at,
            False,
        )
        for q in inbox.unanswered_questions(session, actor, limit=LIMIT)
    ]


def _signoffs(session: Session, actor: Actor) -> list[WorkItem]:
    """Drafts of the org whose antitrust findings wait for counsel (exchange.antitrust.counsel)."""
    return [
        WorkItem(
            "signoff",
            w.item.title,
            "commercially sensitive: "
            + ", ".join(sorted({f.rule_id.removeprefix("antitrust.family.") for f in w.findings}))
            + f"; draft updated {w.item.updated_at:%Y-%m-%d %H:%M} UTC",
            f"/exchange/items/{w.item.id}",
            w.item.updated_at,
            False,
        )
        for w in counsel.awaiting_sign_off(session, actor, limit=LIMIT)
    ]


def _assessments(session: Session, actor: Actor, now: datetime) -> list[WorkItem]:
    return [
        WorkItem(
            "assessment",
            f"{i.reference}: {i.title}",
            f"{i.severity.label}, aware {i.aware_at:%Y-%m-%d %H:%M} UTC, not yet assessed for reportability",
            f"/reporting/incidents/{i.id}",
            i.aware_at,
            now - i.aware_at > prompts.DEFAULT_DELAY,
        )
        for i in prompts.needs_assessment(session, actor, limit=LIMIT)
    ]


def _verifications(session: Session, actor: Actor) -> list[WorkItem]:
    rows = session.execute(
        readable_actions(actor)
        .where(
            ResponseAction.status == ActionStatus.COMPLETED,
            ResponseAction.kind.in_(FOUR_EYES),
            or_(ResponseAction.owner_user_id.is_(None), ResponseAction.owner_user_id != actor.user_id),
        )
        .order_by(ResponseAction.completed_at)
        .limit(LIMIT)
    ).scalars()
    return [
        WorkItem(
            "verification",
            f"{a.kind.label}: {a.title}",
            f"completed {a.completed_at:%Y-%m-%d %H:%M} UTC; needs a second person to verify it",
            f"/response/incidents/{a.incident_id}",
            a.completed_at,
            False,
        )
        for a in rows
    ]


def _actions(session: Session, actor: Actor, now: datetime) -> list[WorkItem]:
    rows = session.execute(
        readable_actions(actor)
        .where(
            ResponseAction.owner_user_id == actor.user_id,
            ResponseAction.status.in_((ActionStatus.REQUESTED, ActionStatus.IN_PROGRESS)),
        )
        .order_by(ResponseAction.target_at.asc().nulls_last())
        .limit(LIMIT)
    ).scalars()
    return [
        WorkItem(
            "action",
            f"{a.kind.label}: {a.title}",
            f"{a.status.label}" + (f", target {a.target_at:%Y-%m-%d %H:%M} UTC" if a.target_at else ""),
            f"/response/incidents/{a.incident_id}",
            a.target_at,
            a.target_at is not None and a.target_at < now + timedelta(hours=1),
        )
        for a in rows
    ]


def _signals(session: Session, actor: Actor) -> list[WorkItem]:
    rows = session.execute(
        readable_signals(actor)
        .where(Signal.assignee_id == actor.user_id, Signal.state == TriageState.new)
        .order_by(Signal.received_at)
        .limit(LIMIT)
    ).scalars()
    return [
        WorkItem(
            "signal",
            f"{s.reference}: {s.title}",
            f"received {s.received_at:%Y-%m-%d %H:%M} UTC",
            f"/intake/signals/{s.id}",
            s.received_at,
            False,
        )
        for s in rows
    ]


def _deliveries(session: Session, actor: Actor) -> list[WorkItem]:
    if not actor.can(Permission.reporting_inbox_read):
        return []
    rows = session.execute(
        readable_deliveries(actor)
        .where(Delivery.acknowledged_at.is_(None))
        .order_by(Delivery.delivered_at)
        .limit(LIMIT)
    ).scalars()
    return [
        WorkItem(
            "delivery",
            "A report delivered to you",
            f"delivered {d.delivered_at:%Y-%m-%d %H:%M} UTC, not yet acknowledged",
            f"/reporting/inbox/{d.id}",
            d.delivered_at,
            False,
        )
        for d in rows
    ]
