"""The exchange access policy as a generated table: every TLP level x audience kind x viewer org kind x role.

One contributor (a member frontier lab) shares one published item per allowed (TLP, audience) pair, plus a
draft and a withdrawn item. Viewers: for every org kind, a "named" org (named in named-org audiences; its
admin, analyst and viewer named in named-people audiences, its responder and reporter not) and an
"unnamed" org, each with one person per role; a non-member frontier lab; and the contributor's own org.
``expected`` states the rules of docs/exchange.md in the plainest terms, independently of the SQL in
access/policy/exchange.py, and every cell of the table is compared with what the policy lets through:
in SQL, in the JSON API (list and detail) and in the UI (list and detail).
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, OrgKind, Role, User
from signalfire.access.policy.exchange import readable_items
from signalfire.core.errors import ValidationFailed
from signalfire.exchange import authoring
from signalfire.exchange.models import ExchangeItem
from signalfire.exchange.vocab import ALLOWED_AUDIENCES, AudienceKind, Tlp
from tests import factories
from tests.exchange import factories as xf

NAMED_ROLES = (Role.admin, Role.analyst, Role.viewer)
WRITERS = (Role.admin, Role.analyst)
# Who of the contributor org sees its drafts: those who may write items, and counsel, who sign drafts off.
DRAFT_READERS = (*WRITERS, Role.counsel)
PAIRS = list(itertools.product(Tlp, AudienceKind))
VALID = [(t, a) for t, a in PAIRS if a in ALLOWED_AUDIENCES[t]]
INVALID = [(t, a) for t, a in PAIRS if a not in ALLOWED_AUDIENCES[t]]


@dataclass(frozen=True)
class Viewer:
    actor: Actor
    kind: OrgKind
    role: Role
    org_label: str  # contributor | named | unnamed | nonmember
    member: bool
    person_named: bool

    @property
    def label(self) -> str:
        return f"{self.org_label}:{self.kind.value}:{self.role.value}"


@dataclass
class World:
    contributor: Actor
    viewers: list[Viewer] = field(default_factory=list)
    items: dict[tuple[Tlp, AudienceKind] | str, uuid.UUID] = field(default_factory=dict)


def expected(spec: tuple[Tlp, AudienceKind] | str, v: Viewer) -> bool:
    """The rules, stated directly (docs/exchange.md, "Who sees an item")."""
    if spec == "draft":
        return v.org_label == "contributor" and v.role in DRAFT_READERS
    if spec == "withdrawn":
        return v.org_label == "contributor"
    if v.org_label == "contributor":
        return True
    assert not isinstance(spec, str)
    tlp, audience = spec
    if v.kind == OrgKind.authority:  # the firewall: government partners only, never RED
        return audience == AudienceKind.GOVERNMENT_PARTNERS and tlp != Tlp.RED
    if tlp == Tlp.RED:  # named individuals only; colleagues of a named person do not see it
        return audience == AudienceKind.NAMED_PEOPLE and v.person_named
    return {
        AudienceKind.ALL_MEMBERS: v.member,
        AudienceKind.NAMED_ORGS: v.org_label == "named",
        AudienceKind.NAMED_PEOPLE: v.person_named,
        AudienceKind.GOVERNMENT_PARTNERS: False,
        AudienceKind.RESEARCHERS: v.kind == OrgKind.researcher,
    }[audience]


def _org_with_roles(db: Session, kind: OrgKind, label: str, member: bool, named_people: bool) -> list[Viewer]:
    org = factories.org(db, kind, exchange_member=member, name=f"{label}-{kind.value}")
    out = []
    for role in Role:
        actor = factories.actor_for(db, factories.member(db, org, role), org)
        out.append(Viewer(actor, kind, role, label, member, named_people and role in NAMED_ROLES))
    return out


def build_world(db: Session) -> World:
    contributor_org = factories.org(db, OrgKind.frontier_developer, name="contributor-lab")
    world = World(contributor=factories.actor(db, organization=contributor_org))
    for role in Role:
        actor = (
            world.contributor if role == Role.admin else factories.actor(db, organization=contributor_org, role=role)
        )
        world.viewers.append(Viewer(actor, OrgKind.frontier_developer, role, "contributor", True, False))
    for kind in OrgKind:
        # One authority is (wrongly) flagged as an exchange member: the firewall must hold regardless.
        named_member = True
        world.viewers += _org_with_roles(db, kind, "named", named_member, named_people=kind != OrgKind.authority)
        world.viewers += _org_with_roles(db, kind, "unnamed", kind != OrgKind.authority, named_people=False)
    world.viewers += _org_with_roles(db, OrgKind.frontier_developer, "nonmember", False, named_people=False)
    # A named person who also belongs to another org is not named while acting for that other org.
    named_admin = next(v for v in world.viewers if v.person_named and v.role == Role.admin)
    elsewhere = next(v for v in world.viewers if v.org_label == "unnamed" and v.kind == OrgKind.downstream)
    person = db.get_one(User, named_admin.actor.user_id)
    org = db.get_one(Organization, elsewhere.actor.org_id)
    factories.member(db, org, Role.viewer, person=person)
    world.viewers.append(
        Viewer(factories.actor_for(db, person, org), OrgKind.downstream, Role.viewer, "unnamed", True, False)
    )

    named_orgs = sorted(
        {v.actor.org_id for v in world.viewers if v.org_label == "named" and v.kind != OrgKind.authority}
    )
    named_people = [v.actor for v in world.viewers if v.person_named]
    for tlp, audience in VALID:
        extra: dict[str, Any] = {}
        if audience == AudienceKind.NAMED_ORGS:
            extra["audience_org_ids"] = named_orgs
        if audience == AudienceKind.NAMED_PEOPLE:
            extra["audience_people"] = xf.people(*named_people)
        item = xf.published(
            db, world.contributor, tlp=tlp, audience=[audience], title=f"{tlp.value} to {audience.value}", **extra
        )
        world.items[(tlp, audience)] = item.id
    world.items["draft"] = xf.draft(db, world.contributor, title="draft").id
    withdrawn = xf.published(db, world.contributor, title="withdrawn")
    authoring.withdraw(db, world.contributor, withdrawn.id, "superseded")
    world.items["withdrawn"] = withdrawn.id
    db.commit()
    return world


@pytest.fixture()
def world(db: Session) -> World:
    return build_world(db)


def _mismatches(
    world: World, seen: Callable[[Viewer], set[uuid.UUID]], specs: list[tuple[Tlp, AudienceKind] | str]
) -> list[str]:
    problems = []
    for v in world.viewers:
        visible = seen(v)
        for spec in specs:
            want = expected(spec, v)
            got = world.items[spec] in visible
            if want != got:
                problems.append(f"{spec} for {v.label}: expected {'visible' if want else 'hidden'}")
    return problems


def test_policy_in_sql(world: World, db: Session) -> None:
    """Every (TLP, audience) item against every viewer, straight from ``readable_items``."""
    assert {(v.kind, v.role) for v in world.viewers} == set(itertools.product(OrgKind, Role))
    assert any(v.kind == OrgKind.authority and v.member for v in world.viewers)
    # Each cell is decided somewhere in both directions: the table is not trivially all-hidden or all-visible.
    for spec in VALID:
        outcomes = {expected(spec, v) for v in world.viewers if v.org_label != "contributor"}
        assert outcomes == {True, False}, spec

    def seen(v: Viewer) -> set[uuid.UUID]:
        return set(db.execute(readable_items(v.actor).with_only_columns(ExchangeItem.id)).scalars())

    specs: list[tuple[Tlp, AudienceKind] | str] = [*VALID, "draft", "withdrawn"]
    assert _mismatches(world, seen, specs) == []


@pytest.mark.parametrize(("tlp", "audience"), INVALID, ids=[f"{t.value}-{a.value}" for t, a in INVALID])
def test_audience_wider_than_tlp_is_refused_and_nothing_stored(
    db: Session, make_actor: Callable[..., Actor], tlp: Tlp, audience: AudienceKind
) -> None:
    actor = make_actor()
    other = make_actor()
    extra: dict[str, object] = {}
    if audience == AudienceKind.NAMED_ORGS:
        extra["audience_org_ids"] = [other.org_id]
    before = db.execute(select(func.count()).select_from(ExchangeItem)).scalar_one()
    with pytest.raises(ValidationFailed) as err:
        xf.draft(db, actor, tlp=tlp, audience=[audience], **extra)
    assert err.value.status == 422
    assert err.value.errors[0].field == "audience"
    assert db.execute(select(func.count()).select_from(ExchangeItem)).scalar_one() == before


def test_people_of_an_authority_can_never_be_named(db: Session, make_actor: Callable[..., Actor]) -> None:
    actor = make_actor()
    officer = make_actor(OrgKind.authority)
    for tlp in (Tlp.RED, Tlp.AMBER):
        with pytest.raises(ValidationFailed) as err:
            xf.draft(db, actor, tlp=tlp, audience=[AudienceKind.NAMED_PEOPLE], audience_people=xf.people(officer))
        assert err.value.errors[0].field == "audience_people[0]"
    with pytest.raises(ValidationFailed):
        xf.draft(db, actor, audience=[AudienceKind.NAMED_ORGS], audience_org_ids=[officer.org_id])


_ITEM_LINK = re.compile(r'href="/exchange/items/([0-9a-f-]{36})"')


def _ui_ids(client: TestClient) -> set[uuid.UUID]:
    html = client.get("/exchange").text
    table = html.split('data-testid="items"', 1)[1] if 'data-testid="items"' in html else ""
    return {uuid.UUID(m) for m in _ITEM_LINK.findall(table)}


def test_policy_in_api_and_ui(
    world: World, api_client: Callable[[Actor | None], TestClient], browser_client: Callable[[Actor | None], TestClient]
) -> None:
    """Lists (both channels) for every viewer, plus details of the draft, the withdrawn item and a RED and a
    government-partner item, as each viewer."""
    api = {id(v): api_client(v.actor) for v in world.viewers}
    ui = {id(v): browser_client(v.actor) for v in world.viewers}
    published: list[tuple[Tlp, AudienceKind] | str] = list(VALID)

    def api_list(v: Viewer) -> set[uuid.UUID]:
        resp = api[id(v)].get("/api/v1/exchange/items", params={"limit": 200})
        assert resp.status_code == 200
        return {uuid.UUID(row["id"]) for row in resp.json()}

    assert _mismatches(world, api_list, published) == []
    assert _mismatches(world, lambda v: _ui_ids(ui[id(v)]), published) == []

    probes: list[tuple[Tlp, AudienceKind] | str] = [
        "draft",
        "withdrawn",
        (Tlp.RED, AudienceKind.NAMED_PEOPLE),
        (Tlp.AMBER, AudienceKind.GOVERNMENT_PARTNERS),
        (Tlp.AMBER_STRICT, AudienceKind.NAMED_ORGS),
    ]

    def detail(v: Viewer) -> set[uuid.UUID]:
        # Drafts depend on the role; the other probes depend on the org, so one writer and one reader suffice.
        found = set()
        for spec in probes if v.role in (Role.analyst, Role.viewer) else probes[:1]:
            item_id = world.items[spec]
            api_status = api[id(v)].get(f"/api/v1/exchange/items/{item_id}").status_code
            ui_status = ui[id(v)].get(f"/exchange/items/{item_id}").status_code
            assert api_status == ui_status, (spec, v.label, api_status, ui_status)
            assert api_status in (200, 404)
            if api_status == 200:
                found.add(item_id)
        return found

    checked = [v for v in world.viewers if v.role in (Role.analyst, Role.viewer)]
    assert _mismatches(World(world.contributor, checked, world.items), detail, probes) == []
    assert _mismatches(world, detail, probes[:1]) == []
