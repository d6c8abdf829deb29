"""Check the whole log: every entry re-hashed, the tree rebuilt, every checkpoint and signature checked.

Each problem is a finding with a kind, so the report says what happened, not only that something did:
- malformed: a row that cannot be what `record` wrote (summary not a JSON object, leaf hash not hex);
- edited: an entry whose fields no longer give its leaf hash (every stored field is under it);
- reordered: an entry whose hash matches its content at another position (entries swapped);
- inserted / deleted: a run of entries whose hashes match positions shifted by the same amount, or a gap;
- truncated: fewer entries than the latest signed checkpoint covers;
- forged: an entry with a position beyond the latest signed checkpoint (the sequencer signs in the same
  transaction as it positions, so nothing legitimate is there);
- rewritten: entries that match their own hashes but not the signed root (edited and re-hashed);
- key: a checkpoint not signed by a trusted key (the key was replaced, or the note was altered);
- checkpoint: a stored checkpoint that does not parse or disagrees with its own columns;
- witness: fewer valid cosignatures on the latest checkpoint than the required quorum.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.audit.chain import RawEntry, leaf_data, raw_entries, raw_entry
from signalfire.audit.merkle import CompactRange, leaf_hash
from signalfire.audit.models import AuditCheckpoint, AuditCosignature, AuditEvent, AuditWitness
from signalfire.audit.note import (
    NoteError,
    Verifier,
    parse_checkpoint_text,
    parse_note,
    parse_vkey,
    verify_cosignature,
    verify_note,
)

_NEAR = 3  # positions either side tried when explaining a mismatched entry as moved
_CROSS_LIMIT = 500  # beyond this many mismatched entries, do not try every pair


@dataclass(frozen=True)
class Finding:
    kind: str
    index: int | None
    message: str


@dataclass
class Report:
    entries: int = 0
    pending: int = 0
    checkpoint_size: int | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def _stored_hash(entry: RawEntry) -> bytes | None:
    try:
        return bytes.fromhex(entry.leaf_hash or "")
    except ValueError:
        return None


def _leaf(entry: RawEntry, index: int) -> bytes:
    return leaf_hash(leaf_data(entry, index))


def verify(
    session: Session,
    *,
    trusted: Sequence[Verifier],
    origin: str,
    quorum: int = 0,
    witness_keys: Sequence[Verifier] | None = None,
    batch: int = 5000,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """``progress(done, total)``, if given, is told how many positioned entries were re-hashed, once before the
    first, after each ``batch`` and after the last (a log of millions of entries takes a while: the CLI shows a bar)."""
    report = Report()
    found = report.findings
    leaves: list[bytes | None] = []  # stored leaf hashes by position (None: a gap)
    mismatched: dict[int, RawEntry] = {}
    stored: dict[int, bytes] = {}

    total = 0
    if progress is not None:
        # Entries positioned after this count (the sequencer goes on) only make the bar end past 100 %.
        total = session.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.leaf_index.is_not(None))
        ).scalar_one()
        progress(0, total)
    rows = session.execute(
        raw_entries().where(AuditEvent.leaf_index.is_not(None)).order_by(AuditEvent.leaf_index),
        execution_options={"yield_per": batch},
    )
    for row in rows:
        if progress is not None and report.entries and report.entries % batch == 0:
            progress(report.entries, max(total, report.entries))
        entry = raw_entry(row)
        idx = entry.leaf_index
        assert idx is not None
        report.entries += 1
        if idx > len(leaves):
            first, last = len(leaves), idx - 1
            span = f"entry {first}" if first == last else f"entries {first}-{last}"
            found.append(Finding("deleted", first, f"{span} deleted: missing from the log"))
            leaves.extend([None] * (idx - len(leaves)))
        _, problem = entry.summary()
        if problem:
            found.append(Finding("malformed", idx, f"entry {idx} is malformed: {problem}"))
        h = _stored_hash(entry)
        if h is None or len(h) != 32:
            found.append(Finding("malformed", idx, f"entry {idx} is malformed: its leaf hash is not a SHA-256 hex"))
            leaves.append(None)
            continue
        leaves.append(h)
        if _leaf(entry, idx) != h:
            mismatched[idx] = entry
            stored[idx] = h
    if progress is not None:
        progress(report.entries, max(total, report.entries))
    report.pending = session.execute(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.leaf_index.is_(None))
    ).scalar_one()
    moved = _explain_moves(mismatched, stored)
    explained = _classify_moves(moved, found)
    for idx, _entry in sorted(mismatched.items()):
        if idx not in explained and idx not in moved:
            found.append(Finding("edited", idx, f"entry {idx} was edited: its fields no longer match its hash"))

    latest = _check_checkpoints(session, leaves, trusted, origin, found)
    if latest is not None:
        size = latest
        report.checkpoint_size = size
        if len(leaves) < size and not any(f.kind == "deleted" and f.message.endswith("renumbered") for f in found):
            span = f"entry {len(leaves)}" if len(leaves) == size - 1 else f"entries {len(leaves)}-{size - 1}"
            found.append(
                Finding("truncated", len(leaves), f"{span} truncated: the signed checkpoint covers {size} entries")
            )
        for idx in range(size, len(leaves)):
            if idx not in moved and idx not in explained:
                found.append(
                    Finding("forged", idx, f"entry {idx} is beyond the latest signed checkpoint (size {size}): forged")
                )
        if quorum:
            _check_quorum(session, size, quorum, witness_keys, found)
    elif leaves:
        found.append(Finding("forged", 0, "entries are positioned but no signed checkpoint covers them"))
    found.sort(key=lambda f: (f.index if f.index is not None else -1, f.kind))
    return report


def _explain_moves(mismatched: dict[int, RawEntry], stored: dict[int, bytes]) -> dict[int, int]:
    """For entries whose hash matches their content at another position: position now -> position hashed."""
    moved: dict[int, int] = {}
    others = sorted(mismatched) if len(mismatched) <= _CROSS_LIMIT else []
    for idx, entry in mismatched.items():
        # A negative position never matches (nothing is hashed there), so the range is not clipped at 0.
        for j in dict.fromkeys([*range(idx - _NEAR, idx + _NEAR + 1), *others]):
            if j != idx and _leaf(entry, j) == stored[idx]:
                moved[idx] = j
                break
    return moved


def _classify_moves(moved: dict[int, int], found: list[Finding]) -> set[int]:
    """Name the moves: entries that trade places are reordered; a run shifted by the same amount from
    some position on is an insertion (shifted up) or a deletion with the rest renumbered (shifted down)."""
    explained: set[int] = set()
    for idx, orig in moved.items():
        j, steps = orig, 0
        while j in moved and j != idx and steps < len(moved):
            j, steps = moved[j], steps + 1
        if j == idx:
            explained.add(idx)
            found.append(Finding("reordered", idx, f"entry {idx} is out of order: it was written at position {orig}"))
    rest = sorted(i for i in moved if i not in explained)
    runs: list[list[int]] = []
    for i in rest:
        if runs and i == runs[-1][-1] + 1 and i - moved[i] == runs[-1][0] - moved[runs[-1][0]]:
            runs[-1].append(i)
        else:
            runs.append([i])
    for run in runs:
        start, shift = run[0], run[0] - moved[run[0]]
        explained.update(run)
        if shift > 0:
            first = start - shift
            span = f"entry {first}" if shift == 1 else f"entries {first}-{start - 1}"
            explained.update(range(first, start))
            found.append(Finding("inserted", first, f"{span} inserted: the entries after it were moved up by {shift}"))
        else:
            span = f"entry {start}" if shift == -1 else f"entries {start}-{start - shift - 1}"
            found.append(Finding("deleted", start, f"{span} deleted and the entries after it renumbered"))
    return explained


def _check_checkpoints(
    session: Session, leaves: list[bytes | None], trusted: Sequence[Verifier], origin: str, found: list[Finding]
) -> int | None:
    """Check every stored checkpoint; returns the size of the latest trusted one."""
    checkpoints = session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.size)).scalars().all()
    rng = CompactRange()
    latest: int | None = None
    last_good = 0
    rewritten_reported = any(f.kind in ("reordered", "inserted", "deleted") for f in found)
    for cp in checkpoints:
        try:
            note = parse_note(cp.note)
            body = parse_checkpoint_text(note.text)
        except NoteError as exc:
            found.append(Finding("checkpoint", None, f"checkpoint of size {cp.size} does not parse: {exc}"))
            continue
        if body.origin != origin or body.size != cp.size or body.root.hex() != cp.root_hash:
            found.append(Finding("checkpoint", None, f"checkpoint of size {cp.size} disagrees with its stored note"))
            continue
        if not any(verify_note(note, v) for v in trusted):
            ids = ", ".join(s.key_id.hex() for s in note.signatures)
            found.append(
                Finding(
                    "key",
                    None,
                    f"checkpoint of size {cp.size} is not signed by a trusted key (signed by key id {ids}): "
                    "the signing key was replaced",
                )
            )
            continue
        latest = cp.size
        if cp.size > len(leaves) or rewritten_reported:
            continue
        while rng.size < cp.size:
            leaf = leaves[rng.size]
            if leaf is None:
                rewritten_reported = True
                break
            rng.append(leaf)
        if rewritten_reported:
            continue
        if rng.root() != body.root:
            found.append(
                Finding(
                    "rewritten",
                    last_good,
                    f"entries {last_good}-{cp.size - 1} do not match the signed checkpoint of size {cp.size}: "
                    "an entry was edited and re-hashed",
                )
            )
            rewritten_reported = True
        else:
            last_good = cp.size
    return latest


def _check_quorum(
    session: Session, size: int, quorum: int, witness_keys: Sequence[Verifier] | None, found: list[Finding]
) -> None:
    """Some checkpoint must carry `quorum` valid cosignatures; entries after it are simply not witnessed
    yet. Witness keys come from settings when given there (the database's list could be swapped)."""
    keys_by_witness: dict[object, Verifier] = {}
    for w in session.execute(select(AuditWitness)).scalars():
        try:
            keys_by_witness[w.id] = parse_vkey(w.vkey)
        except NoteError:
            continue
    allowed = None if witness_keys is None else {(v.name, v.id) for v in witness_keys}
    rows = session.execute(
        select(
            AuditCosignature.witness_id,
            AuditCosignature.checkpoint_size,
            AuditCosignature.line,
            AuditCheckpoint.note,
        )
        .join(AuditCheckpoint, AuditCheckpoint.size == AuditCosignature.checkpoint_size)
        .where(AuditCosignature.checkpoint_size <= size)
    ).all()
    valid: dict[int, int] = {}
    for witness_id, cp_size, line, note in rows:
        v = keys_by_witness.get(witness_id)
        if v is None or (allowed is not None and (v.name, v.id) not in allowed):
            continue
        try:
            text = parse_note(note).text
            sig = parse_note(text + "\n" + line).signatures[0]
        except NoteError:
            continue
        if verify_cosignature(text, sig, v) is not None:
            valid[cp_size] = valid.get(cp_size, 0) + 1
    if not any(n >= quorum for n in valid.values()):
        best = max(valid.values(), default=0)
        found.append(
            Finding(
                "witness",
                None,
                f"no checkpoint carries {quorum} valid witness cosignature(s) (at most {best}): "
                "the log's history is not witnessed, or it was rewritten after it was",
            )
        )
