"""The exchange policy table, read over TAXII: every TLP level x audience kind x viewer org kind x role.

The world and the expectations come from ``test_policy_table`` (one item per allowed TLP x audience
pair, a draft and a withdrawn item; viewers of every org kind and role, named and unnamed, plus a
non-member lab and the contributor). Each viewer lists its collections and pages through every one it
may read; the items whose reports it receives must be exactly those the rules allow. TAXII never
carries drafts (only published versions are indexed); a withdrawn item stays readable to its
contributor only, in the "shared by" collection.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.exchange.vocab import AudienceKind, Tlp
from tests.exchange.taxii.helpers import API, headers
from tests.exchange.test_policy_table import VALID, Viewer, build_world, expected

Spec = tuple[Tlp, AudienceKind] | str


def taxii_expected(spec: Spec, viewer: Viewer) -> bool:
    return spec != "draft" and expected(spec, viewer)


def _reports(client: TestClient, purpose: str) -> set[uuid.UUID]:
    found: set[uuid.UUID] = set()
    listing = client.get(API + "collections/", headers=headers())
    assert listing.status_code == 200
    for collection in listing.json().get("collections", []):
        if not collection["can_read"]:
            continue
        params: dict[str, object] = {"limit": 1000, "match[type]": "report"}
        while True:
            page = client.get(f"{API}collections/{collection['id']}/objects/", headers=headers(purpose=purpose),
                              params=params)
            assert page.status_code == 200, page.text
            body = page.json()
            found |= {uuid.UUID(obj["id"].split("--", 1)[1]) for obj in body.get("objects", [])}
            if not body["more"]:
                break
            params = {**params, "next": body["next"]}
    return found


def test_taxii_reads_follow_the_policy_table(db: Session, api_client: Callable[[Actor | None], TestClient]) -> None:
    world = build_world(db)
    specs: list[Spec] = [*VALID, "draft", "withdrawn"]
    clients = {id(v): api_client(v.actor) for v in world.viewers}

    mismatches = []
    for viewer in world.viewers:
        visible = _reports(clients[id(viewer)], "threat_detection")
        for spec in specs:
            if taxii_expected(spec, viewer) != (world.items[spec] in visible):
                mismatches.append(f"{spec} for {viewer.label}: expected "
                                  f"{'visible' if taxii_expected(spec, viewer) else 'hidden'}")
    assert mismatches == []

    # A purpose the items do not permit hides every other org's item; the contributor still reads its own.
    own = {world.items[spec] for spec in [*VALID, "withdrawn"]}
    for viewer in world.viewers:
        if viewer.role.value != "viewer":
            continue
        visible = _reports(clients[id(viewer)], "safety_research") & set(world.items.values())
        assert visible == (own if viewer.org_label == "contributor" else set()), viewer.label
