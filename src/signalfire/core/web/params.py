"""Bounded path and query parameter types: an unbounded `int` passes validation and then overflows the
database column (PostgreSQL INTEGER/BIGINT, SQLite's 64-bit INTEGER) as a 500."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from signalfire.core.schemas import INT_MAX, MAX_OFFSET

VersionNumber = Annotated[int, Path(ge=1, le=INT_MAX)]
PageOffset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
AuditSeq = Annotated[int | None, Query(ge=0, le=2**63 - 1)]
