"""Reading the log from outside: checkpoints, inclusion and consistency proofs, verification.

Proofs are returned with everything a client needs and nothing it must trust: the signed checkpoint
note(s), the exact leaf bytes (for inclusion) and the RFC 9162 proof hashes. `scripts/verify_checkpoint.py`
checks them with the standard library and `cryptography` only.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.policy import readable_audit_events
from signalfire.audit import keys
from signalfire.audit.chain import leaf_data, raw_entries, raw_entry, record
from signalfire.audit.merkle import consistency_proof, inclusion_proof
from signalfire.audit.models import AuditCheckpoint, AuditCosignature, AuditEvent, AuditWitness
from signalfire.audit.note import parse_vkey
from signalfire.audit.verify import Report, verify
from signalfire.core.errors import FieldError, NotFound, ValidationFailed
from signalfire.core.settings import Settings


def _b64(h: bytes) -> str:
    return base64.b64encode(h).decode()


def latest_checkpoint(session: Session) -> AuditCheckpoint | None:
    return session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.size.desc()).limit(1)).scalar_one_or_none()


def checkpoint_with_cosignatures(session: Session, cp: AuditCheckpoint) -> str:
    """The note with the witnesses' cosignature lines appended (a witness line is valid on the same text)."""
    lines = session.execute(
        select(AuditCosignature.line)
        .where(AuditCosignature.checkpoint_size == cp.size)
        .order_by(AuditCosignature.cosigned_at)
    ).scalars()
    return cp.note + "".join(lines)


def checkpoint_out(session: Session, cp: AuditCheckpoint) -> dict[str, Any]:
    cosigs = session.execute(
        select(AuditWitness.name, AuditCosignature.cosigned_at, AuditCosignature.line)
        .join(AuditWitness, AuditWitness.id == AuditCosignature.witness_id)
        .where(AuditCosignature.checkpoint_size == cp.size)
        .order_by(AuditWitness.name)
    ).all()
    return {
        "size": cp.size,
        "root_hash": cp.root_hash,
        "created_at": cp.created_at.isoformat(),
        "key_id": cp.key_id,
        "note": cp.note,
        "cosignatures": [{"witness": n, "cosigned_at": t.isoformat(), "line": line} for n, t, line in cosigs],
    }


def _leaves(session: Session, size: int) -> list[bytes]:
    hashes = session.execute(
        select(AuditEvent.leaf_hash).where(AuditEvent.leaf_index < size).order_by(AuditEvent.leaf_index)
    ).scalars()
    return [bytes.fromhex(h or "") for h in hashes]


def _checkpoint(session: Session, size: int | None) -> AuditCheckpoint:
    cp = latest_checkpoint(session) if size is None else session.get(AuditCheckpoint, size)
    if cp is None:
        raise NotFound("no signed checkpoint of that size")
    return cp


@dataclass(frozen=True)
class EntryRef:
    index: int | None = None
    id: uuid.UUID | None = None


def parse_entry_ref(text: str) -> EntryRef:
    if text.isdigit():
        return EntryRef(index=int(text))
    try:
        return EntryRef(id=uuid.UUID(text))
    except ValueError as exc:
        msg = "an entry is a position (a number) or an entry id (a UUID)"
        raise ValidationFailed([FieldError("entry", msg)], detail=msg) from exc


def inclusion(session: Session, ref: EntryRef, *, size: int | None = None) -> dict[str, Any]:
    """An inclusion proof of one entry in a signed checkpoint (the latest by default)."""
    stmt = raw_entries()
    stmt = (
        stmt.where(AuditEvent.leaf_index == ref.index) if ref.index is not None else stmt.where(AuditEvent.id == ref.id)
    )
    row = session.execute(stmt).first()
    if row is None:
        raise NotFound("no such audit entry")
    entry = raw_entry(row)
    if entry.leaf_index is None:
        raise NotFound("the entry is not in the tree yet: the sequencer integrates it within a second")
    cp = _checkpoint(session, size)
    if entry.leaf_index >= cp.size:
        raise NotFound("the entry is not in the tree yet: the sequencer integrates it within a second")
    leaves = _leaves(session, cp.size)
    return {
        "index": entry.leaf_index,
        "tree_size": cp.size,
        "leaf_data": _b64(leaf_data(entry, entry.leaf_index)),
        "inclusion_path": [_b64(h) for h in inclusion_proof(leaves, entry.leaf_index, cp.size)],
        "checkpoint": checkpoint_with_cosignatures(session, cp),
    }


def inclusion_for(session: Session, actor: Actor, entry_id: uuid.UUID, *, size: int | None) -> dict[str, Any]:
    """An inclusion proof of an entry the actor may read (it carries the entry): an audited read."""
    if session.execute(readable_audit_events(actor).where(AuditEvent.id == entry_id)).first() is None:
        raise NotFound()
    out = inclusion(session, EntryRef(id=entry_id), size=size)
    record(session, action="audit.entry.proof", target_type="audit_event", target_id=entry_id, actor=actor)
    return out


def consistency(session: Session, old: int, new: int) -> dict[str, Any]:
    """A consistency proof between two signed checkpoints."""
    if not 0 < old <= new:
        raise ValidationFailed([FieldError("old", "0 < old <= new")], detail="sizes must satisfy 0 < old <= new")
    old_cp, new_cp = _checkpoint(session, old), _checkpoint(session, new)
    leaves = _leaves(session, new)
    if len(leaves) < new:
        raise NotFound("the log holds fewer entries than the newer checkpoint")
    return {
        "old_size": old,
        "new_size": new,
        "proof": [_b64(h) for h in consistency_proof(leaves, old, new)],
        "old_checkpoint": old_cp.note,
        "new_checkpoint": checkpoint_with_cosignatures(session, new_cp),
    }


def verify_log(
    session: Session, settings: Settings, *, quorum: int = 0, progress: Callable[[int, int], None] | None = None
) -> Report:
    witness_keys = [parse_vkey(v) for v in settings.audit.witness_keys] if settings.audit.witness_keys else None
    return verify(
        session,
        trusted=keys.trusted(settings),
        origin=keys.origin(settings),
        quorum=quorum,
        witness_keys=witness_keys,
        progress=progress,
    )
