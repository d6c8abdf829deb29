"""TLP:RED's second line: the policy predicate ignores group audiences on a RED item, even when such a row
exists (saved before the refusal at save time existed, or edited in the database). The save-time refusal
is tested elsewhere; here the row is made RED behind the service's back, so only the predicate stands."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from signalfire.access.models import Organization, OrgKind, Role
from signalfire.access.policy.exchange import readable_items
from signalfire.exchange import authoring
from signalfire.exchange.models import ExchangeItem
from signalfire.exchange.vocab import AudienceKind, Tlp
from tests import factories
from tests.exchange import factories as xf


def test_red_item_with_group_audiences_reaches_only_the_named_person(db: Session) -> None:
    contributor = factories.actor(db)
    named_org = factories.org(db)
    named_person = factories.actor(db, role=Role.viewer)
    colleague = factories.actor(db, organization=db.get(Organization, named_person.org_id), role=Role.viewer)
    member = factories.actor(db)
    in_named_org = factories.actor(db, organization=named_org)
    researcher = factories.actor(db, kind=OrgKind.researcher)
    authority = factories.actor(db, kind=OrgKind.authority)
    item = xf.published(
        db,
        contributor,
        tlp=Tlp.AMBER,
        audience=list(AudienceKind),
        audience_org_ids=[named_org.id],
        audience_people=xf.people(named_person),
    )
    seen = select(ExchangeItem.id).where(ExchangeItem.id == item.id)
    # While AMBER, every group reaches its members: the fixture really addresses them all.
    for viewer in (member, in_named_org, researcher, authority, named_person, colleague):
        assert db.scalar(readable_items(viewer).with_only_columns(ExchangeItem.id).where(ExchangeItem.id == item.id))

    db.execute(update(ExchangeItem).where(ExchangeItem.id == item.id).values(tlp=Tlp.RED))
    db.expire_all()
    assert db.scalar(seen) == item.id
    for viewer in (member, in_named_org, researcher, authority, colleague):
        visible = readable_items(viewer).with_only_columns(ExchangeItem.id).where(ExchangeItem.id == item.id)
        assert db.scalar(visible) is None, f"a RED item reached a group member ({viewer.org_kind})"
    mine = readable_items(named_person).with_only_columns(ExchangeItem.id).where(ExchangeItem.id == item.id)
    assert db.scalar(mine) == item.id


def test_an_authority_sees_only_published_government_items(db: Session) -> None:
    contributor = factories.actor(db)
    authority = factories.actor(db, kind=OrgKind.authority)
    draft = xf.draft(db, contributor, audience=[AudienceKind.GOVERNMENT_PARTNERS])
    gone = xf.published(db, contributor, audience=[AudienceKind.GOVERNMENT_PARTNERS])
    authoring.withdraw(db, contributor, gone.id, "duplicate")
    live = xf.published(db, contributor, audience=[AudienceKind.GOVERNMENT_PARTNERS])
    db.flush()
    seen = set(db.scalars(readable_items(authority).with_only_columns(ExchangeItem.id)))
    assert live.id in seen and draft.id not in seen and gone.id not in seen


def test_the_named_people_audience_flag_is_part_of_the_grant(db: Session) -> None:
    """A person row left behind when the named-people audience is switched off grants nothing."""
    contributor = factories.actor(db)
    person = factories.actor(db, role=Role.viewer)
    item = xf.published(
        db, contributor, tlp=Tlp.AMBER, audience=[AudienceKind.NAMED_PEOPLE], audience_people=xf.people(person)
    )
    visible = readable_items(person).with_only_columns(ExchangeItem.id).where(ExchangeItem.id == item.id)
    assert db.scalar(visible) == item.id
    db.execute(update(ExchangeItem).where(ExchangeItem.id == item.id).values(audience_named_people=False))
    db.expire_all()
    assert db.scalar(visible) is None


def test_the_named_orgs_audience_flag_is_part_of_the_grant(db: Session) -> None:
    contributor, named = factories.actor(db), factories.actor(db)
    item = xf.published(
        db, contributor, tlp=Tlp.AMBER, audience=[AudienceKind.NAMED_ORGS], audience_org_ids=[named.org_id]
    )
    visible = readable_items(named).with_only_columns(ExchangeItem.id).where(ExchangeItem.id == item.id)
    assert db.scalar(visible) == item.id
    db.execute(update(ExchangeItem).where(ExchangeItem.id == item.id).values(audience_named_orgs=False))
    db.expire_all()
    assert db.scalar(visible) is None
    blind = dataclasses.replace(contributor, permissions=frozenset())
    assert db.scalar(readable_items(blind).with_only_columns(ExchangeItem.id)) is None


def test_candidate_ids_cover_own_and_addressed_items_and_the_count_is_capped(db: Session) -> None:
    from signalfire.access.policy.exchange import candidate_count, candidate_ids

    viewer, other = factories.actor(db), factories.actor(db)
    own = xf.published(db, viewer)
    to_org = xf.published(
        db, other, tlp=Tlp.AMBER, audience=[AudienceKind.NAMED_ORGS], audience_org_ids=[viewer.org_id]
    )
    to_me = xf.published(
        db, other, tlp=Tlp.RED, audience=[AudienceKind.NAMED_PEOPLE], audience_people=xf.people(viewer)
    )
    unrelated = xf.published(db, other)
    db.flush()
    ids = set(db.scalars(candidate_ids(viewer)))
    assert {own.id, to_org.id, to_me.id} <= ids and unrelated.id not in ids
    assert db.scalar(candidate_count(viewer, cap=10)) == 3
    assert db.scalar(candidate_count(viewer, cap=1)) == 2  # counts at most cap + 1
