"""TAXII collections are the exchange's audiences, computed per requester.

==================  ==========================================  ===========================================
collection          holds items addressed to                    who may read (with exchange:item:read)
==================  ==========================================  ===========================================
members             all member labs                             people of an exchange-member org, not an
                                                                authority
government          designated government partners              people of an authority
researchers         admitted researchers                        people of a researcher org
org inbox           the requester's org, by name                that org (not an authority)
person inbox        the requester, by name, acting for the org  that person (not at an authority)
shared by org       anything the requester's org published      that org
==================  ==========================================  ===========================================

Members, government partners and researchers are also *writable* by people who may publish items:
adding objects there publishes them to that audience (see ``taxii.ingest``). Collection ids are
fixed UUIDs for the group audiences and name-based UUIDs for the per-org and per-person ones, so a
collection id reveals nothing and a requester can only name their own inboxes.

Collection membership of an item is decided by :meth:`TaxiiCollection.addresses` on the item's
*current* audience, and every read also applies the exchange policy (``readable_items``), so the
gate here is only the first of two checks.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, OrgKind
from signalfire.access.permissions import Permission
from signalfire.access.policy.exchange import MEMBER_KINDS
from signalfire.exchange.models import ExchangeItem, ItemAudienceOrg, ItemAudiencePerson
from signalfire.exchange.vocab import AudienceKind

_NAMESPACE = uuid.UUID("2f7d0c55-6a4e-4f1e-9b7e-3c1f2d5e8a90")


class CollectionKind(StrEnum):
    MEMBERS = "members"
    GOVERNMENT = "government"
    RESEARCHERS = "researchers"
    ORG_INBOX = "org"
    PERSON_INBOX = "person"
    SHARED_BY_ORG = "shared"


# The audience a POST to a writable collection publishes to.
WRITABLE_AUDIENCE: dict[CollectionKind, AudienceKind] = {
    CollectionKind.MEMBERS: AudienceKind.ALL_MEMBERS,
    CollectionKind.GOVERNMENT: AudienceKind.GOVERNMENT_PARTNERS,
    CollectionKind.RESEARCHERS: AudienceKind.RESEARCHERS,
}


def collection_id(kind: CollectionKind, *parts: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, "/".join([kind.value, *(str(p) for p in parts)]))


MEMBERS_ID = collection_id(CollectionKind.MEMBERS)
GOVERNMENT_ID = collection_id(CollectionKind.GOVERNMENT)
RESEARCHERS_ID = collection_id(CollectionKind.RESEARCHERS)


def org_inbox_id(org_id: uuid.UUID) -> uuid.UUID:
    return collection_id(CollectionKind.ORG_INBOX, org_id)


def person_inbox_id(user_id: uuid.UUID, org_id: uuid.UUID) -> uuid.UUID:
    return collection_id(CollectionKind.PERSON_INBOX, user_id, org_id)


def shared_by_id(org_id: uuid.UUID) -> uuid.UUID:
    return collection_id(CollectionKind.SHARED_BY_ORG, org_id)


@dataclass(frozen=True)
class TaxiiCollection:
    id: uuid.UUID
    kind: CollectionKind
    title: str
    description: str
    can_read: bool
    can_write: bool
    org_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None

    @property
    def audience(self) -> AudienceKind | None:
        return WRITABLE_AUDIENCE.get(self.kind)

    def addresses(self) -> ColumnElement[bool]:
        """Items currently addressed to this collection (the exchange policy is applied on top)."""
        item = ExchangeItem
        if self.kind is CollectionKind.MEMBERS:
            return item.audience_all_members.is_(True)
        if self.kind is CollectionKind.GOVERNMENT:
            return item.audience_government.is_(True)
        if self.kind is CollectionKind.RESEARCHERS:
            return item.audience_researchers.is_(True)
        if self.kind is CollectionKind.ORG_INBOX:
            return and_(
                item.audience_named_orgs.is_(True),
                item.id.in_(select(ItemAudienceOrg.item_id).where(ItemAudienceOrg.org_id == self.org_id)),
            )
        if self.kind is CollectionKind.PERSON_INBOX:
            return and_(
                item.audience_named_people.is_(True),
                item.id.in_(
                    select(ItemAudiencePerson.item_id).where(
                        ItemAudiencePerson.user_id == self.user_id, ItemAudiencePerson.org_id == self.org_id
                    )
                ),
            )
        return item.org_id == self.org_id

    def as_resource(self) -> dict[str, object]:
        return {
            "id": str(self.id),
            "title": self.title,
            "description": self.description,
            "alias": self.kind.value,
            "can_read": self.can_read,
            "can_write": self.can_write,
            "media_types": ["application/stix+json;version=2.1"],
        }


def _is_exchange_member(session: Session, actor: Actor) -> bool:
    if actor.org_kind not in MEMBER_KINDS:
        return False
    return bool(
        session.execute(
            select(Organization.exchange_member).where(Organization.id == actor.org_id)
        ).scalar_one_or_none()
    )


def collections_for(session: Session, actor: Actor) -> list[TaxiiCollection]:
    """Every collection the requester may read or write, sorted by id (TAXII clients page in that order)."""
    read = actor.can(Permission.exchange_item_read)
    write = actor.can(Permission.exchange_item_write) and actor.can(Permission.exchange_item_publish)
    authority = actor.org_kind == OrgKind.authority
    found = [
        TaxiiCollection(
            MEMBERS_ID,
            CollectionKind.MEMBERS,
            "All member labs",
            "Items shared with every member lab of the exchange (TLP:CLEAR to TLP:AMBER+STRICT).",
            can_read=read and _is_exchange_member(session, actor),
            can_write=write,
        ),
        TaxiiCollection(
            GOVERNMENT_ID,
            CollectionKind.GOVERNMENT,
            "Designated government partners",
            "Items addressed to government partners; never TLP:RED.",
            can_read=read and authority,
            can_write=write,
        ),
        TaxiiCollection(
            RESEARCHERS_ID,
            CollectionKind.RESEARCHERS,
            "Admitted researchers",
            "Items addressed to admitted researchers.",
            can_read=read and actor.org_kind == OrgKind.researcher,
            can_write=write,
        ),
        TaxiiCollection(
            org_inbox_id(actor.org_id),
            CollectionKind.ORG_INBOX,
            f"Addressed to {actor.org_name}",
            "Items whose contributor named your organisation.",
            can_read=read and not authority,
            can_write=False,
            org_id=actor.org_id,
        ),
        TaxiiCollection(
            person_inbox_id(actor.user_id, actor.org_id),
            CollectionKind.PERSON_INBOX,
            f"Addressed to {actor.display_name} at {actor.org_name}",
            "Items whose contributor named you, in this organisation (the only way to TLP:RED).",
            can_read=read and not authority,
            can_write=False,
            org_id=actor.org_id,
            user_id=actor.user_id,
        ),
        TaxiiCollection(
            shared_by_id(actor.org_id),
            CollectionKind.SHARED_BY_ORG,
            f"Shared by {actor.org_name}",
            "Every version your organisation published, including withdrawn items.",
            can_read=read,
            can_write=False,
            org_id=actor.org_id,
        ),
    ]
    return sorted((c for c in found if c.can_read or c.can_write), key=lambda c: str(c.id))


def collection_for(session: Session, actor: Actor, raw_id: str) -> TaxiiCollection | None:
    """The collection the requester names, if it is one of theirs; None looks the same as missing."""
    try:
        wanted = uuid.UUID(raw_id)
    except ValueError:
        return None
    return next((c for c in collections_for(session, actor) if c.id == wanted), None)


def fan_out(audience: Mapping[str, Any], org_id: uuid.UUID) -> list[uuid.UUID]:
    """The collections one published revision goes to: its audience as addressed, plus 'shared by' its org.

    ``audience`` is ``ItemRevision.audience`` (kinds, org ids, people); permissions play no part here.
    """
    kinds = set(audience.get("kinds") or [])
    out = [shared_by_id(org_id)]
    if AudienceKind.ALL_MEMBERS.value in kinds:
        out.append(MEMBERS_ID)
    if AudienceKind.GOVERNMENT_PARTNERS.value in kinds:
        out.append(GOVERNMENT_ID)
    if AudienceKind.RESEARCHERS.value in kinds:
        out.append(RESEARCHERS_ID)
    if AudienceKind.NAMED_ORGS.value in kinds:
        out += [org_inbox_id(uuid.UUID(str(raw))) for raw in audience.get("org_ids") or []]
    if AudienceKind.NAMED_PEOPLE.value in kinds:
        out += [
            person_inbox_id(uuid.UUID(str(p["user_id"])), uuid.UUID(str(p["org_id"])))
            for p in audience.get("people") or []
        ]
    return list(dict.fromkeys(out))
