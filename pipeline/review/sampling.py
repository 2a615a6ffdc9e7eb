"""Review sets: a stratified, seeded sample of a run's rows for people to check.

Every theme and every taxonomy node present in the run gets at least one item (rows of the node
first, then of the theme), so no label goes unchecked; the rest of the sample is drawn without
replacement with weights that favour critical/high severity and low classifier confidence, the
rows where a wrong label costs most and is most likely. The items, the seed and the weights are
stored in the run (``review/items.parquet``, ``review/review_set.json``), so the sample can be
reproduced and its measures re-weighted.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.clean import redact_pii
from pipeline.errors import InputError
from pipeline.store import write_json, write_parquet

__all__ = [
    "ITEMS",
    "RESULT_NAMES",
    "SEVERITY_WEIGHT",
    "ReviewSet",
    "draw_review_set",
    "load_review_set",
    "review_dir",
    "write_review_set",
]

log = logging.getLogger(__name__)

#: Extra sampling weight per severity: critical and high rows are checked more often.
SEVERITY_WEIGHT: dict[str, float] = {"critical": 4.0, "high": 3.0, "medium": 1.5, "low": 1.0, "none": 1.0}
#: A row's weight grows by up to this factor as its classifier confidence falls from 1 to 0.
LOW_CONFIDENCE_WEIGHT = 2.0
#: Normalized names of a search-result column (the query column comes from the run's manifest).
RESULT_NAMES = ("result", "results", "resulttitle", "topresult", "clickedresult", "resulturl", "searchresult")
QUERY_NAMES = ("query", "searchquery", "searchterm", "searchterms", "search", "keyword", "q")
#: Longest query / result shown to a reviewer.
_META_CHARS = 300

#: review/items.parquet: one row per item to review.
ITEMS: dict[str, str] = {
    "item_id": "str: stable id within the review set (i0001...)",
    "row_id": "str: the row of feedback.parquet",
    "text": "str: the row's redacted clean_text (never the raw text)",
    "theme_id": "int: the row's theme (-1: outlier)",
    "theme_label": "str: the theme's label ('' for outliers)",
    "category_id": "str | None: the row's taxonomy node (None: unmapped)",
    "category": "str: the node's name",
    "severity": "str: critical | high | medium | low | none",
    "category_confidence": "float: the classifier's stated confidence in the row's node",
    "query": "str | None: the search query, redacted, when the export has one",
    "result": "str | None: the search result, redacted, when the export has one",
    "stratum": "str: why it was drawn: node | theme | weighted",
    "weight": "float: its sampling weight",
}


@dataclass
class ReviewSet:
    """The items of a review set and how they were drawn."""

    items: pd.DataFrame
    info: dict[str, Any]

    def item(self, item_id: str) -> pd.Series:
        """The item ``item_id``; KeyError when there is none."""
        found = self.items.index[self.items["item_id"] == item_id]
        if not len(found):
            raise KeyError(item_id)
        return self.items.loc[found[0]]

    @property
    def has_query(self) -> bool:
        return bool(self.items["query"].notna().any())


def review_dir(run_dir: str | Path) -> Path:
    """Where a run keeps its review set and labels."""
    return Path(run_dir) / "review"


def _column(columns: list[str], names: tuple[str, ...], given: str | None, what: str) -> str | None:
    if given:
        if given not in columns:
            raise InputError(f"--{what}-col {given!r} is not a column of feedback.parquet; it has {columns}.")
        return given
    normalized = {"".join(ch for ch in c.lower() if ch.isalnum()): c for c in columns}
    return next((normalized[n] for n in names if n in normalized), None)


def _weights(rows: pd.DataFrame) -> np.ndarray:
    severity = rows["severity"].fillna("none").map(SEVERITY_WEIGHT).fillna(1.0).to_numpy(dtype=np.float64)
    confidence = rows["category_confidence"].astype(float).fillna(0.5).clip(0, 1).to_numpy()
    return severity * (1.0 + (LOW_CONFIDENCE_WEIGHT - 1.0) * (1.0 - confidence))


def draw_review_set(
    feedback: pd.DataFrame,
    themes: pd.DataFrame,
    *,
    size: int,
    seed: int = 0,
    query_col: str | None = None,
    result_col: str | None = None,
) -> ReviewSet:
    """Draw ``size`` rows: one per node present, one per theme still missing, then weighted by severity and doubt.

    Only rows with a redacted text that were clustered (themed or outlier) are candidates, and a
    near-duplicate is drawn only when its group has no first row left. ``size`` smaller than the
    number of strata is raised to it (every label checked beats a round number), with a warning.
    """
    if size < 1:
        raise InputError(f"--size must be at least 1; got {size}.")
    rng = np.random.default_rng(seed)
    columns = list(feedback.columns)
    query_col = _column(columns, QUERY_NAMES, query_col, "query")
    result_col = _column(columns, RESULT_NAMES, result_col, "result")
    pool = feedback[(feedback["status"] != "excluded") & feedback["clean_text"].notna()].copy()
    defaults = {"category_id": None, "category": "Unmapped", "severity": "none", "category_confidence": np.nan}
    for col, default in defaults.items():
        if col not in pool:  # a run without per-row labels: the theme's node stands for its rows
            by_theme = themes.set_index("theme_id")[col] if col in themes else pd.Series(dtype=object)
            pool[col] = [by_theme.get(int(t), default) for t in pool["theme_id"]]
    if pool.empty:
        raise InputError("the run has no clustered rows with text to review.")
    pool["_w"] = _weights(pool)
    pool["_u"] = rng.random(len(pool))
    pool["_dup"] = pool["duplicate_of"].notna() if "duplicate_of" in pool else False
    chosen: dict[int, str] = {}

    def pick(candidates: pd.DataFrame, stratum: str) -> None:
        candidates = candidates[~candidates.index.isin(list(chosen))]
        if candidates.empty:
            return
        # originals before near-duplicates; among them, weighted by a seeded key (Efraimidis-Spirakis)
        key = np.where(candidates["_dup"], 0.0, 1.0) + candidates["_u"].to_numpy() ** (1.0 / candidates["_w"])
        chosen[int(candidates.index[int(np.argmax(key))])] = stratum

    node_of = pool["category_id"].where(pool["category_id"].notna(), "unmapped").astype(str)
    for node in sorted(node_of.unique()):  # unmapped rows are a stratum too: they may be missed labels
        pick(pool[node_of == node], "node")
    for theme in sorted(int(t) for t in pool["theme_id"].unique() if int(t) >= 0):
        if not any(int(pool.loc[i, "theme_id"]) == theme for i in chosen):
            pick(pool[pool["theme_id"] == theme], "theme")
    if len(chosen) > size:
        log.warning(
            "review set: %d strata (themes and nodes) need %d items; drawing %d.", len(chosen), len(chosen), len(chosen)
        )
    rest = pool[~pool.index.isin(list(chosen))]
    room = max(0, size - len(chosen))
    if room and len(rest):
        keys = np.where(rest["_dup"], 0.0, 1.0) + rest["_u"].to_numpy() ** (1.0 / rest["_w"].to_numpy())
        for i in rest.index[np.argsort(-keys, kind="stable")[:room]]:
            chosen[int(i)] = "weighted"

    picked = pool.loc[list(chosen)]
    labels = dict(zip(themes["theme_id"].astype(int), themes["label"].astype(str), strict=True)) if len(themes) else {}

    def meta(col: str | None) -> list[str | None]:
        if col is None:
            return [None] * len(picked)
        return [None if pd.isna(v) else redact_pii(str(v))[:_META_CHARS] for v in picked[col]]

    items = pd.DataFrame(
        {
            "item_id": [f"i{i + 1:04d}" for i in range(len(picked))],
            "row_id": picked["row_id"].astype(str).to_numpy(),
            "text": picked["clean_text"].astype(str).to_numpy(),
            "theme_id": picked["theme_id"].astype(int).to_numpy(),
            "theme_label": [labels.get(int(t), "") for t in picked["theme_id"]],
            "category_id": picked["category_id"].to_numpy(dtype=object),
            "category": picked["category"].fillna("Unmapped").astype(str).to_numpy(),
            "severity": picked["severity"].fillna("none").replace("", "none").astype(str).to_numpy(),
            "category_confidence": picked["category_confidence"].astype(float).to_numpy(),
            "query": meta(query_col),
            "result": meta(result_col),
            "stratum": [chosen[int(i)] for i in picked.index],
            "weight": picked["_w"].round(4).to_numpy(),
        },
        columns=list(ITEMS),
    )
    info = {
        "seed": seed,
        "size_requested": size,
        "items": len(items),
        "candidates": len(pool),
        "strata": {s: int((items["stratum"] == s).sum()) for s in ("node", "theme", "weighted")},
        "query_column": query_col,
        "result_column": result_col,
        "severity_weight": SEVERITY_WEIGHT,
        "low_confidence_weight": LOW_CONFIDENCE_WEIGHT,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    return ReviewSet(items, info)


def write_review_set(review_set: ReviewSet, run_dir: str | Path) -> Path:
    """Store the items and how they were drawn in ``<run>/review/`` (atomic writes)."""
    folder = review_dir(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    write_parquet(review_set.items, folder / "items.parquet")
    write_json(review_set.info, folder / "review_set.json")
    return folder


def load_review_set(run_dir: str | Path) -> ReviewSet:
    """The stored review set of a run; InputError when it has none."""
    folder = review_dir(run_dir)
    if not (folder / "items.parquet").is_file():
        raise InputError(f"{run_dir}: no review set; draw one with 'insights review {run_dir} --size 50'.")
    info = json.loads((folder / "review_set.json").read_text(encoding="utf-8"))
    return ReviewSet(pd.read_parquet(folder / "items.parquet"), info)
