"""Readers: one file (CSV/TSV, JSONL, JSON, Parquet, XLSX) → its records as read, before column mapping.

Unparseable records are kept aside with their line and the reason, never dropped.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.config import IngestConfig
from pipeline.errors import InputError, where
from pipeline.ingest._records import RawRecords, Warnings

__all__ = ["SUPPORTED_SUFFIXES", "check_header", "read_chunks"]

SUPPORTED_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
}

_DELIMITERS = ",;\t|"
#: Bytes read at a time when checking a file's encoding.
_PIECE = 1 << 20


def _decode(path: Path, data: bytes, warnings: Warnings) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        warnings.add(
            "encoding",
            f"{where(path, line)}: not valid UTF-8 (byte 0x{data[exc.start]:02x}); "
            "read the whole file as Latin-1 — check accented characters in the output.",
        )
        return data.decode("latin-1")


def _sniff_delimiter(sample: str) -> str:
    """The delimiter that splits the header into columns and the most records into as many.

    ``csv.Sniffer`` alone is misled by delimiters inside the texts (an unquoted ``;`` or ``|`` in
    a comma-separated review) and then reads the header as one column; its guess only breaks ties.
    """
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        sniffed = ","
    best, best_score = "", (-1, 0, False)
    for delimiter in _DELIMITERS:
        try:
            reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
            records = [r for r in itertools.islice(reader, 500) if any(cell.strip() for cell in r)]
        except csv.Error:
            continue
        if not records or len(records[0]) < 2:
            continue
        width = len(records[0])
        score = (sum(len(r) == width for r in records[1:]), width, delimiter == sniffed)
        if score > best_score:
            best, best_score = delimiter, score
    # One column: any delimiter absent from the file keeps each line whole.
    return best or next((d for d in _DELIMITERS if d not in sample), ",")


def _text_encoding(path: Path, warnings: Warnings) -> str:
    """'utf-8-sig' when the whole file decodes as UTF-8, else 'latin-1', with a warning naming the line.

    Checked in 1 MiB pieces, so a large export is never held in memory twice (bytes and text) to find out.
    """
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    newlines = 0
    with path.open("rb") as handle:
        while True:
            piece = handle.read(_PIECE)
            try:
                decoder.decode(piece, final=not piece)
            except UnicodeDecodeError as exc:
                # exc.object: the few bytes held over from the previous piece (never a newline), then this one.
                line = newlines + exc.object[: exc.start].count(b"\n") + 1
                warnings.add(
                    "encoding",
                    f"{where(path, line)}: not valid UTF-8 (byte 0x{exc.object[exc.start]:02x}); "
                    "read the whole file as Latin-1 — check accented characters in the output.",
                )
                return "latin-1"
            if not piece:
                return "utf-8-sig"
            newlines += piece.count(b"\n")


def _csv_chunks(path: Path, warnings: Warnings, chunk_records: int) -> Iterator[RawRecords]:
    """Parse the file as it streams from disk, ``chunk_records`` records at a time (at least one chunk).

    Only one chunk's records are ever held as Python strings, so reading stays flat however long the
    file; a chunk is handed on once the next record arrives, so the last one can still be corrected
    when the file ends inside an unclosed quote.
    """
    encoding = _text_encoding(path, warnings)
    with path.open(encoding=encoding, newline="") as handle:
        sample = handle.read(65536)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else _sniff_delimiter(sample)
    csv.field_size_limit(2**31 - 1)
    header: list[str] | None = None
    rows: list[list[str]] = []
    source_rows: list[int] = []
    bad: list[tuple[int, str, str]] = []
    record: list[str] = []
    last: int | None = None  # the line of the last record read, good or bad
    start = 1
    with path.open(encoding=encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            for record in reader:
                line = start
                start = reader.line_num + 1
                if not record or (len(record) == 1 and not record[0].strip()):
                    continue  # blank line: not a record
                if header is None:
                    if any(cell.strip() for cell in record):
                        header = [cell.strip() for cell in record]
                        check_header(path, header)
                    continue
                if len(rows) + len(bad) >= chunk_records:
                    yield _chunk(header, rows, source_rows, bad)
                    rows, source_rows, bad = [], [], []
                last = line
                # A line of empty cells (",,") is a record: excluded as empty, but counted.
                if len(record) != len(header):
                    why = f"expected {len(header)} fields, found {len(record)}"
                    bad.append((line, delimiter.join(record), why))
                    continue
                rows.append(record)
                source_rows.append(line)
        except csv.Error as exc:
            raise InputError(f"{where(path, start)}: cannot parse CSV: {exc}.") from None
    if header is None:
        raise InputError(f"{path}: no header row; the file holds only blank lines.")
    # An unbalanced quote swallows the rest of the file into the last record's field: say so
    # instead of passing the remaining lines off as one text.
    if (
        last is not None
        and any("\n" in c or "\r" in c for c in record)
        and _unclosed_quote(path, encoding, last, delimiter)
    ):
        if source_rows and source_rows[-1] == last:
            rows.pop()
            source_rows.pop()
        else:
            bad.pop()
        why = "a quoted field opens here and never closes, so the rest of the file was read into it"
        bad.append((last, delimiter.join(record), why))
    yield _chunk(header, rows, source_rows, bad)


def _chunk(
    header: list[str], rows: list[list[str]], source_rows: list[int], bad: list[tuple[int, str, str]]
) -> RawRecords:
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    return RawRecords(frame, source_rows, bad, row_label="line")


def _unclosed_quote(path: Path, encoding: str, line: int, delimiter: str) -> bool:
    """Whether the record starting on ``line`` opens a quoted field that runs to the end of the file."""
    with path.open(encoding=encoding, newline="") as handle:
        tail = itertools.islice(handle, line - 1, None)
        try:
            for _ in csv.reader(tail, delimiter=delimiter, strict=True):
                pass
        except csv.Error as exc:
            return "end of data" in str(exc)
    return False


def check_header(path: Path, header: Sequence[object]) -> None:
    seen: set[str] = set()
    for name in header:
        if str(name) in seen:
            raise InputError(f"{path}: column {str(name)!r} appears twice in the header; rename one.")
        seen.add(str(name))


def _read_jsonl(path: Path, data: bytes, warnings: Warnings) -> RawRecords:
    text = _decode(path, data, warnings)
    records: list[dict[str, Any]] = []
    source_rows: list[int] = []
    bad: list[tuple[int, str, str]] = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            bad.append((line_no, line, f"malformed JSON: {exc.msg} at char {exc.pos}"))
            continue
        except RecursionError:
            bad.append((line_no, line[:200], "JSON nested too deeply to read"))
            continue
        if not isinstance(record, dict):
            bad.append((line_no, line, f"expected a JSON object, found {type(record).__name__}"))
            continue
        records.append(record)
        source_rows.append(line_no)
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    return RawRecords(frame.astype(object), source_rows, bad, row_label="line")


def _read_json(path: Path, data: bytes, warnings: Warnings) -> RawRecords:
    text = _decode(path, data, warnings)
    if not text.lstrip().startswith("["):
        return _read_jsonl(path, data, warnings)
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where(path, exc.lineno)}: malformed JSON: {exc.msg}.") from None
    except RecursionError:
        raise InputError(f"{path}: JSON nested too deeply to read; flatten the records.") from None
    records: list[dict[str, Any]] = []
    source_rows: list[int] = []
    bad: list[tuple[int, str, str]] = []
    for i, item in enumerate(items, start=1):
        if isinstance(item, dict):
            records.append(item)
            source_rows.append(i)
        else:
            bad.append((i, json.dumps(item)[:200], f"expected a JSON object, found {type(item).__name__}"))
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    return RawRecords(frame.astype(object), source_rows, bad, row_label="record")


def _read_parquet(path: Path) -> RawRecords:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a corrupt file
        raise InputError(f"{path}: cannot read as Parquet: {exc}.") from None
    return RawRecords(frame.astype(object), list(range(1, len(frame) + 1)), [], row_label="record")


def _read_xlsx(path: Path, sheet: str | int) -> RawRecords:
    try:
        frame = pd.read_excel(path, sheet_name=sheet, dtype=object, engine="openpyxl")
    except ValueError as exc:
        raise InputError(f"{path}: cannot read sheet {sheet!r}: {exc}.") from None
    except Exception as exc:  # openpyxl/zipfile errors for a file that is not really XLSX
        raise InputError(f"{path}: cannot read as XLSX: {exc}.") from None
    check_header(path, list(frame.columns))
    # Sheet row numbers: the header is row 1, so the first record is row 2.
    return RawRecords(frame, [i + 2 for i in range(len(frame))], [], row_label="row")


def read_chunks(path: Path, config: IngestConfig, warnings: Warnings) -> Iterator[RawRecords]:
    """The file's records in order, in chunks of ``config.chunk_records`` where the format streams
    (CSV/TSV); other formats come as one chunk. Nothing is read before the first chunk is asked for."""
    _check_file(path)
    kind = SUPPORTED_SUFFIXES[path.suffix.lower()]
    if kind == "csv":
        yield from _csv_chunks(path, warnings, config.chunk_records)
    else:
        yield _read_whole(path, kind, config, warnings)


def _check_file(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: file not found.")
    if not path.is_file():
        raise InputError(f"{path}: not a file.")
    kind = SUPPORTED_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise InputError(f"{path}: unknown format {path.suffix or '(no suffix)'!r}; supported: {supported}.")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes).")


def _read_whole(path: Path, kind: str, config: IngestConfig, warnings: Warnings) -> RawRecords:
    """All the records of a file whose format does not stream (JSON, JSONL, Parquet, XLSX)."""
    if kind == "parquet":
        return _read_parquet(path)
    if kind == "xlsx":
        return _read_xlsx(path, config.sheet)
    data = path.read_bytes()
    if kind == "json":
        return _read_json(path, data, warnings)
    return _read_jsonl(path, data, warnings)
