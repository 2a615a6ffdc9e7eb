"""Ingest: feedback exports (CSV/TSV, JSONL, JSON, Parquet, XLSX) → one table of rows.

Output columns are ``schemas.INGESTED`` plus the metadata columns. Every record in every file
becomes exactly one row, in input order; a record that cannot be used is kept with
``excluded=True`` and a reason, never dropped. Problems that make the whole input unusable
(missing file, no text column...) raise :class:`InputError` with a one-line message.

Split by concept: :mod:`~pipeline.ingest.readers` (file formats), :mod:`~pipeline.ingest.columns`
(column mapping), :mod:`~pipeline.ingest.validate` (cell, time and id checks, accounting).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.config import IngestConfig
from pipeline.errors import InputError
from pipeline.ingest._records import Ingested, RawRecords, Warnings
from pipeline.ingest.columns import ID_NAMES, TEXT_NAMES, TIME_NAMES, map_chunks, map_file
from pipeline.ingest.readers import SUPPORTED_SUFFIXES, read_chunks
from pipeline.ingest.validate import FUTURE_TOLERANCE, finish

__all__ = [
    "FUTURE_TOLERANCE",
    "ID_NAMES",
    "SUPPORTED_SUFFIXES",
    "TEXT_NAMES",
    "TIME_NAMES",
    "Ingested",
    "ingest",
    "ingest_frame",
]


def ingest(paths: Sequence[str | Path], config: IngestConfig | None = None) -> Ingested:
    """Read every file, map its columns, and return all records as one table."""
    config = config or IngestConfig()
    if not paths:
        raise InputError("No input files given.")
    warnings = Warnings()
    frames: list[pd.DataFrame] = []
    meta: list[str] = []
    files: list[dict[str, Any]] = []
    for raw_path in paths:
        path = Path(raw_path)
        file_frames, file_meta = map_chunks(path, read_chunks(path, config, warnings), config, warnings)
        frames.extend(file_frames)
        meta.extend(c for c in file_meta if c not in meta)
        files.append({"path": str(path), "rows": sum(map(len, file_frames)), "bytes": path.stat().st_size})
    for frame in frames:
        for col in meta:
            if col not in frame.columns:
                frame[col] = None
    rows = finish(frames, meta, warnings)
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
    warnings = Warnings()
    rows_at = source_rows if source_rows is not None else list(range(1, len(frame) + 1))
    raw = RawRecords(frame.reset_index(drop=True).astype(object), rows_at, [])
    mapped, meta = map_file(Path(name), raw, config, warnings)
    rows = finish([mapped], meta, warnings, dedupe_ids=dedupe_ids)
    warnings.summarize()
    return Ingested(
        rows=rows,
        files=[{"path": name, "rows": len(rows)}],
        warnings=warnings.lines,
        meta_columns=meta,
    )
