"""The sequencer's pass, its lease and its loop, and the exact bytes an entry contributes to the tree.

Leaf bytes and hashes are rebuilt here from the stored row by the rule written in `audit.chain`'s
docstring (sorted keys, no spaces, UTF-8, every stored field and the position), and the tree from the
RFC 9162 definition, not by calling the code under test.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any

import pytest
import time_machine
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind, Role
from signalfire.audit import chain
from signalfire.audit.chain import AUDITED_KEY, jsonable, record
from signalfire.audit.models import AuditCheckpoint, AuditCosignature, AuditEvent, AuditTree, AuditWitness
from signalfire.audit.note import Signer, parse_checkpoint_text, parse_note, verify_note
from signalfire.audit.sequencer import Sequencer, integrate, start_thread
from signalfire.core.db.session import make_engine, session_factory
from signalfire.core.request_context import request_id_var
from tests.conftest import make_settings
from tests.typed import table_of

ORIGIN = "seq.example/log"
LOG = Signer(ORIGIN, bytes(range(32)))
NOW = datetime(2026, 12, 6, 12, 0, 0, 123456, tzinfo=UTC)


def _sha(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def _mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return _sha(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return _sha(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:]))


def _expected_leaf(row: AuditEvent, index: int) -> bytes:
    content = {
        "v": 1,
        "index": index,
        "seq": row.seq,
        "id": str(row.id),
        "occurred_at": row.occurred_at.isoformat(),
        "actor_user_id": None if row.actor_user_id is None else str(row.actor_user_id),
        "actor_label": row.actor_label,
        "org_id": None if row.org_id is None else str(row.org_id),
        "action": row.action,
        "target_type": row.target_type,
        "target_id": row.target_id,
        "summary": row.summary,
        "request_id": row.request_id,
        "legacy_hash": row.legacy_hash,
    }
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return _sha(b"\x00" + text.encode("utf-8"))


@pytest.fixture()
def empty(db: Session) -> Session:
    for model in (AuditCosignature, AuditWitness, AuditCheckpoint, AuditEvent, AuditTree):
        db.execute(delete(model))
    db.flush()
    return db


def _rows(db: Session) -> list[AuditEvent]:
    db.expire_all()
    return list(db.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars())


def _tree(db: Session) -> AuditTree:
    db.expire_all()
    return db.execute(select(AuditTree)).scalar_one()


def _checkpoints(db: Session) -> list[AuditCheckpoint]:
    db.expire_all()
    return list(db.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.size)).scalars())


def _integrate(db: Session, holder: str = "h", **kw: Any) -> int | None:
    n = integrate(db, signer=LOG, origin=ORIGIN, holder=holder, **kw)
    db.flush()
    return n


def test_a_pass_positions_hashes_and_signs(empty: Session) -> None:
    db = empty
    actor = Actor(
        user_id=uuid.uuid4(), display_name="Ada", email="ada@example.org", org_id=uuid.uuid4(), org_name="Org",
        org_kind=OrgKind.researcher, role=Role.admin, permissions=frozenset(), via="token",
    )  # fmt: skip
    with time_machine.travel(NOW, tick=False):
        token = request_id_var.set("req-1")
        try:
            record(db, action="t.one", target_type="thing", target_id=7, summary={"é": "ü", "n": 1}, actor=actor)
        finally:
            request_id_var.reset(token)
        record(db, action="t.two", target_type="thing", actor_label="cron", org_id=actor.org_id)
        record(db, action="t.three", target_type="thing", target_id="x", actor=actor, actor_label="as someone")
        db.flush()
        assert _integrate(db) == 3
    rows = _rows(db)
    assert [r.leaf_index for r in rows] == [0, 1, 2]
    leaves = [_expected_leaf(r, i) for i, r in enumerate(rows)]
    assert [r.leaf_hash for r in rows] == [h.hex() for h in leaves]
    # What record stored, field by field.
    one, two, three = rows
    assert (one.occurred_at.replace(tzinfo=UTC) if one.occurred_at.tzinfo is None else one.occurred_at) == NOW
    assert (one.actor_user_id, one.org_id) == (actor.user_id, actor.org_id)
    assert one.actor_label == "Ada <ada@example.org> (Org)"
    assert (one.target_id, one.summary, one.request_id) == ("7", {"é": "ü", "n": 1}, "req-1")
    assert (two.actor_user_id, two.actor_label, two.org_id, two.target_id) == (None, "cron", actor.org_id, None)
    assert (two.summary, two.request_id, two.legacy_hash) == ({}, None, None)
    assert (three.actor_label, three.org_id) == ("as someone", actor.org_id)
    tree = _tree(db)
    root = _mth(leaves)
    assert (tree.size, tree.root_hash) == (3, root.hex())
    assert tree.compact == [_sha(b"\x01" + leaves[0] + leaves[1]).hex(), leaves[2].hex()]
    assert tree.lease_holder == "h"
    (cp,) = _checkpoints(db)
    note = parse_note(cp.note)
    assert parse_checkpoint_text(note.text).origin == ORIGIN
    assert note.text == f"{ORIGIN}\n3\n{base64.b64encode(root).decode()}\n"
    assert verify_note(note, LOG.verifier)
    assert (cp.size, cp.root_hash, cp.key_id) == (3, root.hex(), LOG.verifier.id.hex())


def test_unicode_is_hashed_as_utf8_not_escaped(empty: Session) -> None:
    db = empty
    record(db, action="t", target_type="thing", summary={"name": "Zoë"})
    _integrate(db)
    (row,) = _rows(db)
    data = chain.leaf_data(chain.raw_entry(db.execute(chain.raw_entries()).one()), 0)
    assert '"summary":{"name":"Zoë"}'.encode() in data
    assert row.leaf_hash == _expected_leaf(row, 0).hex()


def test_batches_and_the_growing_tree(empty: Session) -> None:
    db = empty
    for i in range(5):
        record(db, action=f"t.{i}", target_type="thing")
    db.flush()
    with time_machine.travel(NOW, tick=False):
        assert _integrate(db, batch=3) == 3
    assert [cp.size for cp in _checkpoints(db)] == [3]
    assert _checkpoints(db)[0].created_at.replace(tzinfo=UTC) == NOW
    assert _integrate(db, batch=3) == 2
    assert _integrate(db, batch=3) == 0  # nothing pending and a checkpoint exists: nothing written
    assert [cp.size for cp in _checkpoints(db)] == [3, 5]
    rows = _rows(db)
    assert [r.leaf_index for r in rows] == [0, 1, 2, 3, 4]
    leaves = [bytes.fromhex(r.leaf_hash or "") for r in rows]
    assert _tree(db).root_hash == _mth(leaves).hex()
    assert [cp.root_hash for cp in _checkpoints(db)] == [_mth(leaves[:3]).hex(), _mth(leaves).hex()]


def test_the_first_pass_signs_the_empty_tree(empty: Session) -> None:
    db = empty
    assert _integrate(db) == 0
    (cp,) = _checkpoints(db)
    assert (cp.size, cp.root_hash) == (0, _sha(b"").hex())
    tree = _tree(db)
    assert (tree.id, tree.size, tree.root_hash, tree.compact) == (1, 0, _sha(b"").hex(), [])
    assert _integrate(db) == 0
    assert len(_checkpoints(db)) == 1


def test_the_lease(empty: Session) -> None:
    db = empty
    with time_machine.travel(NOW, tick=False):
        assert _integrate(db, holder="a") == 0  # the default lease: 30 seconds
        tree = _tree(db)
        assert tree.lease_holder == "a"
        assert tree.lease_until is not None
        assert tree.lease_until.replace(tzinfo=UTC) == NOW + timedelta(seconds=30)
        record(db, action="t", target_type="thing")
        assert _integrate(db, holder="b") is None  # a holds it
        assert _integrate(db, holder="a", lease_seconds=10) == 1  # the holder renews
        assert _tree(db).lease_until.replace(tzinfo=UTC) == NOW + timedelta(seconds=10)  # type: ignore[union-attr]
    with time_machine.travel(NOW + timedelta(seconds=10, microseconds=-1), tick=False):
        assert _integrate(db, holder="b") is None  # one microsecond before it runs out
    with time_machine.travel(NOW + timedelta(seconds=10), tick=False):
        assert _integrate(db, holder="b") == 0  # a lease is held up to, not including, its end
        assert _tree(db).lease_holder == "b"
    db.execute(update(AuditTree).values(lease_holder="c", lease_until=None))
    assert _integrate(db, holder="b") == 0  # a holder without an expiry holds nothing
    db.execute(update(AuditTree).values(lease_holder=None, lease_until=NOW + timedelta(days=1)))
    assert _integrate(db, holder="b") == 0


@pytest.fixture()
def factory(session_maker: sessionmaker[Session], empty: Session) -> sessionmaker[Session]:
    empty.commit()
    return session_maker


@pytest.fixture()
def threaded(fresh_db: str) -> Iterator[sessionmaker[Session]]:
    """A database of its own: the loop's thread opens its own connections."""
    engine = make_engine(fresh_db)
    yield session_factory(engine)
    engine.dispose()


def _settings(**audit: Any) -> Any:
    return make_settings(audit={"signing_key": LOG.skey, "origin": ORIGIN, **audit})


def test_the_sequencer_object(factory: sessionmaker[Session]) -> None:
    seq = Sequencer(factory, _settings(sequencer_batch=2))
    assert seq.signer == LOG
    assert seq.origin == ORIGIN
    host, pid, tag = seq.holder.split(":")
    assert host and pid.isdigit() and len(tag) == 6
    assert Sequencer(factory, _settings(), holder="x").holder == "x"
    assert Sequencer(factory, _settings()).holder != seq.holder
    with factory.begin() as s:
        for i in range(5):
            record(s, action=f"t.{i}", target_type="thing")
    assert seq.drain() == 5
    with factory() as s:
        assert [cp.size for cp in _checkpoints(s)] == [2, 4, 5]  # batches of the configured size
        assert _tree(s).lease_holder is None  # released after the drain
    assert seq.run_once() == 0
    assert seq.drain() == 0


def test_an_idle_pass_takes_no_lease(factory: sessionmaker[Session]) -> None:
    seq = Sequencer(factory, _settings(), holder="idle")
    assert seq.run_once() == 0  # the first pass signs the empty tree, under the lease
    with factory() as s:
        assert _tree(s).lease_holder == "idle"
    seq.release()
    assert seq.run_once() == 0
    with factory() as s:
        assert _tree(s).lease_holder is None


def test_release_gives_up_only_its_own_lease(factory: sessionmaker[Session]) -> None:
    a, b = Sequencer(factory, _settings(), holder="a"), Sequencer(factory, _settings(), holder="b")
    assert a.run_once() == 0
    b.release()
    with factory() as s:
        assert (_tree(s).lease_holder, _tree(s).lease_until is not None) == ("a", True)
    a.release()
    with factory() as s:
        assert (_tree(s).lease_holder, _tree(s).lease_until) == (None, None)


def test_a_drain_blocked_by_another_holder_keeps_its_hands_off(factory: sessionmaker[Session]) -> None:
    a, b = Sequencer(factory, _settings(), holder="a"), Sequencer(factory, _settings(), holder="b")
    assert a.run_once() == 0
    with factory.begin() as s:
        record(s, action="t", target_type="thing")
    assert b.drain() == 0
    with factory() as s:
        assert _tree(s).lease_holder == "a"


def test_release_failures_are_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> Session:
        raise RuntimeError("database gone")

    seq = Sequencer(broken, _settings(), holder="x")  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR, logger="signalfire.audit.sequencer"):
        seq.release()
    assert [r.getMessage() for r in caplog.records] == ["could not release the sequencer lease"]


def test_the_loop_integrates_until_stopped(threaded: sessionmaker[Session], caplog: pytest.LogCaptureFixture) -> None:
    factory = threaded
    seq = Sequencer(factory, _settings(sequencer_interval_seconds=0.01), holder="loop")
    calls: list[int | None] = []
    real = seq.run_once

    def run_once() -> int | None:
        if not calls:
            calls.append(None)
            raise RuntimeError("database briefly unavailable")
        n = real()
        calls.append(n)
        return n

    seq.run_once = run_once  # type: ignore[method-assign]
    with factory.begin() as s:
        record(s, action="t", target_type="thing")
    stop = threading.Event()
    with caplog.at_level(logging.INFO, logger="signalfire.audit.sequencer"):
        thread = threading.Thread(target=seq.run_forever, args=(stop,))
        thread.start()
        deadline = time.monotonic() + 10
        while len(calls) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert calls[:3] == [None, 1, 0]  # the error did not end the loop
    assert "audit sequencer error" in caplog.text
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == f"audit sequencer {seq.holder} started"
    assert "audit sequencer error" in messages
    assert messages[-1] == f"audit sequencer {seq.holder} stopped"
    with factory() as s:
        assert _tree(s).lease_holder is None  # released on the way out


def test_a_full_batch_is_followed_at_once(threaded: sessionmaker[Session]) -> None:
    """After a full batch the loop goes on without waiting; otherwise it waits the interval."""
    factory = threaded
    seq = Sequencer(factory, _settings(sequencer_batch=1, sequencer_interval_seconds=30), holder="f")
    with factory.begin() as s:
        for i in range(3):
            record(s, action=f"t.{i}", target_type="thing")
    stop = threading.Event()
    thread = threading.Thread(target=seq.run_forever, args=(stop,))
    thread.start()
    deadline = time.monotonic() + 10
    done = False
    while time.monotonic() < deadline and not done:
        with factory() as s:
            done = s.execute(select(AuditEvent).where(AuditEvent.leaf_index.is_(None))).first() is None
        time.sleep(0.02)
    stop.set()
    thread.join(10)
    assert done  # three batches of one within seconds, though the interval is 30 s


def test_start_thread(factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[sessionmaker[Session]] = []

    def run_forever(self: Sequencer, stop: threading.Event) -> None:
        seen.append(self.factory)
        stop.wait(10)

    monkeypatch.setattr(Sequencer, "run_forever", run_forever)
    stop, thread = start_thread(factory, _settings())
    assert thread.name == "signalfire-audit-sequencer"
    assert thread.daemon
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    assert seen == [factory]


class Colour(Enum):
    RED = "red"


def test_summaries_are_stored_as_json(empty: Session) -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    u = uuid.UUID(int=5)
    out = jsonable(
        {
            "when": when,
            "day": date(2026, 1, 2),
            "id": u,
            "colour": Colour.RED,
            "set": {"b", "a", "c"},
            "letters": set("signalfire audit"),
            "mixed": {10, "9", 8},  # ordered by their text, so mixed types still sort
            "frozen": frozenset({2, 1}),
            "tuple": (3, 1),
            "nested": {"x": [u]},
        }
    )
    assert out == {
        "when": "2026-01-02T03:04:05+00:00",
        "day": "2026-01-02",
        "id": "00000000-0000-0000-0000-000000000005",
        "colour": "red",
        "set": ["a", "b", "c"],
        "letters": [" ", "a", "d", "e", "f", "g", "i", "l", "n", "r", "s", "t", "u"],
        "mixed": [10, 8, "9"],
        "frozen": [1, 2],
        "tuple": [3, 1],
        "nested": {"x": ["00000000-0000-0000-0000-000000000005"]},
    }
    with pytest.raises(TypeError, match="not JSON serialisable in audit summary: object"):
        jsonable({"x": object()})
    with pytest.raises(TypeError, match="bytes"):
        jsonable({"x": b"raw"})
    record(empty, action="t", target_type="thing", summary={"id": u})
    assert empty.info[AUDITED_KEY] is True
    assert _rows(empty)[0].summary == {"id": str(u)}


def test_record_flushes_what_the_caller_has_pending(empty: Session) -> None:
    from signalfire.access.models import Organization

    org = Organization(id=uuid.uuid4(), slug=f"o-{uuid.uuid4().hex[:8]}", name="Org", kind=OrgKind.researcher)
    empty.add(org)
    with empty.no_autoflush:  # even where autoflush is off (a caller inside no_autoflush), record flushes
        event = record(empty, action="t", target_type="thing")
    # The organisation was flushed before the entry was written (a Core INSERT: the entry itself is never
    # pending in the session), so nothing is left for the commit to write.
    assert list(empty.new) == []
    assert event.seq is not None


def test_the_tree_row_is_read_afresh_under_the_lock(empty: Session) -> None:
    """A session that loaded the tree earlier must still see a lease taken since (the row is re-read)."""
    db = empty
    assert _integrate(db, holder="a", lease_seconds=0) == 0
    held = db.execute(select(AuditTree)).scalar_one()  # in the session's identity map (kept alive here)
    db.connection().execute(
        update(table_of(AuditTree)).values(lease_holder="b", lease_until=datetime.now(UTC) + timedelta(days=1))
    )  # behind the ORM's back, as another process would
    assert integrate(db, signer=LOG, origin=ORIGIN, holder="a") is None
    assert held.lease_holder == "b"


def test_the_configured_lease_length(factory: sessionmaker[Session]) -> None:
    seq = Sequencer(factory, _settings(sequencer_lease_seconds=5), holder="x")
    with time_machine.travel(NOW, tick=False):
        assert seq.run_once() == 0
    with factory() as s:
        until = _tree(s).lease_until
        assert until is not None
        assert until.replace(tzinfo=UTC) == NOW + timedelta(seconds=5)


@pytest.mark.parametrize("outcome", ["error", 1, 0])
def test_the_loop_waits_after_an_error_or_a_partial_batch(outcome: object) -> None:
    """Only a full batch is followed at once; an error, an idle pass or a partial batch waits the interval."""
    seq = Sequencer(None, _settings(sequencer_batch=2, sequencer_interval_seconds=30), holder="w")  # type: ignore[arg-type]
    calls: list[int] = []

    def run_once() -> int | None:
        calls.append(1)
        if outcome == "error":
            raise RuntimeError("down")
        return outcome  # type: ignore[return-value]

    seq.run_once = run_once  # type: ignore[method-assign]
    seq.release = lambda: None  # type: ignore[method-assign]
    stop = threading.Event()
    thread = threading.Thread(target=seq.run_forever, args=(stop,))
    thread.start()
    time.sleep(0.3)
    stop.set()
    thread.join(10)
    assert len(calls) == 1


def test_after_an_error_a_batch_of_one_still_waits() -> None:
    seq = Sequencer(None, _settings(sequencer_batch=1, sequencer_interval_seconds=30), holder="w")  # type: ignore[arg-type]
    calls: list[int] = []

    def run_once() -> int | None:
        calls.append(1)
        raise RuntimeError("down")

    seq.run_once = run_once  # type: ignore[method-assign]
    seq.release = lambda: None  # type: ignore[method-assign]
    stop = threading.Event()
    thread = threading.Thread(target=seq.run_forever, args=(stop,))
    thread.start()
    time.sleep(0.3)
    stop.set()
    thread.join(10)
    assert len(calls) == 1


def test_the_default_batch_is_5000(empty: Session) -> None:
    rows = [
        {"id": uuid.uuid4(), "occurred_at": NOW, "actor_label": "system", "action": "t", "target_type": "thing",
         "summary": {}}
        for _ in range(5001)
    ]  # fmt: skip
    empty.execute(insert(AuditEvent), rows)
    assert _integrate(empty) == 5000
    assert _integrate(empty) == 1
