"""Polling feeds and importing public incident databases into signals.

One poll is one feed in one transaction: the scheduler enqueues a task per due feed, so a feed that
times out, answers 500 or serves broken XML records its error on its own row and never holds up the
others. Requests are conditional (ETag / Last-Modified), so an unchanged feed costs one 304.
Entries are idempotent on (feed, entry id); AIID incidents on their incident_id.
"""

from __future__ import annotations

import hashlib
import tempfile
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.settings import get_settings
from signalfire.intake import egress
from signalfire.intake.aiid import (
    AIID_ATTRIBUTION,
    AIID_LICENSE,
    AiidFormatError,
    AiidIncident,
    AiidRowError,
    iter_aiid_incidents,
    open_incidents_csv,
)
from signalfire.intake.feeds import FeedEntry, fetch_feed
from signalfire.intake.ingest import Incoming, ingest
from signalfire.intake.models import Feed, FeedKind, Signal, SourceKind
from signalfire.intake.scoring import Inventory, inventory_for

MAX_FEED_BYTES = 5 * 1024 * 1024
MAX_SNAPSHOT_BYTES = 512 * 1024 * 1024
FETCH_TIMEOUT = httpx.Timeout(20.0, connect=10.0)
USER_AGENT = "Signalfire-intake/1 (feed reader; conditional requests)"
# A failing feed is retried less and less often, up to this many intervals apart.
MAX_BACKOFF_FACTOR = 32
AIID_SNAPSHOT_ATTRIBUTION = f"{AIID_ATTRIBUTION} ({AIID_LICENSE})"


@dataclass
class PollResult:
    feed_id: uuid.UUID
    status: str  # ok | not_modified | error
    created: int = 0
    updated: int = 0
    skipped: int = 0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


def http_client(*, allow_private: bool | None = None) -> httpx.Client:
    """The fetcher for feeds and snapshots: public addresses only unless the settings allow private ones."""
    if allow_private is None:
        allow_private = get_settings().feeds.allow_private_addresses
    return egress.client(
        allow_private=allow_private,
        timeout=FETCH_TIMEOUT,
        headers={"User-Agent": USER_AGENT},
        follow_redirects=True,
        max_redirects=5,
    )


def entry_key(feed_id: uuid.UUID, guid: str) -> str:
    return f"feed:{feed_id}:{hashlib.sha256(guid.encode()).hexdigest()[:40]}"


def aiid_key(incident_id: int) -> str:
    return f"aiid:{incident_id}"


def due_feeds(session: Session, now: datetime) -> list[Feed]:
    return list(
        session.execute(
            select(Feed).where(Feed.active.is_(True), Feed.next_poll_at <= now).order_by(Feed.next_poll_at)
        ).scalars()
    )


def poll_feed(session: Session, feed_id: uuid.UUID, *, client: httpx.Client | None = None) -> PollResult:
    """Fetch one feed and store its new entries. Remote failures are recorded on the feed, not raised."""
    feed = session.get(Feed, feed_id)
    if feed is None or not feed.active:
        return PollResult(feed_id, "error", error="feed removed or paused")
    own_client = client is None
    client = client or http_client()
    try:
        if feed.kind is FeedKind.aiid_snapshot:
            result = _poll_snapshot(session, feed, client)
        else:
            result = _poll_rss(session, feed, client)
    finally:
        if own_client:
            client.close()
    record(
        session,
        action="intake.feed.poll",
        target_type="intake_feed",
        target_id=feed.id,
        org_id=feed.org_id,
        actor_label="Signalfire intake",
        summary={
            "url": feed.url,
            "status": result.status,
            "http_status": feed.last_status,
            "created": result.created,
            "updated": result.updated,
            "error": result.error,
        },
    )
    return result


def _poll_rss(session: Session, feed: Feed, client: httpx.Client) -> PollResult:
    # lint: allow-network-in-transaction issue 15: to fetch before the transaction in the worker rework
    fetched = fetch_feed(client, feed.url, etag=feed.etag, last_modified=feed.last_modified, max_bytes=MAX_FEED_BYTES)
    result = PollResult(feed.id, fetched.status, error=fetched.error)
    if fetched.status == "ok":
        created, skipped = store_entries(session, feed, fetched.entries)
        result.created, result.skipped = created, skipped
        if fetched.warning:
            result.warnings.append(fetched.warning)
        if fetched.feed_title and not feed.title:
            feed.title = fetched.feed_title[:300]
    _finish(
        feed,
        status=fetched.status,
        http_status=fetched.http_status,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        error=fetched.error or fetched.warning,
        created=result.created,
    )
    return result


def store_entries(session: Session, feed: Feed, entries: Iterable[FeedEntry]) -> tuple[int, int]:
    """Ingest the entries not stored before; returns (created, skipped)."""
    entries = list(entries)
    keys = {entry_key(feed.id, e.guid): e for e in entries}
    existing = (
        set(
            session.execute(
                select(Signal.dedupe_key).where(Signal.org_id == feed.org_id, Signal.dedupe_key.in_(list(keys)))
            ).scalars()
        )
        if keys
        else set()
    )
    inventory = inventory_for(session, feed.org_id)
    created = 0
    for key, entry in keys.items():
        if key in existing:
            continue
        ingest(
            session,
            Incoming(
                org_id=feed.org_id,
                source_kind=SourceKind.feed_item,
                title=entry.title or "(untitled entry)",
                text=entry.summary_text,
                url=entry.link,
                dedupe_key=key,
                feed_id=feed.id,
                published_at=entry.published,
                raw_content_type="application/rss+xml",
                raw_payload={
                    "feed_url": feed.url,
                    "guid": entry.guid,
                    "title": entry.title,
                    "link": entry.link,
                    "published": entry.published.isoformat() if entry.published else None,
                    "summary": entry.summary_text,
                },
            ),
            inventory=inventory,
            quiet=True,
        )
        created += 1
    return created, len(keys) - created


def _finish(
    feed: Feed,
    *,
    status: str,
    http_status: int | None,
    etag: str | None,
    last_modified: str | None,
    error: str | None,
    created: int,
) -> None:
    now = utcnow()
    feed.last_polled_at = now
    feed.last_status = http_status
    if status == "error":
        feed.consecutive_failures += 1
        feed.last_error = (error or "unknown error")[:2000]
        factor = min(2**feed.consecutive_failures, MAX_BACKOFF_FACTOR)
        feed.next_poll_at = now + timedelta(seconds=feed.poll_interval_seconds * factor)
        return
    feed.consecutive_failures = 0
    feed.last_success_at = now
    feed.last_error = error[:2000] if error else None  # a warning from a feed that still parsed
    feed.etag = etag[:500] if etag else None
    feed.last_modified = last_modified[:100] if last_modified else None
    feed.items_total += created
    feed.next_poll_at = now + timedelta(seconds=feed.poll_interval_seconds)


# -- AIID -----------------------------------------------------------------------------------------------


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def _aiid_text(incident: AiidIncident) -> str:
    parts = [incident.description]
    for label, values in (
        ("Alleged developer", incident.alleged_developers),
        ("Alleged deployer", incident.alleged_deployers),
        ("Alleged harmed or nearly harmed parties", incident.alleged_harmed_parties),
    ):
        if values:
            parts.append(f"{label}: {', '.join(values)}")
    return "\n".join(p for p in parts if p)


def _aiid_payload(incident: AiidIncident) -> dict[str, object]:
    return {
        "incident_id": incident.incident_id,
        "_id": incident.mongo_id,
        "date": incident.date.isoformat(),
        "title": incident.title,
        "description": incident.description,
        "reports": list(incident.report_numbers),
        "alleged_deployers": list(incident.alleged_deployers),
        "alleged_developers": list(incident.alleged_developers),
        "alleged_harmed_parties": list(incident.alleged_harmed_parties),
        "attribution": incident.attribution,
        "license": incident.license,
    }


def import_aiid(
    session: Session,
    org_id: uuid.UUID,
    incidents: Iterable[AiidIncident],
    *,
    feed_id: uuid.UUID | None = None,
    inventory: Inventory | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Store AIID incidents as signals, idempotent on incident_id: a known incident is left alone unless
    its editors changed it (then the stored copy is updated, without making a second signal)."""
    result = ImportResult()
    inventory = inventory or inventory_for(session, org_id)
    batch: list[AiidIncident] = []

    def flush_batch() -> None:
        keys = {aiid_key(i.incident_id): i for i in batch}
        known = {
            s.dedupe_key: s
            for s in session.execute(
                select(Signal).where(Signal.org_id == org_id, Signal.dedupe_key.in_(list(keys)))
            ).scalars()
        }
        for key, incident in keys.items():
            payload = _aiid_payload(incident)
            existing = known.get(key)
            if existing is None:
                ingest(
                    session,
                    Incoming(
                        org_id=org_id,
                        source_kind=SourceKind.feed_item,
                        title=incident.title,
                        text=_aiid_text(incident),
                        url=incident.url,
                        dedupe_key=key,
                        feed_id=feed_id,
                        published_at=datetime(incident.date.year, incident.date.month, incident.date.day, tzinfo=UTC),
                        raw_payload=payload,
                        raw_content_type="text/csv",
                        attribution=AIID_SNAPSHOT_ATTRIBUTION,
                    ),
                    inventory=inventory,
                    quiet=True,
                )
                result.created += 1
            elif existing.raw_payload != payload:
                existing.raw_payload = payload
                existing.title = incident.title[:300]
                existing.update_count += 1
                existing.updated_at = utcnow()
                result.updated += 1
            else:
                result.skipped += 1
        if progress is not None:
            progress(len(batch))
        batch.clear()

    for incident in incidents:
        batch.append(incident)
        if len(batch) >= 200:
            flush_batch()
    if batch:
        flush_batch()
    return result


def import_aiid_file(
    session: Session,
    org_id: uuid.UUID,
    source: str | IO[bytes],
    *,
    feed_id: uuid.UUID | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import a snapshot (CSV, tar or zip archive) from a path or binary stream."""
    errors: list[AiidRowError] = []
    with open_incidents_csv(source) as stream:
        result = import_aiid(
            session, org_id, iter_aiid_incidents(stream, errors=errors), feed_id=feed_id, progress=progress
        )
    result.errors = [f"row {e.row_number}: {e.message}" for e in errors[:100]]
    if len(errors) > 100:
        result.errors.append(f"... and {len(errors) - 100} more")
    return result


def _poll_snapshot(session: Session, feed: Feed, client: httpx.Client) -> PollResult:
    headers = {}
    if feed.etag:
        headers["If-None-Match"] = feed.etag
    if feed.last_modified:
        headers["If-Modified-Since"] = feed.last_modified
    result = PollResult(feed.id, "ok")
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
        try:
            # lint: allow-network-in-transaction issue 15: to fetch before the transaction in the worker rework
            with client.stream("GET", feed.url, headers=headers) as response:
                status = response.status_code
                new_etag, new_modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
                if status == 304:
                    _finish(
                        feed,
                        status="not_modified",
                        http_status=304,
                        etag=new_etag or feed.etag,
                        last_modified=new_modified or feed.last_modified,
                        error=None,
                        created=0,
                    )
                    result.status = "not_modified"
                    return result
                if status != 200:
                    raise _FetchFailed(f"HTTP {status} {response.reason_phrase}".strip(), status)
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_SNAPSHOT_BYTES:
                        raise _FetchFailed(f"snapshot larger than {MAX_SNAPSHOT_BYTES} bytes", status)
                    spool.write(chunk)
            spool.seek(0)
            imported = import_aiid_file(session, feed.org_id, spool, feed_id=feed.id)
        except _FetchFailed as exc:
            return _failed(feed, result, exc.message, exc.status)
        except httpx.HTTPError as exc:
            return _failed(feed, result, f"request failed: {type(exc).__name__}: {exc}"[:500], None)
        except AiidFormatError as exc:
            return _failed(feed, result, f"not an AIID snapshot: {exc}"[:500], 200)
    result.created, result.updated, result.skipped = imported.created, imported.updated, imported.skipped
    warning = f"{len(imported.errors)} row(s) skipped: {imported.errors[0]}" if imported.errors else None
    _finish(
        feed,
        status="ok",
        http_status=200,
        etag=new_etag,
        last_modified=new_modified,
        error=warning,
        created=imported.created,
    )
    return result


def record_failure(feed: Feed, message: str, http_status: int | None = None) -> None:
    """Record a failed poll on the feed (its error, the failure count, the backed-off next poll)."""
    _finish(
        feed,
        status="error",
        http_status=http_status,
        etag=feed.etag,
        last_modified=feed.last_modified,
        error=message,
        created=0,
    )


def _failed(feed: Feed, result: PollResult, message: str, status: int | None) -> PollResult:
    record_failure(feed, message, status)
    result.status, result.error = "error", message
    return result


class _FetchFailed(Exception):
    def __init__(self, message: str, status: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
