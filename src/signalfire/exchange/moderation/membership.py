"""Membership of the exchange community: an org applies with designated contacts per category, a hub
moderator admits or refuses it, and can suspend and reinstate a member.

Admission sets ``Organization.exchange_member`` (what the access policy reads for "all members") and turns
the application's contacts into routing designations; suspension clears it and, through
``policy.exchange``, hides every other org's item from the suspended org and stops it publishing.
Every step is logged (moderation log) and audited in both orgs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Membership, Organization, OrgKind, Role, User
from signalfire.access.permissions import Permission
from signalfire.access.policy import require
from signalfire.access.policy.moderation import can_moderate, readable_memberships
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import Conflict, NotFound, ValidationFailed
from signalfire.exchange.models import Designation
from signalfire.exchange.moderation import gate
from signalfire.exchange.moderation.models import CommunityMember, MemberStatus, ModerationAction
from signalfire.exchange.vocab import Category
from signalfire.notify.outbox import enqueue_email, publish_event

# Kinds of org that may join: the hub runs the community and authorities are government partners.
APPLICANT_KINDS = frozenset({OrgKind.frontier_developer, OrgKind.researcher, OrgKind.downstream})
STATEMENT_MIN = 10
STATEMENT_MAX = 4_000
CONTACTS_PER_CATEGORY_MAX = 10
REASON_MIN = 10
REASON_MAX = 2_000


class MemberDecision(StrEnum):
    ADMIT = "admit"
    REFUSE = "refuse"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"


@dataclass(frozen=True)
class Standing:
    """An org's standing as the hub (or the org itself) sees it; ``record`` is None for a founding member
    or an org that never applied."""

    org: Organization
    record: CommunityMember | None

    @property
    def status(self) -> MemberStatus | None:
        if self.record is not None:
            return self.record.status
        return MemberStatus.ADMITTED if self.org.exchange_member else None


def _row(session: Session, org_id: uuid.UUID) -> CommunityMember | None:
    return session.execute(
        select(CommunityMember).where(
            CommunityMember.org_id == org_id, CommunityMember.community_id == gate.community(session).id
        )
    ).scalar_one_or_none()


def own_standing(session: Session, actor: Actor) -> Standing:
    org = session.get_one(Organization, actor.org_id)
    row = session.execute(
        readable_memberships(actor).where(
            CommunityMember.org_id == actor.org_id, CommunityMember.community_id == gate.community(session).id
        )
    ).scalar_one_or_none()
    return Standing(org, row)


def standings(session: Session, actor: Actor) -> list[Standing]:
    """For a moderator: every org that applied or is (or was) a member, applications first."""
    if not can_moderate(actor):
        raise NotFound("No such list.")
    rows = {r.org_id: r for r in session.execute(readable_memberships(actor)).scalars()}
    orgs = session.execute(
        select(Organization).where(Organization.kind.in_(list(APPLICANT_KINDS))).order_by(Organization.name)
    ).scalars()
    found = [Standing(o, rows.get(o.id)) for o in orgs if o.id in rows or o.exchange_member]
    order = {MemberStatus.APPLIED: 0, MemberStatus.SUSPENDED: 1, MemberStatus.ADMITTED: 2, MemberStatus.REFUSED: 3}
    return sorted(found, key=lambda s: order[s.status] if s.status else 9)


def _check_contacts(session: Session, actor: Actor, contacts: dict[Category, list[uuid.UUID]]) -> dict[str, list[str]]:
    members = set(
        session.execute(
            select(Membership.user_id)
            .join(User, User.id == Membership.user_id)
            .where(Membership.org_id == actor.org_id, User.is_active.is_(True))
        ).scalars()
    )
    cleaned: dict[str, list[str]] = {}
    for category in Category:
        people = list(dict.fromkeys(contacts.get(category, [])))
        if not people:
            raise ValidationFailed.single(f"contacts.{category.value}", "name at least one person for this category")
        if len(people) > CONTACTS_PER_CATEGORY_MAX:
            raise ValidationFailed.single(f"contacts.{category.value}", f"at most {CONTACTS_PER_CATEGORY_MAX} people")
        if any(p not in members for p in people):
            raise ValidationFailed.single(f"contacts.{category.value}", "is not an active member of your organisation")
        cleaned[category.value] = [str(p) for p in people]
    return cleaned


def apply(session: Session, actor: Actor, statement: str, contacts: dict[Category, list[uuid.UUID]]) -> CommunityMember:
    """The org asks to join, naming who receives each category of item once admitted."""
    require(actor, Permission.org_member_manage)
    if actor.org_kind not in APPLICANT_KINDS:
        raise Conflict(
            "Only developer, downstream and research organisations join the community; authorities receive "
            "items as government partners and the hub operator runs it.",
            slug="not-an-applicant-kind",
        )
    org = session.get_one(Organization, actor.org_id)
    row = _row(session, actor.org_id)
    if row is not None and row.status == MemberStatus.APPLIED:
        raise Conflict("Your application is already with the hub.", slug="already-applied")
    if row is not None and row.status == MemberStatus.SUSPENDED:
        raise Conflict("Your organisation is suspended; the hub operator can reinstate it.", slug="suspended")
    if org.exchange_member:
        raise Conflict("Your organisation is already a member of the community.", slug="already-member")
    statement = statement.strip()
    if not STATEMENT_MIN <= len(statement) <= STATEMENT_MAX:
        raise ValidationFailed.single(
            "statement", f"say why you want to join, in {STATEMENT_MIN} to {STATEMENT_MAX} characters"
        )
    cleaned = _check_contacts(session, actor, contacts)
    now = utcnow()
    if row is None:
        row = CommunityMember(id=uuid.uuid4(), community_id=gate.community(session).id, org_id=org.id)
        session.add(row)
    row.status = MemberStatus.APPLIED
    row.statement = statement
    row.contacts = cleaned
    row.applied_by_id = actor.user_id
    row.applied_at = now
    row.decided_by_id = row.decided_at = row.decision_reason = None
    gate.log(session, actor, ModerationAction.APPLIED, org.id, reason=statement)
    record(
        session,
        action="exchange.membership.applied",
        target_type="organization",
        target_id=org.id,
        actor=actor,
        summary={"contacts": {k: len(v) for k, v in cleaned.items()}},
    )
    return row


def decide(session: Session, actor: Actor, org_id: uuid.UUID, decision: MemberDecision, reason: str) -> CommunityMember:
    """A moderator admits or refuses an application, or suspends or reinstates a member."""
    if not can_moderate(actor):
        raise NotFound("No such organisation.")
    org = session.get(Organization, org_id)
    if org is None or org.kind not in APPLICANT_KINDS:
        raise NotFound("No such organisation.")
    reason = reason.strip()
    if len(reason) > REASON_MAX:
        raise ValidationFailed.single("reason", f"at most {REASON_MAX} characters")
    if decision != MemberDecision.ADMIT and len(reason) < REASON_MIN:
        raise ValidationFailed.single("reason", f"give the organisation a reason, in at least {REASON_MIN} characters")
    row = _row(session, org.id)
    current = row.status if row is not None else (MemberStatus.ADMITTED if org.exchange_member else None)
    expected = {
        MemberDecision.ADMIT: MemberStatus.APPLIED,
        MemberDecision.REFUSE: MemberStatus.APPLIED,
        MemberDecision.SUSPEND: MemberStatus.ADMITTED,
        MemberDecision.REINSTATE: MemberStatus.SUSPENDED,
    }[decision]
    if current != expected:
        state = current.label.lower() if current else "not a member and has not applied"
        raise Conflict(f"Cannot {decision.value} {org.name}: its standing is {state}.", slug="wrong-standing")
    if row is None:  # a founding member being suspended gets its record now
        row = CommunityMember(
            id=uuid.uuid4(), community_id=gate.community(session).id, org_id=org.id, status=MemberStatus.ADMITTED
        )
        session.add(row)
    action, row.status, org.exchange_member = {
        MemberDecision.ADMIT: (ModerationAction.ADMITTED, MemberStatus.ADMITTED, True),
        MemberDecision.REFUSE: (ModerationAction.REFUSED, MemberStatus.REFUSED, False),
        MemberDecision.SUSPEND: (ModerationAction.SUSPENDED, MemberStatus.SUSPENDED, False),
        MemberDecision.REINSTATE: (ModerationAction.REINSTATED, MemberStatus.ADMITTED, True),
    }[decision]
    row.decided_by_id, row.decided_at, row.decision_reason = actor.user_id, utcnow(), reason or None
    designated = _designate_contacts(session, actor, row) if decision == MemberDecision.ADMIT else 0
    gate.log(session, actor, action, org.id, reason=reason)
    for audit_org in {actor.org_id, org.id}:
        record(
            session,
            action=f"exchange.membership.{action.value}",
            target_type="organization",
            target_id=org.id,
            actor=actor,
            org_id=audit_org,
            summary={"reason": reason, "status": row.status.value, "designations_created": designated},
        )
    _tell_org(session, org, action, reason)
    return row


def _designate_contacts(session: Session, actor: Actor, row: CommunityMember) -> int:
    """The application's contacts become the org's routing designations (who still belongs to the org)."""
    made = 0
    for category_value, user_ids in row.contacts.items():
        category = Category(category_value)
        for raw in user_ids:
            user_id = uuid.UUID(raw)
            still_member = session.execute(
                select(Membership.id).where(Membership.org_id == row.org_id, Membership.user_id == user_id)
            ).first()
            taken = session.execute(
                select(Designation.id).where(
                    Designation.org_id == row.org_id, Designation.category == category, Designation.user_id == user_id
                )
            ).first()
            if still_member is None or taken is not None:
                continue
            session.add(
                Designation(
                    id=uuid.uuid4(),
                    org_id=row.org_id,
                    category=category,
                    user_id=user_id,
                    created_by_id=row.applied_by_id,
                    created_at=utcnow(),
                )
            )
            made += 1
    return made


def _tell_org(session: Session, org: Organization, action: ModerationAction, reason: str) -> None:
    admins = session.execute(
        select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.org_id == org.id, Membership.role == Role.admin, User.is_active.is_(True))
    ).scalars()
    to = sorted(set(admins))
    if to:
        enqueue_email(
            session,
            to=to,
            topic="exchange.membership.decided",
            org_id=org.id,
            subject=f"Exchange community: {action.label.lower()}",
            body=(
                f"The hub operator recorded this decision about {org.name}: {action.label}.\n\n"
                + (f"Reason given: {reason}\n\n" if reason else "")
                + "The exchange's membership page in Signalfire shows your standing."
            ),
        )
    publish_event(
        session, org_id=org.id, event="exchange.membership.decided", data={"action": action.value, "reason": reason}
    )
