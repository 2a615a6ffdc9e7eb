"""The classify stage as the runner calls it: row labels, then theme labels, or everything unmapped."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipeline.classify.prototypes import PrototypeClassifier
from pipeline.classify.rows import label_texts
from pipeline.classify.tables import CATEGORIES, UNMAPPED, Classified
from pipeline.classify.themes import label_counts, label_themes
from pipeline.config import ClassifyConfig

__all__ = ["classify", "unclassified"]


def classify(
    rows: pd.DataFrame,
    row_vectors: np.ndarray,
    themes: pd.DataFrame,
    labels: np.ndarray,
    classifier: PrototypeClassifier,
    config: ClassifyConfig,
    *,
    keyword_vectors: np.ndarray | None = None,
    nli: Any = None,
    row_group: np.ndarray | None = None,
    show_progress: bool = False,
) -> Classified:
    """Label the clustered rows and their themes.

    ``rows`` (with ``clean_text``), ``row_vectors`` and ``labels`` are aligned over the clustered rows.
    With ``row_group`` (each row's distinct-text group) and ``row_vectors`` per group, each distinct
    text is scored once. ``keyword_vectors`` holds one embedding of each theme's keywords, in
    ``themes`` order.
    """
    texts = rows["clean_text"].fillna("").astype(str).tolist()
    if row_group is None:
        row_group = np.arange(len(rows))
        group_texts = texts
    else:
        first: dict[int, int] = {}
        for i, g in enumerate(row_group):
            first.setdefault(int(g), i)
        group_texts = [texts[first[g]] if g in first else "" for g in range(len(row_vectors))]
    group_table, nli_rows = label_texts(
        row_vectors, group_texts, classifier, config, nli=nli, show_progress=show_progress
    )
    row_table = group_table.iloc[row_group].reset_index(drop=True)
    counts = label_counts(labels, row_table)
    result = label_themes(
        themes, counts, classifier, config, keyword_vectors=keyword_vectors, nli=nli, nli_rows=nli_rows
    )
    result.rows = row_table
    return result


def unclassified(n_rows: int, themes: pd.DataFrame) -> Classified:
    """The same columns when ``classify.enabled`` is false: everything unmapped, severity weight 1."""
    rows = pd.DataFrame(
        {
            "category_id": [None] * n_rows,
            "category": [UNMAPPED] * n_rows,
            "severity": ["none"] * n_rows,
            "category_confidence": [np.nan] * n_rows,
            "categories": [[] for _ in range(n_rows)],
        }
    )
    out = themes.copy()
    out["category_id"] = None
    out["category"] = UNMAPPED
    out["branch"] = None
    out["severity"] = "none"
    out["category_confidence"] = np.nan
    out["secondary_categories"] = [[] for _ in range(len(out))]
    out["flagged_rows"] = 0
    out["severity_weight"] = 1.0
    return Classified(rows, out, pd.DataFrame(columns=list(CATEGORIES)), {"enabled": False})
