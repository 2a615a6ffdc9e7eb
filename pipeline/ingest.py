"""Ingest: feedback exports (CSV/TSV, JSONL, JSON, Parquet, XLSX) → one table of rows.

Output columns are ``schemas.INGESTED`` plus the metadata columns. Every record in every file
becomes exactly one row, in input order; a record that cannot be used is kept with
``excluded=True`` and a reason, never dropped. Problems that make the whole input unusable
(missing file, no text column...) raise :class:`InputError` with a one-line message.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import IngestConfig
from pipeline.errors import InputError, where
from pipeline.schemas import CLEANED, FEEDBACK, INGESTED

__all__ = ["SUPPORTED_SUFFIXES", "Ingested", "ingest", "ingest_frame"]

log = logging.getLogger(__name__)

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

#: Column names (lowercased, without spaces, dashes or underscores) recognised without a flag.
TEXT_NAMES = (
    "text", "content", "feedback", "comment", "comments", "review", "reviewtext", "body",
    "message", "description", "verbatim", "feedbacktext", "commenttext", "utterance", "report",
    "response", "complaint", "remarks",
)  # fmt: skip
ID_NAMES = (
    "id", "feedbackid", "reviewid", "reportid", "ticketid", "commentid", "messageid",
    "responseid", "recordid", "uuid",
)  # fmt: skip
TIME_NAMES = (
    "timestamp", "time", "date", "datetime", "createdat", "created", "createdtime", "submittedat",
    "submitted", "reviewdate", "reportedat", "eventtime", "at",
)  # fmt: skip

_NUMBER = re.compile(r"^\s*[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?\s*$")
_WARN_EXAMPLES = 3
_DELIMITERS = ",;\t|"
_TIME_MIN = pd.Timestamp.min.tz_localize("UTC")
_TIME_MAX = pd.Timestamp.max.tz_localize("UTC")
#: Internal column: the row id was generated, not read (dropped before ingest returns).
_GENERATED = "_id_generated"


@dataclass
class Ingested:
    """What ingest hands on: the rows, the files read, and the warnings raised on the way."""

    rows: pd.DataFrame
    files: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    meta_columns: list[str] = field(default_factory=list)


@dataclass
class _Raw:
    """One file parsed into records, before column mapping."""

    records: pd.DataFrame  # all columns as read, object dtype
    source_rows: list[int]
    bad: list[tuple[int, str, str]]  # (source_row, raw text, why) for unparseable records
    row_label: str = "row"


class _Warnings:
    """Collects one-line warnings; logs the first few of each kind, then a count."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._counts: dict[str, int] = {}

    def add(self, kind: str, line: str) -> None:
        n = self._counts.get(kind, 0) + 1
        self._counts[kind] = n
        if n <= _WARN_EXAMPLES:
            log.warning(line)
        self.lines.append(line)

    def summarize(self) -> None:
        for kind, n in self._counts.items():
            if n > _WARN_EXAMPLES:
                log.warning("%s: %d rows in all (first %d shown above).", kind, n, _WARN_EXAMPLES)


def _norm_name(name: object) -> str:
    return re.sub(r"[\s_\-.]+", "", str(name)).lower()


def _decode(path: Path, data: bytes, warnings: _Warnings) -> str:
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


def _read_csv(path: Path, data: bytes, warnings: _Warnings) -> _Raw:
    text = _decode(path, data, warnings)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else _sniff_delimiter(text[:65536])
    csv.field_size_limit(2**31 - 1)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[list[str]] = []
    source_rows: list[int] = []
    bad: list[tuple[int, str, str]] = []
    start = 1
    try:
        for record in reader:
            line = start
            start = reader.line_num + 1
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # blank line: not a record
            if header is None:
                if any(cell.strip() for cell in record):
                    header = [cell.strip() for cell in record]
                continue
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
    last = max(source_rows[-1:] + [b[0] for b in bad[-1:]], default=None)
    if last is not None and any("\n" in c or "\r" in c for c in record) and _unclosed_quote(text, last, delimiter):
        if source_rows and source_rows[-1] == last:
            rows.pop()
            source_rows.pop()
        else:
            bad.pop()
        why = "a quoted field opens here and never closes, so the rest of the file was read into it"
        bad.append((last, delimiter.join(record), why))
    _check_header(path, header)
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    return _Raw(frame, source_rows, bad, row_label="line")


def _unclosed_quote(text: str, line: int, delimiter: str) -> bool:
    """Whether the record starting on ``line`` opens a quoted field that runs to the end of the file."""
    tail = "".join(itertools.islice(io.StringIO(text, newline=""), line - 1, None))
    try:
        for _ in csv.reader(io.StringIO(tail, newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error as exc:
        return "end of data" in str(exc)
    return False


def _check_header(path: Path, header: Sequence[object]) -> None:
    seen: set[str] = set()
    for name in header:
        if str(name) in seen:
            raise InputError(f"{path}: column {str(name)!r} appears twice in the header; rename one.")
        seen.add(str(name))


def _read_jsonl(path: Path, data: bytes, warnings: _Warnings) -> _Raw:
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
    return _Raw(frame.astype(object), source_rows, bad, row_label="line")


def _read_json(path: Path, data: bytes, warnings: _Warnings) -> _Raw:
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
    return _Raw(frame.astype(object), source_rows, bad, row_label="record")


def _read_parquet(path: Path) -> _Raw:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a corrupt file
        raise InputError(f"{path}: cannot read as Parquet: {exc}.") from None
    return _Raw(frame.astype(object), list(range(1, len(frame) + 1)), [], row_label="record")


def _read_xlsx(path: Path, sheet: str | int) -> _Raw:
    try:
        frame = pd.read_excel(path, sheet_name=sheet, dtype=object, engine="openpyxl")
    except ValueError as exc:
        raise InputError(f"{path}: cannot read sheet {sheet!r}: {exc}.") from None
    except Exception as exc:  # openpyxl/zipfile errors for a file that is not really XLSX
        raise InputError(f"{path}: cannot read as XLSX: {exc}.") from None
    _check_header(path, list(frame.columns))
    # Sheet row numbers: the header is row 1, so the first record is row 2.
    return _Raw(frame, [i + 2 for i in range(len(frame))], [], row_label="row")


def _read_file(path: Path, config: IngestConfig, warnings: _Warnings) -> _Raw:
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
    if kind == "parquet":
        return _read_parquet(path)
    if kind == "xlsx":
        return _read_xlsx(path, config.sheet)
    data = path.read_bytes()
    if kind == "csv":
        return _read_csv(path, data, warnings)
    if kind == "json":
        return _read_json(path, data, warnings)
    return _read_jsonl(path, data, warnings)


def _pick_column(
    columns: list[str],
    wanted: str | None,
    names: Sequence[str],
    *,
    path: Path,
    role: str,
    flag: str,
) -> str | None:
    """The configured column if given, else the unique column with a common name for ``role``."""
    if wanted is not None:
        if wanted in columns:
            return wanted
        by_norm = {str(c).strip().lower(): c for c in columns}
        if wanted.strip().lower() in by_norm:
            return by_norm[wanted.strip().lower()]
        raise InputError(f"{path}: {role} column {wanted!r} not found; columns are {columns}.")
    matches = [c for c in columns if _norm_name(c) in names]
    if role != "text" or len(matches) <= 1:
        if matches:
            return min(matches, key=lambda c: names.index(_norm_name(c)))
        return None
    raise InputError(
        f"{path}: several columns could hold the feedback text: {matches}; "
        f"say which with {flag} (e.g. {flag} {matches[0]!r})."
    )


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _text_status(value: object) -> tuple[str | None, str | None]:
    """(text, exclusion reason) for one cell of the text column."""
    if _is_missing(value):
        return None, "empty"
    if isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("utf-8", errors="replace"), "not_text"
    if not isinstance(value, str):
        return str(value), "not_text"
    if value == "":
        return value, "empty"
    if not value.strip():
        return value, "whitespace_only"
    if _NUMBER.match(value):
        return value, "not_text"
    return value, None


#: Timestamps later than the run's clock by more than this are excluded as ``future_time``.
FUTURE_TOLERANCE = pd.Timedelta(days=1)


def _parse_times(
    values: pd.Series, *, path: Path, column: str, source_rows: list[int], warnings: _Warnings
) -> tuple[pd.Series, pd.Series]:
    """Parsed UTC times, and the exclusion reason of each row whose timestamp is unusable.

    An empty cell is not an error (the row has no time); a value that cannot be parsed is
    ``bad_time``, and one more than a day after the run's clock is ``future_time``.
    """
    present = values.map(lambda v: not _is_missing(v) and str(v).strip() != "")
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    reasons = pd.Series(None, index=values.index, dtype=object)
    if not present.any():
        return out, reasons
    given = values[present]
    numeric = pd.to_numeric(given, errors="coerce")
    if numeric.notna().all():
        unit = "ms" if numeric.abs().max() > 1e11 else "s"
        parsed = pd.to_datetime(numeric, unit=unit, utc=True, errors="coerce")
    else:
        parsed = pd.to_datetime(given.astype(str).str.strip(), utc=True, errors="coerce", format="mixed")
    # pandas parses far dates ("3000-01-01", epoch values in µs read as ms) at a coarser
    # resolution; the table holds nanoseconds, so such values are treated as unparseable.
    in_range = parsed.notna() & (parsed >= _TIME_MIN) & (parsed <= _TIME_MAX)
    out.loc[given.index[in_range]] = parsed[in_range].astype("datetime64[ns, UTC]")
    for i in given.index[~in_range]:
        reasons[i] = "bad_time"
        warnings.add(
            "unparseable timestamp",
            f"{where(path, source_rows[i], column)}: cannot parse timestamp {str(values[i])[:40]!r}"
            f"{'' if pd.isna(parsed[i]) else ' (out of range)'}; row excluded (bad_time).",
        )
    latest = pd.Timestamp.now(tz="UTC") + FUTURE_TOLERANCE
    for i in out.index[out.notna() & (out > latest)]:
        reasons[i] = "future_time"
        warnings.add(
            "future timestamp",
            f"{where(path, source_rows[i], column)}: timestamp {out[i].isoformat()} is in the future; "
            "row excluded (future_time).",
        )
    return out, reasons


def _map_file(path: Path, raw: _Raw, config: IngestConfig, warnings: _Warnings) -> tuple[pd.DataFrame, list[str]]:
    frame = raw.records
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    if frame.empty and not raw.bad:
        raise InputError(f"{path}: no data rows (header only or empty); columns are {columns}.")
    if not columns:
        raise InputError(f"{path}: no parseable records; first problem: {where(path, raw.bad[0][0])}: {raw.bad[0][2]}.")
    text_col = _pick_column(columns, config.text_col, TEXT_NAMES, path=path, role="text", flag="--text-col")
    if text_col is None:
        raise InputError(f"{path}: no text column found among {columns}; say which with --text-col.")
    id_col = _pick_column(columns, config.id_col, ID_NAMES, path=path, role="id", flag="--id-col")
    time_col = _pick_column(columns, config.time_col, TIME_NAMES, path=path, role="time", flag="--time-col")
    if config.meta_cols is not None:
        for name in config.meta_cols:
            if name not in columns:
                raise InputError(f"{path}: metadata column {name!r} not found; columns are {columns}.")
        meta_cols = list(config.meta_cols)
    else:
        meta_cols = [c for c in columns if c not in {text_col, id_col, time_col}]

    statuses = [_text_status(v) for v in frame[text_col].tolist()]
    texts = [t for t, _ in statuses]
    reasons = [r for _, r in statuses]
    usable = [t for t, r in statuses if r is None or r == "not_text"]
    numeric_share = sum(1 for r in reasons if r == "not_text") / max(1, len(usable))
    if len(usable) >= 5 and numeric_share >= 0.9:
        sample = next(t for t, r in statuses if r == "not_text")
        raise InputError(
            f"{where(path, column=text_col)}: holds numbers or other non-text values (e.g. {sample!r}), "
            f"not feedback text; pick the text column with --text-col (columns are {columns})."
        )
    for i, reason in enumerate(reasons):
        if reason == "not_text":
            warnings.add(
                "non-text value",
                f"{where(path, raw.source_rows[i], text_col)}: {str(texts[i])[:40]!r} is not text; row excluded.",
            )

    ids: list[str] = []
    generated_ids: list[bool] = []
    for i, value in enumerate(frame[id_col].tolist() if id_col else [None] * len(frame)):
        missing = _is_missing(value) or str(value).strip() == ""
        generated_ids.append(missing)
        if not missing:
            ids.append(_id_str(value))
            continue
        generated = f"{path.name}:{raw.source_rows[i]}"
        if id_col is not None:
            warnings.add("missing id", f"{where(path, raw.source_rows[i], id_col)}: missing id; using {generated!r}.")
        ids.append(generated)

    out = pd.DataFrame(
        {
            "row_id": ids,
            "source_file": str(path),
            "source_row": raw.source_rows,
            "text": texts,
            "excluded": [r is not None for r in reasons],
            "exclusion_reason": reasons,
            _GENERATED: generated_ids,
        }
    )
    if time_col is not None:
        times, time_reasons = _parse_times(
            frame[time_col],
            path=path,
            column=time_col,
            source_rows=raw.source_rows,
            warnings=warnings,
        )
        out["time"] = times.to_numpy()
        bad = time_reasons.notna().to_numpy() & ~out["excluded"].to_numpy()
        out.loc[bad, "exclusion_reason"] = time_reasons.to_numpy()[bad]
        out.loc[bad, "excluded"] = True
    else:
        out["time"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns, UTC]")
    reserved = {*INGESTED, *CLEANED, *FEEDBACK, _GENERATED}  # later stages add these columns
    renamed: list[str] = []
    for col in meta_cols:
        name = f"meta_{col}" if col in reserved else col
        out[name] = frame[col].to_numpy()
        renamed.append(name)

    if raw.bad:
        for line, _raw_text, why in raw.bad:
            warnings.add("unparseable", f"{where(path, line)}: {why}; row excluded (unparseable).")
        bad = pd.DataFrame(
            {
                "row_id": [f"{path.name}:{line}" for line, _, _ in raw.bad],
                "source_file": str(path),
                "source_row": [line for line, _, _ in raw.bad],
                "text": [raw_text for _, raw_text, _ in raw.bad],
                "excluded": True,
                "exclusion_reason": "unparseable",
                _GENERATED: True,
                "time": pd.Series(pd.NaT, index=range(len(raw.bad)), dtype="datetime64[ns, UTC]"),
            }
        )
        out = pd.concat([out, bad], ignore_index=True).sort_values("source_row", kind="stable")
        out = out.reset_index(drop=True)
    return out, renamed


def _id_str(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, date, np.datetime64)):
        return pd.Timestamp(value).isoformat()
    return str(value).strip()


def _finish(
    frames: list[pd.DataFrame], meta: list[str], warnings: _Warnings, *, dedupe_ids: bool = True
) -> pd.DataFrame:
    rows = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if not dedupe_ids:  # the caller sees all rows at once and resolves duplicates itself (Spark engine)
        rows["exclusion_reason"] = pd.Series(
            [None if _is_missing(r) else r for r in rows["exclusion_reason"].tolist()], dtype=object
        )
        rows["source_row"] = rows["source_row"].astype("int64")
        for col in meta:
            if rows[col].dtype == object:
                rows[col] = rows[col].map(lambda v: None if _is_missing(v) else str(v)).astype(object)
        return rows[[*INGESTED, *meta, _GENERATED]]
    # Duplicate ids: the first row keeps the id; later ones get a unique suffix and, when the id
    # was read from the file, are excluded. Generated ids ('<file name>:<row>') only collide when
    # two files share a name, which says nothing about the rows.
    ids = rows["row_id"].tolist()
    generated = rows[_GENERATED].to_numpy(dtype=bool)
    excluded = rows["excluded"].to_numpy(copy=True)
    reasons = [None if _is_missing(r) else r for r in rows["exclusion_reason"].tolist()]  # pandas 3 infers NaN
    taken = set(ids)
    used: set[str] = set()
    for i, row_id in enumerate(ids):
        if row_id not in used:
            used.add(row_id)
            continue
        n = 2
        while f"{row_id}#{n}" in taken:
            n += 1
        ids[i] = f"{row_id}#{n}"
        taken.add(ids[i])
        used.add(ids[i])
        if generated[i]:
            continue
        warnings.add(
            "duplicate id",
            f"{where(rows.at[i, 'source_file'], int(rows.at[i, 'source_row']))}: id {row_id!r} "
            "already used by an earlier row; row excluded (duplicate_id).",
        )
        if not excluded[i]:
            excluded[i] = True
            reasons[i] = "duplicate_id"
    rows["row_id"] = ids
    rows["excluded"] = excluded
    rows["exclusion_reason"] = pd.Series(reasons, dtype=object)
    rows["source_row"] = rows["source_row"].astype("int64")
    for col in meta:
        if rows[col].dtype == object:
            rows[col] = rows[col].map(lambda v: None if _is_missing(v) else str(v)).astype(object)
    return rows[[*INGESTED, *meta]]


def ingest(paths: Sequence[str | Path], config: IngestConfig | None = None) -> Ingested:
    """Read every file, map its columns, and return all records as one table."""
    config = config or IngestConfig()
    if not paths:
        raise InputError("No input files given.")
    warnings = _Warnings()
    frames: list[pd.DataFrame] = []
    meta: list[str] = []
    files: list[dict[str, Any]] = []
    for raw_path in paths:
        path = Path(raw_path)
        raw = _read_file(path, config, warnings)
        frame, file_meta = _map_file(path, raw, config, warnings)
        frames.append(frame)
        meta.extend(c for c in file_meta if c not in meta)
        files.append({"path": str(path), "rows": len(frame), "bytes": path.stat().st_size})
    for frame in frames:
        for col in meta:
            if col not in frame.columns:
                frame[col] = None
    rows = _finish(frames, meta, warnings)
    warnings.summarize()
    return Ingested(rows=rows, files=files, warnings=warnings.lines, meta_columns=meta)


def ingest_frame(
    frame: pd.DataFrame,
    config: IngestConfig | None = None,
    *,
    name: str = "<dataframe>",
    source_rows: list[int] | None = None,
    dedupe_ids: bool = True,
) -> Ingested:
    """Ingest an in-memory DataFrame (notebook use) with the same rules as a file.

    ``source_rows``: where each record sits in its file (default 1..n). With ``dedupe_ids=False``
    repeated ids are left alone and the ``_id_generated`` flag column is kept, for an engine that sees
    the rows in pieces and resolves duplicates over all of them.
    """
    config = config or IngestConfig()
    warnings = _Warnings()
    rows_at = source_rows if source_rows is not None else list(range(1, len(frame) + 1))
    raw = _Raw(frame.reset_index(drop=True).astype(object), rows_at, [])
    mapped, meta = _map_file(Path(name), raw, config, warnings)
    rows = _finish([mapped], meta, warnings, dedupe_ids=dedupe_ids)
    warnings.summarize()
    return Ingested(
        rows=rows,
        files=[{"path": name, "rows": len(rows)}],
        warnings=warnings.lines,
        meta_columns=meta,
    )
