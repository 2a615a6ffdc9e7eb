"""Column mapping: which column holds the text, the id and the time, and the rows they make.

A file's records become ``schemas.INGESTED`` rows plus its metadata columns; each row's usability is
judged by :mod:`pipeline.ingest.validate`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import IngestConfig
from pipeline.errors import InputError, where
from pipeline.ingest._records import GENERATED, RawRecords, Warnings, is_missing
from pipeline.ingest.validate import id_str, nothing_parseable, parse_times, ragged_warning, text_status
from pipeline.schemas import CLEANED, FEEDBACK, INGESTED

__all__ = [
    "ID_NAMES",
    "TEXT_NAMES",
    "TIME_NAMES",
    "ColumnPlan",
    "map_chunks",
    "map_file",
    "pick_column",
    "plan_columns",
]

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


def norm_name(name: object) -> str:
    return re.sub(r"[\s_\-.]+", "", str(name)).lower()


def pick_column(
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
    matches = [c for c in columns if norm_name(c) in names]
    if role != "text" or len(matches) <= 1:
        if matches:
            return min(matches, key=lambda c: names.index(norm_name(c)))
        return None
    raise InputError(
        f"{path}: several columns could hold the feedback text: {matches}; "
        f"say which with {flag} (e.g. {flag} {matches[0]!r})."
    )


@dataclass
class ColumnPlan:
    """Which of a file's columns holds the text, the id, the time, and which are carried as metadata."""

    text: str
    id: str | None
    time: str | None
    meta: list[str]


def plan_columns(path: Path, columns: list[str], config: IngestConfig) -> ColumnPlan:
    text_col = pick_column(columns, config.text_col, TEXT_NAMES, path=path, role="text", flag="--text-col")
    if text_col is None:
        raise InputError(f"{path}: no text column found among {columns}; say which with --text-col.")
    id_col = pick_column(columns, config.id_col, ID_NAMES, path=path, role="id", flag="--id-col")
    time_col = pick_column(columns, config.time_col, TIME_NAMES, path=path, role="time", flag="--time-col")
    if config.meta_cols is not None:
        for name in config.meta_cols:
            if name not in columns:
                raise InputError(f"{path}: metadata column {name!r} not found; columns are {columns}.")
        meta_cols = list(config.meta_cols)
    else:
        meta_cols = [c for c in columns if c not in {text_col, id_col, time_col}]
    return ColumnPlan(text_col, id_col, time_col, meta_cols)


@dataclass
class _Tally:
    """What the file-level checks need, summed over the file's chunks."""

    parsed: int = 0
    bad: list[tuple[int, str, str]] = field(default_factory=list)
    usable: int = 0  # text cells that are text or a non-text value (not empty)
    not_text: int = 0
    not_text_example: str | None = None


class _Held(Warnings):
    """Warnings held back until the whole file has passed its checks: a refused file prints one line."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[tuple[str, str]] = []

    def add(self, kind: str, line: str) -> None:
        self.items.append((kind, line))


def map_file(path: Path, raw: RawRecords, config: IngestConfig, warnings: Warnings) -> tuple[pd.DataFrame, list[str]]:
    """One file's records (read at once) → ingest rows and the metadata column names."""
    frames, meta = map_chunks(path, [raw], config, warnings)
    return frames[0], meta


def map_chunks(
    path: Path, chunks: Iterable[RawRecords], config: IngestConfig, warnings: Warnings
) -> tuple[list[pd.DataFrame], list[str]]:
    """One file's records, chunk by chunk (:func:`~pipeline.ingest.readers.read_chunks`) → one frame of
    ingest rows per chunk, and the metadata column names. The checks and warnings are the file's, whatever
    the chunking: a file read in one chunk or in many gives the same rows, warnings and errors."""
    pending = iter(chunks)
    first = next(pending)
    second = next(pending, None)
    columns = [str(c) for c in first.records.columns]
    if second is None:  # the whole file at hand: say why it is unusable before looking at its columns
        _check_parsed(path, first.records.empty, len(first.source_rows), first.bad, columns)
    plan = plan_columns(path, columns, config)
    tally, held = _Tally(), _Held()
    frames: list[pd.DataFrame] = []
    renamed: list[str] = []
    every = itertools.chain([first], [] if second is None else [second], pending)
    del first, second  # each chunk's records are let go once mapped
    for raw in every:
        raw.records.columns = [str(c) for c in raw.records.columns]
        frame, renamed = _map_records(path, raw, plan, tally, held)
        frames.append(frame)
    del raw
    if len(frames) > 1 and not tally.parsed and tally.bad:  # the first chunk's check saw only its own records
        raise InputError(nothing_parseable(path, tally.bad))
    if tally.usable >= 5 and tally.not_text / max(1, tally.usable) >= 0.9:
        raise InputError(
            f"{where(path, column=plan.text)}: holds numbers or other non-text values "
            f"(e.g. {tally.not_text_example!r}), "
            f"not feedback text; pick the text column with --text-col (columns are {columns})."
        )
    ragged = ragged_warning(path, tally.bad, tally.parsed)
    # In the order a file read whole raises them: kind by kind, each kind in row order.
    for kind, line in sorted(held.items, key=lambda item: _warning_rank(item[0])):
        if ragged is not None and kind == "unparseable":
            warnings.add("mostly unparseable", ragged)
            ragged = None
        warnings.add(kind, line)
    return _same_dtypes(frames), renamed


#: The kinds of warning mapping raises, in the order it raises them over a whole file.
_WARNING_ORDER = ("non-text value", "missing id", "unparseable timestamp", "future timestamp", "unparseable")


def _warning_rank(kind: str) -> int:
    return _WARNING_ORDER.index(kind) if kind in _WARNING_ORDER else len(_WARNING_ORDER)


def _same_dtypes(frames: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """Give a chunk's ``object`` column the dtype the other chunks have, as one frame of the whole file would:
    a chunk with no parsed record (all of it unparseable) infers ``object`` from its empty lists."""
    if len(frames) < 2:
        return frames
    for col in frames[0].columns:
        typed = [f[col].dtype for f in frames if f[col].dtype != object]
        if not typed:
            continue
        for i, frame in enumerate(frames):
            if frame[col].dtype == object:
                try:
                    frames[i] = frame.assign(**{col: frame[col].astype(typed[0])})
                except (TypeError, ValueError):  # pragma: no cover - values the other chunks' dtype cannot hold
                    continue
    return frames


def _check_parsed(path: Path, empty: bool, parsed: int, bad: list[tuple[int, str, str]], columns: list[str]) -> None:
    if empty and not bad:
        raise InputError(f"{path}: no data rows (header only or empty); columns are {columns}.")
    if not parsed and bad:
        raise InputError(nothing_parseable(path, bad))


def _map_records(
    path: Path, raw: RawRecords, plan: ColumnPlan, tally: _Tally, warnings: _Held
) -> tuple[pd.DataFrame, list[str]]:
    """One chunk of a file's records → its ingest rows (bad records in place, by line)."""
    frame, text_col, id_col = raw.records, plan.text, plan.id
    statuses = [text_status(v) for v in frame[text_col].tolist()]
    texts = [t for t, _ in statuses]
    reasons = [r for _, r in statuses]
    tally.parsed += len(raw.source_rows)
    tally.bad.extend(raw.bad)
    tally.usable += sum(1 for r in reasons if r is None or r == "not_text")
    for i, reason in enumerate(reasons):
        if reason == "not_text":
            tally.not_text += 1
            if tally.not_text_example is None:
                tally.not_text_example = texts[i]
            warnings.add(
                "non-text value",
                f"{where(path, raw.source_rows[i], text_col)}: {str(texts[i])[:40]!r} is not text; row excluded.",
            )

    ids: list[str] = []
    generated_ids: list[bool] = []
    for i, value in enumerate(frame[id_col].tolist() if id_col else [None] * len(frame)):
        missing = is_missing(value) or str(value).strip() == ""
        generated_ids.append(missing)
        if not missing:
            ids.append(id_str(value))
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
            "excluded": np.array([r is not None for r in reasons], dtype=bool),
            "exclusion_reason": reasons,
            GENERATED: generated_ids,
        }
    )
    if plan.time is not None:
        times, time_reasons = parse_times(
            frame[plan.time],
            path=path,
            column=plan.time,
            source_rows=raw.source_rows,
            warnings=warnings,
        )
        out["time"] = times.array  # its declared dtype, also when every value is NaT
        bad = time_reasons.notna().to_numpy() & ~out["excluded"].to_numpy()
        out.loc[bad, "exclusion_reason"] = time_reasons.to_numpy()[bad]
        out.loc[bad, "excluded"] = True
    else:
        out["time"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns, UTC]")
    reserved = {*INGESTED, *CLEANED, *FEEDBACK, GENERATED}  # later stages add these columns
    renamed: list[str] = []
    for col in plan.meta:
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
                GENERATED: True,
                "time": pd.Series(pd.NaT, index=range(len(raw.bad)), dtype="datetime64[ns, UTC]"),
            }
        )
        out = pd.concat([out, bad], ignore_index=True).sort_values("source_row", kind="stable")
        out = out.reset_index(drop=True)
    return out, renamed
