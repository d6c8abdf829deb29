"""Base classes for API and form schemas, and the shared constrained types every input goes through.

Values from outside must be storable on both databases and usable in date arithmetic, so the edge refuses
what PostgreSQL or Python would only refuse later, as a 500:
- text with NUL characters (PostgreSQL text and JSONB cannot hold them) or unpaired UTF-16 surrogates
  (not encodable as UTF-8);
- integers outside PostgreSQL's INTEGER (the narrowest integer column an input reaches);
- datetimes without a time zone or outside 1900-2200 (year 9999 plus a deadline overflows).
`StrictIn` applies these rules to every field, nested lists and dicts included; the `Annotated` types
below carry them to form fields, query parameters and models that are not `StrictIn`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1
BIGINT = (-(2**63), 2**63 - 1)
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
MAX_OFFSET = 1_000_000  # paging further than this is not browsing; it only burns database time
_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why this text cannot be stored, or None."""
    if "\x00" in value:
        return "must not contain NUL characters"
    if _SURROGATE.search(value):
        return "must not contain unpaired surrogate characters"
    return None


def check_text(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def check_int(value: int) -> int:
    if not INT_MIN <= value <= INT_MAX:
        raise ValueError(f"must be between {INT_MIN} and {INT_MAX}")
    return value


def check_datetime(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must include a time zone (e.g. 2026-01-31T12:00:00Z)")
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"must be between {EARLIEST.year} and {LATEST.year - 1}")
    return value


def check_date(value: date) -> date:
    if not EARLIEST.year <= value.year < LATEST.year:
        raise ValueError(f"must be between {EARLIEST.year} and {LATEST.year - 1}")
    return value


def value_problem(value: Any, int_range: tuple[int, int] = (INT_MIN, INT_MAX)) -> str | None:
    """The first unstorable text, integer or time inside a (nested) input value, as '<where>: <why>'."""
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        low, high = int_range
        return None if low <= value <= high else f"must be between {low} and {high}"
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return None if EARLIEST <= aware < LATEST else f"must be between {EARLIEST.year} and {LATEST.year - 1}"
    if isinstance(value, date):
        return None if EARLIEST.year <= value.year < LATEST.year else "year out of range"
    if isinstance(value, dict):
        for key, item in value.items():
            problem = value_problem(key, int_range) or value_problem(item, int_range)
            if problem:
                return f"[{key!r}]: {problem}" if isinstance(key, str) and not text_problem(key) else problem
        return None
    if isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            problem = value_problem(item, int_range)
            if problem:
                return f"[{index}]: {problem}"
    return None


SafeText = Annotated[str, AfterValidator(check_text)]
"""Any text from outside; give it an explicit max_length where it is declared (Field, Form, Query)."""
ShortText = Annotated[str, Field(max_length=200), AfterValidator(check_text)]
LongText = Annotated[str, Field(max_length=20_000), AfterValidator(check_text)]
DbInt = Annotated[int, Field(ge=INT_MIN, le=INT_MAX)]
UtcDatetime = Annotated[AwareDatetime, AfterValidator(check_datetime)]
SaneDate = Annotated[date, AfterValidator(check_date)]


class StrictIn(BaseModel):
    """Input schemas forbid unknown fields so a typo fails loudly instead of being ignored, and every value
    (nested ones too) must be storable: see the module docstring."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, BaseModel):
            return value  # a nested model checks its own fields
        problem = value_problem(value)
        if problem:
            raise ValueError(problem.removeprefix(": "))
        return value


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)
