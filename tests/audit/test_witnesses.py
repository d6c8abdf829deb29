"""Witnesses cosign checkpoints only when they extend what they saw; verify can require a quorum; a
rewritten history is refused by the witness and fails the quorum."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select, update

from signalfire.audit import keys
from signalfire.audit.merkle import CompactRange
from signalfire.audit.models import AuditCheckpoint, AuditEvent, AuditTree
from signalfire.audit.note import ALG_COSIGNATURE, Checkpoint, Verifier, generate_signer, sign_checkpoint
from signalfire.audit.witness import request_cosignatures
from signalfire.audit.witness_server import Witness
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.core.settings import get_settings
from tests.audit.helpers import cli, rehash, sequence, set_fields, write_entries
from tests.typed import table_of

URL = "http://witness.test/add-checkpoint"


@pytest.fixture()
def witnessed(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Witness]]:
    monkeypatch.setenv("SIGNALFIRE_DATABASE_URL", fresh_db)
    get_settings.cache_clear()
    settings = get_settings()
    signer = generate_signer("witness.test")
    witness = Witness(signer, {keys.origin(settings): keys.signer(settings).verifier})
    vkey = Verifier(signer.name, signer.verifier.public, ALG_COSIGNATURE).vkey
    code, out = cli("audit", "witness", "add", "witness.test", vkey, "--url", URL)
    assert code == 0, out
    write_entries(fresh_db, 0, 4)
    sequence(fresh_db)
    yield fresh_db, witness
    get_settings.cache_clear()


def _cosign(url: str, witness: Witness) -> list[str]:
    seen: list[int] = []

    def handle(request: httpx.Request) -> httpx.Response:
        status, body = witness.add_checkpoint(request.content.decode(), now=1_800_000_000)
        seen.append(status)
        return httpx.Response(status, text=body)

    engine = make_engine(url)
    with httpx.Client(transport=httpx.MockTransport(handle)) as http, unit_of_work(session_factory(engine)) as s:
        outcomes = request_cosignatures(s, http)
    engine.dispose()
    return [o.status for o in outcomes]


def test_cosigned_checkpoints_meet_a_quorum(witnessed: tuple[str, Witness]) -> None:
    url, witness = witnessed
    assert cli("audit", "verify", "--quorum", "1")[0] == 1  # nothing cosigned yet
    assert _cosign(url, witness) == ["cosigned"]
    code, out = cli("audit", "verify", "--quorum", "1")
    assert code == 0, out
    code, out = cli("audit", "verify", "--quorum", "2")
    assert code == 1
    assert "witness: no checkpoint carries 2 valid witness cosignature(s)" in out
    # The log grows: the witness checks the consistency proof from size 4 and cosigns again.
    write_entries(url, 4, 3)
    sequence(url)
    assert _cosign(url, witness) == ["cosigned"]
    assert witness.state[keys.origin(get_settings())].size == 7
    assert "cosigned up to size 7" in cli("audit", "witness", "list")[1]
    assert "\u2014 witness.test " in cli("audit", "checkpoint")[1]


def test_a_witness_that_lost_track_is_caught_up(witnessed: tuple[str, Witness]) -> None:
    url, witness = witnessed
    assert _cosign(url, witness) == ["cosigned"]
    engine = make_engine(url)
    with engine.begin() as conn:  # the instance forgets the cosignature; the witness still knows size 4
        conn.execute(table_of(AuditCheckpoint).delete().where(AuditCheckpoint.size < 0))
        conn.exec_driver_sql("DELETE FROM audit_cosignature")
    engine.dispose()
    write_entries(url, 4, 2)
    sequence(url)
    assert _cosign(url, witness) == ["cosigned"]  # after a 409 naming size 4


def _rewrite_history(url: str) -> None:
    """An operator holding the signing key edits entry 1, re-hashes it, and re-signs every checkpoint."""
    set_fields(url, 1, summary={"n": "rewritten"})
    rehash(url, 1)
    settings = get_settings()
    signer, origin = keys.signer(settings), keys.origin(settings)
    engine = make_engine(url)
    with engine.begin() as conn:
        leaves: list[bytes] = []
        for h in conn.execute(select(AuditEvent.leaf_hash).order_by(AuditEvent.leaf_index)).scalars():
            assert h is not None  # every entry here is sequenced
            leaves.append(bytes.fromhex(h))
        for size in conn.execute(select(AuditCheckpoint.size)).scalars().all():
            rng = CompactRange()
            for leaf in leaves[:size]:
                rng.append(leaf)
            note = sign_checkpoint(Checkpoint(origin, size, rng.root()), signer)
            conn.execute(
                update(AuditCheckpoint)
                .where(AuditCheckpoint.size == size)
                .values(note=note, root_hash=rng.root().hex())
            )
        conn.execute(update(AuditTree).values(root_hash=rng.root().hex(), compact=[h.hex() for h in rng.hashes]))
    engine.dispose()


def test_a_rewritten_history_is_refused_and_fails_the_quorum(witnessed: tuple[str, Witness]) -> None:
    url, witness = witnessed
    assert _cosign(url, witness) == ["cosigned"]
    _rewrite_history(url)
    code, out = cli("audit", "verify")
    assert code == 0, out  # with the key, a rewrite is self-consistent: only witnesses can tell
    code, out = cli("audit", "verify", "--quorum", "1")
    assert code == 1
    assert "witness:" in out
    write_entries(url, 4, 2)
    sequence(url)
    assert _cosign(url, witness) == ["refused"]  # the proof from the witnessed size 4 does not check


def test_a_witness_key_must_be_a_cosignature_key(witnessed: tuple[str, Witness]) -> None:
    code, out = cli("audit", "witness", "add", "plain", generate_signer("plain").verifier.vkey)
    assert code == 1
    assert "cosignature key" in out
