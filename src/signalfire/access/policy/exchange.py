"""Who may see what in the exchange, as SQL.

The rule for an item, for a viewer acting for org V with kind K (see docs/exchange.md):

* V contributed it: V's people see it in every state (drafts only those who may write items, and
  competition counsel, who sign off drafts' antitrust findings and must read them to do so).
* Otherwise it must be published (not a draft, not withdrawn), and one of:
  - TLP is not RED and the audience is *all members* and V is an exchange member (not an authority);
  - TLP is not RED and the audience *names V* (V not an authority);
  - TLP is not RED and the audience includes *researchers* and K is researcher;
  - TLP is not RED and the audience includes *government partners* and K is authority;
  - the audience *names this person acting for V* and V is not an authority (the only way to RED).
* An authority therefore sees only non-RED items addressed to government partners (the firewall).
* An org the hub has suspended from the community sees only its own items until it is reinstated.
* Items the hub holds for review or has hidden are not published, so only their contributor sees them
  here; moderators see them through ``access.policy.moderation``.

TLP:RED is for named individuals: colleagues of a named person do not see it. Group audiences
(all members, named orgs, researchers, government partners) are refused for RED when an item is
saved, and the predicate ignores them for RED as a second line.

Reading an item's *details* also needs a declared covered use that the item permits
(:func:`can_read_details`); the listing and summary do not.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select, true, union, union_all

from signalfire.access.actor import Actor
from signalfire.access.models import Membership, Organization, OrgKind, User
from signalfire.access.permissions import Permission
from signalfire.access.policy import nothing
from signalfire.exchange.correlation.models import CorrelationValue
from signalfire.exchange.models import (
    USE_BITS,
    ExchangeItem,
    ItemAudienceOrg,
    ItemAudiencePerson,
    ItemResponse,
    ItemStatus,
    PseudonymResolution,
    ReadLog,
    ResponseKind,
)
from signalfire.exchange.moderation.models import CommunityMember, MemberStatus
from signalfire.exchange.stix.models import StixImportJob
from signalfire.exchange.vocab import CoveredUse, Tlp

# Org kinds that can be "members" of the sharing community; an authority is only ever a government partner.
MEMBER_KINDS = frozenset({OrgKind.frontier_developer, OrgKind.hub_operator, OrgKind.researcher, OrgKind.downstream})


def _is_member_org(actor: Actor) -> ColumnElement[bool]:
    """True when the actor's org is an exchange member. Uncorrelated: the database evaluates it once."""
    if actor.org_kind not in MEMBER_KINDS:
        return false()
    return exists(
        select(Organization.id).where(Organization.id == actor.org_id, Organization.exchange_member.is_(True))
    )


def addressable_people(actor: Actor) -> Select[User, Organization]:
    """People, with the org they act for, whom this actor may see in an audience picker and name.

    Everyone sees their own org's people; an exchange member also sees the people of the other member
    orgs. An org outside the community sees no one else's names or ids, and nobody ever sees (or names)
    an authority's people: authorities receive items only as government partners.
    """
    community = and_(
        Organization.exchange_member.is_(True), Organization.kind.in_(list(MEMBER_KINDS)), _is_member_org(actor)
    )
    return (
        select(User, Organization)
        .join(Membership, Membership.user_id == User.id)
        .join(Organization, Organization.id == Membership.org_id)
        .where(
            User.is_active.is_(True),
            Organization.kind != OrgKind.authority,
            or_(Organization.id == actor.org_id, community),
        )
    )


def _not_suspended(actor: Actor) -> ColumnElement[bool]:
    """True unless the hub suspended the actor's org from the community. Uncorrelated: evaluated once."""
    return ~exists(
        select(CommunityMember.id).where(
            CommunityMember.org_id == actor.org_id, CommunityMember.status == MemberStatus.SUSPENDED
        )
    )


def item_visible_to(actor: Actor) -> ColumnElement[bool]:
    """The policy predicate on ExchangeItem rows for this actor (without the read-permission check)."""
    item = ExchangeItem
    if actor.org_kind == OrgKind.authority:
        # Authorities cannot write items (see ORG_KIND_PERMISSIONS), so only the government-partner
        # audience applies. "= true" rather than "IS TRUE" so ix_exchange_item_government can serve it.
        return and_(item.status == ItemStatus.PUBLISHED, _addressed(actor))
    own = item.org_id == actor.org_id
    if not (actor.can(Permission.exchange_item_write) or actor.can(Permission.exchange_screening_counsel)):
        own = and_(own, item.status != ItemStatus.DRAFT)
    return or_(own, and_(item.status == ItemStatus.PUBLISHED, _addressed(actor), _not_suspended(actor)))


def revocation_visible_to(actor: Actor) -> ColumnElement[bool]:
    """Withdrawn items (by their contributor, by the hub, or revoked at their source) once addressed to the actor.

    Only the revocation itself is read through this: TAXII serves an item's revoked versions and nothing
    else of it (``exchange.taxii.store.Reader``), so a copy another instance pulled learns it is withdrawn.
    Those readers already held the content. Items the hub *hides* are not withdrawn and serve nothing.
    """
    item = ExchangeItem
    # Only items that were published: one withdrawn while it still waited for review was never out.
    published_once = item.first_published_at.is_not(None)
    return and_(item.status == ItemStatus.WITHDRAWN, published_once, _addressed(actor), _not_suspended(actor))


def _addressed(actor: Actor) -> ColumnElement[bool]:
    """Whether the item's audience and TLP include the actor (its status aside)."""
    item = ExchangeItem
    if actor.org_kind == OrgKind.authority:
        return and_(item.audience_government == true(), item.tlp != Tlp.RED)
    named_person = and_(
        item.audience_named_people.is_(True),
        item.id.in_(
            select(ItemAudiencePerson.item_id).where(
                ItemAudiencePerson.user_id == actor.user_id, ItemAudiencePerson.org_id == actor.org_id
            )
        ),
    )
    groups: list[ColumnElement[bool]] = [
        and_(item.audience_all_members.is_(True), _is_member_org(actor)),
        and_(
            item.audience_named_orgs.is_(True),
            item.id.in_(select(ItemAudienceOrg.item_id).where(ItemAudienceOrg.org_id == actor.org_id)),
        ),
    ]
    if actor.org_kind == OrgKind.researcher:
        groups.append(item.audience_researchers.is_(True))
    return or_(and_(item.tlp != Tlp.RED, or_(*groups)), named_person)


def _candidate_branches(actor: Actor) -> list[Select[Any]]:
    return [
        select(ExchangeItem.id).where(ExchangeItem.org_id == actor.org_id),
        select(ItemAudienceOrg.item_id).where(ItemAudienceOrg.org_id == actor.org_id),
        select(ItemAudiencePerson.item_id).where(
            ItemAudiencePerson.user_id == actor.user_id, ItemAudiencePerson.org_id == actor.org_id
        ),
    ]


def candidate_ids(actor: Actor) -> Select[Any]:
    """A superset of the item ids a viewer *without a broad audience* can see: its own items and those
    naming its org or its person.

    For an org that is not an exchange member (and is neither a researcher nor an authority) every visible
    item is in this set, so ``ExchangeItem.id.in_(candidate_ids(actor))`` added to a readable statement
    changes nothing but lets the database start from the few addressed rows instead of scanning the whole
    table for them. It is a query-planning aid, never a grant: the policy predicate still applies.
    """
    return union(*_candidate_branches(actor)).subquery().select()


def candidate_count(actor: Actor, cap: int) -> Select[Any]:
    """How many candidate rows there are, counting at most ``cap + 1`` (duplicates counted twice)."""
    rows = union_all(*_candidate_branches(actor)).limit(cap + 1).subquery()
    return select(func.count()).select_from(rows)


def readable_items(actor: Actor) -> Select[ExchangeItem]:
    """Every exchange read (list, detail, feed, export, TAXII) starts here."""
    stmt = select(ExchangeItem)
    if not actor.can(Permission.exchange_item_read):
        return nothing(stmt)
    return stmt.where(item_visible_to(actor))


def readable_correlation_values(actor: Actor) -> Select[CorrelationValue]:
    """Correlation-index rows of published items the actor may see: the only way related items and value
    searches read the index, so a correlation never reveals (or counts) an item the viewer cannot read."""
    # A correlated EXISTS rather than a join, and OFFSET 0 so PostgreSQL keeps it one: a walk over one value's
    # rows newest first then tests each row's item by primary key and stops at its LIMIT, instead of the
    # hash join over every item the planner otherwise picks (bench/exchange_correlation.py: 25 ms vs 330 ms).
    readable = (
        select(ExchangeItem.id)
        .where(ExchangeItem.id == CorrelationValue.item_id, ExchangeItem.status == ItemStatus.PUBLISHED)
        .where(item_visible_to(actor))
        .offset(0)
    )
    stmt = select(CorrelationValue).where(exists(readable))
    return stmt if actor.can(Permission.exchange_item_read) else nothing(stmt)


def permits_use(purpose: CoveredUse) -> ColumnElement[bool]:
    """Items whose permitted uses include ``purpose`` (for feeds that omit items a purpose does not cover)."""
    return ExchangeItem.permitted_uses_mask.bitwise_and(USE_BITS[purpose]) != 0


def is_contributor(actor: Actor, item: ExchangeItem) -> bool:
    return item.org_id == actor.org_id


def can_read_details(actor: Actor, item: ExchangeItem, purpose: CoveredUse | None) -> bool:
    """Details of an item the actor may already see (it came from :func:`readable_items`).

    Readers outside the contributor org must declare a covered use the item permits. The contributor's
    own people read their item without declaring one (they wrote it).
    """
    if not actor.can(Permission.exchange_item_read):
        return False
    if is_contributor(actor, item):
        return True
    return purpose is not None and item.permits(purpose)


def can_edit(actor: Actor, item: ExchangeItem) -> bool:
    return is_contributor(actor, item) and actor.can(Permission.exchange_item_write)


def can_publish(actor: Actor, item: ExchangeItem) -> bool:
    return is_contributor(actor, item) and actor.can(Permission.exchange_item_publish)


def readable_import_jobs(actor: Actor) -> Select[StixImportJob]:
    """STIX imports of the actor's org, for those who may import (write items): the people who could have
    started one. Anyone else, in the org or not, finds none (a job's page is then a 404, like a missing one).
    """
    stmt = select(StixImportJob).where(StixImportJob.org_id == actor.org_id)
    return stmt if actor.can(Permission.exchange_item_write) else nothing(stmt)


def readable_responses(actor: Actor) -> Select[ItemResponse]:
    """Responses on items the actor can read. A proposed correction is seen only by the contributor org
    and the org that proposed it."""
    stmt = (
        select(ItemResponse)
        .join(ExchangeItem, ExchangeItem.id == ItemResponse.item_id)
        .where(item_visible_to(actor))
        .where(
            or_(
                ItemResponse.kind != ResponseKind.CORRECTION,
                ExchangeItem.org_id == actor.org_id,
                ItemResponse.org_id == actor.org_id,
            )
        )
    )
    return stmt if actor.can(Permission.exchange_item_read) else nothing(stmt)


def readable_read_log(actor: Actor) -> Select[ReadLog]:
    """The contributor org sees who read its items and why; nobody else sees another org's reads."""
    stmt = (
        select(ReadLog)
        .join(ExchangeItem, ExchangeItem.id == ReadLog.item_id)
        .where(ExchangeItem.org_id == actor.org_id)
    )
    return stmt if actor.can(Permission.exchange_item_read) else nothing(stmt)


def readable_resolutions(actor: Actor) -> Select[PseudonymResolution]:
    """Resolutions of the actor org's own pseudonym, and for the hub operator those it made."""
    stmt = select(PseudonymResolution)
    if actor.can(Permission.exchange_pseudonym_resolve):
        return stmt.where(
            or_(PseudonymResolution.org_id == actor.org_id, PseudonymResolution.resolved_by_org_id == actor.org_id)
        )
    if not actor.can(Permission.exchange_item_read):
        return nothing(stmt)
    return stmt.where(PseudonymResolution.org_id == actor.org_id)


def can_resolve_pseudonyms(actor: Actor) -> bool:
    return actor.org_kind == OrgKind.hub_operator and actor.can(Permission.exchange_pseudonym_resolve)


def can_read_health(actor: Actor) -> bool:
    return actor.org_kind == OrgKind.hub_operator and actor.can(Permission.exchange_health_read)
