"""Fetch and parse RSS/Atom feeds for intake, politely and defensively.

:func:`fetch_feed` does one conditional GET (``If-None-Match`` / ``If-Modified-Since`` from the
validators stored after the previous fetch), reads at most ``max_bytes`` of the body while it
streams, and parses it with feedparser. It never raises for anything the remote side can do:
HTTP errors, timeouts, oversize bodies and broken XML all come back as ``status="error"`` with a
message, so a scheduler can record the failure on the feed and move on.

Redirects are followed (feeds move). Which hosts may be fetched (e.g. no private addresses) is the
caller's policy, enforced through the ``httpx.Client`` it passes in (transport, proxies, timeouts).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import feedparser
import httpx

from signalfire.intake.normalize import html_to_text

__all__ = [
    "FEED_ACCEPT",
    "FeedEntry",
    "FeedFetch",
    "fetch_feed",
    "parse_feed",
]

FeedStatus = Literal["ok", "not_modified", "error"]

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json;q=0.5, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
)
DEFAULT_MAX_ENTRIES = 500
DEFAULT_SUMMARY_CHARS = 4_000
_TITLE_CHARS = 500
_MAX_FIELD_CHARS = 2_048  # guid and link; longer values are not identifiers anyone needs
_MAX_HTML_PER_ENTRY = 200_000


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item of a feed, reduced to plain text.

    ``guid`` is the feed's own id, else the link, else a hash of title, date and summary, so every
    entry has a stable key for idempotent storage. ``link`` is kept only if it is http(s).
    """

    guid: str
    title: str
    link: str | None
    published: datetime | None
    summary_text: str
    # Bylines (RSS <author>/<dc:creator>, Atom <author><name>): clustering compares them per outlet.
    authors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FeedFetch:
    """Outcome of one fetch.

    On ``ok``, ``etag``/``last_modified`` are the validators to send next time (``None`` if the
    server sent none). On ``not_modified`` they are the server's, falling back to the ones sent.
    On ``error`` they are the ones sent, unchanged, so a transient failure does not reset them.
    ``warning`` is set when the feed had problems but still yielded entries.
    """

    status: FeedStatus
    url: str
    entries: list[FeedEntry] = field(default_factory=list)
    etag: str | None = None
    last_modified: str | None = None
    http_status: int | None = None
    feed_title: str | None = None
    error: str | None = None
    warning: str | None = None


class _TooLargeError(Exception):
    pass


def fetch_feed(
    client: httpx.Client,
    url: str,
    *,
    etag: str | None,
    last_modified: str | None,
    max_bytes: int,
    max_entries: int = DEFAULT_MAX_ENTRIES,
    summary_chars: int = DEFAULT_SUMMARY_CHARS,
) -> FeedFetch:
    """Conditionally GET ``url`` and parse it. Never raises for a bad feed; see the module docs."""
    headers = {"Accept": FEED_ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified

    def failed(message: str, http_status: int | None = None) -> FeedFetch:
        return FeedFetch(
            status="error", url=url, etag=etag, last_modified=last_modified, http_status=http_status, error=message
        )

    try:
        with client.stream("GET", url, headers=headers, follow_redirects=True) as response:
            if response.status_code == 304:
                return FeedFetch(
                    status="not_modified",
                    url=url,
                    http_status=304,
                    etag=response.headers.get("ETag") or etag,
                    last_modified=response.headers.get("Last-Modified") or last_modified,
                )
            if response.status_code >= 400:
                return failed(f"HTTP {response.status_code} {response.reason_phrase}".strip(), response.status_code)
            if response.status_code != 200:
                return failed(f"unexpected HTTP status {response.status_code}", response.status_code)
            body = _read_capped(response, max_bytes)
            response_headers = dict(response.headers)
            final_url = str(response.url)
    except _TooLargeError:
        return failed(f"feed larger than {max_bytes} bytes")
    except httpx.TimeoutException as exc:
        return failed(f"timed out ({type(exc).__name__})")
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
        return failed(f"request failed: {type(exc).__name__}: {exc}"[:500])

    try:
        parsed = parse_feed(
            body, headers=response_headers, base_url=final_url, max_entries=max_entries, summary_chars=summary_chars
        )
    except Exception as exc:  # parser bugs on hostile input must not stop the scheduler
        return failed(f"feed could not be parsed: {type(exc).__name__}", 200)
    new_etag = response_headers.get("etag")
    new_last_modified = response_headers.get("last-modified")
    if parsed.status == "error":
        return FeedFetch(
            status="error", url=url, etag=etag, last_modified=last_modified, http_status=200, error=parsed.error
        )
    return FeedFetch(
        status="ok",
        url=url,
        entries=parsed.entries,
        etag=new_etag,
        last_modified=new_last_modified,
        http_status=200,
        feed_title=parsed.feed_title,
        warning=parsed.warning,
    )


def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _TooLargeError
    buffer = bytearray()
    # iter_bytes yields decompressed data, so the cap also holds against compression bombs.
    for chunk in response.iter_bytes():
        buffer += chunk
        if len(buffer) > max_bytes:
            raise _TooLargeError
    return bytes(buffer)


def parse_feed(
    body: bytes,
    *,
    headers: Mapping[str, str] | None = None,
    base_url: str = "",
    max_entries: int = DEFAULT_MAX_ENTRIES,
    summary_chars: int = DEFAULT_SUMMARY_CHARS,
) -> FeedFetch:
    """Parse an already fetched feed body (also used for uploaded files and tests).

    Returns ``status="error"`` when feedparser reports malformed input and finds no entries.
    """
    response_headers = {k.lower(): v for k, v in (headers or {}).items()}
    if base_url:
        response_headers.setdefault("content-location", base_url)
    # A BytesIO, never the bytes themselves: feedparser treats a str or bytes argument as a URL or
    # a file name if it looks like one.
    # Sanitising and URI resolution are off because only plain text leaves this module
    # (html_to_text drops scripts, iframes and markup); feedparser's sanitiser keeps iframe text.
    parsed: Any = feedparser.parse(
        io.BytesIO(body), response_headers=response_headers, sanitize_html=False, resolve_relative_uris=False
    )
    raw_entries = list(parsed.get("entries", []))
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if isinstance(problem, feedparser.NonXMLContentType):
        problem = None  # served as text/html or without a type: common and harmless
    if not raw_entries and problem is not None:
        return FeedFetch(status="error", url=base_url, error=f"malformed feed: {_describe(problem)}")
    if not raw_entries and not parsed.get("version"):
        return FeedFetch(status="error", url=base_url, error="not a recognised RSS or Atom feed")
    entries = [_entry(raw, summary_chars) for raw in raw_entries[:max_entries]]
    warning = f"feed parsed with problems: {_describe(problem)}" if problem is not None else None
    if len(raw_entries) > max_entries:
        warning = (warning + "; " if warning else "") + f"only the first {max_entries} entries were read"
    title = html_to_text(str(parsed.get("feed", {}).get("title", "")), max_chars=_TITLE_CHARS) or None
    return FeedFetch(status="ok", url=base_url, entries=entries, feed_title=title, warning=warning)


def _describe(problem: object) -> str:
    return f"{type(problem).__name__}: {problem}"[:300]


def _entry(raw: dict[str, Any], summary_chars: int) -> FeedEntry:
    title = html_to_text(str(raw.get("title") or ""), max_chars=_TITLE_CHARS)
    link = _http_link(raw.get("link"))
    # dict.get, not raw.get: FeedParserDict aliases these two keys to each other with a warning.
    published = _timestamp(dict.get(raw, "published_parsed")) or _timestamp(dict.get(raw, "updated_parsed"))
    summary_html = str(raw.get("summary") or "")
    contents = raw.get("content") or []
    if contents and isinstance(contents, list):
        # Atom <content> (and RSS content:encoded) is the full text; prefer it when longer.
        full = str(contents[0].get("value") or "")
        if len(full) > len(summary_html):
            summary_html = full
    summary = html_to_text(summary_html, max_chars=summary_chars, max_input_chars=_MAX_HTML_PER_ENTRY)
    guid = str(raw.get("id") or "").strip()[:_MAX_FIELD_CHARS] or link or _content_hash(title, published, summary)
    return FeedEntry(
        guid=guid, title=title, link=link, published=published, summary_text=summary, authors=_authors(raw)
    )


_MAX_AUTHORS = 20


def _authors(raw: dict[str, Any]) -> tuple[str, ...]:
    names: list[str] = []
    listed = raw.get("authors")
    if isinstance(listed, list):
        names += [str(a.get("name") or "") for a in listed if isinstance(a, dict)]
    single = raw.get("author")
    if isinstance(single, str):
        names.append(single)
    cleaned = (html_to_text(n, max_chars=200).strip() for n in names[:_MAX_AUTHORS])
    return tuple(dict.fromkeys(n for n in cleaned if n))


def _http_link(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    link = value.strip()
    if len(link) > _MAX_FIELD_CHARS or urlsplit(link).scheme.lower() not in ("http", "https"):
        return None
    return link


def _timestamp(value: Any) -> datetime | None:
    # feedparser normalises every date it understands to a UTC struct_time.
    if value is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(part) for part in tuple(value)[:6])
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _content_hash(title: str, published: datetime | None, summary: str) -> str:
    digest = hashlib.sha256(
        "\x1f".join((title, published.isoformat() if published else "", summary)).encode("utf-8")
    ).hexdigest()
    return f"sha256:{digest}"
