"""Reading the log from outside (checkpoints, inclusion and consistency proofs) and the app-wide read audit.

Proofs are checked with the RFC 9162 definitions written out in tests/audit/test_merkle_vectors.py, and
the leaf bytes against the stored row, not with the functions that produced them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from starlette.requests import Request

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind, Role
from signalfire.access.permissions import Permission
from signalfire.audit import service
from signalfire.audit.chain import AUDITED_KEY, record
from signalfire.audit.models import AuditCheckpoint, AuditCosignature, AuditEvent, AuditTree, AuditWitness
from signalfire.audit.note import ALG_COSIGNATURE, Signer, Verifier, cosign, parse_note
from signalfire.audit.reads import AUDITED, audit_detail_reads
from signalfire.audit.sequencer import integrate
from signalfire.core.errors import NotFound, ValidationFailed
from tests.conftest import make_settings

ORIGIN = "svc.example/log"
LOG = Signer(ORIGIN, bytes(range(32)))
ORG = uuid.UUID(int=1)


def _exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


def _actor(*permissions: Permission, org: uuid.UUID = ORG) -> Actor:
    return Actor(
        user_id=uuid.uuid4(), display_name="Ada", email="ada@example.org", org_id=org, org_name="Org",
        org_kind=OrgKind.researcher, role=Role.admin, permissions=frozenset(permissions), via="token",
    )  # fmt: skip


@pytest.fixture()
def logdb(db: Session) -> Session:
    for model in (AuditCosignature, AuditWitness, AuditCheckpoint, AuditEvent, AuditTree):
        db.execute(delete(model))
    for batch in (range(0, 3), range(3, 7)):
        for i in batch:
            record(db, action="t", target_type="thing", target_id=str(i), summary={"n": i}, org_id=ORG)
        integrate(db, signer=LOG, origin=ORIGIN, holder="t", lease_seconds=0)
        db.flush()
    return db


def _hashes(db: Session) -> list[bytes]:
    hashes: list[bytes] = []
    for h in db.execute(select(AuditEvent.leaf_hash).order_by(AuditEvent.leaf_index)).scalars():
        assert h is not None  # every entry here is sequenced
        hashes.append(bytes.fromhex(h))
    return hashes


def _witness(db: Session, name: str, at: datetime, size: int) -> str:
    s = Signer(name, hashlib.sha256(name.encode()).digest())
    w = AuditWitness(name=name, vkey=Verifier(name, s.verifier.public, ALG_COSIGNATURE).vkey, created_at=at)
    db.add(w)
    db.flush()
    cp = db.get(AuditCheckpoint, size)
    assert cp is not None
    line = cosign(parse_note(cp.note).text, s, 1_800_000_000).line
    db.add(AuditCosignature(witness_id=w.id, checkpoint_size=size, line=line, cosigned_at=at))
    db.flush()
    return line


def _same_instant(a: datetime, b: datetime) -> bool:
    return (a if a.tzinfo else a.replace(tzinfo=UTC)) == b


def test_checkpoints_with_their_cosignatures(logdb: Session) -> None:
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    # Stored in neither name nor time order, so both orderings are visible.
    late = _witness(logdb, "z-late.example", t0 + timedelta(hours=1), 7)
    early = _witness(logdb, "a-early.example", t0, 7)
    _witness(logdb, "c-other.example", t0, 3)
    cp = service.latest_checkpoint(logdb)
    assert cp is not None and cp.size == 7
    assert service.checkpoint_with_cosignatures(logdb, cp) == cp.note + early + late  # by the time they came
    out = service.checkpoint_out(logdb, cp)
    assert set(out) == {"size", "root_hash", "created_at", "key_id", "note", "cosignatures"}
    assert (out["size"], out["root_hash"], out["key_id"], out["note"]) == (7, cp.root_hash, cp.key_id, cp.note)
    assert datetime.fromisoformat(out["created_at"]) == cp.created_at
    assert [c["witness"] for c in out["cosignatures"]] == ["a-early.example", "z-late.example"]  # by name
    assert [c["line"] for c in out["cosignatures"]] == [early, late]
    assert _same_instant(datetime.fromisoformat(out["cosignatures"][1]["cosigned_at"]), t0 + timedelta(hours=1))
    cp3 = logdb.get(AuditCheckpoint, 3)
    assert cp3 is not None
    assert [c["witness"] for c in service.checkpoint_out(logdb, cp3)["cosignatures"]] == ["c-other.example"]


def test_no_checkpoint_yet(logdb: Session) -> None:
    logdb.execute(delete(AuditCheckpoint))
    assert service.latest_checkpoint(logdb) is None
    with pytest.raises(NotFound, match=_exactly("no signed checkpoint of that size")):
        service.inclusion(logdb, service.EntryRef(index=0))


def test_entry_references() -> None:
    assert service.parse_entry_ref("12") == service.EntryRef(index=12)
    u = uuid.uuid4()
    assert service.parse_entry_ref(str(u)) == service.EntryRef(id=u)
    assert service.EntryRef() == service.EntryRef(index=None, id=None)
    with pytest.raises(ValidationFailed) as info:
        service.parse_entry_ref("-1")
    msg = "an entry is a position (a number) or an entry id (a UUID)"
    assert info.value.detail == msg
    assert [(e.field, e.message) for e in info.value.errors] == [("entry", msg)]


def test_inclusion_proofs(logdb: Session) -> None:
    hashes = _hashes(logdb)
    for index in range(7):
        out = service.inclusion(logdb, service.EntryRef(index=index))
        assert set(out) == {"index", "tree_size", "leaf_data", "inclusion_path", "checkpoint"}
        assert (out["index"], out["tree_size"]) == (index, 7)
        data = base64.b64decode(out["leaf_data"])
        assert hashlib.sha256(b"\x00" + data).digest() == hashes[index]
        assert json.loads(data)["summary"] == {"n": index}
        want = [base64.b64encode(h).decode() for h in _path(hashes, index, 7)]
        assert out["inclusion_path"] == want
        assert out["checkpoint"] == logdb.get(AuditCheckpoint, 7).note  # type: ignore[union-attr]
    by_id = logdb.execute(select(AuditEvent.id).where(AuditEvent.leaf_index == 2)).scalar_one()
    assert service.inclusion(logdb, service.EntryRef(id=by_id))["index"] == 2
    old = service.inclusion(logdb, service.EntryRef(index=1), size=3)
    assert old["tree_size"] == 3
    assert old["inclusion_path"] == [base64.b64encode(h).decode() for h in _path(hashes, 1, 3)]
    assert old["checkpoint"] == logdb.get(AuditCheckpoint, 3).note  # type: ignore[union-attr]
    not_yet = "the entry is not in the tree yet: the sequencer integrates it within a second"
    with pytest.raises(NotFound, match=_exactly(not_yet)):
        service.inclusion(logdb, service.EntryRef(index=3), size=3)
    with pytest.raises(NotFound, match=_exactly("no such audit entry")):
        service.inclusion(logdb, service.EntryRef(index=7))
    with pytest.raises(NotFound, match=_exactly("no signed checkpoint of that size")):
        service.inclusion(logdb, service.EntryRef(index=1), size=4)
    pending = record(logdb, action="t", target_type="thing")
    logdb.flush()
    with pytest.raises(NotFound, match=_exactly(not_yet)):
        service.inclusion(logdb, service.EntryRef(id=pending.id))


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _mth(h: list[bytes]) -> bytes:
    """RFC 9162 MTH over leaf hashes (non-empty)."""
    if len(h) == 1:
        return h[0]
    k = _k(len(h))
    return _node(_mth(h[:k]), _mth(h[k:]))


def _path(h: list[bytes], m: int, size: int) -> list[bytes]:
    """RFC 9162 PATH(m, D[0:size]) over leaf hashes."""
    h = h[:size]
    if len(h) == 1:
        return []
    k = _k(len(h))
    if m < k:
        return [*_path(h[:k], m, k), _mth(h[k:])]
    return [*_path(h[k:], m - k, len(h) - k), _mth(h[:k])]


def _subproof(m: int, h: list[bytes], b: bool) -> list[bytes]:
    """RFC 9162 SUBPROOF(m, D[n], b) over leaf hashes."""
    if m == len(h):
        return [] if b else [_mth(h)]
    k = _k(len(h))
    if m <= k:
        return [*_subproof(m, h[:k], b), _mth(h[k:])]
    return [*_subproof(m - k, h[k:], False), _mth(h[:k])]


def test_inclusion_for_a_reader(logdb: Session) -> None:
    entry = logdb.execute(select(AuditEvent).where(AuditEvent.leaf_index == 4)).scalar_one()
    reader = _actor(Permission.audit_log_read)
    out = service.inclusion_for(logdb, reader, entry.id, size=None)
    assert (out["index"], out["tree_size"]) == (4, 7)
    logdb.flush()
    (proof_read,) = logdb.execute(select(AuditEvent).where(AuditEvent.action == "audit.entry.proof")).scalars()
    assert (proof_read.target_type, proof_read.target_id) == ("audit_event", str(entry.id))
    assert (proof_read.actor_user_id, proof_read.org_id) == (reader.user_id, ORG)
    first = logdb.execute(select(AuditEvent).where(AuditEvent.leaf_index == 1)).scalar_one()
    assert service.inclusion_for(logdb, reader, first.id, size=3)["tree_size"] == 3
    record(logdb, action="t", target_type="thing", org_id=uuid.UUID(int=2))  # the outsider reads its own entries
    logdb.flush()
    for outsider in (_actor(), _actor(Permission.audit_log_read, org=uuid.UUID(int=2))):
        with pytest.raises(NotFound):
            service.inclusion_for(logdb, outsider, entry.id, size=None)


def test_consistency_proofs(logdb: Session) -> None:
    hashes = _hashes(logdb)
    out = service.consistency(logdb, 3, 7)
    assert set(out) == {"old_size", "new_size", "proof", "old_checkpoint", "new_checkpoint"}
    assert (out["old_size"], out["new_size"]) == (3, 7)
    want = _subproof(3, hashes, True)
    assert out["proof"] == [base64.b64encode(h).decode() for h in want]
    assert out["old_checkpoint"] == logdb.get(AuditCheckpoint, 3).note  # type: ignore[union-attr]
    assert out["new_checkpoint"] == logdb.get(AuditCheckpoint, 7).note  # type: ignore[union-attr]
    assert service.consistency(logdb, 7, 7)["proof"] == []
    same = service.consistency(logdb, 3, 3)
    assert (same["proof"], same["new_checkpoint"]) == ([], logdb.get(AuditCheckpoint, 3).note)  # type: ignore[union-attr]
    with pytest.raises(NotFound, match=_exactly("no signed checkpoint of that size")):
        service.consistency(logdb, 1, 7)  # size 1 is a valid size, just not a signed one here
    for old, new in [(0, 7), (7, 3), (-1, 3)]:
        with pytest.raises(ValidationFailed) as info:
            service.consistency(logdb, old, new)
        assert info.value.detail == "sizes must satisfy 0 < old <= new"
        assert [(e.field, e.message) for e in info.value.errors] == [("old", "0 < old <= new")]
    with pytest.raises(NotFound, match=_exactly("no signed checkpoint of that size")):
        service.consistency(logdb, 2, 7)
    logdb.execute(delete(AuditEvent).where(AuditEvent.leaf_index == 6))
    with pytest.raises(NotFound, match=_exactly("the log holds fewer entries than the newer checkpoint")):
        service.consistency(logdb, 3, 7)


def test_verify_log_takes_keys_and_witnesses_from_settings(logdb: Session) -> None:
    w = Signer("w.example", bytes(range(7, 39)))
    wv = Verifier(w.name, w.verifier.public, ALG_COSIGNATURE)
    row = AuditWitness(name=w.name, vkey=wv.vkey, created_at=datetime.now(UTC))
    logdb.add(row)
    logdb.flush()
    cp = logdb.get(AuditCheckpoint, 7)
    assert cp is not None
    line = cosign(parse_note(cp.note).text, w, 1)
    logdb.add(AuditCosignature(witness_id=row.id, checkpoint_size=7, line=line.line, cosigned_at=datetime.now(UTC)))
    logdb.flush()
    settings = make_settings(audit={"signing_key": LOG.skey, "origin": ORIGIN})
    assert service.verify_log(logdb, settings).ok
    assert service.verify_log(logdb, settings, quorum=1).ok
    other = Signer("x.example", bytes(range(8, 40)))
    only_other = make_settings(
        audit={"signing_key": LOG.skey, "origin": ORIGIN, "witness_keys": [Verifier(
            other.name, other.verifier.public, ALG_COSIGNATURE).vkey]}
    )  # fmt: skip
    assert [f.kind for f in service.verify_log(logdb, only_other, quorum=1).findings] == ["witness"]
    assert [f.kind for f in service.verify_log(logdb, settings, quorum=2).findings] == ["witness"]
    wrong_origin = make_settings(audit={"signing_key": LOG.skey, "origin": "else.example"})
    assert not service.verify_log(logdb, wrong_origin).ok


# -- the app-wide read audit ---------------------------------------------------------------------------


def _request(method: str, path: str | None, params: dict[str, Any], actor: Actor | None) -> Request:
    scope: dict[str, Any] = {
        "type": "http",
        "method": method,
        "path": "/x",
        "headers": [],
        "path_params": params,
        "state": {"actor": actor} if actor else {},
    }
    if path is not None:
        scope["route"] = SimpleNamespace(path=path)
    return Request(scope)


def _run(db: Session, request: Request) -> list[AuditEvent]:
    before = set(db.execute(select(AuditEvent.id)).scalars())
    gen = audit_detail_reads(request, db)
    next(gen)
    with pytest.raises(StopIteration):
        next(gen)
    db.flush()
    return [e for e in db.execute(select(AuditEvent)).scalars() if e.id not in before]


def test_a_detail_read_is_recorded(logdb: Session) -> None:
    logdb.info.pop(AUDITED_KEY)  # set by the fixture's own entries
    reader = _actor(Permission.audit_log_read)
    path = "/api/v1/exchange/items/{item_id}/attachments/{attachment_id}"
    long = "a" * 300
    (e,) = _run(logdb, _request("GET", path, {"item_id": "item-1", "attachment_id": long}, reader))
    assert (e.action, e.target_type, e.target_id) == ("exchange_attachment.read", "exchange_attachment", "a" * 64)
    assert e.summary == {"route": path, "params": {"item_id": "item-1", "attachment_id": "a" * 200}}
    assert (e.actor_user_id, e.org_id) == (reader.user_id, ORG)
    assert logdb.info[AUDITED_KEY] is True


def test_reads_that_are_not_recorded(logdb: Session) -> None:
    logdb.info.pop(AUDITED_KEY)
    reader = _actor(Permission.audit_log_read)
    path = "/api/v1/intake/signals/{signal_id}"
    assert AUDITED[path] == "intake_signal"
    assert _run(logdb, _request("POST", path, {"signal_id": "s"}, reader)) == []
    assert _run(logdb, _request("GET", "/api/v1/readiness/published/{snapshot_id}", {"snapshot_id": "s"}, reader)) == []
    assert _run(logdb, _request("GET", None, {}, reader)) == []
    logdb.info[AUDITED_KEY] = True  # the service wrote a more specific entry already
    assert _run(logdb, _request("GET", path, {"signal_id": "s"}, reader)) == []
    logdb.info.pop(AUDITED_KEY)
    (e,) = _run(logdb, _request("GET", path, {"signal_id": "s"}, None))
    assert (e.actor_user_id, e.actor_label, e.target_id) == (None, "system", "s")


def test_a_read_without_parameters(logdb: Session) -> None:
    import signalfire.audit.reads as reads

    logdb.info.pop(AUDITED_KEY)
    reads.AUDITED["/test/no-params"] = "thing"
    try:
        (e,) = _run(logdb, _request("GET", "/test/no-params", {}, _actor()))
    finally:
        del reads.AUDITED["/test/no-params"]
    assert (e.action, e.target_id, e.summary) == ("thing.read", None, {"route": "/test/no-params", "params": {}})


def test_proofs_follow_positions_not_arrival(logdb: Session) -> None:
    """Hashes are taken in position order even when positions and arrival (seq) disagree."""
    first, second = (logdb.execute(select(AuditEvent).where(AuditEvent.leaf_index == i)).scalar_one() for i in (1, 2))
    logdb.execute(update(AuditEvent).where(AuditEvent.seq == first.seq).values(leaf_index=100))
    logdb.execute(update(AuditEvent).where(AuditEvent.seq == second.seq).values(leaf_index=1))
    logdb.execute(update(AuditEvent).where(AuditEvent.seq == first.seq).values(leaf_index=2))
    hashes = _hashes(logdb)
    assert service.consistency(logdb, 3, 7)["proof"] == [
        base64.b64encode(h).decode() for h in _subproof(3, hashes, True)
    ]


def test_a_missing_leaf_hash_does_not_crash_a_proof(logdb: Session) -> None:
    logdb.execute(update(AuditEvent).where(AuditEvent.leaf_index == 0).values(leaf_hash=None))
    assert len(service.consistency(logdb, 3, 7)["proof"]) == 4  # still a proof (of a broken log), not a crash
