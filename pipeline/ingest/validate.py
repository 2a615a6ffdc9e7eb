"""Validation: whether a text cell is usable, timestamps, ids, and the accounting of unparseable records.

Nothing is dropped here: each problem becomes an exclusion reason on its row, a warning naming the file,
row and column, or (for a file with no usable record at all) an :class:`InputError`.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.errors import where
from pipeline.ingest._records import GENERATED, Warnings, is_missing
from pipeline.schemas import INGESTED

__all__ = ["FUTURE_TOLERANCE", "finish", "id_str", "nothing_parseable", "parse_times", "ragged_warning", "text_status"]

_NUMBER = re.compile(r"^\s*[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?\s*$")
_TIME_MIN = pd.Timestamp.min.tz_localize("UTC")
_TIME_MAX = pd.Timestamp.max.tz_localize("UTC")


def text_status(value: object) -> tuple[str | None, str | None]:
    """(text, exclusion reason) for one cell of the text column."""
    if is_missing(value):
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


def parse_times(
    values: pd.Series, *, path: Path, column: str, source_rows: list[int], warnings: Warnings
) -> tuple[pd.Series, pd.Series]:
    """Parsed UTC times, and the exclusion reason of each row whose timestamp is unusable.

    An empty cell is not an error (the row has no time); a value that cannot be parsed is
    ``bad_time``, and one more than a day after the run's clock is ``future_time``.
    """
    present = values.map(lambda v: not is_missing(v) and str(v).strip() != "")
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


def _ragged_hint(path: Path, bad: list[tuple[int, str, str]]) -> str:
    """Why most records of a delimited file split into too many fields, when that is the likely cause."""
    wider = sum(1 for _, _, why in bad if why.startswith("expected") and _found_more(why))
    if not wider:
        return ""
    delimiter = "tab" if path.suffix.lower() == ".tsv" else "delimiter"
    return (
        f"; {wider} record(s) have more fields than the header, so the text column likely holds an unquoted "
        f'{delimiter}: quote the text fields ("...") or export as JSONL'
    )


def _found_more(why: str) -> bool:
    numbers = [int(n) for n in re.findall(r"\d+", why)]
    return len(numbers) == 2 and numbers[1] > numbers[0]


def nothing_parseable(path: Path, bad: list[tuple[int, str, str]]) -> str:
    """The one-line error for a file none of whose records (``bad``: all of them) could be parsed."""
    line, _, why = bad[0]
    return (
        f"{path}: no parseable records ({len(bad)} in all); first problem: {where(path, line)}: {why}"
        f"{_ragged_hint(path, bad)}."
    )


def ragged_warning(path: Path, bad: list[tuple[int, str, str]], n_parsed: int) -> str | None:
    """The warning with the likely cause when at least half the records of a file are unparseable."""
    if len(bad) >= max(2, n_parsed):
        hint = _ragged_hint(path, bad)
        if hint:
            return f"{path}: {len(bad)} of {len(bad) + n_parsed} records unparseable{hint}."
    return None


def id_str(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, date, np.datetime64)):
        return pd.Timestamp(value).isoformat()
    return str(value).strip()


def finish(frames: list[pd.DataFrame], meta: list[str], warnings: Warnings, *, dedupe_ids: bool = True) -> pd.DataFrame:
    rows = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if not dedupe_ids:  # the caller sees all rows at once and resolves duplicates itself (Spark engine)
        rows["exclusion_reason"] = pd.Series(
            [None if is_missing(r) else r for r in rows["exclusion_reason"].tolist()], dtype=object
        )
        rows["source_row"] = rows["source_row"].astype("int64")
        rows["excluded"] = rows["excluded"].to_numpy(dtype=bool)
        for col in meta:
            if rows[col].dtype == object:
                rows[col] = rows[col].map(lambda v: None if is_missing(v) else str(v)).astype(object)
        return rows[[*INGESTED, *meta, GENERATED]]
    # Duplicate ids: the first row keeps the id; later ones get a unique suffix and, when the id
    # was read from the file, are excluded. Generated ids ('<file name>:<row>') only collide when
    # two files share a name, which says nothing about the rows.
    generated = rows[GENERATED].to_numpy(dtype=bool)
    excluded = rows["excluded"].to_numpy(dtype=bool, copy=True)
    reasons = [None if is_missing(r) else r for r in rows["exclusion_reason"].tolist()]  # pandas 3 infers NaN
    if not rows["row_id"].duplicated().any():  # the usual case, checked without a Python string per row
        if not isinstance(rows["row_id"].dtype, pd.StringDtype):
            rows["row_id"] = rows["row_id"].tolist()
        return _finished(rows, excluded, reasons, meta)
    ids = rows["row_id"].tolist()
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
    return _finished(rows, excluded, reasons, meta)


def _finished(rows: pd.DataFrame, excluded: np.ndarray, reasons: list[str | None], meta: list[str]) -> pd.DataFrame:
    rows["excluded"] = excluded
    rows["exclusion_reason"] = pd.Series(reasons, dtype=object)
    rows["source_row"] = rows["source_row"].astype("int64")
    for col in meta:
        if rows[col].dtype == object:
            rows[col] = rows[col].map(lambda v: None if is_missing(v) else str(v)).astype(object)
    return rows[[*INGESTED, *meta]]
