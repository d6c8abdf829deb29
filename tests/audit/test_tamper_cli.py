"""`signalfire audit verify` names each kind of tampering, on a real database, through the CLI.

The log holds ten entries integrated in two batches (checkpoints of size 5 and 10); each test tampers
with the rows the way an attacker with database access would, then runs the command."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from signalfire.audit.chain import leaf_data, raw_entries, raw_entry
from signalfire.audit.merkle import leaf_hash
from signalfire.audit.models import AuditCheckpoint, AuditEvent
from signalfire.audit.note import (
    Checkpoint,
    generate_signer,
    parse_checkpoint_text,
    parse_note,
    sign_checkpoint,
    verify_note,
)
from signalfire.core.db.session import make_engine
from signalfire.core.settings import get_settings
from tests.audit.helpers import cli, rehash, sequence, set_fields, sql, write_entries
from tests.typed import table_of


@pytest.fixture()
def log_db(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("SIGNALFIRE_DATABASE_URL", fresh_db)
    get_settings.cache_clear()
    write_entries(fresh_db, 0, 5)
    assert sequence(fresh_db) == 5
    write_entries(fresh_db, 5, 5)
    assert sequence(fresh_db) == 5
    yield fresh_db
    get_settings.cache_clear()


def verify() -> tuple[int, str]:
    return cli("audit", "verify")


def test_intact_log_verifies(log_db: str) -> None:
    code, out = verify()
    assert code == 0, out
    assert "10 entries verified against the signed checkpoint of size 10" in out


def test_pending_entries_are_not_findings(log_db: str) -> None:
    write_entries(log_db, 10, 2)
    code, out = verify()
    assert code == 0, out
    assert "2 pending" in out


def test_edited_entry(log_db: str) -> None:
    sql(log_db, "UPDATE audit_event SET action = 'test.tampered' WHERE leaf_index = 4")
    code, out = verify()
    assert code == 1
    assert "edited at entry 4" in out
    assert out.count("edited at") == 1


def test_changed_occurred_at(log_db: str) -> None:
    engine = make_engine(log_db)
    with engine.connect() as conn:
        when = conn.execute(select(AuditEvent.occurred_at).where(AuditEvent.leaf_index == 2)).scalar_one()
    engine.dispose()
    set_fields(log_db, 2, occurred_at=when - timedelta(microseconds=1))
    code, out = verify()
    assert code == 1
    assert "edited at entry 2" in out


COLUMN_CHANGES = {
    "seq": 10_000,
    "id": uuid.UUID(int=7),
    "actor_user_id": uuid.UUID(int=8),
    "actor_label": "someone else",
    "org_id": uuid.UUID(int=9),
    "action": "test.other",
    "target_type": "other",
    "target_id": "x",
    "summary": {"n": -1},
    "request_id": "req-forged",
    "legacy_hash": "ab" * 32,
}


def test_every_stored_field_is_under_the_hash(log_db: str) -> None:
    """Each column but the hash itself: changing it at one entry is found at that entry. Columns added
    later fail this test until they are listed here (and hashed)."""
    columns = {c.name for c in AuditEvent.__table__.columns} - {"leaf_hash", "leaf_index", "occurred_at"}
    assert columns == set(COLUMN_CHANGES)
    for n, (column, value) in enumerate(COLUMN_CHANGES.items()):
        index = n % 10
        engine = make_engine(log_db)
        with engine.connect() as conn:
            before = conn.execute(select(AuditEvent.__table__.c[column]).where(AuditEvent.leaf_index == index)).scalar()
        engine.dispose()
        set_fields(log_db, index, **{column: value})
        code, out = verify()
        assert code == 1, column
        assert f"edited at entry {index}" in out, (column, out)
        set_fields(log_db, index, **{column: before})
        assert verify()[0] == 0, column


def test_deleted_entry(log_db: str) -> None:
    sql(log_db, "DELETE FROM audit_event WHERE leaf_index = 6")
    code, out = verify()
    assert code == 1
    assert "deleted at entry 6" in out


def test_reordered_entries(log_db: str) -> None:
    sql(log_db, "UPDATE audit_event SET leaf_index = 1000 WHERE leaf_index = 3")
    sql(log_db, "UPDATE audit_event SET leaf_index = 3 WHERE leaf_index = 7")
    sql(log_db, "UPDATE audit_event SET leaf_index = 7 WHERE leaf_index = 1000")
    code, out = verify()
    assert code == 1
    assert "reordered at entry 3" in out
    assert "reordered at entry 7" in out
    assert "edited" not in out


def _insert_entry(url: str, index: int, *, action: str = "test.forged") -> None:
    """A self-consistent row at a position: its leaf hash is right for its content and place."""
    engine = make_engine(url)
    with engine.begin() as conn:
        new_id = uuid.uuid4()
        seq = conn.execute(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one() + 100
        when = conn.execute(select(AuditEvent.occurred_at).where(AuditEvent.leaf_index == 0)).scalar_one()
        conn.execute(
            insert(table_of(AuditEvent)).values(
                seq=seq, id=new_id, occurred_at=when, actor_label="system", action=action,
                target_type="thing", summary={}, leaf_index=index,
            )
        )  # fmt: skip
        entry = raw_entry(conn.execute(raw_entries().where(AuditEvent.id == new_id)).one())
        h = leaf_hash(leaf_data(entry, index)).hex()
        conn.execute(table_of(AuditEvent).update().where(AuditEvent.id == new_id).values(leaf_hash=h))
    engine.dispose()


def test_inserted_entry(log_db: str) -> None:
    for i in range(9, 4, -1):  # make room at position 5
        sql(log_db, "UPDATE audit_event SET leaf_index = :n WHERE leaf_index = :o", n=i + 1, o=i)
    _insert_entry(log_db, 5)
    code, out = verify()
    assert code == 1
    assert "inserted at entry 5" in out
    assert "forged" not in out


def test_forged_row_after_the_last_checkpoint(log_db: str) -> None:
    _insert_entry(log_db, 10)
    code, out = verify()
    assert code == 1
    assert "forged at entry 10" in out
    assert "beyond the latest signed checkpoint (size 10)" in out


def test_truncated_tail(log_db: str) -> None:
    sql(log_db, "DELETE FROM audit_event WHERE leaf_index >= 8")
    code, out = verify()
    assert code == 1
    assert "truncated at entry 8" in out
    assert "the signed checkpoint covers 10 entries" in out


def test_edited_and_rehashed_entry(log_db: str) -> None:
    set_fields(log_db, 6, summary={"n": 999})
    rehash(log_db, 6)
    code, out = verify()
    assert code == 1
    assert "rewritten at entry 5" in out
    assert "entries 5-9 do not match the signed checkpoint of size 10" in out


def _resign_all(url: str, *, name: str | None = None) -> None:
    """An attacker's key re-signs every stored checkpoint (what a rewritten history needs)."""
    forger = generate_signer(name or parse_checkpoint_text(_first_note(url)).origin)
    engine = make_engine(url)
    with engine.begin() as conn:
        for size, note in conn.execute(select(AuditCheckpoint.size, AuditCheckpoint.note)).all():
            body = parse_checkpoint_text(parse_note(note).text)
            conn.execute(
                table_of(AuditCheckpoint)
                .update()
                .where(AuditCheckpoint.size == size)
                .values(note=sign_checkpoint(Checkpoint(body.origin, body.size, body.root), forger))
            )
    engine.dispose()


def _first_note(url: str) -> str:
    engine = make_engine(url)
    with engine.connect() as conn:
        note = conn.execute(select(AuditCheckpoint.note).order_by(AuditCheckpoint.size).limit(1)).scalar_one()
    engine.dispose()
    return str(parse_note(note).text)


def test_replaced_key(log_db: str) -> None:
    _resign_all(log_db)
    code, out = verify()
    assert code == 1
    assert "is not signed by a trusted key" in out
    assert out.count("[key]") == 0  # rich markup is rendered, not printed
    assert "key: checkpoint of size 10" in out or "key:" in out


def test_rotated_key_still_verifies_old_checkpoints(log_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from signalfire.audit import keys

    old = keys.signer(get_settings()).verifier.vkey
    new = generate_signer(keys.origin(get_settings()))
    monkeypatch.setenv("SIGNALFIRE_AUDIT__SIGNING_KEY", new.skey)
    get_settings.cache_clear()
    write_entries(log_db, 10, 3)
    assert sequence(log_db) == 3
    code, out = verify()
    assert code == 1
    assert "checkpoint of size 5 is not signed by a trusted key" in out
    assert "checkpoint of size 13" not in out
    monkeypatch.setenv("SIGNALFIRE_AUDIT__TRUSTED_KEYS", f'["{old}"]')
    get_settings.cache_clear()
    code, out = verify()
    assert code == 0, out
    assert "13 entries verified" in out


def test_malformed_row_is_a_finding_not_a_crash(log_db: str) -> None:
    if log_db.startswith("sqlite"):
        sql(log_db, "UPDATE audit_event SET summary = '{not json' WHERE leaf_index = 2")
    else:
        sql(log_db, "UPDATE audit_event SET summary = '\"a string\"'::jsonb WHERE leaf_index = 2")
    code, out = verify()
    assert code == 1
    assert "malformed at entry 2" in out
    assert "Traceback" not in out


def test_proofs_from_the_cli_check_out(log_db: str) -> None:
    import base64
    import json

    from signalfire.audit import keys
    from signalfire.audit.merkle import verify_consistency, verify_inclusion

    vkey = keys.signer(get_settings()).verifier
    code, out = cli("audit", "checkpoint")
    assert code == 0
    note = parse_note(out)
    assert parse_checkpoint_text(note.text).size == 10
    assert verify_note(note, vkey)

    code, out = cli("audit", "proof", "3")
    assert code == 0, out
    proof = json.loads(out)
    cp = parse_checkpoint_text(parse_note(proof["checkpoint"]).text)
    leaf = leaf_hash(base64.b64decode(proof["leaf_data"]))
    path = [base64.b64decode(p) for p in proof["inclusion_path"]]
    assert verify_inclusion(leaf, 3, cp.size, path, cp.root)
    assert json.loads(base64.b64decode(proof["leaf_data"]))["summary"] == {"n": 3}

    code, out = cli("audit", "consistency", "5", "10")
    assert code == 0, out
    cons = json.loads(out)
    old = parse_checkpoint_text(parse_note(cons["old_checkpoint"]).text)
    new = parse_checkpoint_text(parse_note(cons["new_checkpoint"]).text)
    assert verify_consistency(5, 10, old.root, new.root, [base64.b64decode(p) for p in cons["proof"]])

    for args, message in [
        (("proof", "99"), "no such audit entry"),
        (("proof", "not-an-entry"), "a position (a number) or an entry id (a UUID)"),
        (("consistency", "7", "10"), "no signed checkpoint of that size"),
        (("consistency", "10", "5"), "0 < old <= new"),
    ]:
        code, out = cli("audit", *args)
        assert code == 1, args
        assert message in out, (args, out)
        assert "Traceback" not in out
