"""Typed views the tests need where a library declares a wider type than the object has."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy import Table
from sqlalchemy.orm import DeclarativeBase


class HttpResponse(Protocol):
    """What tests read from an HTTP answer. Starlette's TestClient returns an `httpx2.Response` when httpx2
    is installed and an `httpx.Response` otherwise; both have this shape."""

    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def json(self, **kwargs: Any) -> Any: ...


def table_of(model: type[DeclarativeBase]) -> Table:
    """A mapped class's table, typed as one (SQLAlchemy declares `__table__` as any FromClause)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table
