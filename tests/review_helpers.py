"""A small synthetic run for the review tests: feedback rows with themes, nodes, severities and queries."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: (theme id, label, node, severity, rows)
THEMES = [
    (0, "Login, password reset", "product.account_login", "medium", 40),
    (1, "Self-harm content in diet search", "safety.self_harm", "critical", 6),
    (2, "Results are old", "search_quality.stale", "low", 30),
    (3, "Scam adverts", "safety.scams", "high", 12),
]


def review_feedback(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(feedback, themes) as a run writes them, 88 themed rows, 5 outliers, 2 excluded."""
    rng = np.random.default_rng(seed)
    rows = []
    for tid, _label, node, severity, n in THEMES:
        for i in range(n):
            unmapped = tid == 2 and i % 5 == 0
            rows.append(
                {
                    "row_id": f"t{tid}-{i:02d}",
                    "clean_text": f"theme {tid} report {i}: mail me at [EMAIL]",
                    "status": "themed",
                    "duplicate_of": None,
                    "theme_id": tid,
                    "category_id": None if unmapped else node,
                    "category": "Unmapped" if unmapped else node.split(".")[-1],
                    "severity": "none" if unmapped else severity,
                    "category_confidence": float(rng.uniform(0.3, 0.99)),
                    "search_query": f"query {tid} contact jane@example.com",
                }
            )
    for i in range(5):
        rows.append({"row_id": f"o{i}", "clean_text": f"outlier {i}", "status": "outlier", "duplicate_of": None,
                     "theme_id": -1, "category_id": "product.praise", "category": "Praise", "severity": "low",
                     "category_confidence": 0.6, "search_query": None})  # fmt: skip
    for i in range(2):
        rows.append({"row_id": f"x{i}", "clean_text": None, "status": "excluded", "duplicate_of": None,
                     "theme_id": -1, "category_id": None, "category": "", "severity": "",
                     "category_confidence": np.nan, "search_query": None})  # fmt: skip
    feedback = pd.DataFrame(rows)
    themes = pd.DataFrame([{"theme_id": t, "label": label, "size": n} for t, label, _node, _sev, n in THEMES])
    return feedback, themes
