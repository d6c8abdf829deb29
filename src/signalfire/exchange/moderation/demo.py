"""The moderation part of the demo story (run at the end of the exchange's seeder).

The Frontier Safety Forum reviews first publications of new members. Northwind Labs applied about six
weeks ago and was admitted; Hugo approved its first item, and its second waits in the queue now.
Appworks has just applied, with its contacts per category. Founding members (Aurora, Meridian, the
institute) publish without review, so the rest of the story is unchanged.

Services stamp the wall clock; each step is moved back to its place in the story right after the call.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind, Role
from signalfire.access.service import add_member, build_actor, create_org, create_user
from signalfire.core.clock import utcnow
from signalfire.exchange import authoring
from signalfire.exchange.models import ExchangeItem, ItemRevision
from signalfire.exchange.moderation import membership
from signalfire.exchange.moderation import service as moderation
from signalfire.exchange.moderation.membership import MemberDecision
from signalfire.exchange.moderation.models import CommunityMember, ModerationEntry, ReviewMode
from signalfire.exchange.schemas import ItemIn
from signalfire.exchange.snapshot import ItemSnapshot
from signalfire.exchange.vocab import AudienceKind, Category, CoveredUse, Tlp

if TYPE_CHECKING:
    from signalfire.demo import DemoContext

NORTHWIND_EMAIL = "nia@northwind.example"
PENDING_TITLE = "Image prompts with hidden text steer multimodal agents"
APPROVED_TITLE = "Tool-call loops exhaust agent budgets after a crafted error message"


def _day(now: datetime, days_ago: int, hour: int, minute: int = 0) -> datetime:
    return datetime.combine((now - timedelta(days=days_ago)).date(), time(hour, minute), UTC)


def _actor(session: Session, ctx: DemoContext, email: str, org: str) -> Actor:
    actor = build_actor(session, ctx.users[email], ctx.orgs[org].id, via="demo")
    assert actor is not None
    return actor


def _entries_at(session: Session, entries: list[ModerationEntry], at: datetime) -> None:
    for entry in entries:
        entry.at = at


def _new_entries(session: Session, before: set[object]) -> list[ModerationEntry]:
    session.flush()
    return [e for e in session.execute(select(ModerationEntry)).scalars() if e.id not in before]


def _seen(session: Session) -> set[object]:
    session.flush()
    return set(session.execute(select(ModerationEntry.id)).scalars())


def _item(**fields: Any) -> ItemIn:
    base: dict[str, Any] = {
        "category": Category.VULNERABILITY,
        "tlp": Tlp.GREEN,
        "severity": "medium",
        "priority": "elevated",
        "confidence": "moderate",
        "modalities": ["agentic"],
        "permitted_uses": [CoveredUse.SAFEGUARDS, CoveredUse.MODEL_EVALUATIONS, CoveredUse.THREAT_DETECTION],
        "audience": [AudienceKind.ALL_MEMBERS],
    }
    return ItemIn.model_validate(base | fields)


def _date_publication(session: Session, item: ExchangeItem, at: datetime) -> None:
    revision = session.execute(
        select(ItemRevision).where(ItemRevision.item_id == item.id, ItemRevision.version == item.version)
    ).scalar_one()
    item.created_at = at - timedelta(days=1)
    item.first_published_at = item.published_at = item.updated_at = at
    revision.modified = at
    snapshot = ItemSnapshot.model_validate(revision.snapshot)
    revision.snapshot = snapshot.model_copy(update={"created": at, "modified": at}).model_dump(mode="json")


def seed(session: Session, ctx: DemoContext) -> None:
    from signalfire.demo import PASSWORD

    now = utcnow()
    hugo = _actor(session, ctx, "hugo@forum.example", "forum")
    moderation.set_review_mode(session, hugo, ReviewMode.NEW_MEMBERS)

    # Northwind Labs: a young lab that joined through an application.
    northwind = create_org(
        session, slug="northwind", name="Northwind Labs", kind=OrgKind.frontier_developer, jurisdictions=["EU"]
    )
    nia_user = create_user(session, email=NORTHWIND_EMAIL, display_name="Nia Okonjo", password=PASSWORD)
    add_member(session, org=northwind, user=nia_user, role=Role.admin)
    ctx.orgs["northwind"], ctx.users[NORTHWIND_EMAIL] = northwind, nia_user
    session.flush()
    nia = _actor(session, ctx, NORTHWIND_EMAIL, "northwind")
    seen = _seen(session)
    membership.apply(
        session,
        nia,
        "Northwind Labs trains agentic models for logistics; we want to share and receive agent-safety findings.",
        {c: [nia.user_id] for c in Category},
    )
    _entries_at(session, _new_entries(session, seen), _day(now, 44, 10))
    seen = _seen(session)
    record = membership.decide(session, hugo, northwind.id, MemberDecision.ADMIT, "Welcome to the exchange.")
    record.applied_at, record.decided_at = _day(now, 44, 10), _day(now, 40, 15)
    _entries_at(session, _new_entries(session, seen), _day(now, 40, 15))
    nia = _actor(session, ctx, NORTHWIND_EMAIL, "northwind")  # now a member

    # Its first item waited for review and Hugo approved it.
    seen = _seen(session)
    first = authoring.create_draft(
        session,
        nia,
        _item(
            title=APPROVED_TITLE,
            summary="An error message that asks the agent to retry with a slightly changed call keeps it looping "
            "until its budget is spent.",
            details="Seen in three deployments. Capping identical tool errors per task stops it.",
            technique_refs=["AML.T0029"],
            mitigations=["Cap retries of a failing tool call per task."],
        ),
    )
    session.flush()
    authoring.publish(session, nia, first.id)
    _entries_at(session, _new_entries(session, seen), _day(now, 30, 9))
    seen = _seen(session)
    moderation.decide(session, hugo, first.id, moderation.ItemDecision.APPROVE, "")
    _date_publication(session, first, _day(now, 29, 11))
    _entries_at(session, _new_entries(session, seen), _day(now, 29, 11))

    # Its second waits in the queue now.
    seen = _seen(session)
    pending = authoring.create_draft(
        session,
        nia,
        _item(
            title=PENDING_TITLE,
            summary="Text rendered faintly inside an image is read by the vision model and followed as an "
            "instruction by the agent that acts on the description.",
            details="Reproduced with screenshots of web pages; the instruction survives resizing and JPEG "
            "compression. Describing images in a separate, tool-less step stops it.",
            modalities=["image", "agentic"],
            technique_refs=["AML.T0051"],
            mitigations=["Describe images in a step without tool access."],
        ),
    )
    session.flush()
    authoring.publish(session, nia, pending.id)
    pending.created_at = pending.updated_at = _day(now, 1, 16)
    _entries_at(session, _new_entries(session, seen), _day(now, 1, 16, 30))

    # Appworks has just applied to join, naming Dana for every category.
    dana = _actor(session, ctx, "dev@appworks.example", "appworks")
    seen = _seen(session)
    membership.apply(
        session,
        dana,
        "Appworks builds customer-support assistants on members' models and wants the threat feed.",
        {c: [dana.user_id] for c in Category},
    )
    applied = session.execute(
        select(CommunityMember).where(CommunityMember.org_id == ctx.orgs["appworks"].id)
    ).scalar_one()
    applied.applied_at = _day(now, 2, 14)
    _entries_at(session, _new_entries(session, seen), _day(now, 2, 14))
    ctx.extra["moderation_pending_item_id"] = pending.id
    ctx.extra["moderation_approved_item_id"] = first.id
