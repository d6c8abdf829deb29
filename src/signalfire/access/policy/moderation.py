"""Who may see what of hub moderation and community membership, as SQL.

* The hub moderates the community space: items addressed to *all members* at a TLP other than RED, in any
  state but draft. Items addressed only to named orgs, named people or government partners are bilateral
  and never pass through the hub (RED goes to named people only, and the hub is not among them).
* A moderator is an admin of the hub operator (``exchange:moderation:manage``).
* A line of the moderation log is read by the hub's moderators and by the org it concerns (the item's
  contributor, or the org that applied, was admitted, refused, suspended or reinstated).
* An org reads its own membership record; the hub's moderators read every org's.

Everything else is invisible, and a detail read of it is a 404 (forbidden looks like missing).
"""

from __future__ import annotations

from sqlalchemy import Select, select

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind
from signalfire.access.permissions import Permission
from signalfire.access.policy import nothing
from signalfire.exchange.models import ExchangeItem, ItemStatus
from signalfire.exchange.moderation.models import CommunityMember, ModerationEntry
from signalfire.exchange.vocab import Tlp


def can_moderate(actor: Actor) -> bool:
    return actor.org_kind == OrgKind.hub_operator and actor.can(Permission.exchange_moderation_manage)


def in_moderation_scope(item: ExchangeItem) -> bool:
    """The Python twin of the scope in :func:`readable_moderation_items` (for an item already loaded)."""
    return item.audience_all_members and item.tlp != Tlp.RED and item.status != ItemStatus.DRAFT


def readable_moderation_items(actor: Actor) -> Select[ExchangeItem]:
    """Items a moderator may review and act on (see the module docstring); nothing for anyone else."""
    stmt = select(ExchangeItem).where(
        ExchangeItem.status != ItemStatus.DRAFT,
        ExchangeItem.audience_all_members.is_(True),
        ExchangeItem.tlp != Tlp.RED,
    )
    return stmt if can_moderate(actor) else nothing(stmt)


def readable_moderation_log(actor: Actor) -> Select[ModerationEntry]:
    stmt = select(ModerationEntry)
    if can_moderate(actor):
        return stmt
    if not actor.can(Permission.exchange_item_read):
        return nothing(stmt)
    return stmt.where(ModerationEntry.subject_org_id == actor.org_id)


def readable_memberships(actor: Actor) -> Select[CommunityMember]:
    stmt = select(CommunityMember)
    if can_moderate(actor):
        return stmt
    if not actor.can(Permission.exchange_item_read):
        return nothing(stmt)
    return stmt.where(CommunityMember.org_id == actor.org_id)
