"""The exchange policy table over TAXII and STIX exports: every TLP level x audience kind x org kind x role.

The world and the expectations come from ``test_policy_table`` (one item per allowed TLP x audience
pair, a draft and a withdrawn item; viewers of every org kind and role, named and unnamed, plus a
non-member lab and the contributor). For every viewer, the items whose reports it can read over TAXII
(every collection it may read, through ``taxii.store`` as the routes call it) and the items an export
would carry (``stix_io.exportable_items``) must be exactly those the rules allow. The same is checked
end to end over HTTP for one role of every org, with API tokens. Neither channel ever carries a draft
(only published versions are indexed or exported); a withdrawn item stays with its contributor, except that
TAXII still serves its revoked version (only that) to those it was addressed to, for copies to follow.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Role
from signalfire.exchange.stix import bundles as stix_io
from signalfire.exchange.taxii import store as taxii_store
from signalfire.exchange.taxii.collections import collections_for
from signalfire.exchange.taxii.protocol import Query
from signalfire.exchange.vocab import AudienceKind, CoveredUse, Tlp
from tests.exchange.taxii.helpers import API, headers
from tests.exchange.test_policy_table import VALID, Viewer, World, build_world, expected

Spec = tuple[Tlp, AudienceKind] | str
SPECS: list[Spec] = [*VALID, "draft", "withdrawn"]


def channel_expected(spec: Spec, viewer: Viewer) -> bool:
    return spec != "draft" and expected(spec, viewer)


def taxii_expected(spec: Spec, viewer: Viewer) -> bool:
    """As the lists, except that a withdrawn item's revocation (its revoked report) still reaches everyone it
    was addressed to, so that copies they pulled can follow it (the withdrawn item is GREEN to all members)."""
    if spec == "withdrawn":
        return expected((Tlp.GREEN, AudienceKind.ALL_MEMBERS), viewer)
    return channel_expected(spec, viewer)


def _item_id(stix_id: str) -> uuid.UUID:
    return uuid.UUID(stix_id.split("--", 1)[1])


def store_reports(db: Session, actor: Actor, purpose: CoveredUse) -> set[uuid.UUID]:
    taxii_store.sync(db)
    found: set[uuid.UUID] = set()
    for collection in collections_for(db, actor):
        if collection.can_read:
            reader = taxii_store.Reader(actor, collection, purpose, b"test")
            page = taxii_store.read_page(db, reader, Query(limit=1000, types=("report",)), with_body=False)
            assert not page.more
            found |= {_item_id(row.stix_id) for row in page.rows}
    return found


def http_reports(client: TestClient, purpose: str) -> set[uuid.UUID]:
    found: set[uuid.UUID] = set()
    listing = client.get(API + "collections/", headers=headers())
    assert listing.status_code == 200
    for collection in listing.json().get("collections", []):
        if not collection["can_read"]:
            continue
        params: dict[str, str | int] = {"limit": 1000, "match[type]": "report"}
        while True:
            page = client.get(
                f"{API}collections/{collection['id']}/objects/", headers=headers(purpose=purpose), params=params
            )
            assert page.status_code == 200, page.text
            body = page.json()
            found |= {_item_id(obj["id"]) for obj in body.get("objects", [])}
            if not body["more"]:
                break
            params = {**params, "next": body["next"]}
    return found


def _mismatches(
    world: World,
    viewers: list[Viewer],
    seen: Callable[[Viewer], set[uuid.UUID]],
    rule: Callable[[Spec, Viewer], bool] = channel_expected,
) -> list[str]:
    problems = []
    for viewer in viewers:
        visible = seen(viewer)
        for spec in SPECS:
            want = rule(spec, viewer)
            if want != (world.items[spec] in visible):
                problems.append(f"{spec} for {viewer.label}: expected {'visible' if want else 'hidden'}")
    return problems


def test_taxii_and_exports_follow_the_policy_table(
    db: Session, api_client: Callable[[Actor | None], TestClient]
) -> None:
    world = build_world(db)
    purpose = CoveredUse.THREAT_DETECTION
    everyone = world.viewers
    assert {(v.kind, v.role) for v in everyone} >= {(v.kind, r) for v in everyone for r in Role}

    assert _mismatches(world, everyone, lambda v: store_reports(db, v.actor, purpose), taxii_expected) == []
    assert (
        _mismatches(world, everyone, lambda v: {i.id for i in stix_io.exportable_items(db, v.actor, purpose)[0]}) == []
    )

    # End to end over HTTP for one role per org (the viewer role), plus the contributor's writers.
    sample = [v for v in everyone if v.role == Role.viewer or (v.org_label == "contributor" and v.role == Role.admin)]
    clients = {id(v): api_client(v.actor) for v in sample}
    assert _mismatches(world, sample, lambda v: http_reports(clients[id(v)], purpose.value), taxii_expected) == []

    def exported(viewer: Viewer) -> set[uuid.UUID]:
        resp = clients[id(viewer)].get("/api/v1/exchange/export.stix", params={"purpose": purpose.value})
        assert resp.status_code in (200, 404), resp.text
        return (
            {_item_id(o["id"]) for o in resp.json().get("objects", []) if o["type"] == "report"}
            if resp.status_code == 200
            else set()
        )

    named_and_own = [v for v in sample if v.org_label in ("named", "contributor", "nonmember")]
    assert _mismatches(world, named_and_own, exported) == []

    # A purpose the items do not permit hides every other org's item; the contributor still reads its own.
    published: list[Spec] = [*VALID, "withdrawn"]
    own = {world.items[spec] for spec in published}
    for viewer in sample:
        visible = http_reports(clients[id(viewer)], CoveredUse.SAFETY_RESEARCH.value) & set(world.items.values())
        assert visible == (own if viewer.org_label == "contributor" else set()), viewer.label
