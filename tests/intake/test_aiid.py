"""Streaming import of the AI Incident Database snapshot's incidents CSV."""

from __future__ import annotations

import csv
import gzip
import io
import logging
import tarfile
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import IO, Literal

import pytest

from signalfire.intake.aiid import (
    AIID_ATTRIBUTION,
    AIID_LICENSE,
    EXPORT_COLUMNS,
    INCIDENT_COLUMNS,
    AiidFormatError,
    AiidIncident,
    AiidRowError,
    count_rows,
    iter_aiid_incidents,
    neutralize_formula,
    open_incidents_csv,
)

TarMode = Literal["w", "w:gz", "w:bz2"]
SNAPSHOT_CSV = Path(__file__).parent / "fixtures" / "aiid_incidents.csv"
HEADER = ",".join(f'"{c}"' if " " in c else c for c in INCIDENT_COLUMNS) + "\n"


def read_all(fileobj: IO[bytes] | IO[str]) -> tuple[list[AiidIncident], list[AiidRowError]]:
    errors: list[AiidRowError] = []
    incidents = list(iter_aiid_incidents(fileobj, errors=errors))
    return incidents, errors


def test_snapshot_fixture_imports_good_rows_and_records_bad_ones() -> None:
    with SNAPSHOT_CSV.open("rb") as f:
        incidents, errors = read_all(f)
        assert not f.closed  # the caller's stream is left for the caller to close
    assert [i.incident_id for i in incidents] == [1, 2, 3, 4, 5, 10, 11, 13]
    assert [(e.row_number, e.incident_id) for e in errors] == [
        (6, "6"),
        (7, "seven"),
        (8, "8"),
        (9, "1"),
        (12, "12"),
    ]
    messages = [e.message for e in errors]
    assert messages == [
        "reports: not a JSON list",
        "incident_id: 'seven' is not a positive integer",
        "date: '2021-13-45' is not an ISO date",
        "duplicate incident_id 1",
        "row has fewer cells than the header",
    ]


def test_fields_are_typed_and_quoting_is_respected() -> None:
    with SNAPSHOT_CSV.open("rb") as f:
        by_id = {i.incident_id: i for i in read_all(f)[0]}
    first = by_id[1]
    assert first.mongo_id == "5d52ed0a9c1ba0f2e3a1b001"
    assert first.date == date(2015, 5, 19)
    assert first.report_numbers == (1, 2, 3, 4, 5)
    assert first.alleged_deployers == ("youtube",)
    assert first.alleged_harmed_parties == ("children",)
    assert first.title == "Children's video app recommends disturbing clips"
    assert first.row_number == 1
    assert first.attribution == AIID_ATTRIBUTION == "AI Incident Database, Responsible AI Collaborative"
    assert first.license == AIID_LICENSE == "CC BY-SA 4.0"
    assert first.url == "https://incidentdatabase.ai/cite/1/"

    quoted = by_id[2]
    assert quoted.description.endswith('said the robot had been "operating as designed".')
    assert quoted.title == "Warehouse robot punctures bear-repellent can, 24 workers hospitalised"

    multiline = by_id[3]
    assert multiline.description.count("\n") == 3
    assert multiline.alleged_harmed_parties == ("airplane-passengers", "airplane-crew")

    unicode_row = by_id[4]
    assert unicode_row.alleged_deployers == ("münchen-verkehrsbetriebe",)
    assert "乗客" in unicode_row.description and "🚆" in unicode_row.title

    assert by_id[5].title.startswith("=HYPERLINK(")  # stored as published, neutralised on export
    empty = by_id[10]
    assert (empty.report_numbers, empty.alleged_deployers, empty.description) == ((), (), "")
    assert by_id[11].date == date(2019, 3, 18)  # "2019-03-18T00:00:00.000Z"


def test_count_rows_counts_records_not_lines() -> None:
    with SNAPSHOT_CSV.open("rb") as f:
        assert count_rows(f) == 13
        assert not f.closed
    # The multi-line description makes the file longer than its record count.
    assert SNAPSHOT_CSV.read_text(encoding="utf-8").count("\n") > 14


def test_text_streams_are_accepted_too() -> None:
    with SNAPSHOT_CSV.open(encoding="utf-8", newline="") as f:
        incidents, errors = read_all(f)
    assert len(incidents) == 8 and len(errors) == 5


def test_without_an_error_list_bad_rows_are_logged_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="signalfire.intake.aiid"), SNAPSHOT_CSV.open("rb") as f:
        assert len(list(iter_aiid_incidents(f))) == 8
    assert sum("AIID row" in message for message in caplog.messages) == 5


def test_extra_and_reordered_columns_are_fine() -> None:
    columns = ["title", "editor_notes", *INCIDENT_COLUMNS[:-1]]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    writer.writerow(["A title", "note", "abc", "42", "2024-01-31", "[7]", '["a"]', '["b"]', '["c"]', "Text"])
    incidents, errors = read_all(io.StringIO(buf.getvalue()))
    assert errors == []
    assert (incidents[0].incident_id, incidents[0].title, incidents[0].alleged_developers) == (42, "A title", ("b",))


@pytest.mark.parametrize("content", ["", "id,title\n1,x\n", "_id,incident_id,date\n"])
def test_a_file_that_is_not_an_incidents_csv_is_refused(content: str) -> None:
    with pytest.raises(AiidFormatError):
        list(iter_aiid_incidents(io.StringIO(content)))


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        (["x", "0", "2020-01-01", "[]", "[]", "[]", "[]", "d", "t"], "incident_id: 0 is not a positive integer"),
        (["x", "1", "2020-01-01", '{"a": 1}', "[]", "[]", "[]", "d", "t"], "reports: not a JSON list"),
        (["x", "1", "2020-01-01", '["one"]', "[]", "[]", "[]", "d", "t"], "reports: 'one' is not a positive integer"),
        (["x", "1", "2020-01-01", "[true]", "[]", "[]", "[]", "d", "t"], "reports: True is not a positive integer"),
        (["x", "1", "2020-01-01", "[]", "[1]", "[]", "[]", "d", "t"], "entries must be non-empty strings"),
        (["x", "1", "2020-01-01", "[]", "[]", "[]", "[]", "d", " "], "title is empty"),
        (["x", "1", "", "[]", "[]", "[]", "[]", "d", "t"], "date: '' is not an ISO date"),
        (["x", "1", "2020-01-01", "[" * 5000 + "]" * 5000, "[]", "[]", "[]", "d", "t"], "reports: not a JSON list"),
    ],
)
def test_row_validation(cells: list[str], message: str) -> None:
    buf = io.StringIO()
    csv.writer(buf).writerows([INCIDENT_COLUMNS, cells])
    incidents, errors = read_all(io.StringIO(buf.getvalue()))
    assert incidents == []
    assert message in errors[0].message


def test_a_record_the_csv_module_cannot_read_does_not_stop_the_import() -> None:
    oversized = "x" * 200_000  # over the csv module's 128 KiB field limit
    data = HEADER + f'a,1,2020-01-01,[],[],[],[],"{oversized}",Too long\n' + "b,2,2020-01-02,[],[],[],[],ok,Fine\n"
    incidents, errors = read_all(io.StringIO(data))
    assert [i.incident_id for i in incidents] == [2]
    assert errors[0].message.startswith("unreadable CSV record")


def test_nul_characters_and_bad_bytes_do_not_stop_the_import() -> None:
    data = (HEADER + "a,1,2020-01-01,[],[],[],[],has\x00nul,T1\n").encode()
    data += b"b,2,2020-01-02,[],[],[],[],\xff\xfe,T2\n"
    incidents, errors = read_all(io.BytesIO(data))
    assert errors == []
    assert incidents[0].description == "hasnul"
    assert incidents[1].description == "\ufffd\ufffd"


def test_a_large_snapshot_streams_every_row() -> None:
    def rows() -> Iterator[str]:
        yield HEADER
        for n in range(1, 20_001):
            yield f'id{n},{n},2020-01-01,"[{n}]","[""dep""]","[""dev""]","[""harmed""]","Description, {n}",Title {n}\n'

    data = "".join(rows()).encode()
    # Speed is measured in bench/, not here; this checks that every row of a large snapshot comes through.
    assert count_rows(io.BytesIO(data)) == 20_000
    total = sum(1 for _ in iter_aiid_incidents(io.BytesIO(data), errors=[]))
    assert total == 20_000


# --- export ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+1 555 0100", "'+1 555 0100"),
        ("-40% of answers", "'-40% of answers"),
        ("@support", "'@support"),
        ("\t=cmd", "'\t=cmd"),
        ("\uff1dSUM(A1)", "'\uff1dSUM(A1)"),
        ("Plain title", "Plain title"),
        ("", ""),
        ("a=b", "a=b"),
    ],
)
def test_neutralize_formula(value: str, expected: str) -> None:
    assert neutralize_formula(value) == expected


def test_export_rows_are_spreadsheet_safe_and_carry_attribution() -> None:
    with SNAPSHOT_CSV.open("rb") as f:
        by_id = {i.incident_id: i for i in read_all(f)[0]}
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    for incident in by_id.values():
        writer.writerow(incident.export_row())
    exported = {int(row["incident_id"]): row for row in csv.DictReader(io.StringIO(out.getvalue()))}
    assert exported[5]["title"] == "'" + by_id[5].title
    assert exported[13]["description"].startswith("'-40%")
    assert exported[3]["description"] == by_id[3].description  # newlines survive the round trip
    assert exported[4]["Alleged deployer of AI system"] == '["münchen-verkehrsbetriebe"]'
    assert all(row["attribution"] == AIID_ATTRIBUTION for row in exported.values())
    for row in exported.values():
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row.values())


# --- snapshot archives -----------------------------------------------------------------------------


def tar_snapshot(mode: TarMode) -> bytes:
    """A snapshot laid out like the published one: a folder of CSV exports, plus decoys."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:

        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        folder = tarfile.TarInfo("mongodump_full_snapshot")
        folder.type = tarfile.DIRTYPE
        tar.addfile(folder)
        link = tarfile.TarInfo("mongodump_full_snapshot/old/INCIDENTS.CSV")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)  # not a regular file: must be skipped
        add("mongodump_full_snapshot/reports.csv", b"_id,report_number,title\n1,1,A report\n")
        add("mongodump_full_snapshot/incidents.csv", SNAPSHOT_CSV.read_bytes())
        add("mongodump_full_snapshot/classifications_CSETv1.csv", b"Namespace,Incident ID\nCSETv1,1\n")
    return buf.getvalue()


def zip_snapshot() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("snapshot/reports.csv", "_id,report_number\n")
        archive.writestr("snapshot/Incidents.csv", SNAPSHOT_CSV.read_bytes())
    return buf.getvalue()


class OneWayStream(io.RawIOBase):
    """A non-seekable stream, like an HTTP download or a pipe."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        chunk = self._inner.read(min(len(buffer), 1000))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def import_from(source: str | Path | IO[bytes]) -> tuple[list[AiidIncident], list[AiidRowError]]:
    with open_incidents_csv(source) as f:
        return read_all(f)


@pytest.mark.parametrize("mode", ["w:gz", "w:bz2", "w"])
def test_tar_snapshots_are_streamed_from_a_path(tmp_path: Path, mode: TarMode) -> None:
    path = tmp_path / "backup-20260301.tar"
    path.write_bytes(tar_snapshot(mode))
    incidents, errors = import_from(path)
    assert len(incidents) == 8 and len(errors) == 5
    with open_incidents_csv(str(path)) as f:
        assert count_rows(f) == 13


def test_a_tar_gz_snapshot_is_read_from_a_stream_that_cannot_seek() -> None:
    stream = io.BufferedReader(OneWayStream(tar_snapshot("w:gz")))
    assert not stream.seekable()
    incidents, errors = import_from(stream)
    assert [i.incident_id for i in incidents] == [1, 2, 3, 4, 5, 10, 11, 13]
    assert len(errors) == 5


def test_zip_snapshots_and_plain_files(tmp_path: Path) -> None:
    zipped = tmp_path / "snapshot.zip"
    zipped.write_bytes(zip_snapshot())
    assert len(import_from(zipped)[0]) == 8
    assert len(import_from(io.BytesIO(zip_snapshot()))[0]) == 8
    assert len(import_from(SNAPSHOT_CSV)[0]) == 8
    gzipped = tmp_path / "incidents.csv.gz"
    gzipped.write_bytes(gzip.compress(SNAPSHOT_CSV.read_bytes()))
    assert len(import_from(gzipped)[0]) == 8


def test_a_caller_stream_is_not_closed() -> None:
    stream = io.BytesIO(tar_snapshot("w:gz"))
    import_from(stream)
    assert not stream.closed


def test_archives_without_an_incidents_file_are_refused(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("snapshot/reports.csv")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"a,b"))
    with pytest.raises(AiidFormatError, match=r"no incidents\.csv"), open_incidents_csv(io.BytesIO(buf.getvalue())):
        pass
    empty_zip = io.BytesIO()
    with zipfile.ZipFile(empty_zip, "w") as archive:
        archive.writestr("readme.txt", "nothing")
    zipped = io.BytesIO(empty_zip.getvalue())
    with pytest.raises(AiidFormatError, match=r"no incidents\.csv"), open_incidents_csv(zipped):
        pass


@pytest.mark.parametrize(("mode", "keep"), [("w:gz", 200), ("w:gz", 0.6), ("w:bz2", 0.6), ("w", 0.45)])
def test_a_truncated_archive_is_reported_as_a_format_error(mode: TarMode, keep: float) -> None:
    archive = tar_snapshot(mode)
    corrupt = archive[: int(keep if keep > 1 else len(archive) * keep)]
    if mode == "w":  # cut inside the incidents file itself, not in the padding after it
        assert b"Warehouse robot" in corrupt and b"Banking assistant" not in corrupt
    with pytest.raises(AiidFormatError, match="snapshot archive"), open_incidents_csv(io.BytesIO(corrupt)) as f:
        read_all(f)


def test_errors_from_the_callers_own_code_are_not_translated() -> None:
    with pytest.raises(OSError, match="disk full"), open_incidents_csv(io.BytesIO(tar_snapshot("w:gz"))):
        raise OSError("disk full")
