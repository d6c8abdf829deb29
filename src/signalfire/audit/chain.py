"""Append to the audit log, and the exact bytes each entry contributes to the Merkle tree.

`record` only INSERTs a row in the caller's transaction: it commits or rolls back with the change it
records, and no row is shared by concurrent writers. The sequencer (`audit.sequencer`) later assigns the
entry its position and hashes it into the tree. Every stored field except the leaf hash itself is under
that hash, including the position, so a moved entry no longer matches and `verify` can say where from.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import String, Table, cast, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from signalfire.access.actor import Actor
from signalfire.audit.models import AuditEvent
from signalfire.core.clock import utcnow
from signalfire.core.request_context import request_id_var

LEAF_VERSION = 1
# Set in session.info by `record`, so the app-wide read audit knows a service already wrote an entry.
AUDITED_KEY = "signalfire.audited"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):  # (tuples never get here: json writes them as lists itself)
        return sorted(value, key=str)
    raise TypeError(f"not JSON serialisable in audit summary: {type(value).__name__}")


def jsonable(summary: dict[str, Any]) -> dict[str, Any]:
    """Store exactly what we hash: round-trip through JSON once."""
    loaded: dict[str, Any] = json.loads(json.dumps(summary, default=_json_default))
    return loaded


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
    actor_user_id: uuid.UUID | None = None,
) -> AuditEvent:
    """Append an entry in the caller's transaction: it commits or rolls back with the change it records.
    `actor_user_id` names the person when the work is done later on their behalf (the worker placing a
    signal someone sent) and there is no `actor` for it.

    Returns the entry as written, not attached to the session (its `seq` is the database's).
    """
    # Flush what the caller has pending first, as the former chain's head lookup did: services rely on
    # their rows being written (defaults applied) by the time they record the change.
    session.flush()
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "occurred_at": utcnow(),
        "actor_user_id": actor.user_id if actor else actor_user_id,
        "actor_label": actor_label or (actor.label if actor else "system"),
        "org_id": org_id if org_id is not None else (actor.org_id if actor else None),
        "action": action,
        "target_type": target_type,
        "target_id": str(target_id) if target_id is not None else None,
        "summary": jsonable(summary or {}),
        "request_id": request_id_var.get(),
    }
    # One Core INSERT, sent now: the hottest write in the app skips the unit of work (identity map,
    # a second flush at commit), and the entry is in the transaction before the caller goes on.
    seq = session.execute(_INSERT, values).scalar_one()
    session.info[AUDITED_KEY] = True
    return AuditEvent(seq=seq, **values)


@dataclass(frozen=True)
class Entry:
    """One entry for :func:`record_many`: the same fields as :func:`record`'s arguments."""

    action: str
    target_type: str
    target_id: object | None = None
    summary: dict[str, Any] | None = None
    actor: Actor | None = None
    actor_label: str | None = None
    org_id: uuid.UUID | None = None
    actor_user_id: uuid.UUID | None = None


def record_many(session: Session, entries: Sequence[Entry]) -> int:
    """Append several entries in the caller's transaction with one flush and one multi-row INSERT (a
    batch of the worker's placements): the same rows, in the same order, as one :func:`record` call per
    entry, which costs a flush and a round trip each. The chain is unchanged: positions and hashes are
    still assigned by the sequencer, in `seq` order. Returns how many entries were written."""
    if not entries:
        return 0
    session.flush()
    request_id = request_id_var.get()
    rows = [
        {
            "id": uuid.uuid4(),
            "occurred_at": utcnow(),
            "actor_user_id": e.actor.user_id if e.actor else e.actor_user_id,
            "actor_label": e.actor_label or (e.actor.label if e.actor else "system"),
            "org_id": e.org_id if e.org_id is not None else (e.actor.org_id if e.actor else None),
            "action": e.action,
            "target_type": e.target_type,
            "target_id": str(e.target_id) if e.target_id is not None else None,
            "summary": jsonable(e.summary or {}),
            "request_id": request_id,
        }
        for e in entries
    ]
    # A Core executemany: SQLAlchemy sends it as batched multi-row INSERTs (insertmanyvalues) on both
    # PostgreSQL and SQLite; `seq` comes from the sequence/rowid in row order.
    session.execute(insert(_TABLE), rows)
    session.info[AUDITED_KEY] = True
    return len(rows)


_TABLE: Table = AuditEvent.__table__  # type: ignore[assignment]  # a mapped class's table is a Table
_INSERT = insert(_TABLE).returning(_TABLE.c.seq)


# -- what is hashed ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RawEntry:
    """An entry as stored, with the summary as its stored text so a malformed row can still be reported."""

    seq: int
    id: uuid.UUID
    occurred_at: datetime
    actor_user_id: uuid.UUID | None
    actor_label: str
    org_id: uuid.UUID | None
    action: str
    target_type: str
    target_id: str | None
    summary_text: str | None
    request_id: str | None
    legacy_hash: str | None
    leaf_index: int | None
    leaf_hash: str | None

    def summary(self) -> tuple[Any, str | None]:
        """The parsed summary, or the raw text and why it is malformed."""
        if self.summary_text is None:
            return None, "summary is missing"
        try:
            value = json.loads(self.summary_text)
        except ValueError:
            return self.summary_text, "summary is not JSON"
        if not isinstance(value, dict):
            return value, "summary is not a JSON object"
        return value, None


HASHED_COLUMNS = (
    "seq",
    "id",
    "occurred_at",
    "actor_user_id",
    "actor_label",
    "org_id",
    "action",
    "target_type",
    "target_id",
    "summary",
    "request_id",
    "legacy_hash",
    "leaf_index",
)


def raw_entries() -> Select[Any]:
    columns = [getattr(AuditEvent, c) for c in HASHED_COLUMNS if c != "summary"]
    return select(*columns, cast(AuditEvent.summary, String).label("summary_text"), AuditEvent.leaf_hash)


def raw_entry(row: Any) -> RawEntry:
    return RawEntry(**row._mapping)


def leaf_data(entry: RawEntry, index: int) -> bytes:
    """The canonical bytes of an entry at a position (RFC 8785-style: sorted keys, no spaces, UTF-8)."""
    summary, _ = entry.summary()
    content = {
        "v": LEAF_VERSION,
        "index": index,
        "seq": entry.seq,
        "id": str(entry.id),
        "occurred_at": entry.occurred_at.isoformat(),
        "actor_user_id": str(entry.actor_user_id) if entry.actor_user_id else None,
        "actor_label": entry.actor_label,
        "org_id": str(entry.org_id) if entry.org_id else None,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "summary": summary,
        "request_id": entry.request_id,
        "legacy_hash": entry.legacy_hash,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
