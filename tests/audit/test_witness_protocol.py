"""The witness side (C2SP tlog-witness add-checkpoint), status by status, and the client that talks to it.

Request bodies are written out here as the protocol describes them: "old <size>", one base64 proof hash
per line, a blank line, then the signed checkpoint note. Proof hashes come from the RFC 9162 definition.
"""

from __future__ import annotations

import base64

import httpx
import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from signalfire.audit.chain import record
from signalfire.audit.merkle import consistency_proof, leaf_hash, root
from signalfire.audit.models import AuditCheckpoint, AuditCosignature, AuditEvent, AuditTree, AuditWitness
from signalfire.audit.note import (
    ALG_COSIGNATURE,
    Checkpoint,
    Signer,
    Verifier,
    cosign,
    parse_note,
    sign_checkpoint,
    verify_cosignature,
)
from signalfire.audit.sequencer import integrate
from signalfire.audit.witness import Outcome, keep, last_cosigned, register, request_cosignatures
from signalfire.audit.witness_server import MAX_BODY, Witness, WitnessState
from signalfire.core.errors import Conflict, ValidationFailed

ORIGIN = "wp.example/log"
LOG = Signer(ORIGIN, bytes(range(32)))
OTHER = Signer(ORIGIN, bytes(range(5, 37)))
WS = Signer("w.example", bytes(range(9, 41)))
WV = Verifier(WS.name, WS.verifier.public, ALG_COSIGNATURE)
HASHES = [leaf_hash(bytes([i])) for i in range(8)]
NOW = 1_800_000_000


def _note(size: int, signer: Signer = LOG, origin: str = ORIGIN) -> str:
    return sign_checkpoint(Checkpoint(origin, size, root(HASHES[:size])), signer)


def _body(old: int, proof: list[bytes], note: str) -> str:
    return f"old {old}\n" + "".join(base64.b64encode(p).decode() + "\n" for p in proof) + "\n" + note


def _witness() -> Witness:
    return Witness(WS, {ORIGIN: LOG.verifier})


def test_a_first_checkpoint_is_cosigned_and_remembered() -> None:
    w = _witness()
    note = _note(3)
    status, line = w.add_checkpoint(_body(0, [], note), now=NOW)
    assert status == 200
    text = parse_note(note).text
    (sig,) = parse_note(text + "\n" + line).signatures
    assert verify_cosignature(text, sig, WV) == NOW
    assert w.state[ORIGIN] == WitnessState(3, root(HASHES[:3]))


def test_a_checkpoint_that_extends_the_last_one() -> None:
    w = _witness()
    assert w.add_checkpoint(_body(0, [], _note(3)), now=NOW)[0] == 200
    proof = consistency_proof(HASHES, 3, 7)
    assert w.add_checkpoint(_body(3, proof, _note(7)), now=NOW)[0] == 200
    assert w.state[ORIGIN].size == 7
    # The same checkpoint again: an empty proof between equal sizes.
    assert w.add_checkpoint(_body(7, [], _note(7)), now=NOW)[0] == 200


def test_the_wrong_old_size_is_answered_with_the_known_one() -> None:
    w = _witness()
    assert w.add_checkpoint(_body(2, [], _note(3)), now=NOW) == (409, "0\n")
    w.add_checkpoint(_body(0, [], _note(3)), now=NOW)
    assert w.add_checkpoint(_body(0, [], _note(5)), now=NOW) == (409, "3\n")
    assert w.add_checkpoint(_body(4, [], _note(5)), now=NOW) == (409, "3\n")


def test_refusals() -> None:
    w = _witness()
    w.add_checkpoint(_body(0, [], _note(5)), now=NOW)
    assert w.add_checkpoint(_body(5, [], _note(3)), now=NOW) == (400, "checkpoint smaller than the old size\n")
    bad_proof = consistency_proof(HASHES, 4, 7)  # from size 4, not the witnessed 5
    assert w.add_checkpoint(_body(5, bad_proof, _note(7)), now=NOW) == (422, "consistency proof does not check\n")
    assert w.add_checkpoint(_body(5, [], _note(7)), now=NOW)[0] == 422
    assert w.state[ORIGIN].size == 5  # nothing changed by a refusal
    assert w.add_checkpoint(_body(5, [], _note(7, OTHER)), now=NOW) == (403, "unknown log or bad signature\n")
    assert w.add_checkpoint(_body(0, [], _note(7, origin="else.example")), now=NOW)[0] == 403


@pytest.mark.parametrize(
    "body",
    [
        "old 0\n",  # no blank line
        "0\n\n" + "x",
        "older 0\n\n",
        "old \n\n",
        "old -1\n\n",
        "old x\n\n",
        "old 0\n***\n\n",  # a proof line that is not base64
        "old 0\n\nnot a note",
        "old 0\n\norigin\n\n\u2014 n AAAAAAAA\n",  # a note whose body is not a checkpoint
    ],
)
def test_malformed_requests(body: str) -> None:
    assert _witness().add_checkpoint(body, now=NOW) == (400, "malformed request\n")


def test_the_size_limit() -> None:
    w = _witness()
    assert w.add_checkpoint("x" * (MAX_BODY + 1), now=NOW) == (413, "request too large\n")
    # Exactly the limit is read (and refused for what it says, not for its size).
    assert w.add_checkpoint("x" * MAX_BODY, now=NOW) == (400, "malformed request\n")
    assert MAX_BODY == 64 * 1024


# -- the client ----------------------------------------------------------------------------------------


@pytest.fixture()
def logdb(db: Session) -> Session:
    for model in (AuditCosignature, AuditWitness, AuditCheckpoint, AuditEvent, AuditTree):
        db.execute(delete(model))
    return db


def _grow(db: Session, n: int) -> None:
    for i in range(n):
        record(db, action="t", target_type="thing", target_id=str(i))
    integrate(db, signer=LOG, origin=ORIGIN, holder="t", lease_seconds=0)
    db.flush()


def _client(witness: Witness, seen: list[str] | None = None) -> httpx.Client:
    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request.content.decode())
        status, body = witness.add_checkpoint(request.content.decode(), now=NOW)
        return httpx.Response(status, text=body)

    return httpx.Client(transport=httpx.MockTransport(handle))


def test_register_checks_the_key_the_url_and_the_name(logdb: Session) -> None:
    w = register(logdb, name="w", vkey=WV.vkey, url="https://w.example/add")
    assert (w.name, w.vkey, w.url) == ("w", WV.vkey, "https://w.example/add")
    register(logdb, name="w2", vkey=" " + WV.vkey, url=None)
    register(logdb, name="w3", vkey=WV.vkey, url="http://w.example/add")
    logdb.flush()
    with pytest.raises(Conflict, match=r"^a witness named w is registered already$"):
        register(logdb, name="w", vkey=WV.vkey, url=None)
    with pytest.raises(ValidationFailed, match=r"^a witness key is a cosignature key \(type 0x04\)$") as info:
        register(logdb, name="x", vkey=WS.verifier.vkey, url=None)
    assert [(e.field, e.message) for e in info.value.errors] == [
        ("vkey", "a witness key is a cosignature key (type 0x04)")
    ]
    with pytest.raises(ValidationFailed, match=r"^a witness URL is an http\(s\) URL$") as info:
        register(logdb, name="x", vkey=WV.vkey, url="ftp://w.example")
    assert [(e.field, e.message) for e in info.value.errors] == [("url", "an http(s) URL")]
    form = "a verifier key is <name>+<hex id>+<base64 key>"
    with pytest.raises(ValidationFailed) as info:
        register(logdb, name="x", vkey="nonsense", url=None)
    assert info.value.detail == form
    assert [(e.field, e.message) for e in info.value.errors] == [("vkey", form)]


def test_keep_only_valid_cosignatures(logdb: Session) -> None:
    _grow(logdb, 3)
    w = register(logdb, name="w", vkey=WV.vkey, url=None)
    logdb.flush()
    cp = logdb.get(AuditCheckpoint, 3)
    assert cp is not None
    assert last_cosigned(logdb, w) == 0
    text = parse_note(cp.note).text
    other_text = text.replace("\n3\n", "\n4\n")
    _, wrong = Witness(WS, {ORIGIN: LOG.verifier}).add_checkpoint(_body(0, [], cp.note), now=NOW)
    assert not keep(logdb, w, cp, "not a line\n")
    assert not keep(logdb, w, cp, cosign(other_text, WS, NOW).line)
    assert keep(logdb, w, cp, wrong)
    logdb.flush()
    (row,) = logdb.execute(select(AuditCosignature)).scalars()
    assert (row.witness_id, row.checkpoint_size, row.line) == (w.id, 3, wrong)
    assert last_cosigned(logdb, w) == 3


def test_request_cosignatures(logdb: Session) -> None:
    assert request_cosignatures(logdb, _client(_witness())) == []  # no checkpoint yet
    _grow(logdb, 3)
    register(logdb, name="w", vkey=WV.vkey, url="https://w.example/add")
    register(logdb, name="by-hand", vkey=WV.vkey, url=None)
    logdb.flush()
    witness = _witness()
    seen: list[str] = []
    assert request_cosignatures(logdb, _client(witness, seen)) == [Outcome("w", "cosigned")]
    assert seen[0] == _body(0, [], logdb.get(AuditCheckpoint, 3).note)  # type: ignore[union-attr]
    assert request_cosignatures(logdb, _client(witness, seen)) == [Outcome("w", "up-to-date")]
    assert len(seen) == 1
    _grow(logdb, 4)
    leaves = [bytes.fromhex(h or "") for h in logdb.execute(select(AuditEvent.leaf_hash).order_by(
        AuditEvent.leaf_index)).scalars()]  # fmt: skip
    assert request_cosignatures(logdb, _client(witness, seen)) == [Outcome("w", "cosigned")]
    assert seen[1] == _body(3, consistency_proof(leaves, 3, 7), logdb.get(AuditCheckpoint, 7).note)  # type: ignore[union-attr]
    assert witness.state[ORIGIN].size == 7


def test_a_witness_that_knows_another_size(logdb: Session) -> None:
    _grow(logdb, 3)
    register(logdb, name="w", vkey=WV.vkey, url="https://w.example/add")
    logdb.flush()
    witness = _witness()
    note3 = logdb.get(AuditCheckpoint, 3).note  # type: ignore[union-attr]
    assert witness.add_checkpoint(_body(0, [], note3), now=NOW)[0] == 200  # cosigned, but the log lost it
    _grow(logdb, 2)
    seen: list[str] = []
    assert request_cosignatures(logdb, _client(witness, seen)) == [Outcome("w", "cosigned")]
    assert [s.split("\n", 1)[0] for s in seen] == ["old 0", "old 3"]  # the 409 named size 3


def test_a_witness_that_knows_a_size_this_log_never_signed(logdb: Session) -> None:
    _grow(logdb, 3)
    register(logdb, name="w", vkey=WV.vkey, url="https://w.example/add")
    logdb.flush()
    for known in (2, 99):
        witness = _witness()
        witness.state[ORIGIN] = WitnessState(known, bytes(32))
        seen: list[str] = []
        assert request_cosignatures(logdb, _client(witness, seen)) == [Outcome("w", "refused")]
        assert len(seen) == 1


def test_unreachable_and_refusing_witnesses(logdb: Session) -> None:
    _grow(logdb, 3)
    register(logdb, name="w", vkey=WV.vkey, url="https://w.example/add")
    logdb.flush()

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with httpx.Client(transport=httpx.MockTransport(down)) as http:
        assert request_cosignatures(logdb, http) == [Outcome("w", "unreachable")]
    for status, body in [(500, "oops"), (409, "not a number"), (409, "0\n"), (200, "not a cosignature\n")]:
        with httpx.Client(transport=httpx.MockTransport(lambda r, s=status, b=body: httpx.Response(s, text=b))) as http:
            assert request_cosignatures(logdb, http) == [Outcome("w", "refused")], (status, body)
    assert logdb.execute(select(AuditCosignature)).first() is None


def test_a_409_for_size_zero_is_retried_from_zero(logdb: Session) -> None:
    """A witness that forgot everything (409 "0") after the log recorded a cosignature from it."""
    _grow(logdb, 3)
    w = register(logdb, name="w", vkey=WV.vkey, url="https://w.example/add")
    logdb.flush()
    assert request_cosignatures(logdb, _client(_witness())) == [Outcome("w", "cosigned")]
    _grow(logdb, 2)
    fresh = _witness()  # remembers nothing: answers 409 "0" to "old 3"
    seen: list[str] = []
    assert request_cosignatures(logdb, _client(fresh, seen)) == [Outcome("w", "cosigned")]
    assert [s.split("\n", 1)[0] for s in seen] == ["old 3", "old 0"]
    assert last_cosigned(logdb, w) == 5


def test_requests_the_protocol_refuses_even_with_a_valid_note() -> None:
    note = _note(3)
    for body in ["new 0\n\n" + note, "old 0\n***\n\n" + note, "old 0\nAA=A\n\n" + note]:
        assert _witness().add_checkpoint(body, now=NOW) == (400, "malformed request\n"), body


def test_growing_from_a_single_entry(logdb: Session) -> None:
    _grow(logdb, 1)
    register(logdb, name="w", vkey=WV.vkey, url="https://w.example/add")
    logdb.flush()
    witness = _witness()
    seen: list[str] = []
    assert request_cosignatures(logdb, _client(witness, seen)) == [Outcome("w", "cosigned")]
    _grow(logdb, 2)
    assert request_cosignatures(logdb, _client(witness, seen)) == [Outcome("w", "cosigned")]
    assert seen[1].startswith("old 1\n") and seen[1].count("\n\n") == 2  # a proof line from size 1


def test_a_witness_that_has_the_latest_size_already(logdb: Session) -> None:
    """The log lost its record of a cosignature; the witness names the latest size and cosigns it again."""
    _grow(logdb, 3)
    w = register(logdb, name="w", vkey=WV.vkey, url="https://w.example/add")
    logdb.flush()
    witness = _witness()
    seen: list[str] = []
    assert request_cosignatures(logdb, _client(witness, seen)) == [Outcome("w", "cosigned")]
    logdb.execute(delete(AuditCosignature))
    assert request_cosignatures(logdb, _client(witness, seen)) == [Outcome("w", "cosigned")]
    assert [s.split("\n", 1)[0] for s in seen] == ["old 0", "old 0", "old 3"]
    assert last_cosigned(logdb, w) == 3


def test_one_witness_does_not_stop_the_next(logdb: Session, caplog: pytest.LogCaptureFixture) -> None:
    """Witnesses are asked in the order they were registered (on SQLite): each outcome comes before others."""
    _grow(logdb, 3)
    for name in ("c", "b", "a", "d"):
        register(logdb, name=name, vkey=WV.vkey, url=f"https://{name}.example/add")
    logdb.flush()
    good, other = _witness(), _witness()
    never = _witness()
    never.state[ORIGIN] = WitnessState(99, bytes(32))

    def handle(request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if host == "a.example":
            raise httpx.ConnectError("no route", request=request)
        side = {"b.example": never, "c.example": good}.get(host, other)
        status, body = side.add_checkpoint(request.content.decode(), now=NOW)
        return httpx.Response(status, text=body)

    with (
        caplog.at_level("WARNING", logger="signalfire.audit.witness"),
        httpx.Client(transport=httpx.MockTransport(handle)) as http,
    ):
        first = request_cosignatures(logdb, http)
        logdb.flush()
        second = request_cosignatures(logdb, http)
    assert sorted(first, key=lambda o: o.witness) == [
        Outcome("a", "unreachable"),
        Outcome("b", "refused"),
        Outcome("c", "cosigned"),
        Outcome("d", "cosigned"),
    ]
    assert sorted(second, key=lambda o: o.witness) == [
        Outcome("a", "unreachable"),
        Outcome("b", "refused"),
        Outcome("c", "up-to-date"),
        Outcome("d", "up-to-date"),
    ]
    messages = [r.getMessage() for r in caplog.records]
    assert "witness a unreachable: no route" in messages
    assert "witness b knows size 99, which this log never signed" in messages


def test_a_refusal_is_logged_with_the_answer(logdb: Session, caplog: pytest.LogCaptureFixture) -> None:
    _grow(logdb, 3)
    register(logdb, name="w", vkey=WV.vkey, url="https://w.example/add")
    logdb.flush()
    long = "e" * 300
    with (
        caplog.at_level("WARNING", logger="signalfire.audit.witness"),
        httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(500, text=long))) as http,
    ):
        assert request_cosignatures(logdb, http) == [Outcome("w", "refused")]
    assert [r.getMessage() for r in caplog.records] == [f"witness w refused checkpoint 3: 500 {'e' * 200}"]
