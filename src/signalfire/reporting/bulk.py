"""Storing many new obligation rows at once.

The service's per-incident sync writes a handful of rows through the ORM. A bulk fill (the benchmark's
100,000 incidents, a restore of assessed incidents) writes rows built by the same
``obligations.new_row_values``: on PostgreSQL with ``COPY ... FROM STDIN``, which spares the server a
parse, plan and executor start per row (about a third of the CPU that one INSERT per row costs it here),
elsewhere with the driver's executemany. Either way inside the caller's transaction, so a failure
stores nothing. Naive datetimes are refused as everywhere else (``core.db.base.UTCDateTime``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Boolean, String, Table, Uuid, insert
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection

from signalfire.core.db.base import UTCDateTime
from signalfire.reporting.models import Obligation

_TABLE: Table = Obligation.__table__  # type: ignore[assignment]  # a mapped class's table is a Table
COLUMNS: tuple[str, ...] = tuple(c.name for c in _TABLE.columns)
_JSON = frozenset({"recipients", "required_fields"})


_ENUM_AT = tuple(i for i, c in enumerate(_TABLE.columns) if isinstance(c.type, SAEnum))
_TIME_AT = tuple(i for i, c in enumerate(_TABLE.columns) if isinstance(c.type, UTCDateTime))


def _pg_type(column: Any) -> str:
    """The PostgreSQL type name binary COPY must be told for ``column``."""
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return "timestamptz"
    if isinstance(kind, JSON | JSONB) or column.name in _JSON:
        return "jsonb"
    if isinstance(kind, Uuid):
        return "uuid"
    if isinstance(kind, Boolean):
        return "bool"
    if isinstance(kind, String | SAEnum):  # Text is a String; enums are stored as VARCHAR
        return "text"
    raise TypeError(f"no COPY type for {column.name} ({kind!r})")  # pragma: no cover - a new column type


@lru_cache(maxsize=1)
def _pg_types() -> list[str]:
    # Resolved on first use: a foreign-key column takes its type once the table it points at is loaded.
    return [_pg_type(c) for c in _TABLE.columns]


def copy_values(row: Mapping[str, Any]) -> list[Any]:
    """One row as COPY values in column order: enums as their values (the JSON columns take the lists as
    they are), datetimes checked for a zone (the ORM's ``UTCDateTime`` does that on every other path)."""
    values = [row.get(c) for c in COLUMNS]
    for i in _ENUM_AT:
        value = values[i]
        if isinstance(value, Enum):
            values[i] = value.value
    for i in _TIME_AT:
        at = values[i]
        if at is not None and (at.tzinfo is None or at.utcoffset() is None):
            raise ValueError(f"{COLUMNS[i]}: naive datetime refused: store timezone-aware UTC")
    return values


def store_new(connection: Connection, rows: Iterable[Mapping[str, Any]], *, batch: int = 5_000) -> int:
    """Insert new obligation rows (each a complete ``new_row_values`` mapping); returns the count."""
    if connection.dialect.name != "postgresql":
        count = 0
        chunk: list[Mapping[str, Any]] = []
        for row in rows:
            copy_values(row)  # the same checks and the same error as the COPY path
            chunk.append(row)
            if len(chunk) >= batch:
                connection.execute(insert(_TABLE), chunk)
                count, chunk = count + len(chunk), []
        if chunk:
            connection.execute(insert(_TABLE), chunk)
            count += len(chunk)
        return count
    driver = connection.connection.driver_connection
    if driver is None:  # pragma: no cover - a live connection always has one
        raise RuntimeError("no driver connection")
    count = 0
    statement = f"COPY {_TABLE.name} ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        # Binary COPY: the server skips parsing text (timestamps, UUIDs), the client skips formatting it.
        copy.set_types(_pg_types())
        for row in rows:
            copy.write_row(copy_values(row))
            count += 1
    return count


__all__ = ["COLUMNS", "store_new"]
