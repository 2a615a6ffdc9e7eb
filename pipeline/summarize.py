"""Summarize: the ranked insight table, one row per theme (columns: ``schemas.THEMES``).

Ranking is explicit and visible: ``priority = volume_score * severity_weight * trend_weight``,
where ``volume_score`` is the theme's share of clustered rows. The classify stage sets
``severity_weight`` from the theme's taxonomy node (``classify.severity_weights``) and the trends
stage ``trend_weight``; a weight is 1.0 when its stage did not run.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from pipeline.classify import unclassified
from pipeline.config import SummarizeConfig
from pipeline.schemas import THEMES

__all__ = ["RANKING_FORMULA", "summarize"]

RANKING_FORMULA = "priority = volume_score * severity_weight * trend_weight"


def _time_columns(times: pd.Series) -> tuple[object, object, str]:
    times = times.dropna()
    if times.empty:
        return pd.NaT, pd.NaT, ""
    days = times.dt.strftime("%Y-%m-%d").value_counts().sort_index()
    return times.min(), times.max(), json.dumps({str(k): int(v) for k, v in days.items()})


def summarize(
    themes: pd.DataFrame,
    labels: np.ndarray,
    reassigned: np.ndarray,
    times: pd.Series,
    config: SummarizeConfig | None = None,
) -> pd.DataFrame:
    """Add volume, time and priority columns to ``themes`` and sort by priority.

    ``labels``, ``reassigned`` and ``times`` are aligned over the clustered rows.
    """
    config = config or SummarizeConfig()
    if themes.empty:
        return pd.DataFrame(columns=list(THEMES))
    out = themes.copy()
    n_clustered = max(len(labels), 1)
    times = times.reset_index(drop=True)
    out["share"] = out["size"] / n_clustered
    out["size_with_reassigned"] = [int((reassigned == t).sum()) for t in out["theme_id"]]
    out["volume_score"] = out["share"]
    if "category_id" not in out.columns:  # the classify stage did not run: everything unmapped, weight 1
        out = unclassified(0, out).themes
    out["trend_weight"] = 1.0
    out["priority"] = out["volume_score"] * out["severity_weight"] * out["trend_weight"]
    spans = [_time_columns(times[labels == t]) for t in out["theme_id"]]
    out["first_seen"] = pd.Series([s[0] for s in spans], index=out.index, dtype="datetime64[ns, UTC]")
    out["last_seen"] = pd.Series([s[1] for s in spans], index=out.index, dtype="datetime64[ns, UTC]")
    out["daily_counts"] = [s[2] for s in spans]
    out = out.sort_values(["priority", "size", "theme_id"], ascending=[False, False, True], kind="stable")
    out["rank"] = np.arange(1, len(out) + 1)
    return out[list(THEMES)].reset_index(drop=True)
