"""Column mapping: which column holds the text, the id and the time, and the rows they make.

A file's records become ``schemas.INGESTED`` rows plus its metadata columns; each row's usability is
judged by :mod:`pipeline.ingest.validate`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import IngestConfig
from pipeline.errors import InputError, where
from pipeline.ingest._records import GENERATED, RawRecords, Warnings, is_missing
from pipeline.ingest.validate import id_str, nothing_parseable, parse_times, text_status, warn_ragged
from pipeline.schemas import CLEANED, FEEDBACK, INGESTED

__all__ = ["ID_NAMES", "TEXT_NAMES", "TIME_NAMES", "map_file", "pick_column"]

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


def map_file(path: Path, raw: RawRecords, config: IngestConfig, warnings: Warnings) -> tuple[pd.DataFrame, list[str]]:
    frame = raw.records
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    if frame.empty and not raw.bad:
        raise InputError(f"{path}: no data rows (header only or empty); columns are {columns}.")
    if not raw.source_rows and raw.bad:
        raise InputError(nothing_parseable(path, raw))
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

    statuses = [text_status(v) for v in frame[text_col].tolist()]
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
    if time_col is not None:
        times, time_reasons = parse_times(
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
    reserved = {*INGESTED, *CLEANED, *FEEDBACK, GENERATED}  # later stages add these columns
    renamed: list[str] = []
    for col in meta_cols:
        name = f"meta_{col}" if col in reserved else col
        out[name] = frame[col].to_numpy()
        renamed.append(name)

    if raw.bad:
        warn_ragged(path, raw, warnings)
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
