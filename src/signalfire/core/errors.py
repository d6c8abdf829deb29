"""Domain errors and their rendering as RFC 9457 problem+json (API) or pages/fragments (UI).

Services raise these; one set of handlers renders them. Text is user-safe: never a driver message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

PROBLEM_BASE = "https://signalfire.dev/problems/"
log = logging.getLogger("signalfire.errors")


@dataclass
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass
class AppError(Exception):
    detail: str = "Something went wrong."
    status: int = 400
    title: str = "Bad request"
    slug: str = "bad-request"
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.detail)

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = [e.as_dict() for e in self.errors]
        return body


class NotFound(AppError):
    """Also used for rows the actor may not see: forbidden looks like missing."""

    def __init__(self, detail: str = "Not found.") -> None:
        super().__init__(detail=detail, status=404, title="Not found", slug="not-found")


class Unauthorized(AppError):
    def __init__(self, detail: str = "Authentication required.") -> None:
        super().__init__(
            detail=detail,
            status=401,
            title="Unauthorized",
            slug="unauthorized",
            headers={"WWW-Authenticate": 'Bearer realm="signalfire"'},
        )


class Forbidden(AppError):
    """Only where the actor already knows the object exists (e.g. their own org's settings)."""

    def __init__(self, detail: str = "You do not have permission to do this.") -> None:
        super().__init__(detail=detail, status=403, title="Forbidden", slug="forbidden")


class Conflict(AppError):
    def __init__(self, detail: str, slug: str = "conflict") -> None:
        super().__init__(detail=detail, status=409, title="Conflict", slug=slug)


class ValidationFailed(AppError):
    def __init__(self, errors: list[FieldError], detail: str | None = None) -> None:
        names = ", ".join(e.field for e in errors)
        super().__init__(
            detail=detail or f"Invalid input: {names}.",
            status=422,
            title="Validation failed",
            slug="validation-failed",
            errors=errors,
        )

    @classmethod
    def single(cls, field_name: str, message: str) -> ValidationFailed:
        return cls([FieldError(field_name, message)], detail=f"{field_name}: {message}")


class PayloadTooLarge(AppError):
    def __init__(self, limit: int) -> None:
        super().__init__(
            detail=f"Request body exceeds the limit of {limit} bytes.",
            status=413,
            title="Payload too large",
            slug="payload-too-large",
        )


class RateLimited(AppError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(
            detail=f"Too many requests. Try again in {retry_after} seconds.",
            status=429,
            title="Too many requests",
            slug="rate-limited",
            headers={"Retry-After": str(retry_after)},
        )


class CsrfFailed(AppError):
    def __init__(self) -> None:
        super().__init__(
            detail="Missing or invalid CSRF token. Reload the page and try again.",
            status=403,
            title="CSRF check failed",
            slug="csrf",
        )


def loc_to_field(loc: tuple[Any, ...] | list[Any]) -> str:
    """('body', 'audience', 0, 'org') -> 'audience[0].org' (the request part is implied)."""
    parts = [p for p in loc if p not in ("body", "query", "path", "header", "form", "cookie")]
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out or str(loc[-1] if loc else "body")
