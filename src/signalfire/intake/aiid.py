"""Read the AI Incident Database (AIID) snapshot's incidents file, as published.

The weekly snapshot is a MongoDB export whose ``incidents.csv`` has the columns
``_id, incident_id, date, reports, Alleged deployer of AI system, Alleged developer of AI system,
Alleged harmed or nearly harmed parties, description, title``; ``reports`` holds a JSON list of report
numbers and the three entity columns JSON lists of entity slugs. Snapshots ship as archives
(``.tar.bz2`` today), so :func:`open_incidents_csv` finds the incidents file inside a tar or zip
archive, or takes a plain CSV, and streams it without extracting anything to disk.

The reader streams (tens of thousands of rows), validates every row into an :class:`AiidIncident`,
and reports a bad row as an :class:`AiidRowError` instead of stopping: an import job stores the
errors with its run and carries on. Cell contents are only ever data; use
:meth:`AiidIncident.export_row` (formula prefixes neutralised) when writing them to CSV or XLSX.

Licence: AIID incident records are CC BY-SA 4.0; keep :data:`AIID_ATTRIBUTION` with imported
records and show it wherever they are displayed or exported.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import logging
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath
from typing import IO, Any, Protocol, cast

__all__ = [
    "AIID_ATTRIBUTION",
    "AIID_LICENSE",
    "AIID_LICENSE_URL",
    "EXPORT_COLUMNS",
    "INCIDENT_COLUMNS",
    "AiidFormatError",
    "AiidIncident",
    "AiidRowError",
    "count_rows",
    "iter_aiid_incidents",
    "neutralize_formula",
    "open_incidents_csv",
]

log = logging.getLogger(__name__)

AIID_ATTRIBUTION = "AI Incident Database, Responsible AI Collaborative"
AIID_LICENSE = "CC BY-SA 4.0"
AIID_LICENSE_URL = "https://creativecommons.org/licenses/by-sa/4.0/"

COL_ID = "_id"
COL_INCIDENT_ID = "incident_id"
COL_DATE = "date"
COL_REPORTS = "reports"
COL_DEPLOYERS = "Alleged deployer of AI system"
COL_DEVELOPERS = "Alleged developer of AI system"
COL_HARMED = "Alleged harmed or nearly harmed parties"
COL_DESCRIPTION = "description"
COL_TITLE = "title"
INCIDENT_COLUMNS = (
    COL_ID,
    COL_INCIDENT_ID,
    COL_DATE,
    COL_REPORTS,
    COL_DEPLOYERS,
    COL_DEVELOPERS,
    COL_HARMED,
    COL_DESCRIPTION,
    COL_TITLE,
)
EXPORT_COLUMNS = (*INCIDENT_COLUMNS, "attribution", "license")

INCIDENTS_FILE_NAME = "incidents.csv"
# What a damaged archive raises while it is opened or read (bz2 and gzip raise OSError or EOFError).
_CORRUPT_ARCHIVE = (EOFError, OSError, tarfile.TarError, zipfile.BadZipFile, zlib.error)
# Python's csv module refuses fields over 128 KiB by default; the limit is process-wide, so it
# is not raised here. Such a row is reported as an error like any other bad row.
_MAX_TITLE_CHARS = 1_000
_MAX_LIST_ITEMS = 10_000


class AiidFormatError(ValueError):
    """The file as a whole is not an AIID incidents CSV (wrong header, no incidents file)."""


@dataclass(frozen=True, slots=True)
class AiidIncident:
    """One AIID incident. ``row_number`` is the 1-based record number after the header."""

    incident_id: int
    mongo_id: str
    date: date
    title: str
    description: str
    report_numbers: tuple[int, ...]
    alleged_deployers: tuple[str, ...]
    alleged_developers: tuple[str, ...]
    alleged_harmed_parties: tuple[str, ...]
    row_number: int
    attribution: str = AIID_ATTRIBUTION
    license: str = AIID_LICENSE

    @property
    def url(self) -> str:
        return f"https://incidentdatabase.ai/cite/{self.incident_id}/"

    def export_row(self) -> dict[str, str]:
        """The incident as CSV cells in the published column layout, safe to open in a spreadsheet."""
        row = {
            COL_ID: self.mongo_id,
            COL_INCIDENT_ID: str(self.incident_id),
            COL_DATE: self.date.isoformat(),
            COL_REPORTS: json.dumps(list(self.report_numbers)),
            COL_DEPLOYERS: json.dumps(list(self.alleged_deployers), ensure_ascii=False),
            COL_DEVELOPERS: json.dumps(list(self.alleged_developers), ensure_ascii=False),
            COL_HARMED: json.dumps(list(self.alleged_harmed_parties), ensure_ascii=False),
            COL_DESCRIPTION: self.description,
            COL_TITLE: self.title,
            "attribution": self.attribution,
            "license": self.license,
        }
        return {column: neutralize_formula(value) for column, value in row.items()}


@dataclass(frozen=True, slots=True)
class AiidRowError:
    """A row that was skipped, with why. ``incident_id`` is the raw cell, if there was one."""

    row_number: int
    incident_id: str | None
    message: str


# Characters that make Excel, LibreOffice or Google Sheets treat a cell as a formula (OWASP CSV
# injection guidance), plus their full-width forms, which some spreadsheet locales accept too.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralize_formula(value: str) -> str:
    """Prefix a cell that a spreadsheet would evaluate with ``'`` so it is shown as text."""
    return "'" + value if value.startswith(_FORMULA_PREFIXES) else value


@contextmanager
def text_stream(fileobj: IO[bytes] | IO[str]) -> Iterator[IO[str]]:
    probe: Any = fileobj.read(0)
    if isinstance(probe, str):
        yield cast(IO[str], fileobj)
        return
    # utf-8-sig drops the BOM some exports start with; bad bytes become U+FFFD rather than
    # aborting the whole import.
    wrapper = io.TextIOWrapper(cast(Any, fileobj), encoding="utf-8-sig", errors="replace", newline="")
    try:
        yield wrapper
    finally:
        wrapper.detach()  # leave the caller's stream open; closing it is the caller's business


def count_rows(fileobj: IO[bytes] | IO[str]) -> int:
    """Number of non-blank records after the header (quoted newlines counted correctly), for
    progress bars. Consumes the stream; open the source again to import.
    """
    count = -1
    with text_stream(fileobj) as stream:
        reader = csv.reader(stream)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error:
                row = ["unreadable"]  # still a record, and iter_aiid_incidents will report it
            if any(cell.strip() for cell in row):
                count += 1
    return max(count, 0)


def iter_aiid_incidents(
    fileobj: IO[bytes] | IO[str], *, errors: list[AiidRowError] | None = None
) -> Iterator[AiidIncident]:
    """Yield each valid incident of an AIID incidents CSV, in file order.

    Bad rows are appended to ``errors`` (or logged when it is ``None``) and skipped. A repeated
    ``incident_id`` is an error; the first occurrence wins. Extra columns are ignored, so newer
    snapshots with more columns still import. Raises :class:`AiidFormatError` only when the header
    lacks a required column.
    """
    with text_stream(fileobj) as stream:
        yield from _incidents(csv.reader(stream), errors)


def _incidents(reader: Any, errors: list[AiidRowError] | None) -> Iterator[AiidIncident]:
    try:
        header = next(reader)
    except StopIteration:
        raise AiidFormatError("empty file: no header row") from None
    except csv.Error as exc:
        raise AiidFormatError(f"unreadable header: {exc}") from exc
    positions = {name.strip(): i for i, name in enumerate(header)}
    missing = [column for column in INCIDENT_COLUMNS if column not in positions]
    if missing:
        raise AiidFormatError(f"not an AIID incidents file; missing columns: {', '.join(missing)}")

    def record(error: AiidRowError) -> None:
        if errors is None:
            log.warning("AIID row %d skipped: %s", error.row_number, error.message)
        else:
            errors.append(error)

    seen: set[int] = set()
    row_number = 0
    while True:
        row_number += 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            record(AiidRowError(row_number, None, f"unreadable CSV record: {exc}"))
            continue
        if not any(cell.strip() for cell in row):
            row_number -= 1  # blank line, not a record
            continue
        cells = {
            column: row[positions[column]] if positions[column] < len(row) else None for column in INCIDENT_COLUMNS
        }
        raw_id = cells[COL_INCIDENT_ID]
        try:
            incident = _parse_row(cells, row_number, too_short=len(row) < len(header))
        except _RowProblem as problem:
            record(AiidRowError(row_number, raw_id, str(problem)))
            continue
        if incident.incident_id in seen:
            record(AiidRowError(row_number, raw_id, f"duplicate incident_id {incident.incident_id}"))
            continue
        seen.add(incident.incident_id)
        yield incident


class _RowProblem(ValueError):
    pass


def _parse_row(cells: dict[str, str | None], row_number: int, *, too_short: bool) -> AiidIncident:
    if too_short:
        raise _RowProblem("row has fewer cells than the header")
    # NUL is removed because PostgreSQL text columns cannot hold it.
    values = {column: (value or "").replace("\x00", "").strip() for column, value in cells.items()}
    incident_id = _positive_int(values[COL_INCIDENT_ID], COL_INCIDENT_ID)
    title = values[COL_TITLE]
    if not title:
        raise _RowProblem("title is empty")
    if len(title) > _MAX_TITLE_CHARS:
        raise _RowProblem(f"title longer than {_MAX_TITLE_CHARS} characters")
    return AiidIncident(
        incident_id=incident_id,
        mongo_id=values[COL_ID],
        date=_iso_date(values[COL_DATE]),
        title=title,
        description=values[COL_DESCRIPTION],
        report_numbers=tuple(_positive_int(item, COL_REPORTS) for item in _json_list(values[COL_REPORTS], COL_REPORTS)),
        alleged_deployers=_slugs(values[COL_DEPLOYERS], COL_DEPLOYERS),
        alleged_developers=_slugs(values[COL_DEVELOPERS], COL_DEVELOPERS),
        alleged_harmed_parties=_slugs(values[COL_HARMED], COL_HARMED),
        row_number=row_number,
    )


def _positive_int(value: object, column: str) -> int:
    if isinstance(value, bool):
        raise _RowProblem(f"{column}: {value!r} is not a positive integer")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
        number = int(value)
    else:
        raise _RowProblem(f"{column}: {str(value)[:40]!r} is not a positive integer")
    if number < 1:
        raise _RowProblem(f"{column}: {number} is not a positive integer")
    return number


def _iso_date(value: str) -> date:
    # Exports have used both "2018-03-18" and "2018-03-18T00:00:00.000Z".
    text = value[:10] if len(value) > 10 and value[10] in "T " else value
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _RowProblem(f"date: {value[:40]!r} is not an ISO date") from None


def _json_list(value: str, column: str) -> list[Any]:
    if not value:
        return []
    try:
        parsed = json.loads(value)
    except (json.JSONDecodeError, RecursionError):
        raise _RowProblem(f"{column}: not a JSON list") from None
    if not isinstance(parsed, list):
        raise _RowProblem(f"{column}: not a JSON list")
    if len(parsed) > _MAX_LIST_ITEMS:
        raise _RowProblem(f"{column}: more than {_MAX_LIST_ITEMS} items")
    return parsed


def _slugs(value: str, column: str) -> tuple[str, ...]:
    slugs: list[str] = []
    for item in _json_list(value, column):
        if not isinstance(item, str) or not item.strip():
            raise _RowProblem(f"{column}: entries must be non-empty strings")
        slug = item.strip()
        if slug not in slugs:
            slugs.append(slug)
    return tuple(slugs)


# --- Snapshot archives ----------------------------------------------------------------------------


@contextmanager
def open_incidents_csv(
    source: str | Path | IO[bytes], *, member_name: str = INCIDENTS_FILE_NAME
) -> Iterator[IO[bytes]]:
    """Open the incidents CSV of a snapshot as a binary stream.

    ``source`` is a path or a binary file object holding a plain CSV, a tar archive (plain, gzip or
    bzip2) or a zip archive; the kind is detected from the first bytes, not the file name. In an
    archive the first regular file whose base name is ``member_name`` (case-insensitive) is used.
    Tar archives are read as a stream (no seeking, nothing extracted); zip needs a seekable source.
    """
    with ExitStack() as stack:
        raw: IO[bytes] = stack.enter_context(open(source, "rb")) if isinstance(source, str | Path) else source
        buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(_Unclosable(raw))
        # Exceptions are translated here and not around the yield, so errors raised by the
        # caller's own code inside the with-block pass through unchanged.
        try:
            head = buffered.peek(8)[:8]
            member: IO[bytes] | None = None
            if head.startswith(b"PK\x03\x04"):
                archive = stack.enter_context(zipfile.ZipFile(buffered))
                member = stack.enter_context(archive.open(_zip_member(archive, member_name)))
            elif head.startswith((b"\x1f\x8b", b"BZh")) or _looks_like_tar(buffered):
                member = _tar_member(stack, buffered, member_name, head)
        except _CORRUPT_ARCHIVE as exc:
            raise AiidFormatError(f"unreadable snapshot archive: {exc}") from exc
        if member is None:
            yield buffered
        else:
            # Decompression errors surface while the CSV is read; they mean a damaged file too.
            yield io.BufferedReader(_Unclosable(member, corrupt_is_format_error=True))


class _Unclosable(io.RawIOBase):
    """Adapts a caller's stream for BufferedReader without closing it when we are done."""

    def __init__(self, inner: IO[bytes] | io.BufferedIOBase, *, corrupt_is_format_error: bool = False) -> None:
        self._inner = inner
        self._translate = corrupt_is_format_error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._inner.read(len(buffer))
        except _CORRUPT_ARCHIVE as exc:
            if not self._translate:
                raise
            raise AiidFormatError(f"snapshot archive is truncated or corrupt: {exc}") from exc
        buffer[: len(data)] = data
        return len(data)

    def seekable(self) -> bool:
        try:
            return bool(self._inner.seekable())
        except (AttributeError, OSError, ValueError):  # tarfile's streamed members cannot even answer
            return False

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._inner.seek(offset, whence)

    def tell(self) -> int:
        return self._inner.tell()


class _Peekable(Protocol):
    def peek(self, size: int = ..., /) -> bytes: ...


def _looks_like_tar(stream: _Peekable) -> bool:
    block = stream.peek(512)[:512]
    return len(block) >= 262 and block[257:262] == b"ustar"


def _tar_member(stack: ExitStack, stream: io.BufferedReader, member_name: str, head: bytes) -> IO[bytes]:
    decompressed: io.BufferedIOBase
    if head.startswith(b"\x1f\x8b"):
        # A gzip file that is not a tar (e.g. incidents.csv.gz) is accepted too.
        decompressed = stack.enter_context(gzip.GzipFile(fileobj=stream, mode="rb"))
    elif head.startswith(b"BZh"):
        decompressed = stack.enter_context(bz2.BZ2File(stream, mode="rb"))
    else:
        decompressed = stream
    peekable = io.BufferedReader(_Unclosable(decompressed), buffer_size=64 * 1024)
    if not _looks_like_tar(peekable):
        return peekable  # a compressed plain CSV
    archive = stack.enter_context(tarfile.open(fileobj=peekable, mode="r|"))  # noqa: SIM115 - ExitStack closes it
    wanted = member_name.lower()
    for member in archive:
        if member.isfile() and PurePosixPath(member.name).name.lower() == wanted:
            extracted = archive.extractfile(member)
            if extracted is not None:
                return extracted
    raise AiidFormatError(f"no {member_name} in the snapshot archive")


def _zip_member(archive: zipfile.ZipFile, member_name: str) -> zipfile.ZipInfo:
    wanted = member_name.lower()
    for info in archive.infolist():
        if not info.is_dir() and PurePosixPath(info.filename).name.lower() == wanted:
            return info
    raise AiidFormatError(f"no {member_name} in the snapshot archive")
