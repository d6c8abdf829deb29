"""Report-level bulk import: one signal per news report, clustered in batches.

Used by the AIID report importer and by anything that brings many reports at once. Each batch is
stored first and then clustered in one linkage pass (matching.place_signals), which is both faster
than placing reports one by one and closer to what an editor would do with the whole pile.

A record may name a `group` (an AIID incident): its reports then go to that group's cluster, marked
curated, because a person (the database's editor) made that grouping; clustering never merges it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Sized
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.intake.ingest import Incoming, ingest, unused_references
from signalfire.intake.models import Cluster, Signal, SourceKind
from signalfire.intake.scoring import Inventory, inventory_for

# One linkage pass per batch: larger batches cluster closer to the offline optimum (docs/benchmarks.md);
# 2,000 reports and their neighbours make a similarity matrix of a few tens of MB.
BATCH_SIZE = 2000


@dataclass(frozen=True)
class ReportRecord:
    key: str  # what makes a re-import the same report (dedupe key)
    title: str
    url: str | None = None
    authors: tuple[str, ...] = ()
    text: str = ""
    published_at: datetime | None = None
    group: str | None = None  # dedupe key of the record whose cluster this one joins
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class ReportImportResult:
    created: int = 0
    skipped: int = 0
    signals: list[uuid.UUID] = field(default_factory=list)


def _chunks(records: Iterable[ReportRecord], size: int) -> Iterator[list[ReportRecord]]:
    chunk: list[ReportRecord] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def import_reports(
    session: Session,
    org_id: uuid.UUID,
    records: Iterable[ReportRecord],
    *,
    source_kind: SourceKind = SourceKind.feed_item,
    attribution: str | None = None,
    feed_id: uuid.UUID | None = None,
    inventory: Inventory | None = None,
    batch_size: int = BATCH_SIZE,
    raw_content_type: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    total: int | None = None,
) -> ReportImportResult:
    """Store new records as signals (idempotent on `key`) and cluster each batch; quiet (the caller
    records one audit entry for the run).

    ``progress(done, total)``, if given, is told how many records were handled (stored or already there):
    once before the first and after each batch is stored and clustered, so last with ``done == total``.
    ``total`` is the number of records when the caller knows it (records are often a generator); without
    it, the length of ``records`` if they have one, else the count so far."""
    from signalfire.intake.matching import place_signals, register_signals

    result = ReportImportResult()
    inventory = inventory or inventory_for(session, org_id)
    expected = total if total is not None else len(records) if isinstance(records, Sized) else 0
    done = 0
    if progress is not None:
        progress(0, expected)
    for chunk in _chunks(records, batch_size):
        keys = [r.key for r in chunk]
        known = set(
            session.execute(select(Signal.dedupe_key).where(Signal.org_id == org_id, Signal.dedupe_key.in_(keys)))
            .scalars()
            .all()
        )
        free: list[Signal] = []
        grouped: list[tuple[Signal, str]] = []
        references = unused_references(session, len(chunk))
        for record, reference in zip(chunk, references, strict=True):
            if record.key in known:
                result.skipped += 1
                continue
            known.add(record.key)
            signal = ingest(
                session,
                Incoming(
                    org_id=org_id,
                    source_kind=source_kind,
                    title=record.title,
                    text=record.text,
                    url=record.url,
                    authors=list(record.authors),
                    dedupe_key=record.key,
                    feed_id=feed_id,
                    published_at=record.published_at,
                    raw_payload=record.raw,
                    raw_content_type=raw_content_type,
                    attribution=attribution,
                ),
                inventory=inventory,
                quiet=True,
                cluster=False,
                reference=reference,
            )
            result.created += 1
            result.signals.append(signal.id)
            if record.group is None:
                free.append(signal)
            else:
                grouped.append((signal, record.group))
        if grouped:
            _place_grouped(session, org_id, grouped)
            register_signals(session, [s for s, _ in grouped])
        place_signals(session, free)
        done += len(chunk)
        if progress is not None:
            progress(done, max(expected, done))
    return result


def _place_grouped(session: Session, org_id: uuid.UUID, grouped: list[tuple[Signal, str]]) -> None:
    """Each group's cluster is the one its group record is in (made curated), or a new curated one."""
    group_keys = sorted({g for _, g in grouped})
    existing = {
        row.dedupe_key: row.cluster_id
        for row in session.execute(
            select(Signal.dedupe_key, Signal.cluster_id).where(
                Signal.org_id == org_id, Signal.dedupe_key.in_(group_keys), Signal.cluster_id.is_not(None)
            )
        )
    }
    clusters: dict[str, Cluster] = {}
    for signal, group in grouped:
        cluster = clusters.get(group)
        if cluster is None:
            cluster_id = existing.get(group)
            found = session.get(Cluster, cluster_id) if cluster_id is not None else None
            if found is None:
                found = Cluster(
                    id=uuid.uuid4(),
                    org_id=org_id,
                    title=signal.title,
                    signal_count=0,
                    curated=True,
                    created_at=signal.received_at,
                    last_signal_at=signal.received_at,
                )
                session.add(found)
            found.curated = True
            clusters[group] = cluster = found
        signal.cluster_id = cluster.id
        cluster.signal_count += 1
        cluster.last_signal_at = max(cluster.last_signal_at, signal.received_at)
    session.flush()
