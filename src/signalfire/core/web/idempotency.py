"""Idempotency keys for creates from outside: a retried request gets the first response back.

The stored response is written in the same transaction as the record it describes, so either both
exist or neither; a concurrent duplicate hits the primary key and is answered 409.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from signalfire.core.clock import utcnow
from signalfire.core.db.base import Base
from signalfire.core.db.prune import delete_oldest
from signalfire.core.errors import AppError, Conflict

MAX_KEY = 200


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_record"
    __table_args__ = (Index("ix_idempotency_record_created_at", "created_at"),)

    # scope = who is asking (user id, or a public channel + client fingerprint) plus the route.
    scope: Mapped[str] = mapped_column(String(300), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


def fingerprint(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def validate_key(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise AppError(
            detail=f"Idempotency-Key must be 1-{MAX_KEY} printable characters.",
            status=400,
            title="Bad Idempotency-Key",
            slug="bad-idempotency-key",
        )
    return key


def lookup(session: Session, scope: str, key: str, request_hash: str) -> IdempotencyRecord | None:
    rec = session.get(IdempotencyRecord, (scope, key))
    if rec is not None and rec.request_hash != request_hash:
        raise AppError(
            detail="This Idempotency-Key was already used with a different request body.",
            status=422,
            title="Idempotency-Key reused",
            slug="idempotency-key-reused",
        )
    return rec


def store(session: Session, scope: str, key: str, request_hash: str, status: int, response: dict[str, Any]) -> None:
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        # One statement instead of savepoint, insert, release: three round trips on every create.
        values = {
            "scope": scope,
            "key": key,
            "request_hash": request_hash,
            "status": status,
            "response": response,
            "created_at": utcnow(),
        }
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = (
            insert(IdempotencyRecord)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[IdempotencyRecord.scope, IdempotencyRecord.key])
            .returning(IdempotencyRecord.key)
        )
        if session.execute(stmt).first() is None:
            raise _in_flight()
        return
    try:
        with session.begin_nested():
            session.add(
                IdempotencyRecord(
                    scope=scope,
                    key=key,
                    request_hash=request_hash,
                    status=status,
                    response=response,
                    created_at=utcnow(),
                )
            )
    except IntegrityError:
        raise _in_flight() from None


def _in_flight() -> Conflict:
    # A concurrent request with the key committed first (PostgreSQL waits for it to end before answering).
    return Conflict(
        "A request with this Idempotency-Key is being processed; retry shortly.", slug="idempotency-in-flight"
    )


def run_idempotent(
    session: Session,
    *,
    scope: str,
    key: str | None,
    payload: Any,
    create: Any,
) -> tuple[int, dict[str, Any], bool]:
    """Run `create()` (returning (status, JSON-able body)) at most once per (scope, key).

    Returns (status, body, replayed). Without a key it simply runs `create()`.
    """
    key = validate_key(key)
    if key is None:
        status, body = create()
        return status, body, False
    request_hash = fingerprint(payload)
    existing = lookup(session, scope, key, request_hash)
    if existing is not None:
        return existing.status, existing.response, True
    status, body = create()
    store(session, scope, key, request_hash, status, body)
    return status, body, False


def prune(session: Session, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` records stored before ``before``; a retry after that runs the create again."""
    keys = (IdempotencyRecord.scope, IdempotencyRecord.key)
    return delete_oldest(session, IdempotencyRecord, keys, IdempotencyRecord.created_at, before, limit)
