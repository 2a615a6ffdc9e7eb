"""The tables classify produces and the result it hands back: their columns are the stage's contract."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["CATEGORIES", "LABEL_COUNTS", "UNMAPPED", "Classified"]

#: The label of a row or theme that no node claims.
UNMAPPED = "Unmapped"

#: The category roll-up table (categories.parquet / categories.csv).
CATEGORIES: dict[str, str] = {
    "category_id": "str | None: taxonomy leaf id (None: the 'Unmapped' row)",
    "category": "str: node name",
    "path": "str: branch › ... › node",
    "branch": "str | None: safety | search_quality | product (top-level ancestor)",
    "severity": "str: critical | high | medium | low | none",
    "themes": "int: themes whose primary node this is",
    "theme_rows": "int: rows in those themes",
    "rows": "int: rows whose own primary label is this node (themed and outliers)",
    "share": "float: rows / rows classified",
    "mean_confidence": "float: mean confidence of those rows",
}


#: The aggregate the theme-level half of classify needs: rows per (theme, row label, severity).
LABEL_COUNTS: dict[str, str] = {
    "theme_id": "int: theme (-1: outliers)",
    "category_id": "str: the rows' primary leaf ('' for unmapped)",
    "severity": "str: the rows' severity",
    "rows": "int: how many rows",
    "confidence_sum": "float: sum of those rows' category_confidence",
}


@dataclass
class Classified:
    """Row labels (aligned with the classified rows), themes with taxonomy columns, and the roll-up."""

    rows: pd.DataFrame
    themes: pd.DataFrame
    categories: pd.DataFrame
    params: dict[str, Any] = field(default_factory=dict)
