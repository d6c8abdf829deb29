"""Push: what may leave (a table written by hand from the issue), queueing on publish/revise/withdraw,
idempotency, delivery with retries, backoff and the dead-letter view, and encrypted credentials."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from signalfire.access.actor import Actor
from signalfire.core.settings import JobSettings
from signalfire.exchange import authoring
from signalfire.exchange.models import ItemRevision
from signalfire.exchange.vocab import AudienceKind as A
from signalfire.exchange.vocab import Tlp
from signalfire.federation import client as taxii_client
from signalfire.federation import crypto, push, service
from signalfire.federation.models import Direction, EventKind, Peer, PeerEvent, PushLedger, PushState
from signalfire.federation.rules import push_refusal
from signalfire.federation.schemas import CollectionIn, PeerIn
from signalfire.notify.models import JobStatus, OutboxJob
from signalfire.notify.transports import LogMailer
from signalfire.notify.worker import Worker
from tests.exchange import factories as xf

ORG_X, ORG_Y, ORG_Z = (
    "0000000a-0000-4000-8000-000000000001",
    "0000000a-0000-4000-8000-000000000002",
    "0000000a-0000-4000-8000-000000000003",
)

# (tlp, item audience kinds, item named orgs, collection audience, collection orgs, may it go?)
PUSH_TABLE: list[tuple[Tlp, list[A], list[str], A | None, list[str], bool]] = [
    (Tlp.CLEAR, [A.ALL_MEMBERS], [], A.ALL_MEMBERS, [], True),
    (Tlp.GREEN, [A.ALL_MEMBERS], [], A.ALL_MEMBERS, [], True),
    (Tlp.GREEN, [A.ALL_MEMBERS], [], A.GOVERNMENT_PARTNERS, [], False),
    (Tlp.GREEN, [A.ALL_MEMBERS, A.GOVERNMENT_PARTNERS], [], A.GOVERNMENT_PARTNERS, [], True),
    (Tlp.GREEN, [A.RESEARCHERS], [], A.ALL_MEMBERS, [], False),
    (Tlp.GREEN, [A.NAMED_ORGS], [ORG_X, ORG_Y], A.NAMED_ORGS, [ORG_X], True),
    (Tlp.GREEN, [A.NAMED_ORGS], [ORG_X], A.NAMED_ORGS, [ORG_X, ORG_Z], False),
    (Tlp.AMBER, [A.NAMED_ORGS], [ORG_X, ORG_Y], A.NAMED_ORGS, [ORG_X, ORG_Y], True),
    (Tlp.AMBER, [A.NAMED_ORGS], [ORG_X], A.NAMED_ORGS, [ORG_X], True),
    (Tlp.AMBER, [A.NAMED_ORGS], [ORG_X], A.NAMED_ORGS, [ORG_Y], False),
    (Tlp.AMBER, [A.ALL_MEMBERS], [], A.ALL_MEMBERS, [], False),
    (Tlp.AMBER, [A.ALL_MEMBERS, A.NAMED_ORGS], [ORG_X], A.ALL_MEMBERS, [], False),
    (Tlp.AMBER, [A.GOVERNMENT_PARTNERS], [], A.GOVERNMENT_PARTNERS, [], False),
    (Tlp.AMBER_STRICT, [A.NAMED_ORGS], [ORG_X], A.NAMED_ORGS, [ORG_X], False),
    (Tlp.AMBER_STRICT, [A.ALL_MEMBERS], [], A.ALL_MEMBERS, [], False),
    (Tlp.RED, [A.NAMED_PEOPLE], [], A.ALL_MEMBERS, [], False),
    (Tlp.RED, [A.NAMED_ORGS], [ORG_X], A.NAMED_ORGS, [ORG_X], False),
    (Tlp.GREEN, [A.NAMED_PEOPLE], [], A.ALL_MEMBERS, [], False),
    (Tlp.GREEN, [A.ALL_MEMBERS], [], None, [], False),
]


@pytest.mark.parametrize(("tlp", "kinds", "orgs", "audience", "limited", "goes"), PUSH_TABLE)
def test_push_rules_table(
    tlp: Tlp, kinds: list[A], orgs: list[str], audience: A | None, limited: list[str], goes: bool
) -> None:
    refusal = push_refusal(tlp, kinds, orgs, audience, limited)
    assert (refusal is None) is goes, refusal


def test_an_item_from_this_peer_is_never_sent_back() -> None:
    assert push_refusal(Tlp.GREEN, [A.ALL_MEMBERS], [], A.ALL_MEMBERS, [], from_this_peer=True) is not None


def test_credentials_are_stored_encrypted_and_need_the_same_secret_key() -> None:
    token = crypto.encrypt("sf_secret_value", secret_key="k" * 40)
    assert "sf_secret_value" not in token
    assert crypto.decrypt(token, secret_key="k" * 40) == "sf_secret_value"
    with pytest.raises(crypto.CredentialUnreadable):
        crypto.decrypt(token, secret_key="j" * 40)


# -- queueing ----------------------------------------------------------------------------------------------


def _peer(db: Session, admin: Actor, *, audience: A = A.ALL_MEMBERS, orgs: list[str] | None = None) -> Peer:
    peer = service.create_peer(
        db,
        admin,
        PeerIn(
            name=f"hub-{uuid.uuid4().hex[:6]}",
            discovery_url="http://hub.test/taxii2/",
            api_root_url="http://hub.test/taxii2/exchange/",
            secret="sf_hub_token",
            signalfire=audience is not A.NAMED_ORGS,  # only a plain TAXII server has named-orgs collections
        ),
    )
    service.set_collection(
        db,
        admin,
        peer.id,
        CollectionIn(
            remote_id="members",
            direction=Direction.BOTH,
            push_audience=audience,
            push_org_ids=[uuid.UUID(o) for o in orgs or []],
        ),
    )
    db.flush()
    return peer


def _ledger(db: Session, peer: Peer) -> list[PushLedger]:
    return list(
        db.execute(select(PushLedger).where(PushLedger.peer_id == peer.id).order_by(PushLedger.item_version)).scalars()
    )


def test_secret_is_not_stored_in_clear(db: Session, make_actor: Any) -> None:
    peer = _peer(db, make_actor())
    assert "sf_hub_token" not in peer.secret_encrypted
    assert crypto.decrypt(peer.secret_encrypted) == "sf_hub_token"


def test_publish_revise_withdraw_queue_one_push_each_in_the_same_transaction(db: Session, make_actor: Any) -> None:
    admin = make_actor()
    peer = _peer(db, admin)
    item = xf.published(db, admin)
    authoring.revise(db, admin, item.id, xf.item_in(title="Revised title for the campaign"), change_note="new IOC")
    authoring.withdraw(db, admin, item.id, "duplicate of another report")
    rows = _ledger(db, peer)
    assert [(r.item_version, r.change, r.state) for r in rows] == [
        (1, "published", PushState.PENDING),
        (2, "revised", PushState.PENDING),
        (3, "withdrawn", PushState.PENDING),
    ]
    jobs = db.execute(select(OutboxJob).where(OutboxJob.topic == push.TASK)).scalars().all()
    assert {j.payload["args"]["ledger_id"] for j in jobs} >= {str(r.id) for r in rows}


def test_red_and_amber_strict_never_queue(db: Session, make_actor: Any) -> None:
    admin = make_actor()
    other = make_actor()
    peer = _peer(db, admin)
    xf.published(db, admin, tlp=Tlp.AMBER_STRICT)
    xf.published(db, admin, tlp=Tlp.RED, audience=[A.NAMED_PEOPLE], audience_people=xf.people(other))
    assert _ledger(db, peer) == []


def test_amber_only_to_a_collection_limited_to_the_named_orgs(db: Session, make_actor: Any) -> None:
    admin = make_actor()
    named = make_actor()
    wide = _peer(db, admin)
    limited = _peer(db, admin, audience=A.NAMED_ORGS, orgs=[str(named.org_id)])
    xf.published(db, admin, tlp=Tlp.AMBER, audience=[A.NAMED_ORGS], audience_org_ids=[named.org_id])
    assert _ledger(db, wide) == []
    assert len(_ledger(db, limited)) == 1


def test_queueing_a_version_twice_is_a_no_op(db: Session, make_actor: Any) -> None:
    admin = make_actor()
    peer = _peer(db, admin)
    item = xf.published(db, admin)
    revision = db.execute(select(ItemRevision).where(ItemRevision.item_id == item.id)).scalar_one()
    assert push.queue_revision(db, item, revision, "published") == []
    assert len(_ledger(db, peer)) == 1


# -- delivery ----------------------------------------------------------------------------------------------


class FakePeer:
    """A TAXII server stand-in: answers each POST from a script of statuses, recording what it got."""

    def __init__(self, *answers: int) -> None:
        self.answers = list(answers)
        self.posts: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":  # a scheduled pull of the same collection: nothing there
            return httpx.Response(200, headers={"Content-Type": taxii_client.TAXII_ACCEPT}, json={"more": False})
        self.posts.append(request)
        code = self.answers.pop(0) if self.answers else 202
        if code != 202:
            return httpx.Response(code, json={"title": "nope", "description": f"status {code}"})
        body = json.loads(request.content)
        ids = [{"id": o["id"], "version": o.get("modified", "")} for o in body["objects"]]
        return httpx.Response(
            202,
            headers={"Content-Type": taxii_client.TAXII_ACCEPT},
            json={
                "id": str(uuid.uuid4()),
                "status": "complete",
                "total_count": len(ids),
                "success_count": len(ids),
                "failure_count": 0,
                "pending_count": 0,
                "successes": ids,
            },
        )


def _one_pending(db: Session, make_actor: Any) -> tuple[Peer, PushLedger]:
    admin = make_actor()
    peer = _peer(db, admin)
    xf.published(db, admin)
    db.commit()
    (ledger,) = _ledger(db, peer)
    return peer, ledger


def test_send_posts_the_objects_once_and_records_it(
    db: Session, session_maker: sessionmaker[Session], make_actor: Any
) -> None:
    peer, ledger = _one_pending(db, make_actor)
    fake = FakePeer(202)
    with taxii_client.use_transport(httpx.MockTransport(fake)):
        store = push.send(session_maker, ledger.id, max_attempts=3)
        store(db)
        db.commit()
        again = push.send(session_maker, ledger.id, max_attempts=3)  # settled: nothing is sent twice
        again(db)
    assert len(fake.posts) == 1
    sent = fake.posts[0]
    assert sent.url.path == "/taxii2/exchange/collections/members/objects/"
    assert sent.headers["X-Signalfire-Permitted-Uses"] == "threat_detection,safeguards"
    assert sent.headers["Authorization"] == "Bearer sf_hub_token"
    types = {o["type"] for o in json.loads(sent.content)["objects"]}
    assert "report" in types and "marking-definition" in types
    db.refresh(ledger)
    db.refresh(peer)
    assert ledger.state == PushState.SENT and ledger.sent_at is not None and ledger.stix_id.startswith("report--")
    assert peer.pushed_count == 1 and peer.last_success_at is not None


def test_transient_failures_retry_then_go_dead_and_an_admin_can_retry(
    db: Session, session_maker: sessionmaker[Session], make_actor: Any
) -> None:
    peer, ledger = _one_pending(db, make_actor)
    fake = FakePeer(503, 503, 202)
    with taxii_client.use_transport(httpx.MockTransport(fake)):
        with pytest.raises(taxii_client.PeerError):
            push.send(session_maker, ledger.id, max_attempts=2)
        db.refresh(ledger)
        db.refresh(peer)
        assert (ledger.state, ledger.attempts) == (PushState.PENDING, 1)
        assert peer.failing_since is not None and "HTTP 503" in (peer.last_error or "")
        push.send(session_maker, ledger.id, max_attempts=2)(db)  # the last attempt: dead, not raised
        db.commit()
        db.refresh(ledger)
        assert ledger.state == PushState.DEAD
        admin_dead = push.pending_for(db, peer.id)
        assert admin_dead == []
        push.retry_dead(db, ledger)
        db.commit()
        push.send(session_maker, ledger.id, max_attempts=2)(db)
    db.refresh(ledger)
    retried: PushState = ledger.state  # read again: the refresh changed it
    assert retried == PushState.SENT
    assert len(fake.posts) == 3


def test_a_refusal_by_the_peer_is_final_and_recorded_with_its_reason(
    db: Session, session_maker: sessionmaker[Session], make_actor: Any
) -> None:
    peer, ledger = _one_pending(db, make_actor)
    with taxii_client.use_transport(httpx.MockTransport(FakePeer(403))):
        push.send(session_maker, ledger.id, max_attempts=5)(db)
    db.refresh(ledger)
    db.refresh(peer)
    assert ledger.state == PushState.REFUSED and "HTTP 403" in (ledger.last_error or "")
    assert peer.refused_count == 1
    events = (
        db.execute(select(PeerEvent).where(PeerEvent.peer_id == peer.id, PeerEvent.kind == EventKind.PUSH_REFUSED))
        .scalars()
        .all()
    )
    assert len(events) == 1


def test_the_worker_sends_through_the_outbox_with_backoff(
    db: Session, session_maker: sessionmaker[Session], make_actor: Any
) -> None:
    _peer_row, ledger = _one_pending(db, make_actor)
    fake = FakePeer(500)
    worker = Worker(session_maker, settings=JobSettings(backoff_base_seconds=60), mailer=LogMailer())
    with taxii_client.use_transport(httpx.MockTransport(fake)):
        worker.drain()
        job = db.execute(select(OutboxJob).where(OutboxJob.topic == push.TASK)).scalar_one()
        db.refresh(job)
        assert job.status == JobStatus.pending and job.attempts == 1 and "HTTP 500" in (job.last_error or "")
        assert job.run_after > job.created_at  # backed off, not retried at once
        worker.drain()
        assert len(fake.posts) == 1  # still waiting for its backoff
        job.run_after = job.created_at
        db.commit()
        worker.drain()
    db.refresh(ledger)
    assert ledger.state == PushState.SENT and len(fake.posts) == 2


def test_a_plain_taxii_server_gets_no_extension_definitions(
    db: Session, session_maker: sessionmaker[Session], make_actor: Any
) -> None:
    peer, ledger = _one_pending(db, make_actor)
    peer.signalfire = False
    db.commit()
    fake = FakePeer(202)
    with taxii_client.use_transport(httpx.MockTransport(fake)):
        push.send(session_maker, ledger.id, max_attempts=3)(db)
    ids = [o["id"] for o in json.loads(fake.posts[0].content)["objects"]]
    assert ids and not [i for i in ids if i.startswith("extension-definition--")]
    assert any(i.startswith("report--") for i in ids)


def test_a_sync_now_sends_dead_rows_again_and_its_failures_use_no_attempts(
    db: Session, session_maker: sessionmaker[Session], make_actor: Any
) -> None:
    from signalfire.federation.sync import sync_peer

    peer, ledger = _one_pending(db, make_actor)
    with taxii_client.use_transport(httpx.MockTransport(FakePeer(503, 503, 503))):
        for _ in range(3):  # an admin polling a peer that is still down
            out = sync_peer(session_maker, None, peer.id, push_only=True)
            assert out.pushed == 0 and out.push_failed == 1
    db.refresh(ledger)
    assert ledger.state == PushState.PENDING and ledger.attempts == 0
    ledger.state = PushState.DEAD
    db.commit()
    fake = FakePeer(202)
    with taxii_client.use_transport(httpx.MockTransport(fake)):
        out = sync_peer(session_maker, None, peer.id, push_only=True)
    db.refresh(ledger)
    assert out.pushed == 1 and ledger.state == PushState.SENT and len(fake.posts) == 1


def test_when_a_failing_peer_answers_again_its_dead_pushes_are_queued_again(db: Session, make_actor: Any) -> None:
    from signalfire.federation.health import note_failure, note_success

    peer, ledger = _one_pending(db, make_actor)
    note_failure(db, peer, EventKind.PUSH_FAILED, "connection refused")
    ledger.state = PushState.DEAD
    db.flush()
    jobs_before = len(db.execute(select(OutboxJob).where(OutboxJob.topic == push.TASK)).scalars().all())
    note_success(db, peer)
    db.flush()
    db.refresh(ledger)
    assert ledger.state == PushState.PENDING and ledger.attempts == 0
    jobs = db.execute(select(OutboxJob).where(OutboxJob.topic == push.TASK)).scalars().all()
    assert len(jobs) == jobs_before + 1


def test_a_signalfire_peer_cannot_take_a_named_orgs_push(db: Session, make_actor: Any) -> None:
    from signalfire.core.errors import ValidationFailed

    admin = make_actor()
    peer = _peer(db, admin)
    with pytest.raises(ValidationFailed):
        service.set_collection(
            db,
            admin,
            peer.id,
            CollectionIn(
                remote_id="x", direction=Direction.PUSH, push_audience=A.NAMED_ORGS, push_org_ids=[admin.org_id]
            ),
        )
