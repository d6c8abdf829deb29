"""`audit.verify` finding by finding: the exact kind, position and message for each way of tampering.

The log is built in the test's own transaction (rolled back afterwards): ten entries integrated in two
batches, so there are signed checkpoints of sizes 5 and 10. Each test changes rows the way someone with
database access would and compares the whole list of findings with what that change must produce.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import delete, event, insert, select, update
from sqlalchemy.orm import Session

from signalfire.audit.chain import Entry, RawEntry, leaf_data, raw_entries, raw_entry, record, record_many
from signalfire.audit.merkle import leaf_hash
from signalfire.audit.models import AuditCheckpoint, AuditCosignature, AuditEvent, AuditTree, AuditWitness
from signalfire.audit.note import (
    ALG_COSIGNATURE,
    Checkpoint,
    Signer,
    Verifier,
    cosign,
    parse_checkpoint_text,
    parse_note,
    sign_checkpoint,
)
from signalfire.audit.sequencer import integrate
from signalfire.audit.verify import Report, verify
from signalfire.core.clock import utcnow

ORIGIN = "verify.example/log"
LOG = Signer(ORIGIN, bytes(range(32)))
FORGER = Signer(ORIGIN, bytes(range(1, 33)))
W1 = Signer("w1.example", bytes(range(2, 34)))
W2 = Signer("w2.example", bytes(range(3, 35)))


def _cos(s: Signer) -> Verifier:
    return Verifier(s.name, s.verifier.public, ALG_COSIGNATURE)


@dataclass
class Log:
    db: Session

    def write(self, start: int, count: int) -> None:
        for i in range(start, start + count):
            record(self.db, action="test.event", target_type="thing", target_id=str(i), summary={"n": i})
        self.db.flush()

    def sequence(self) -> None:
        assert integrate(self.db, signer=LOG, origin=ORIGIN, holder="test", lease_seconds=0) is not None
        self.db.flush()

    def check(self, **kw: object) -> Report:
        self.db.expire_all()
        args: dict[str, object] = {"trusted": [LOG.verifier], "origin": ORIGIN, **kw}
        return verify(self.db, **args)  # type: ignore[arg-type]

    def findings(self, **kw: object) -> list[tuple[str, int | None, str]]:
        return [(f.kind, f.index, f.message) for f in self.check(**kw).findings]

    def set(self, index: int, **values: object) -> None:
        self.db.execute(update(AuditEvent).where(AuditEvent.leaf_index == index).values(**values))

    def move(self, moves: dict[int, int]) -> None:
        """Give entries new positions at once (through a free range so the unique index never clashes)."""
        for old in moves:
            self.set(old, leaf_index=old + 1_000_000)
        for old, new in moves.items():
            self.set(old + 1_000_000, leaf_index=new)

    def remove(self, *indexes: int) -> None:
        self.db.execute(delete(AuditEvent).where(AuditEvent.leaf_index.in_(indexes)))

    def entry(self, index: int) -> RawEntry:
        return raw_entry(self.db.execute(raw_entries().where(AuditEvent.leaf_index == index)).one())

    def rehash(self, index: int) -> None:
        self.set(index, leaf_hash=leaf_hash(leaf_data(self.entry(index), index)).hex())

    def forge(self, index: int, action: str = "test.forged") -> None:
        """A self-consistent row at a position: its leaf hash is right for its content and place."""
        new_id = uuid.uuid4()
        seq = self.db.execute(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one() + 100
        self.db.execute(
            insert(AuditEvent).values(
                seq=seq, id=new_id, occurred_at=utcnow(), actor_label="system", action=action,
                target_type="thing", summary={}, leaf_index=index,
            )
        )  # fmt: skip
        self.rehash(index)

    def resign(self, signer: Signer, *sizes: int) -> None:
        for size, note in self.db.execute(select(AuditCheckpoint.size, AuditCheckpoint.note)).all():
            if sizes and size not in sizes:
                continue
            body = parse_checkpoint_text(parse_note(note).text)
            new = sign_checkpoint(Checkpoint(body.origin, body.size, body.root), signer)
            self.db.execute(update(AuditCheckpoint).where(AuditCheckpoint.size == size).values(note=new))


@pytest.fixture()
def log(db: Session) -> Log:
    for model in (AuditCosignature, AuditWitness, AuditCheckpoint, AuditEvent, AuditTree):
        db.execute(delete(model))
    lg = Log(db)
    lg.write(0, 5)
    lg.sequence()
    lg.write(5, 5)
    lg.sequence()
    return lg


def test_an_intact_log(log: Log) -> None:
    report = log.check()
    assert report.ok
    assert (report.entries, report.pending, report.checkpoint_size) == (10, 0, 10)
    log.write(10, 2)
    report = log.check()
    assert report.ok
    assert (report.entries, report.pending, report.checkpoint_size) == (10, 2, 10)
    assert log.check(trusted=[FORGER.verifier, LOG.verifier]).ok


def test_an_empty_log_is_intact(db: Session) -> None:
    for model in (AuditCosignature, AuditWitness, AuditCheckpoint, AuditEvent, AuditTree):
        db.execute(delete(model))
    report = verify(db, trusted=[LOG.verifier], origin=ORIGIN)
    assert report.ok
    assert (report.entries, report.pending, report.checkpoint_size) == (0, 0, None)


def test_edited(log: Log) -> None:
    log.set(4, action="test.tampered")
    assert log.findings() == [("edited", 4, "entry 4 was edited: its fields no longer match its hash")]
    log.set(0, target_id="other")
    assert [f[:2] for f in log.findings()] == [("edited", 0), ("edited", 4)]


def test_deleted(log: Log) -> None:
    log.remove(6)
    assert log.findings() == [("deleted", 6, "entry 6 deleted: missing from the log")]


def test_deleted_run(log: Log) -> None:
    log.remove(2, 3, 4)
    assert log.findings() == [("deleted", 2, "entries 2-4 deleted: missing from the log")]


def test_deleted_first(log: Log) -> None:
    log.remove(0)
    assert log.findings() == [("deleted", 0, "entry 0 deleted: missing from the log")]


def test_two_gaps(log: Log) -> None:
    log.remove(1, 7, 8)
    assert log.findings() == [
        ("deleted", 1, "entry 1 deleted: missing from the log"),
        ("deleted", 7, "entries 7-8 deleted: missing from the log"),
    ]


def test_deleted_and_renumbered(log: Log) -> None:
    log.remove(6)
    log.move({7: 6, 8: 7, 9: 8})
    assert log.findings() == [("deleted", 6, "entry 6 deleted and the entries after it renumbered")]


def test_deleted_run_and_renumbered(log: Log) -> None:
    log.remove(3, 4, 5)
    log.move({6: 3, 7: 4, 8: 5, 9: 6})
    assert log.findings() == [("deleted", 3, "entries 3-5 deleted and the entries after it renumbered")]


def test_deleted_first_and_renumbered(log: Log) -> None:
    log.remove(0)
    log.move({i: i - 1 for i in range(1, 10)})
    assert log.findings() == [("deleted", 0, "entry 0 deleted and the entries after it renumbered")]


def test_truncated(log: Log) -> None:
    log.remove(8, 9)
    assert log.findings() == [("truncated", 8, "entries 8-9 truncated: the signed checkpoint covers 10 entries")]


def test_truncated_by_one(log: Log) -> None:
    log.remove(9)
    assert log.findings() == [("truncated", 9, "entry 9 truncated: the signed checkpoint covers 10 entries")]


def test_everything_truncated(log: Log) -> None:
    log.remove(*range(10))
    assert log.findings() == [("truncated", 0, "entries 0-9 truncated: the signed checkpoint covers 10 entries")]


def test_reordered_pair(log: Log) -> None:
    log.move({3: 4, 4: 3})
    assert log.findings() == [
        ("reordered", 3, "entry 3 is out of order: it was written at position 4"),
        ("reordered", 4, "entry 4 is out of order: it was written at position 3"),
    ]


def test_reordered_far_apart(log: Log) -> None:
    log.move({0: 9, 9: 0})
    assert log.findings() == [
        ("reordered", 0, "entry 0 is out of order: it was written at position 9"),
        ("reordered", 9, "entry 9 is out of order: it was written at position 0"),
    ]


def test_reordered_in_a_cycle(log: Log) -> None:
    log.move({1: 2, 2: 6, 6: 1})
    assert log.findings() == [
        ("reordered", 1, "entry 1 is out of order: it was written at position 6"),
        ("reordered", 2, "entry 2 is out of order: it was written at position 1"),
        ("reordered", 6, "entry 6 is out of order: it was written at position 2"),
    ]


def test_inserted(log: Log) -> None:
    log.move({i: i + 1 for i in range(5, 10)})
    log.forge(5)
    assert log.findings() == [("inserted", 5, "entry 5 inserted: the entries after it were moved up by 1")]


def test_inserted_three(log: Log) -> None:
    log.move({i: i + 3 for i in range(2, 10)})
    for i in (2, 3, 4):
        log.forge(i)
    assert log.findings() == [("inserted", 2, "entries 2-4 inserted: the entries after it were moved up by 3")]


def test_inserted_first(log: Log) -> None:
    log.move({i: i + 1 for i in range(10)})
    log.forge(0)
    assert log.findings() == [("inserted", 0, "entry 0 inserted: the entries after it were moved up by 1")]


def test_forged_after_the_checkpoint(log: Log) -> None:
    log.forge(10)
    log.forge(11)
    assert log.findings() == [
        ("forged", 10, "entry 10 is beyond the latest signed checkpoint (size 10): forged"),
        ("forged", 11, "entry 11 is beyond the latest signed checkpoint (size 10): forged"),
    ]


def test_rewritten(log: Log) -> None:
    log.set(6, summary={"n": 999})
    log.rehash(6)
    assert log.findings() == [
        (
            "rewritten",
            5,
            "entries 5-9 do not match the signed checkpoint of size 10: an entry was edited and re-hashed",
        )
    ]


def test_rewritten_in_the_first_batch(log: Log) -> None:
    log.set(2, summary={"n": 999})
    log.rehash(2)
    assert log.findings() == [
        (
            "rewritten",
            0,
            "entries 0-4 do not match the signed checkpoint of size 5: an entry was edited and re-hashed",
        )
    ]


def test_malformed_summary(log: Log) -> None:
    log.set(2, summary="a string")
    assert log.findings() == [
        ("edited", 2, "entry 2 was edited: its fields no longer match its hash"),
        ("malformed", 2, "entry 2 is malformed: summary is not a JSON object"),
    ]


@pytest.mark.parametrize("stored", ["zz" * 32, "ab" * 31, "ab" * 31 + "0", None])  # odd length: not hex
def test_malformed_leaf_hash(log: Log, stored: str | None) -> None:
    log.set(3, leaf_hash=stored)
    assert log.findings() == [("malformed", 3, "entry 3 is malformed: its leaf hash is not a SHA-256 hex")]


def test_raw_summaries() -> None:
    base = {f: None for f in RawEntry.__dataclass_fields__}
    assert RawEntry(**{**base, "summary_text": None}).summary() == (None, "summary is missing")  # type: ignore[arg-type]
    assert RawEntry(**{**base, "summary_text": "{x"}).summary() == ("{x", "summary is not JSON")  # type: ignore[arg-type]
    assert RawEntry(**{**base, "summary_text": "[1]"}).summary() == ([1], "summary is not a JSON object")  # type: ignore[arg-type]
    assert RawEntry(**{**base, "summary_text": '{"a": 1}'}).summary() == ({"a": 1}, None)  # type: ignore[arg-type]


def test_replaced_key(log: Log) -> None:
    log.resign(FORGER)
    kid = FORGER.verifier.id.hex()
    assert log.findings() == [  # findings without a position come first
        (
            "key",
            None,
            f"checkpoint of size 5 is not signed by a trusted key (signed by key id {kid}): "
            "the signing key was replaced",
        ),
        (
            "key",
            None,
            f"checkpoint of size 10 is not signed by a trusted key (signed by key id {kid}): "
            "the signing key was replaced",
        ),
        ("forged", 0, "entries are positioned but no signed checkpoint covers them"),
    ]
    assert log.check().checkpoint_size is None


def test_only_the_latest_checkpoint_replaced(log: Log) -> None:
    log.resign(FORGER, 10)
    found = log.findings()
    assert [f[:2] for f in found] == [("key", None)] + [("forged", i) for i in range(5, 10)]
    assert found[1][2] == "entry 5 is beyond the latest signed checkpoint (size 5): forged"
    assert log.check().checkpoint_size == 5


def test_a_checkpoint_that_does_not_parse(log: Log) -> None:
    log.db.execute(update(AuditCheckpoint).where(AuditCheckpoint.size == 10).values(note="garbage"))
    found = log.findings()
    assert ("checkpoint", None, "checkpoint of size 10 does not parse: a note is text, a blank line and signature "
            "lines") in found  # fmt: skip
    assert [f[0] for f in found].count("forged") == 5
    body = "o\n10\nAAAA\n\n\u2014 n AAAAAAAA\n"  # a note, but not a checkpoint body
    log.db.execute(update(AuditCheckpoint).where(AuditCheckpoint.size == 10).values(note=body))
    assert ("checkpoint", None, "checkpoint of size 10 does not parse: checkpoint root is not a SHA-256 hash") in (
        log.findings()
    )


def test_a_checkpoint_that_disagrees_with_its_columns(log: Log) -> None:
    log.db.execute(update(AuditCheckpoint).where(AuditCheckpoint.size == 5).values(root_hash="00" * 32))
    found = log.findings()
    assert found == [("checkpoint", None, "checkpoint of size 5 disagrees with its stored note")]
    assert log.check().checkpoint_size == 10


def test_a_checkpoint_moved_to_another_size(log: Log) -> None:
    note5 = log.db.execute(select(AuditCheckpoint.note).where(AuditCheckpoint.size == 5)).scalar_one()
    log.db.execute(update(AuditCheckpoint).where(AuditCheckpoint.size == 10).values(note=note5))
    assert ("checkpoint", None, "checkpoint of size 10 disagrees with its stored note") in log.findings()


def test_another_origin(log: Log) -> None:
    found = log.findings(origin="other.example/log")
    assert found == [
        ("checkpoint", None, "checkpoint of size 5 disagrees with its stored note"),
        ("checkpoint", None, "checkpoint of size 10 disagrees with its stored note"),
        ("forged", 0, "entries are positioned but no signed checkpoint covers them"),
    ]


def test_no_checkpoint_at_all(log: Log) -> None:
    log.db.execute(delete(AuditCheckpoint))
    assert log.findings() == [("forged", 0, "entries are positioned but no signed checkpoint covers them")]


# -- witnesses ----------------------------------------------------------------------------------------


def _witness(log: Log, signer: Signer, vkey: str | None = None) -> uuid.UUID:
    w = AuditWitness(name=signer.name, vkey=vkey or _cos(signer).vkey, url=None, created_at=utcnow())
    log.db.add(w)
    log.db.flush()
    return w.id


def _cosign(log: Log, witness_id: uuid.UUID, signer: Signer, size: int, *, text: str | None = None) -> None:
    note = log.db.execute(select(AuditCheckpoint.note).where(AuditCheckpoint.size == size)).scalar_one()
    line = cosign(text or parse_note(note).text, signer, 1_800_000_000).line
    log.db.add(AuditCosignature(witness_id=witness_id, checkpoint_size=size, line=line, cosigned_at=utcnow()))
    log.db.flush()


def _witness_message(quorum: int, best: int) -> tuple[str, None, str]:
    return (
        "witness",
        None,
        f"no checkpoint carries {quorum} valid witness cosignature(s) (at most {best}): "
        "the log's history is not witnessed, or it was rewritten after it was",
    )


def test_quorum_of_cosignatures(log: Log) -> None:
    assert log.findings(quorum=1) == [_witness_message(1, 0)]
    w1, w2 = _witness(log, W1), _witness(log, W2)
    _cosign(log, w1, W1, 5)
    assert log.findings(quorum=1) == []  # an older checkpoint counts: later entries are not witnessed yet
    assert log.findings(quorum=2) == [_witness_message(2, 1)]
    _cosign(log, w2, W2, 10)
    assert log.findings(quorum=2) == [_witness_message(2, 1)]  # one each on different checkpoints
    _cosign(log, w2, W2, 5)
    assert log.findings(quorum=2) == []
    assert log.findings(quorum=3) == [_witness_message(3, 2)]
    assert log.findings(quorum=0) == []


def test_only_the_configured_witness_keys_count(log: Log) -> None:
    w1, w2 = _witness(log, W1), _witness(log, W2)
    _cosign(log, w1, W1, 10)
    _cosign(log, w2, W2, 10)
    assert log.findings(quorum=2) == []
    assert log.findings(quorum=2, witness_keys=[_cos(W1)]) == [_witness_message(2, 1)]
    assert log.findings(quorum=1, witness_keys=[]) == [_witness_message(1, 0)]
    assert log.findings(quorum=2, witness_keys=[_cos(W2), _cos(W1)]) == []


def test_cosignatures_that_do_not_count(log: Log) -> None:
    w1 = _witness(log, W1)
    _cosign(log, w1, W1, 10, text="another log\n10\n" + "A" * 43 + "=\n")  # signs other text
    w2 = _witness(log, W2, vkey="not a key")  # a witness whose stored key does not parse
    _cosign(log, w2, W2, 10)
    w3 = _witness(log, Signer("w3.example", bytes(range(4, 36))))
    log.db.add(AuditCosignature(witness_id=w3, checkpoint_size=10, line="not a line\n", cosigned_at=utcnow()))
    log.db.flush()
    assert log.findings(quorum=1) == [_witness_message(1, 0)]


def test_cosignatures_beyond_the_latest_trusted_checkpoint_do_not_count(log: Log) -> None:
    w1 = _witness(log, W1)
    _cosign(log, w1, W1, 10)
    assert log.findings(quorum=1) == []
    log.resign(FORGER, 10)  # the latest trusted checkpoint is now 5, which nobody cosigned
    found = log.findings(quorum=1)
    assert _witness_message(1, 0) in found


def test_a_gap_does_not_hide_a_truncation(log: Log) -> None:
    log.remove(2, 8, 9)
    assert log.findings() == [
        ("deleted", 2, "entry 2 deleted: missing from the log"),
        ("truncated", 8, "entries 8-9 truncated: the signed checkpoint covers 10 entries"),
    ]


def test_an_inserted_row_that_is_not_even_self_consistent(log: Log) -> None:
    log.move({i: i + 1 for i in range(5, 10)})
    log.forge(5)
    log.set(5, action="test.edited-after")  # its hash no longer matches either: still reported as inserted
    assert log.findings() == [("inserted", 5, "entry 5 inserted: the entries after it were moved up by 1")]


def test_an_insertion_after_the_latest_trusted_checkpoint(log: Log) -> None:
    log.resign(FORGER, 10)  # the latest trusted checkpoint is 5
    log.move({i: i + 1 for i in range(7, 10)})
    log.forge(7)
    assert [f[:2] for f in log.findings()] == [
        ("key", None),
        ("forged", 5),
        ("forged", 6),
        ("inserted", 7),
    ]


def test_moves_are_looked_for_three_positions_either_side(log: Log) -> None:
    """Beyond three positions an entry whose old place is now empty cannot be placed: the shifted entries
    read as edited and the log as truncated, which still fails verification."""
    log.remove(2, 3, 4)
    log.move({5: 2, 6: 3, 7: 4, 8: 5, 9: 6})
    assert log.findings() == [("deleted", 2, "entries 2-4 deleted and the entries after it renumbered")]


def test_a_shift_of_four_is_not_placed(log: Log) -> None:
    log.remove(2, 3, 4, 5)
    log.move({6: 2, 7: 3, 8: 4, 9: 5})
    assert [f[:2] for f in log.findings()] == [
        ("rewritten", 0),  # the first checkpoint's entries changed
        ("edited", 2),
        ("edited", 3),
        ("edited", 4),
        ("edited", 5),
        ("truncated", 6),
    ]


def test_every_mismatched_entry_is_tried_against_the_others_up_to_a_limit(
    log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    from signalfire.audit import verify as module

    monkeypatch.setattr(module, "_CROSS_LIMIT", 2)
    log.move({0: 9, 9: 0})  # two mismatched entries, far apart: within the limit, still found
    assert [f[:2] for f in log.findings()] == [("reordered", 0), ("reordered", 9)]
    log.move({0: 9, 9: 0})
    log.move({0: 5, 5: 9, 9: 0})  # three: beyond the limit, only near positions are tried
    assert [f[:2] for f in log.findings()] == [("edited", 0), ("rewritten", 0), ("edited", 5), ("edited", 9)]


def test_a_bad_witness_or_cosignature_does_not_hide_the_good_ones(log: Log) -> None:
    """Stored before the valid cosignature: a witness whose key does not parse, a witness the settings
    do not list, and a cosignature line that does not parse. Each is skipped, not the end of the count."""
    broken = _witness(log, Signer("w0.example", bytes(range(6, 38))), vkey="not a key")
    _cosign(log, broken, Signer("w0.example", bytes(range(6, 38))), 10)
    w1 = _witness(log, W1)
    _cosign(log, w1, W1, 10)
    w3 = _witness(log, Signer("w3.example", bytes(range(4, 36))))
    log.db.add(AuditCosignature(witness_id=w3, checkpoint_size=10, line="not a line\n", cosigned_at=utcnow()))
    log.db.flush()
    w2 = _witness(log, W2)
    _cosign(log, w2, W2, 10)
    assert log.findings(quorum=1, witness_keys=[_cos(W2), _cos(Signer("w3.example", bytes(range(4, 36))))]) == []
    assert log.findings(quorum=2) == []


def test_reordered_in_a_cycle_of_four(log: Log) -> None:
    log.move({1: 3, 3: 5, 5: 8, 8: 1})
    assert [f[:2] for f in log.findings()] == [("reordered", i) for i in (1, 3, 5, 8)]


def test_an_entry_rehashed_for_a_swapped_position_does_not_hang(log: Log) -> None:
    log.move({3: 4, 4: 3})
    log.set(0, leaf_hash=leaf_hash(leaf_data(log.entry(0), 3)).hex())  # claims position 3 as well
    found = [f[:2] for f in log.findings()]
    assert ("reordered", 3) in found and ("reordered", 4) in found


def test_a_broken_early_checkpoint_does_not_hide_the_later_ones(log: Log) -> None:
    log.db.execute(update(AuditCheckpoint).where(AuditCheckpoint.size == 5).values(note="garbage"))
    found = log.findings()
    assert [f[0] for f in found] == ["checkpoint"]
    assert log.check().checkpoint_size == 10


def test_every_key_id_of_an_untrusted_checkpoint_is_named(log: Log) -> None:
    note = log.db.execute(select(AuditCheckpoint.note).where(AuditCheckpoint.size == 10)).scalar_one()
    body = parse_note(note).text
    two = sign_checkpoint(parse_checkpoint_text(body), FORGER) + cosign(body, W1, 1).line
    log.db.execute(update(AuditCheckpoint).where(AuditCheckpoint.size == 10).values(note=two))
    ids = f"{FORGER.verifier.id.hex()}, {_cos(W1).id.hex()}"
    assert (
        "key",
        None,
        f"checkpoint of size 10 is not signed by a trusted key (signed by key id {ids}): the signing key was replaced",
    ) in log.findings()


def test_a_batch_append_is_one_insert_in_order_and_verifies(log: Log) -> None:
    """`record_many` writes the same entries as one `record` each, in order, with one INSERT statement;
    the sequencer positions them after what was there and the whole log still verifies."""
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    bind = log.db.get_bind()
    event.listen(bind, "before_cursor_execute", seen)
    try:
        written = record_many(
            log.db,
            [
                Entry(action="test.batch", target_type="thing", target_id=f"b{i}", summary={"n": i}, org_id=None)
                for i in range(3)
            ],
        )
    finally:
        event.remove(bind, "before_cursor_execute", seen)
    assert written == 3
    assert sum(1 for s in statements if s.lstrip().upper().startswith("INSERT INTO AUDIT")) == 1
    assert record_many(log.db, []) == 0
    log.write(100, 1)  # one ordinary entry after the batch
    log.sequence()
    rows = log.db.execute(
        select(AuditEvent.leaf_index, AuditEvent.target_id, AuditEvent.summary, AuditEvent.actor_label)
        .where(AuditEvent.leaf_index >= 10)
        .order_by(AuditEvent.leaf_index)
    ).all()
    assert [tuple(r) for r in rows] == [
        (10, "b0", {"n": 0}, "system"),
        (11, "b1", {"n": 1}, "system"),
        (12, "b2", {"n": 2}, "system"),
        (13, "100", {"n": 100}, "system"),
    ]
    report = log.check()
    assert report.ok
    assert (report.entries, report.pending) == (14, 0)
