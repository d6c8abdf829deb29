"""Append to and verify the hash-chained audit log.

Each entry's hash is sha256(prev_hash + canonical JSON of its content). The position (seq) is kept out
of the hash on purpose: then a reordered entry still verifies on its own but no longer links to its
neighbour, which lets `verify` tell "edited", "deleted" and "reordered" apart.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.audit.models import AuditEvent, AuditHead
from signalfire.core.clock import utcnow
from signalfire.core.request_context import request_id_var

GENESIS = "0" * 64


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"not JSON serialisable in audit summary: {type(value).__name__}")


def jsonable(summary: dict[str, Any]) -> dict[str, Any]:
    """Store exactly what we hash: round-trip through JSON once."""
    loaded: dict[str, Any] = json.loads(json.dumps(summary, default=_json_default))
    return loaded


def _content(event: AuditEvent) -> str:
    return json.dumps(
        {
            "id": str(event.id),
            "occurred_at": event.occurred_at.isoformat(),
            "actor_user_id": str(event.actor_user_id) if event.actor_user_id else None,
            "actor_label": event.actor_label,
            "org_id": str(event.org_id) if event.org_id else None,
            "action": event.action,
            "target_type": event.target_type,
            "target_id": event.target_id,
            "summary": event.summary,
            "request_id": event.request_id,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def compute_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256((prev_hash + "\n" + _content(event)).encode()).hexdigest()


def _lock_head(session: Session) -> AuditHead:
    head = session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if head is None:  # a database created outside the migrations; start the chain
        head = AuditHead(id=1, seq=0, last_hash=GENESIS)
        session.add(head)
        session.flush()
    return head


def record(
    session: Session,
    *,
    action: str,
    target_type: str,
    target_id: object | None = None,
    summary: dict[str, Any] | None = None,
    actor: Actor | None = None,
    actor_label: str | None = None,
    org_id: uuid.UUID | None = None,
) -> AuditEvent:
    """Append an entry in the caller's transaction: it commits or rolls back with the change it records."""
    head = _lock_head(session)
    event = AuditEvent(
        seq=head.seq + 1,
        id=uuid.uuid4(),
        occurred_at=utcnow(),
        actor_user_id=actor.user_id if actor else None,
        actor_label=actor_label or (actor.label if actor else "system"),
        org_id=org_id if org_id is not None else (actor.org_id if actor else None),
        action=action,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        summary=jsonable(summary or {}),
        request_id=request_id_var.get(),
        prev_hash=head.last_hash,
    )
    event.hash = compute_hash(event.prev_hash, event)
    head.seq = event.seq
    head.last_hash = event.hash
    session.add(event)
    return event


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    kind: str  # edited | deleted | reordered | broken | truncated
    message: str


def verify(session: Session, batch: int = 5000) -> list[ChainProblem]:
    events = session.execute(select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=batch))
    rows = list(_plain(events.scalars()))
    head = session.get(AuditHead, 1)
    return verify_rows(rows, head_seq=head.seq if head else None, head_hash=head.last_hash if head else None)


@dataclass(frozen=True)
class _Row:
    seq: int
    prev_hash: str
    hash: str
    valid: bool


def _plain(events: Iterable[AuditEvent]) -> Iterable[_Row]:
    for e in events:
        yield _Row(e.seq, e.prev_hash, e.hash, compute_hash(e.prev_hash, e) == e.hash)


def verify_rows(rows: list[_Row], *, head_seq: int | None, head_hash: str | None) -> list[ChainProblem]:
    problems: list[ChainProblem] = []
    seq_of_hash = {r.hash: r.seq for r in rows}
    expected_seq = 1
    prev: _Row | None = None
    for row in rows:
        if not row.valid:
            problems.append(ChainProblem(row.seq, "edited", f"entry {row.seq} was edited: its hash does not match"))
        gap = row.seq > expected_seq
        if gap:
            first, last = expected_seq, row.seq - 1
            span = f"entry {first}" if first == last else f"entries {first}-{last}"
            problems.append(ChainProblem(first, "deleted", f"{span} deleted: missing from the chain"))
        expected_link = prev.hash if prev else GENESIS
        if row.prev_hash != expected_link and not gap:
            other = seq_of_hash.get(row.prev_hash)
            if other is not None and other != row.seq:
                problems.append(
                    ChainProblem(
                        row.seq, "reordered", f"entry {row.seq} is out of order: in the chain it follows entry {other}"
                    )
                )
            elif prev is not None and prev.valid:
                problems.append(
                    ChainProblem(
                        row.seq,
                        "broken",
                        f"entry {row.seq} does not follow entry {prev.seq}: "
                        f"entry {prev.seq} was altered and re-hashed, or an entry was inserted",
                    )
                )
        expected_seq = row.seq + 1
        prev = row
    if head_seq is not None:
        last_seq = rows[-1].seq if rows else 0
        if head_seq > last_seq:
            span = f"entry {head_seq}" if head_seq == last_seq + 1 else f"entries {last_seq + 1}-{head_seq}"
            problems.append(ChainProblem(last_seq + 1, "deleted", f"{span} deleted from the end of the chain"))
        elif rows and head_hash is not None and rows[-1].hash != head_hash and head_seq == last_seq:
            problems.append(ChainProblem(last_seq, "edited", f"entry {last_seq} does not match the chain head"))
    return problems
