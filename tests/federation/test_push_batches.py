"""Push in batches: the job of one pending row sends every pending row of its peer collection (up to a
limit) in one TAXII envelope, and each row is settled on its own from the status resource.

Expected answers are written from the rules (one envelope, oldest version of an item first, one set of
permitted uses per envelope, a refused object refuses its row only), not read back from the code.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from signalfire.exchange import authoring
from signalfire.exchange.models import ExchangeItem
from signalfire.exchange.vocab import CoveredUse
from signalfire.federation import client as taxii_client
from signalfire.federation import push
from signalfire.federation.models import EventKind, Peer, PeerEvent, PushLedger, PushState
from signalfire.notify.models import OutboxJob
from tests.exchange import factories as xf
from tests.federation.test_rules_and_push import _ledger, _peer


class BatchPeer:
    """A TAXII server stand-in that takes every object except the reports it is told to refuse."""

    def __init__(self, refuse: set[str] | None = None) -> None:
        self.refuse = refuse or set()
        self.posts: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.posts.append({"objects": body["objects"], "uses": request.headers.get("X-Signalfire-Permitted-Uses")})
        keys = [{"id": o["id"], "version": o.get("modified", "")} for o in body["objects"]]
        failures = [dict(k, message="no thanks") for k in keys if k["id"] in self.refuse]
        successes = [k for k in keys if k["id"] not in self.refuse]
        return httpx.Response(
            202,
            headers={"Content-Type": taxii_client.TAXII_ACCEPT},
            json={
                "id": str(uuid.uuid4()),
                "status": "complete",
                "total_count": len(keys),
                "success_count": len(successes),
                "failure_count": len(failures),
                "pending_count": 0,
                "successes": successes,
                "failures": failures,
            },
        )

    def reports(self, post: int) -> list[tuple[str, str]]:
        return [(o["id"], o["modified"]) for o in self.posts[post]["objects"] if o["type"] == "report"]


def _report(item: ExchangeItem) -> str:
    return f"report--{item.id}"


def _states(db: Session, peer: Peer) -> dict[tuple[uuid.UUID, int], PushState]:
    db.expire_all()
    return {(r.item_id, r.item_version): r.state for r in _ledger(db, peer)}


def _row(db: Session, peer: Peer, item: ExchangeItem, version: int) -> PushLedger:
    return db.execute(
        select(PushLedger).where(
            PushLedger.peer_id == peer.id, PushLedger.item_id == item.id, PushLedger.item_version == version
        )
    ).scalar_one()


def test_one_job_sends_the_collection_in_one_envelope_oldest_version_first(
    db: Session, session_maker: sessionmaker[Session], make_actor: Any
) -> None:
    admin = make_actor()
    peer = _peer(db, admin)
    a, b, c = (xf.published(db, admin) for _ in range(3))
    authoring.revise(db, admin, a.id, xf.item_in(title="Revised title for the campaign"), change_note="new IOC")
    db.commit()
    fake = BatchPeer()
    with taxii_client.use_transport(httpx.MockTransport(fake)):
        push.send(session_maker, _row(db, peer, b, 1).id, max_attempts=3)(db)
        db.commit()
        assert len(fake.posts) == 1
        first = fake.posts[0]
        assert {i for i, _ in fake.reports(0)} == {_report(a), _report(b), _report(c)}  # a's v2 waits
        ids = [(o["id"], o.get("modified")) for o in first["objects"]]
        assert len(ids) == len(set(ids))  # shared identities and markings once
        assert _states(db, peer) == {
            (a.id, 1): PushState.SENT,
            (a.id, 2): PushState.PENDING,
            (b.id, 1): PushState.SENT,
            (c.id, 1): PushState.SENT,
        }
        for item in (a, b, c):  # their own jobs find them settled: nothing sent twice
            push.send(session_maker, _row(db, peer, item, 1).id, max_attempts=3)(db)
        assert len(fake.posts) == 1
        push.send(session_maker, _row(db, peer, a, 2).id, max_attempts=3)(db)
        db.commit()
    assert len(fake.posts) == 2 and [i for i, _ in fake.reports(1)] == [_report(a)]
    assert fake.reports(1)[0][1] > dict(fake.reports(0))[_report(a)]  # the later version, after the first
    assert set(_states(db, peer).values()) == {PushState.SENT}
    db.refresh(peer)
    assert peer.pushed_count == 4


def test_a_refused_object_refuses_its_own_row_only(
    db: Session, session_maker: sessionmaker[Session], make_actor: Any
) -> None:
    admin = make_actor()
    peer = _peer(db, admin)
    good, bad = xf.published(db, admin), xf.published(db, admin)
    db.commit()
    fake = BatchPeer(refuse={_report(bad)})
    with taxii_client.use_transport(httpx.MockTransport(fake)):
        push.send(session_maker, _row(db, peer, good, 1).id, max_attempts=3)(db)
        db.commit()
    assert len(fake.posts) == 1
    assert _states(db, peer) == {(good.id, 1): PushState.SENT, (bad.id, 1): PushState.REFUSED}
    refused = _row(db, peer, bad, 1)
    assert refused.last_error is not None and "no thanks" in refused.last_error and _report(bad) in refused.last_error
    db.refresh(peer)
    assert peer.pushed_count == 1 and peer.refused_count == 1
    events = db.execute(
        select(PeerEvent).where(PeerEvent.peer_id == peer.id, PeerEvent.kind == EventKind.PUSH_REFUSED)
    ).scalars()
    assert [e.detail["item_id"] for e in events] == [str(bad.id)]


def test_an_envelope_declares_one_set_of_permitted_uses_and_has_a_size_limit(
    db: Session, session_maker: sessionmaker[Session], make_actor: Any
) -> None:
    admin = make_actor()
    peer = _peer(db, admin)
    usual = [xf.published(db, admin) for _ in range(3)]
    other = xf.published(db, admin, permitted_uses=[CoveredUse.SAFETY_RESEARCH])
    db.commit()
    fake = BatchPeer()
    with taxii_client.use_transport(httpx.MockTransport(fake)):
        push.send(session_maker, _row(db, peer, usual[0], 1).id, max_attempts=3, batch_size=2)(db)
        db.commit()
        assert fake.reports(0) and {i for i, _ in fake.reports(0)} == {_report(usual[0]), _report(usual[1])}
        push.send(session_maker, _row(db, peer, other, 1).id, max_attempts=3)(db)
        db.commit()
        assert [i for i, _ in fake.reports(1)] == [_report(other)]
        assert fake.posts[1]["uses"] == "safety_research"
        push.send(session_maker, _row(db, peer, usual[2], 1).id, max_attempts=3)(db)
    assert fake.posts[2]["uses"] == "threat_detection,safeguards"
    assert [i for i, _ in fake.reports(2)] == [_report(usual[2])]


def test_a_later_version_waits_for_the_earlier_and_its_job_runs_again(
    db: Session, session_maker: sessionmaker[Session], make_actor: Any
) -> None:
    admin = make_actor()
    peer = _peer(db, admin)
    item = xf.published(db, admin)
    authoring.revise(db, admin, item.id, xf.item_in(title="Revised title for the campaign"), change_note="new IOC")
    db.commit()
    later = _row(db, peer, item, 2)
    fake = BatchPeer()
    with taxii_client.use_transport(httpx.MockTransport(fake)):
        push.send(session_maker, later.id, max_attempts=3)(db)  # the job of v2 runs first
        db.commit()
    (sent,) = [datetime.fromisoformat(v) for _, v in fake.reports(0)]
    assert sent == datetime.fromisoformat(_row(db, peer, item, 1).stix_version)  # v1, not v2
    assert _states(db, peer) == {(item.id, 1): PushState.SENT, (item.id, 2): PushState.PENDING}
    follow_ups = [
        j
        for j in db.execute(select(OutboxJob).where(OutboxJob.topic == push.TASK)).scalars()
        if j.payload["args"]["ledger_id"] == str(later.id)
    ]
    assert len(follow_ups) == 2  # the first job, and one more for v2 after v1
