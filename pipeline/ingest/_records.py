"""The records ingest passes between its parts: the parsed file, the warnings raised, the result."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["GENERATED", "Ingested", "RawRecords", "Warnings", "is_missing"]

log = logging.getLogger("pipeline.ingest")

_WARN_EXAMPLES = 3
#: Internal column: the row id was generated, not read (dropped before ingest returns).
GENERATED = "_id_generated"


@dataclass
class Ingested:
    """What ingest hands on: the rows, the files read, and the warnings raised on the way."""

    rows: pd.DataFrame
    files: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    meta_columns: list[str] = field(default_factory=list)


@dataclass
class RawRecords:
    """One file parsed into records, before column mapping."""

    records: pd.DataFrame  # all columns as read, object dtype
    source_rows: list[int]
    bad: list[tuple[int, str, str]]  # (source_row, raw text, why) for unparseable records
    row_label: str = "row"


class Warnings:
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


def is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)
