"""Report-level AIID imports: one signal per news report, grouped as AIID's editors grouped them.

The snapshot's ``reports.csv`` has a row per report (``report_number, title, url, source_domain,
authors, date_published``, and more columns this reader ignores; ``authors`` is a JSON list or a
comma-separated cell). ``incidents.csv`` lists each incident's report numbers. Every report becomes
a signal (dedupe key ``aiid-report:<n>``) in its incident's cluster, next to the incident's own
record (``aiid:<id>``); that grouping is the editors' and is kept as a curated cluster.
"""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO

from sqlalchemy.orm import Session

from signalfire.intake.aiid import AiidFormatError, AiidIncident, AiidRowError, text_stream
from signalfire.intake.polling import AIID_SNAPSHOT_ATTRIBUTION, aiid_key, aiid_payload, aiid_text
from signalfire.intake.reports_import import BATCH_SIZE, ReportImportResult, ReportRecord, import_reports

REPORT_COLUMNS = ("report_number", "title", "url")
_MAX_TITLE = 1_000
_MAX_AUTHORS = 50


@dataclass(frozen=True, slots=True)
class AiidReport:
    report_number: int
    title: str
    url: str | None
    authors: tuple[str, ...]
    published_at: datetime | None
    row_number: int


def report_key(report_number: int) -> str:
    return f"aiid-report:{report_number}"


def _authors(cell: str) -> tuple[str, ...]:
    cell = cell.strip()
    if not cell:
        return ()
    if cell.startswith("["):
        try:
            loaded = json.loads(cell)
        except json.JSONDecodeError:
            loaded = None
        if isinstance(loaded, list):
            return tuple(str(a).strip()[:200] for a in loaded if str(a).strip())[:_MAX_AUTHORS]
    return tuple(a.strip()[:200] for a in cell.split(",") if a.strip())[:_MAX_AUTHORS]


def _published(cell: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(cell.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iter_aiid_reports(
    fileobj: IO[bytes] | IO[str], *, errors: list[AiidRowError] | None = None
) -> Iterator[AiidReport]:
    """Each valid report of an AIID reports CSV, in file order; bad rows go to `errors`."""
    with text_stream(fileobj) as stream:
        reader = csv.DictReader(stream)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in REPORT_COLUMNS if c not in header]
        if missing:
            raise AiidFormatError(f"not an AIID reports file; missing columns: {', '.join(missing)}")
        seen: set[int] = set()
        for row_number, row in enumerate(reader, start=1):
            cells = {(k or "").strip(): (v or "").replace("\x00", "") for k, v in row.items() if isinstance(v, str)}
            raw = cells.get("report_number", "").strip()
            problem = None
            number = int(raw) if raw.isdigit() and int(raw) > 0 else None
            title = cells.get("title", "").strip()
            if number is None:
                problem = "report_number must be a positive whole number"
            elif number in seen:
                problem = f"duplicate report_number {number}"
            elif not title:
                problem = "title is empty"
            elif len(title) > _MAX_TITLE:
                problem = f"title longer than {_MAX_TITLE} characters"
            if problem is not None or number is None:
                if errors is not None:
                    errors.append(AiidRowError(row_number, raw or None, problem or "bad row"))
                continue
            seen.add(number)
            url = cells.get("url", "").strip()
            yield AiidReport(
                report_number=number,
                title=title,
                url=url if url.startswith(("http://", "https://")) else None,
                authors=_authors(cells.get("authors", "")),
                published_at=_published(cells.get("date_published", "")),
                row_number=row_number,
            )


def report_records(incidents: Iterable[AiidIncident], reports: Iterable[AiidReport]) -> Iterator[ReportRecord]:
    """Each incident's own record, then its reports, grouped under the incident's key. Reports no
    incident lists are imported on their own (clustering places them)."""
    incident_of: dict[int, AiidIncident] = {}
    ordered: list[AiidIncident] = []
    for incident in incidents:
        ordered.append(incident)
        for n in incident.report_numbers:
            incident_of.setdefault(n, incident)
    for incident in ordered:
        key = aiid_key(incident.incident_id)
        yield ReportRecord(
            key=key,
            title=incident.title,
            text=aiid_text(incident),
            url=incident.url,
            published_at=datetime(incident.date.year, incident.date.month, incident.date.day, tzinfo=UTC),
            group=key,
            raw=aiid_payload(incident),
        )
    for report in reports:
        owner = incident_of.get(report.report_number)
        yield ReportRecord(
            key=report_key(report.report_number),
            title=report.title,
            url=report.url,
            authors=report.authors,
            published_at=report.published_at,
            group=aiid_key(owner.incident_id) if owner else None,
            raw={
                "report_number": report.report_number,
                "incident_id": owner.incident_id if owner else None,
                "url": report.url,
                "authors": list(report.authors),
            },
        )


def import_aiid_reports(
    session: Session,
    org_id: uuid.UUID,
    incidents: Iterable[AiidIncident],
    reports: Iterable[AiidReport],
    *,
    feed_id: uuid.UUID | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> ReportImportResult:
    """Import the incidents' own records and then the reports, in batches (see `report_records`).

    The reports are read to the end first, so that the total is known and a bad file fails before anything
    is stored. That holds every report in memory, but only what ``AiidReport`` keeps of it (no article
    text), which is small beside the signals the import builds; the incidents were held already.
    ``progress(done, total)``, if given, counts records (each incident's own and each report, as in the
    result's created + skipped): once before the first and after each batch."""
    listed = list(incidents)
    read = list(reports)
    return import_reports(
        session,
        org_id,
        report_records(listed, read),
        attribution=AIID_SNAPSHOT_ATTRIBUTION,
        feed_id=feed_id,
        batch_size=batch_size,
        progress=progress,
        total=len(listed) + len(read),
    )
