"""The records' lookup and formatting that every section shares, and the section names."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = [
    "COMPARABLE_STEPS",
    "EMBED",
    "HOOK_SECTIONS",
    "MEAN_OF",
    "QUALITY",
    "RATIO_STEPS",
    "RUN_INFO",
    "SPEED",
    "Lookup",
    "check_mark",
    "config_label",
    "fmt",
    "is_mean",
    "load_records",
    "newest",
    "value_range",
]


SPEED = "speed"


QUALITY = "theme_quality"


HOOK_SECTIONS = ("taxonomy", "triage", "review_loop")


EMBED = "embed"


RUN_INFO = "benchmark_seconds"  # one record per part and run: how long it took, plus its notes and versions


#: The config of a system's mean over its runs ends with this (``benchmarks.quality`` writes them).
MEAN_OF = "mean of "


#: BERTopic's steps, and the stages of ours that do the same work (for the side-by-side table).
COMPARABLE_STEPS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("read the input", ("ingest",), ("read_input",)),
    ("clean: normalise, PII redaction, language, spaCy (ours only)", ("clean",), ()),
    ("**embedding**: import the libraries, load MiniLM, encode", (EMBED,), ("load_model", "embed")),
    (
        "**topic modelling**: imports, UMAP, HDBSCAN, keywords / c-TF-IDF",
        ("reduce", "cluster", "represent"),
        ("import_bertopic", "fit"),
    ),
    ("  of which UMAP (ours: 5-d and the 2-d map; BERTopic: 5-d)", ("reduce",), ("fit_umap",)),
    ("  of which clustering (ours: HDBSCAN + outlier reassignment)", ("cluster",), ("fit_hdbscan",)),
    ("summarize + report (ours only)", ("summarize", "report"), ()),
)


#: The rows that get a BERTopic ÷ ours ratio record (stage name in the record, label above).
RATIO_STEPS = {"embedding": 2, "topic_modelling": 3}


def load_records(path: Path) -> list[dict[str, Any]]:
    """The records of a RESULTS.json (empty if it does not exist); ValueError with a one-line fix otherwise."""
    if not path.exists():
        return []
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc}); fix or move it, then rerun.") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValueError(f"{path}: expected a JSON list of records; fix or move it, then rerun.")
    return records


def fmt(value: float | None, unit: str = "") -> str:
    if value is None or value != value:
        return "—"
    if unit == "x":
        return f"{value:.1f}×" if value < 100 else f"{value:,.0f}×"
    if unit == "ratio":
        return f"{value:.2f}"
    if unit == "share":
        return f"{value:.1%}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


def check_mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def config_label(config: str | None) -> str:
    return f" `{config}`" if config else ""


class Lookup:
    """Records of one table, by (metric, stage, run)."""

    def __init__(self, records: Iterable[dict[str, Any]]) -> None:
        self.records = list(records)
        self.by_key = {(r["metric"], r.get("stage"), r.get("run")): r for r in self.records}

    def get(self, metric: str, stage: str | None = None, run: str | None = None) -> float | None:
        record = self.by_key.get((metric, stage, run))
        return None if record is None else record["value"]

    def total(self, metric: str, stages: Iterable[str], run: str | None) -> float | None:
        values = [self.get(metric, s, run) for s in stages]
        if not values or any(v is None for v in values):
            return None
        return float(sum(v for v in values if v is not None))

    def stages(self, run: str = "cold") -> list[str]:
        seen = [s for (m, s, r) in self.by_key if m == "stage_seconds" and r == run and s is not None]
        return list(dict.fromkeys(seen))

    def first(self) -> dict[str, Any]:
        return self.records[0] if self.records else {}

    def where(self) -> str:
        """' (2026-12-04, <machine>)', or '': a table's runs can come from machines of other speeds."""
        first = self.first()
        parts = [str(first[k]) for k in ("date", "machine") if first.get(k)]
        return f" ({', '.join(parts)})" if parts else ""


def value_range(value: Any) -> str:
    if isinstance(value, tuple):
        low, high = value
        return f"{low:.2f}" if low == high else f"{low:.2f}–{high:.2f}"
    return str(value)


def newest(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The record of the latest date, the last of them on a tie (merges append new records at the end)."""
    return max(enumerate(records), key=lambda item: (item[1].get("date") or "", item[0]))[1]


def is_mean(config: str | None) -> bool:
    return bool(config) and str(config).split(";")[-1].startswith(MEAN_OF)
