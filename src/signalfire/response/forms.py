"""Turning HTML form posts into the same pydantic inputs the JSON API takes.

Forms work without JavaScript, so values arrive as strings: ``datetime-local`` fields carry no zone
and are read as UTC (the forms say so), lists come as repeated fields or one value per line, and
empty strings mean "not given".
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError

from signalfire.core.errors import FieldError, ValidationFailed, loc_to_field
from signalfire.core.schemas import check_datetime

M = TypeVar("M", bound=BaseModel)
MAX_FIELDS = 200


async def _form_data(request: Request) -> dict[str, Any]:
    form = await request.form()
    out: dict[str, Any] = {}
    for key in list(form.keys())[:MAX_FIELDS]:
        if key == "csrf_token":
            continue
        values = [v for v in form.getlist(key) if isinstance(v, str)]
        out[key] = values if len(values) > 1 else (values[0] if values else "")
    return out


FormDep = Annotated[dict[str, Any], Depends(_form_data)]


def utc_local(value: str | None) -> datetime | None:
    """A ``datetime-local`` value read as UTC; an ISO value with an offset is kept as given."""
    if value is None or not str(value).strip():
        return None
    try:
        parsed = datetime.fromisoformat(str(value).strip())
        # Out of range is as unusable as unparsable: year 9999 plus a week overflows.
        return check_datetime(parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC))
    except ValueError:
        return None


def lines(value: Any) -> list[str]:
    """Repeated fields or a textarea with one entry per line (commas also separate)."""
    items = value if isinstance(value, list) else str(value or "").replace(",", "\n").splitlines()
    return [s.strip() for s in items if str(s).strip()]


def checkbox(value: Any) -> bool:
    return str(value).lower() in ("1", "true", "on", "yes")


def parse(
    model: type[M],
    data: dict[str, Any],
    *,
    times: tuple[str, ...] = (),
    lists: tuple[str, ...] = (),
    flags: tuple[str, ...] = (),
) -> M:
    """Validate form data with ``model``; a refusal is a 422 naming the fields, as in the API."""
    clean: dict[str, Any] = {}
    for key, value in data.items():
        if key in lists:
            clean[key] = lines(value)
        elif key in flags:
            clean[key] = checkbox(value)
        elif key in times:
            if str(value).strip():
                parsed = utc_local(value)
                clean[key] = parsed if parsed is not None else value
        elif isinstance(value, str) and value == "":
            continue
        else:
            clean[key] = value
    for key in flags:
        clean.setdefault(key, False)
    try:
        return model.model_validate(clean)
    except ValidationError as exc:
        errors = [FieldError(loc_to_field(tuple(e.get("loc", ()))), e.get("msg", "invalid")) for e in exc.errors()]
        raise ValidationFailed(errors) from None
