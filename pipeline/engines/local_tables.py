"""Tables and views the local engine assembles from the stages' outputs: the feedback table, row vectors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import RunConfig
from pipeline.schemas import FEEDBACK
from pipeline.store import default_cache_dir

__all__ = ["RowVectors", "feedback_table", "novelty_vectors", "work_dir"]


def feedback_table(
    cleaned: pd.DataFrame,
    meta_columns: list[str],
    valid: np.ndarray,
    labels: np.ndarray,
    reassigned: np.ndarray,
    coords: np.ndarray,
    row_labels: pd.DataFrame,
    assigned: np.ndarray | None = None,
) -> pd.DataFrame:
    """The per-row output table: every input row, in input order."""
    n = len(cleaned)
    theme = np.full(n, -1, np.int64)
    theme_re = np.full(n, -1, np.int64)
    xy = np.full((n, 2), np.nan, np.float32)
    theme[valid] = labels
    theme_re[valid] = reassigned
    xy[valid] = coords
    status = np.where(~cleaned["excluded"].to_numpy(), np.where(theme >= 0, "themed", "outlier"), "excluded")
    out = cleaned[["row_id", "source_file", "source_row", "text", "clean_text", "language"]].copy()
    out["status"] = status
    out["exclusion_reason"] = cleaned["exclusion_reason"]
    out["duplicate_of"] = cleaned["duplicate_of"]
    out["truncated"] = cleaned["truncated"]
    out["theme_id"] = theme
    out["theme_id_reassigned"] = theme_re
    positions = np.flatnonzero(valid)
    defaults: dict[str, Any] = {"category_id": None, "category": "", "severity": "", "category_confidence": np.nan}
    for col, default in defaults.items():
        values = np.full(n, default, dtype=object)
        values[positions] = row_labels[col].to_numpy(dtype=object)
        out[col] = values
    out["category_confidence"] = out["category_confidence"].astype(float)
    lists: list[list[str]] = [[] for _ in range(n)]
    for pos, cats in zip(positions, row_labels["categories"], strict=True):
        lists[pos] = list(cats)
    out["categories"] = lists
    out["x"] = xy[:, 0]
    out["y"] = xy[:, 1]
    out["time"] = cleaned["time"]
    flag = np.zeros(n, bool)
    if assigned is not None:
        flag[valid] = assigned
    out["assigned"] = flag
    for col in meta_columns:
        out[col] = cleaned[col]
    return out[[*FEEDBACK, *meta_columns]]


def work_dir(config: RunConfig) -> Path:
    """Scratch space on disk for memory-mapped vectors: beside the embedding cache, not in /tmp (often RAM)."""
    return default_cache_dir(config.embed.cache_dir) / "work"


class RowVectors:
    """Row ``i``'s vector is ``group_vectors[row_group[i]]``, built only for the rows indexed.

    The novelty test reads the rows of its time windows; a full rows x dim copy would grow with the export.
    """

    def __init__(self, group_vectors: np.ndarray, row_group: np.ndarray) -> None:
        self.group_vectors, self.row_group = group_vectors, row_group

    def __len__(self) -> int:
        return len(self.row_group)

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.group_vectors[self.row_group[rows]])


def novelty_vectors(
    row_vectors: np.ndarray | None, group_vectors: np.ndarray, row_group: np.ndarray, config: RunConfig
) -> np.ndarray | RowVectors | None:
    """Row vectors for the novelty detector, when it is on."""
    if not config.trends.novelty:
        return None
    return row_vectors if row_vectors is not None else RowVectors(group_vectors, row_group)
