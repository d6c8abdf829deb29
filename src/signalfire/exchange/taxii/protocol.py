"""TAXII 2.1 wire rules that do not depend on storage: media types, errors, timestamps, query filters.

Every response is ``application/taxii+json;version=2.1`` (errors too), because taxii2-client checks
the Content-Type of every answer. Errors use the TAXII error message shape: ``title``,
``description``, ``http_status`` (the status code as a string) and ``error_id``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.responses import Response

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
TAXII_VERSION = "2.1"

DEFAULT_PAGE = 100
# Requests for more are capped silently (TAXII lets a server return fewer than asked, never more).
MAX_PAGE = 1000
MAX_FILTER_VALUES = 100


class TaxiiError(Exception):
    """An error answered in the TAXII error message format; raising it rolls the request back."""

    def __init__(self, status: int, title: str, description: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.title = title
        self.description = description
        self.headers = headers or {}


def bad_request(title: str, description: str) -> TaxiiError:
    return TaxiiError(400, title, description)


def not_found(description: str = "No such resource on this TAXII server.") -> TaxiiError:
    return TaxiiError(404, "Not found", description)


def taxii_json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return raw_taxii(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(), status, headers)


def raw_taxii(body: bytes, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(content=body, status_code=status, headers=dict(headers or {}), media_type=TAXII_MEDIA_TYPE)


def error_response(status: int, title: str, description: str, headers: Mapping[str, str] | None = None) -> Response:
    body = {"title": title, "description": description, "http_status": str(status), "error_id": str(uuid.uuid4())}
    return taxii_json(body, status, headers)


# --- content negotiation ----------------------------------------------------------------------------


def _media_ranges(header: str) -> list[tuple[str, dict[str, str]]]:
    ranges = []
    for part in header.split(","):
        pieces = [p.strip() for p in part.split(";")]
        if not pieces[0]:
            continue
        params = {}
        for piece in pieces[1:]:
            key, _, value = piece.partition("=")
            params[key.strip().lower()] = value.strip().strip('"')
        ranges.append((pieces[0].lower(), params))
    return ranges


def check_accept(header: str | None) -> None:
    """Accept TAXII 2.1 (with or without the version parameter) or a wildcard; refuse anything else (406)."""
    if not header:
        return
    for media, params in _media_ranges(header):
        if media in ("*/*", "application/*"):
            return
        if media == "application/taxii+json" and params.get("version", TAXII_VERSION) == TAXII_VERSION:
            return
    raise TaxiiError(
        406, "Not acceptable", f"This server answers only {TAXII_MEDIA_TYPE}; the request accepts {header!r}."
    )


def check_content_type(header: str | None) -> None:
    """Objects are added as a TAXII 2.1 envelope; any other body type is refused (415)."""
    ranges = _media_ranges(header or "")
    if len(ranges) == 1:
        media, params = ranges[0]
        if media == "application/taxii+json" and params.get("version", TAXII_VERSION) == TAXII_VERSION:
            return
    raise TaxiiError(
        415, "Unsupported media type", f"Send the envelope as {TAXII_MEDIA_TYPE}; got {header or 'no Content-Type'!r}."
    )


# --- timestamps -------------------------------------------------------------------------------------

_TIMESTAMP_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?Z")


def parse_timestamp(text: str) -> datetime:
    """A STIX/TAXII timestamp (UTC, ``Z``) with 0 to 6 fractional digits; ``ValueError`` otherwise."""
    match = _TIMESTAMP_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a timestamp like 2026-01-31T12:00:00.000000Z (UTC, 0-6 fractional digits)")
    year, month, day, hour, minute, second, fraction = match.groups()
    micro = int((fraction or "0").ljust(6, "0"))
    return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=UTC)


def format_date_added(value: datetime) -> str:
    """``date_added`` and the X-TAXII-Date-Added headers: always six fractional digits."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_version(value: datetime) -> str:
    """An object version as STIX writes timestamps: milliseconds, or microseconds when they are set."""
    text = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{value.microsecond:06d}"
    return f"{text}.{fraction if value.microsecond % 1000 else fraction[:3]}Z"


ONE_MICROSECOND = timedelta(microseconds=1)


# --- query filters ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionFilter:
    """``match[version]``: any of first / last / all / exact timestamps (comma = OR). Default: last."""

    first: bool = False
    last: bool = True
    all: bool = False
    exact: tuple[datetime, ...] = ()

    def key(self) -> str:
        parts = [name for name in ("first", "last", "all") if getattr(self, name)]
        parts += [format_date_added(t) for t in sorted(self.exact)]
        return ",".join(parts)


@dataclass(frozen=True)
class Query:
    """The parsed filters of a collection read. ``key()`` is what a ``next`` cursor is bound to."""

    limit: int = DEFAULT_PAGE
    added_after: datetime | None = None
    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    spec_versions: tuple[str, ...] = ()
    version: VersionFilter = field(default_factory=VersionFilter)
    next: str | None = None

    def key(self) -> str:
        return json.dumps(
            [
                format_date_added(self.added_after) if self.added_after else None,
                sorted(self.ids),
                sorted(self.types),
                sorted(self.spec_versions),
                self.version.key(),
            ],
            separators=(",", ":"),
        )


def _values(raw: str, name: str) -> tuple[str, ...]:
    values = tuple(dict.fromkeys(v.strip() for v in raw.split(",") if v.strip()))
    if not values:
        raise bad_request("Bad filter", f"{name} is empty; give one or more comma-separated values.")
    if len(values) > MAX_FILTER_VALUES:
        raise bad_request("Bad filter", f"{name} lists {len(values)} values; the limit is {MAX_FILTER_VALUES}.")
    return values


def parse_version_filter(raw: str | None, default: str = "last") -> VersionFilter:
    if raw is None:
        raw = default
    first = last = every = False
    exact = []
    for value in _values(raw, "match[version]"):
        if value == "first":
            first = True
        elif value == "last":
            last = True
        elif value == "all":
            every = True
        else:
            try:
                exact.append(parse_timestamp(value))
            except ValueError as exc:
                raise bad_request("Bad filter", f"match[version]: use first, last, all or timestamps; {exc}.") from None
    return VersionFilter(first=first, last=last, all=every, exact=tuple(exact))


def parse_query(params: Mapping[str, str], *, version_default: str = "last") -> Query:
    """Read limit, added_after, next and match[id|type|version|spec_version]; other match[...] are ignored."""
    limit = DEFAULT_PAGE
    if "limit" in params:
        raw = params["limit"].strip()
        if not raw.isdigit() or int(raw) < 1:
            raise bad_request("Bad limit", f"limit must be a positive whole number; got {params['limit']!r}.")
        limit = min(int(raw), MAX_PAGE)
    added_after = None
    if "added_after" in params:
        try:
            added_after = parse_timestamp(params["added_after"].strip())
        except ValueError as exc:
            raise bad_request("Bad added_after", f"added_after: {exc}.") from None
    ids = _values(params["match[id]"], "match[id]") if "match[id]" in params else ()
    types = _values(params["match[type]"], "match[type]") if "match[type]" in params else ()
    specs = _values(params["match[spec_version]"], "match[spec_version]") if "match[spec_version]" in params else ()
    next_token = params.get("next") or None
    return Query(
        limit=limit,
        added_after=added_after,
        ids=ids,
        types=types,
        spec_versions=specs,
        version=parse_version_filter(params.get("match[version]"), version_default),
        next=next_token,
    )
