"""The new-item form's people picker and named-people audiences follow the policy: an org outside the
exchange sees and names only its own people; members see members' people; no one sees an authority's."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind, Role
from signalfire.core.errors import ValidationFailed
from signalfire.exchange.models import ExchangeItem
from signalfire.exchange.vocab import AudienceKind, Tlp
from tests import factories
from tests.exchange import factories as xf


def _person(db: Session, kind: OrgKind, *, member: bool, name: str) -> Actor:
    org = factories.org(db, kind, exchange_member=member, name=f"Org {uuid.uuid4().hex[:8]}")
    return factories.actor(db, organization=org, role=Role.analyst, name=name)


@pytest.fixture()
def people(db: Session) -> dict[str, Actor]:
    found = {
        "member_writer": _person(db, OrgKind.frontier_developer, member=True, name="Mira Member"),
        "member_peer": _person(db, OrgKind.researcher, member=True, name="Pavel Peer"),
        "outsider_writer": _person(db, OrgKind.downstream, member=False, name="Olga Outside"),
        "outsider_peer": _person(db, OrgKind.downstream, member=False, name="Otto Outside"),
        "officer": _person(db, OrgKind.authority, member=False, name="Ada Authority"),
    }
    db.commit()
    return found


def _picker(browser_client: Callable[[Actor | None], TestClient], actor: Actor) -> str:
    page = browser_client(actor).get("/exchange/items/new")
    assert page.status_code == 200, page.text
    return str(page.text)  # str(): TestClient's response type is Any unless httpx2 is installed


def test_an_outsider_sees_only_its_own_people(
    people: dict[str, Actor], browser_client: Callable[[Actor | None], TestClient]
) -> None:
    html = _picker(browser_client, people["outsider_writer"])
    assert "Olga Outside" in html
    for other in ("member_writer", "member_peer", "outsider_peer", "officer"):
        assert people[other].display_name not in html, other
        assert str(people[other].user_id) not in html, other


def test_a_member_sees_members_people_but_not_outsiders_or_authorities(
    people: dict[str, Actor], browser_client: Callable[[Actor | None], TestClient]
) -> None:
    html = _picker(browser_client, people["member_writer"])
    assert "Mira Member" in html and "Pavel Peer" in html
    assert str(people["member_peer"].user_id) in html
    for other in ("outsider_writer", "outsider_peer", "officer"):
        assert people[other].display_name not in html, other
        assert str(people[other].user_id) not in html, other


def test_another_role_and_anonymous_get_no_picker(
    db: Session, people: dict[str, Actor], browser_client: Callable[[Actor | None], TestClient]
) -> None:
    org = db.get(factories.Organization, people["member_writer"].org_id)
    assert org is not None
    viewer = factories.actor_for(db, factories.member(db, org, Role.viewer), org)
    db.commit()
    as_viewer = browser_client(viewer).get("/exchange/items/new")
    assert as_viewer.status_code in (403, 404) and "Pavel Peer" not in as_viewer.text
    anonymous = browser_client(None).get("/exchange/items/new", follow_redirects=False)
    assert anonymous.status_code == 303 and "Pavel Peer" not in anonymous.text


def test_naming_a_person_one_may_not_see_is_refused_like_a_missing_one(db: Session, people: dict[str, Actor]) -> None:
    before = db.execute(select(func.count()).select_from(ExchangeItem)).scalar_one()
    red = {"tlp": Tlp.RED, "audience": [AudienceKind.NAMED_PEOPLE]}
    with pytest.raises(ValidationFailed) as err:
        xf.draft(db, people["outsider_writer"], **red, audience_people=xf.people(people["member_peer"]))
    assert err.value.errors[0].field == "audience_people[0]"
    assert "not a member" in err.value.errors[0].message
    assert db.execute(select(func.count()).select_from(ExchangeItem)).scalar_one() == before
    # within the community, and within one's own org, naming works
    xf.draft(db, people["member_writer"], **red, audience_people=xf.people(people["member_peer"]))
    xf.draft(db, people["outsider_writer"], **red, audience_people=xf.people(people["outsider_writer"]))
