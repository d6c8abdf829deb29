"""Form plumbing for the reporting pages: posted data, UTC times, and a service call that, on bad input,
leaves nothing behind and hands back the errors so the page can show the form again with what was typed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from signalfire.core.errors import FieldError, ValidationFailed

T = TypeVar("T")
MAX_FORM_VALUE = 20_000


async def form_data(request: Request) -> dict[str, str]:
    """The posted form as a plain dict (questionnaires and report fields have names that come from data).
    Values are cut at the largest any field accepts; the services check their own limits."""
    form = await request.form()
    return {k: v[: MAX_FORM_VALUE + 1] for k, v in form.items() if isinstance(v, str)}


FormData = Annotated[dict[str, str], Depends(form_data)]


async def form_lists(request: Request) -> dict[str, list[str]]:
    """The posted form with every value of each name (checkbox groups)."""
    form = await request.form()
    out: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            out.setdefault(key, []).append(value[: MAX_FORM_VALUE + 1])
    return out


FormLists = Annotated[dict[str, list[str]], Depends(form_lists)]


def utc(value: str, field_name: str) -> datetime:
    """A datetime-local value (no zone) read as UTC, as the forms say; or an ISO time with a zone."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed.single(field_name, "Give a date and time (UTC).") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def local_input(value: datetime | None) -> str:
    """The value a datetime-local input shows for a UTC time."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") if value else ""


@dataclass
class Outcome(Generic[T]):
    value: T | None = None
    errors: list[FieldError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def attempt(session: Session, fn: Callable[[], T]) -> Outcome[T]:
    """Run ``fn`` in a savepoint. On ValidationFailed nothing it wrote stays (the request still commits
    what came before), and the errors come back for the form."""
    try:
        with session.begin_nested():
            return Outcome(fn())
    except ValidationFailed as exc:
        return Outcome(None, list(exc.errors))


def by_field(errors: list[FieldError], rename: Callable[[str], str] | None = None) -> dict[str, str]:
    """Messages keyed by form field (several for one field joined)."""
    out: dict[str, str] = {}
    for e in errors:
        key = rename(e.field) if rename else e.field
        out[key] = f"{out[key]} {e.message}" if key in out else e.message
    return out


def summary(errors: Mapping[str, str], labels: Mapping[str, str]) -> list[tuple[str, str]]:
    """(human label, message) for the box above a form; a field without a label shows as "Form"."""
    return [(labels.get(name, "Form"), message) for name, message in errors.items()]
