"""Pull: pages with added_after and next, import through the TAXII import (validation, screening, policy),
provenance, no duplicates, and the faults of the issue: garbage, a looping `next`, invalid objects, a forged
identity. Each fault is recorded on its peer only; nothing of a refused page is kept."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from signalfire.access.actor import Actor
from signalfire.exchange.models import ExchangeItem
from signalfire.exchange.service import org_identity_id
from signalfire.exchange.taxii.models import TaxiiObject
from signalfire.exchange.vocab import AudienceKind
from signalfire.federation import client as taxii_client
from signalfire.federation import pull, service
from signalfire.federation.models import Direction, EventKind, Peer, PeerCollection, PeerEvent, PulledObject
from signalfire.federation.schemas import CollectionIn, PeerIn
from tests import factories
from tests.exchange.taxii.helpers import indicator

REMOTE_ID = "identity--7d0c55aa-0000-4000-8000-00000000abcd"
TAXII = {"Content-Type": taxii_client.TAXII_ACCEPT}


class Remote:
    """A TAXII collection stand-in that pages ``objects`` by two, with `next` tokens and added_after."""

    def __init__(self, objects: list[dict[str, Any]], *, page: int = 2) -> None:
        self.objects = objects
        self.page = page
        self.requests: list[httpx.Request] = []
        self.mode = "ok"

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.mode == "garbage":
            return httpx.Response(200, headers={"Content-Type": "text/html"}, text="<html>maintenance</html>")
        if self.mode == "loop":
            return httpx.Response(200, headers=TAXII, json={"more": True, "next": "same", "objects": self.objects[:1]})
        start = int(request.url.params.get("next", "0"))
        after = request.url.params.get("added_after")
        if after is not None and request.url.params.get("next") is None:
            start = int(after)
        chunk = self.objects[start : start + self.page]
        end = start + len(chunk)
        body: dict[str, Any] = {"more": end < len(self.objects)}
        if chunk:
            body["objects"] = chunk
        if body["more"]:
            body["next"] = str(end)
        headers = dict(TAXII)
        if chunk:
            headers["X-TAXII-Date-Added-Last"] = str(end)  # an opaque stand-in the remote understands
        return httpx.Response(200, headers=headers, json=body)


def _peer(db: Session, admin: Actor, *, signalfire: bool = False, remote_org: uuid.UUID | None = None) -> Peer:
    peer = service.create_peer(
        db,
        admin,
        PeerIn(
            name=f"feed-{uuid.uuid4().hex[:6]}",
            discovery_url="http://remote.test/taxii2/",
            api_root_url="http://remote.test/api1/",
            secret="token",
            username="sync",
            remote_identity=None if remote_org else REMOTE_ID,
            remote_org_id=remote_org,
            signalfire=signalfire,
        ),
    )
    service.set_collection(
        db,
        admin,
        peer.id,
        CollectionIn(remote_id="c1", direction=Direction.PULL, pull_audience=AudienceKind.ALL_MEMBERS),
    )
    db.commit()
    return peer


def _collection(db: Session, peer: Peer) -> PeerCollection:
    return db.execute(select(PeerCollection).where(PeerCollection.peer_id == peer.id)).scalar_one()


def _pulled(db: Session, peer: Peer) -> list[PulledObject]:
    return list(db.execute(select(PulledObject).where(PulledObject.peer_id == peer.id)).scalars())


def _events(db: Session, peer: Peer, kind: EventKind) -> list[PeerEvent]:
    return list(db.execute(select(PeerEvent).where(PeerEvent.peer_id == peer.id, PeerEvent.kind == kind)).scalars())


def _run(factory: sessionmaker[Session], remote: Remote, peer: Peer, db: Session) -> pull.PullResult:
    with taxii_client.use_transport(httpx.MockTransport(remote)):
        return pull.pull_collection(factory, _collection(db, peer).id)


def test_pages_are_imported_with_provenance_and_a_rerun_imports_nothing_twice(
    db: Session, session_maker: sessionmaker[Session], make_actor: Any
) -> None:
    admin = make_actor()
    peer = _peer(db, admin)
    objects = [indicator(n, created_by_ref=REMOTE_ID) for n in range(5)]
    remote = Remote(objects)
    result = _run(session_maker, remote, peer, db)
    assert (result.pages, result.pulled, result.refused) == (3, 5, 0)
    pulled = _pulled(db, peer)
    assert sorted(p.stix_id for p in pulled) == sorted(o["id"] for o in objects)
    assert {p.created_by_ref for p in pulled} == {REMOTE_ID}
    assert all(p.item_id is not None for p in pulled)
    # the purpose and the basic credentials went along
    first = remote.requests[0]
    assert first.headers["Authorization"].startswith("Basic ")
    assert "X-Signalfire-Purpose" not in first.headers  # not a Signalfire peer
    collection = _collection(db, peer)
    db.refresh(collection)
    assert collection.added_after == "5" and collection.next_token is None
    # attribution: published under the local record of the remote org, not a local member org
    item = db.get(ExchangeItem, pulled[0].item_id)
    db.refresh(peer)
    assert item is not None and item.org_id == peer.import_org_id and item.org_id != admin.org_id
    # a second run asks from the cursor and the remote resends everything: nothing is imported twice
    remote.objects = objects  # unchanged
    collection.added_after = None
    db.commit()
    again = _run(session_maker, remote, peer, db)
    assert again.pulled == 0 and len(_pulled(db, peer)) == 5
    assert peer.pulled_count == 5


def test_garbage_is_recorded_on_that_peer_and_other_peers_are_unaffected(
    db: Session, session_maker: sessionmaker[Session], make_actor: Any
) -> None:
    admin = make_actor()
    bad, good = _peer(db, admin), _peer(db, admin)
    garbage = Remote([indicator(1, created_by_ref=REMOTE_ID)])
    garbage.mode = "garbage"
    result = _run(session_maker, garbage, bad, db)
    assert result.pulled == 0 and "not TAXII JSON" in result.errors[0]
    db.refresh(bad)
    assert bad.failing_since is not None and _events(db, bad, EventKind.PULL_FAILED)
    fine = _run(session_maker, Remote([indicator(2, created_by_ref=REMOTE_ID)]), good, db)
    db.refresh(good)
    assert fine.pulled == 1 and good.failing_since is None and not _events(db, good, EventKind.PULL_FAILED)


def test_a_next_that_repeats_stops_the_run_without_duplicates(
    db: Session, session_maker: sessionmaker[Session], make_actor: Any
) -> None:
    admin = make_actor()
    peer = _peer(db, admin)
    remote = Remote([indicator(1, created_by_ref=REMOTE_ID)])
    remote.mode = "loop"
    result = _run(session_maker, remote, peer, db)
    assert len(remote.requests) == 2  # the first `next` was followed once, its repeat was not
    assert result.pulled == 1 and any("paging loop" in e for e in result.errors)
    assert len(_pulled(db, peer)) == 1
    collection = _collection(db, peer)
    db.refresh(collection)
    assert collection.next_token is None


def test_invalid_objects_and_a_forged_identity_are_refused_with_reasons(
    db: Session, session_maker: sessionmaker[Session], make_actor: Any
) -> None:
    admin = make_actor()
    peer = _peer(db, admin)
    broken = indicator(2, created_by_ref=REMOTE_ID)
    del broken["object_marking_refs"]  # the local import takes nothing without a TLP marking
    forged = indicator(3, created_by_ref=org_identity_id(admin.org_id))
    result = _run(session_maker, Remote([indicator(1, created_by_ref=REMOTE_ID), broken, forged], page=5), peer, db)
    assert result.pulled == 1 and result.refused == 2
    (event,) = _events(db, peer, EventKind.PULL_REFUSED)
    messages = {o["id"]: o["message"] for o in event.detail["objects"]}
    assert "claims identity" in messages[forged["id"]]
    assert "TLP" in messages[broken["id"]]
    db.refresh(peer)
    assert peer.refused_count == 2


def test_a_page_refused_as_a_whole_keeps_nothing_of_it(
    db: Session, session_maker: sessionmaker[Session], make_actor: Any
) -> None:
    admin = make_actor()
    peer = _peer(db, admin)
    secret = indicator(1, created_by_ref=REMOTE_ID, description="api key sk-live-51HZXQabcdefghijklmnopqrstuvwx")
    before = db.execute(select(func.count()).select_from(ExchangeItem)).scalar_one()
    result = _run(session_maker, Remote([indicator(2, created_by_ref=REMOTE_ID), secret], page=5), peer, db)
    after = db.execute(select(func.count()).select_from(ExchangeItem)).scalar_one()
    if result.pulled:  # screening did not flag it: nothing to check here
        pytest.skip("screening did not flag the synthetic secret")
    assert after == before and _pulled(db, peer) == []
    (event,) = _events(db, peer, EventKind.PULL_REFUSED)
    assert "page refused" in next(iter(event.detail["reasons"]))


def test_a_signalfire_peer_may_relay_a_known_contributor_but_not_speak_for_this_instance(
    db: Session, session_maker: sessionmaker[Session], make_actor: Any
) -> None:
    admin = make_actor()
    hub_org = factories.org(db)
    partner = factories.org(db)  # the same org id as at the hub: its identity is the same everywhere
    peer = _peer(db, admin, signalfire=True, remote_org=hub_org.id)
    relayed = indicator(1, created_by_ref=org_identity_id(partner.id))
    own = indicator(2, created_by_ref=org_identity_id(admin.org_id))
    stranger = indicator(3, created_by_ref="identity--00000000-1111-4222-8333-444444444444")
    result = _run(session_maker, Remote([relayed, own, stranger], page=5), peer, db)
    assert result.pulled == 1 and result.refused == 2
    (p,) = _pulled(db, peer)
    item = db.get(ExchangeItem, p.item_id)
    assert item is not None and item.org_id == partner.id  # attribution kept: the partner, not the hub
    (event,) = _events(db, peer, EventKind.PULL_REFUSED)
    messages = {o["id"]: o["message"] for o in event.detail["objects"]}
    assert "this instance's own" in messages[own["id"]]
    assert "no local record" in messages[stranger["id"]]
    sent = _last_headers(session_maker, db, peer)
    assert sent["x-signalfire-purpose"] == "threat_detection"
    assert sent["x-signalfire-reader"].startswith("federation-worker")


def test_a_member_of_the_hubs_forum_unknown_here_gets_a_local_record_of_its_own_and_keeps_its_identity(
    db: Session, session_maker: sessionmaker[Session], make_actor: Any
) -> None:
    """A lab knows only itself; the hub relays another member's items. They arrive under a record of that
    member (its name, "via" the peer), with its STIX identity kept, the same record on every later pull,
    and never under the hub's or a local member's name."""
    from signalfire.access.models import Organization

    admin = make_actor()
    hub_org = factories.org(db)
    peer = _peer(db, admin, signalfire=True, remote_org=hub_org.id)
    elsewhere = "identity--0f5b3c1e-2d4a-4b6c-8e9f-a1b2c3d4e5f6"  # a member org that has no record here
    identity = {
        "type": "identity",
        "spec_version": "2.1",
        "id": elsewhere,
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": "Borealis AI",
        "identity_class": "organization",
    }
    first = indicator(1, created_by_ref=elsewhere)
    person = {**identity, "id": "identity--1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d", "identity_class": "individual"}
    by_person = indicator(3, created_by_ref=person["id"])
    remote = Remote([identity, person, first, by_person], page=10)
    result = _run(session_maker, remote, peer, db)
    assert result.pulled == 1 and result.refused == 1  # a person is never turned into an org
    (p,) = _pulled(db, peer)
    item = db.get(ExchangeItem, p.item_id)
    assert item is not None
    org = db.get(Organization, item.org_id)
    assert org is not None and org.name == f"Borealis AI (via {peer.name})" and not org.exchange_member
    assert org.id not in (hub_org.id, admin.org_id)
    body = db.execute(select(TaxiiObject.body).where(TaxiiObject.stix_id == first["id"])).scalars().first()
    assert body is not None and json.loads(body)["created_by_ref"] == elsewhere
    # A later page without the identity object: the same record, found by the identity id.
    remote.objects = [*remote.objects, indicator(2, created_by_ref=elsewhere)]
    later = _run(session_maker, remote, peer, db)
    assert later.pulled == 1
    items = {db.get(ExchangeItem, x.item_id).org_id for x in _pulled(db, peer) if x.item_id}  # type: ignore[union-attr]
    assert items == {org.id}


def _last_headers(factory: sessionmaker[Session], db: Session, peer: Peer) -> dict[str, str]:
    remote = Remote([])
    _run(factory, remote, peer, db)
    return dict(remote.requests[-1].headers)


def test_a_run_cut_short_resumes_from_the_committed_cursor_without_loss_or_duplicates(
    db: Session, session_maker: sessionmaker[Session], make_actor: Any
) -> None:
    """What a SIGKILL between pages leaves: the pages before it committed with their cursor, nothing after."""
    admin = make_actor()
    peer = _peer(db, admin)
    objects = [indicator(n, created_by_ref=REMOTE_ID) for n in range(5)]
    remote = Remote(objects)
    with taxii_client.use_transport(httpx.MockTransport(remote)):
        first = pull.pull_collection(session_maker, _collection(db, peer).id, max_pages=1)
    assert first.more and first.pulled == 2
    collection = _collection(db, peer)
    db.refresh(collection)
    assert collection.next_token == "2"
    rest = _run(session_maker, remote, peer, db)
    assert rest.pulled == 3 and not rest.more
    assert remote.requests[1].url.params["next"] == "2"  # resumed where the cut-short run stopped
    assert sorted(p.stix_id for p in _pulled(db, peer)) == sorted(o["id"] for o in objects)


def test_a_newer_version_revises_the_pulled_item_and_a_revocation_withdraws_it(
    db: Session, session_maker: sessionmaker[Session], make_actor: Any
) -> None:
    from datetime import timedelta

    from signalfire.exchange.models import ItemStatus
    from tests.exchange.taxii.helpers import EPOCH, ts

    admin = make_actor()
    peer = _peer(db, admin)
    v1 = indicator(1, created_by_ref=REMOTE_ID)
    remote = Remote([v1])
    _run(session_maker, remote, peer, db)
    (first,) = _pulled(db, peer)
    v2 = {**v1, "modified": ts(EPOCH + timedelta(days=1)), "name": "Jailbreak prompt family 1, revised"}
    remote.objects = [v1, v2]
    _run(session_maker, remote, peer, db)
    second = next(p for p in _pulled(db, peer) if p.version != first.version)
    # The same item, now at version 2: a new version of an object is not another item.
    assert second.item_id == first.item_id
    item = db.get(ExchangeItem, first.item_id)
    assert item is not None
    db.refresh(item)
    assert (item.status, item.version) == (ItemStatus.PUBLISHED, 2)
    v3 = {**v1, "modified": ts(EPOCH + timedelta(days=2)), "revoked": True}
    remote.objects = [v1, v2, v3]
    _run(session_maker, remote, peer, db)
    db.refresh(item)
    assert item.status == ItemStatus.WITHDRAWN and item.withdrawn_reason == "revoked at the source"
    published = db.execute(
        select(func.count())
        .select_from(ExchangeItem)
        .where(ExchangeItem.org_id == peer.import_org_id, ExchangeItem.status == ItemStatus.PUBLISHED)
    ).scalar_one()
    assert published == 0


class StrictRemote(Remote):
    """Like a Signalfire hub: a `next` is bound to the query it was issued for (here, its added_after)."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        token = request.url.params.get("next")
        after = request.url.params.get("added_after") or ""
        if token is not None:
            position, _, issued_for = token.partition("@")
            if issued_for != after:
                self.requests.append(request)
                return httpx.Response(400, headers=TAXII, json={"title": "Bad next", "description": "another query"})
            request = httpx.Request("GET", request.url.copy_set_param("next", position), headers=request.headers)
        response = super().__call__(request)
        body = response.json()
        if "next" in body:
            body["next"] = f"{body['next']}@{after}"
        return httpx.Response(response.status_code, headers=response.headers, json=body)


def test_paging_keeps_the_query_its_next_was_issued_for_and_moves_the_cursor_at_the_end(
    db: Session, session_maker: sessionmaker[Session], make_actor: Any
) -> None:
    admin = make_actor()
    peer = _peer(db, admin)
    objects = [indicator(n, created_by_ref=REMOTE_ID) for n in range(5)]
    remote = StrictRemote(objects)
    result = _run(session_maker, remote, peer, db)
    assert (result.pages, result.pulled, result.errors) == (3, 5, [])
    assert [r.url.params.get("added_after") for r in remote.requests] == [None, None, None]
    collection = _collection(db, peer)
    db.refresh(collection)
    assert collection.added_after == "5" and collection.next_token is None
    remote.objects += [indicator(n, created_by_ref=REMOTE_ID) for n in range(5, 8)]
    again = _run(session_maker, remote, peer, db)
    assert (again.pulled, again.errors) == (3, [])
    assert [r.url.params.get("added_after") for r in remote.requests[3:]] == ["5", "5"]
    db.refresh(peer)
    assert peer.failing_since is None
