"""RESULTS.json records: one key order, medians over repeats, merging into the file."""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks.harness.processes import BenchError

__all__ = [
    "BERTOPIC",
    "RECORD_FIELDS",
    "SYSTEM",
    "Figure",
    "make_record",
    "median_records",
    "merge_records",
    "merge_replacing",
    "parse_recorded",
    "round_value",
    "today",
]


#: The systems measured: our pipeline and the BERTopic baseline.
SYSTEM = "ours"
BERTOPIC = "bertopic"

Figure = tuple[str, str | None, str | None, float, str]  # metric, stage, run, value, unit


def round_value(value: float) -> float:
    if value != value:  # NaN
        return value
    magnitude = abs(value)
    return round(value, 4 if magnitude < 1 else 3 if magnitude < 100 else 1)


#: Key order of a record in RESULTS.json (fields not named here follow).
RECORD_FIELDS = (
    "section", "dataset", "system", "rows", "metric", "stage", "run", "value", "unit", "values",
    "repeats", "config", "date", "machine",
)  # fmt: skip


def make_record(common: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A RESULTS.json record: the common fields plus these, in :data:`RECORD_FIELDS` order."""
    merged = {**common, **fields}
    ordered = {key: merged.pop(key) for key in RECORD_FIELDS if key in merged}
    return {**ordered, **merged}


def median_records(repeats: list[list[Figure]], *, common: dict[str, Any]) -> list[dict[str, Any]]:
    """One record per figure: the median over repeats (all values kept when there are several)."""
    grouped: dict[tuple[str, str | None, str | None, str], list[float]] = {}
    for figures in repeats:
        for metric, stage, run, value, unit in figures:
            grouped.setdefault((metric, stage, run, unit), []).append(value)
    records = []
    for (metric, stage, run, unit), values in grouped.items():
        value = round_value(statistics.median(values))
        record = make_record(common, metric=metric, stage=stage, run=run, value=value, unit=unit)
        if len(values) > 1:
            record = make_record(record, values=[round_value(v) for v in values])
        records.append(record)
    return records


def merge_records(path: Path, new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records already in ``path`` minus those this run replaces, plus the new ones.

    A new record replaces the old ones of the same section, system, row count and config; records
    of other sections (theme quality, ...), other sizes or other configs are kept as they were.
    """
    from benchmarks.report import load_records

    try:
        old = load_records(path)
    except ValueError as exc:
        raise BenchError(str(exc)) from None

    def key(record: dict[str, Any]) -> tuple[Any, ...]:
        return (record.get("section"), record.get("system"), record.get("rows"), record.get("config"))

    replaced = {key(r) for r in new}
    kept = [r for r in old if key(r) not in replaced]
    return kept + new


def today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


def merge_replacing(
    path: Path, new: list[dict[str, Any]], replaced: set[tuple[Any, ...]], key: Any
) -> list[dict[str, Any]]:
    """The records in ``path`` minus those whose ``key(record)`` is in ``replaced``, plus ``new``."""
    from benchmarks.report import load_records

    try:
        old = load_records(path)
    except ValueError as exc:
        raise BenchError(str(exc)) from None
    return [r for r in old if key(r) not in replaced] + new


def parse_recorded(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse ``argv`` and keep the command line as ``args.command``, which the run's info record carries."""
    args = parser.parse_args(argv)
    args.command = f"{parser.prog} " + " ".join(sys.argv[1:] if argv is None else argv)
    return args
