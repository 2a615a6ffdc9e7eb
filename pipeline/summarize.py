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

__all__ = ["QUERIES", "RANKING_FORMULA", "query_rollup", "summarize", "top_values"]

#: The query roll-up (queries.parquet / queries.csv), when the export has a search-query column.
QUERIES: dict[str, str] = {
    "query": "str: the search query as written",
    "rows": "int: reports with this query",
    "safety_rows": "int: of which labeled with a safety node",
    "critical_high_rows": "int: of which critical or high severity",
    "top_category": "str: the most common row label among them",
    "themes": "list[int]: themes the reports fall in, most frequent first",
}

RANKING_FORMULA = "priority = volume_score * severity_weight * trend_weight"


def _time_columns(times: pd.Series) -> tuple[object, object, str]:
    times = times.dropna()
    if times.empty:
        return pd.NaT, pd.NaT, ""
    days = times.dt.strftime("%Y-%m-%d").value_counts().sort_index()
    return times.min(), times.max(), json.dumps({str(k): int(v) for k, v in days.items()})


def top_values(values: pd.Series, n: int = 5) -> list[str]:
    """The ``n`` most frequent non-empty values, most frequent first."""
    values = values.dropna().astype(str).str.strip()
    return list(values[values != ""].value_counts().head(n).index)


def summarize(
    themes: pd.DataFrame,
    labels: np.ndarray,
    reassigned: np.ndarray,
    times: pd.Series,
    config: SummarizeConfig | None = None,
    *,
    queries: pd.Series | None = None,
) -> pd.DataFrame:
    """Add volume, time and priority columns to ``themes`` and sort by priority.

    ``labels``, ``reassigned``, ``times`` (and ``queries``, a search-query column) are aligned over
    the clustered rows.
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
    if "trend_weight" not in out.columns:  # set by the trends stage when there are times
        out["trend_weight"] = 1.0
    out["priority"] = out["volume_score"] * out["severity_weight"] * out["trend_weight"]
    spans = [_time_columns(times[labels == t]) for t in out["theme_id"]]
    out["first_seen"] = pd.Series([s[0] for s in spans], index=out.index, dtype="datetime64[ns, UTC]")
    out["last_seen"] = pd.Series([s[1] for s in spans], index=out.index, dtype="datetime64[ns, UTC]")
    out["daily_counts"] = [s[2] for s in spans]
    if queries is not None:
        queries = queries.reset_index(drop=True)
        out["top_queries"] = [top_values(queries[labels == t]) for t in out["theme_id"]]
    else:
        out["top_queries"] = [[] for _ in range(len(out))]
    out = out.sort_values(["priority", "size", "theme_id"], ascending=[False, False, True], kind="stable")
    out["rank"] = np.arange(1, len(out) + 1)
    return out[list(THEMES)].reset_index(drop=True)


def query_rollup(rows: pd.DataFrame, query_col: str) -> pd.DataFrame:
    """Which queries drive safety reports: one row per query, most safety reports first.

    ``rows``: clustered rows with ``query_col``, ``theme_id``, ``category``, ``branch`` and ``severity``.
    """
    frame = rows[rows[query_col].notna() & (rows[query_col].astype(str).str.strip() != "")]
    if frame.empty:
        return pd.DataFrame(columns=list(QUERIES))
    records = []
    for query, group in frame.groupby(frame[query_col].astype(str).str.strip()):
        themed = group.loc[group["theme_id"] >= 0, "theme_id"]
        records.append(
            {
                "query": query,
                "rows": len(group),
                "safety_rows": int((group["branch"] == "safety").sum()),
                "critical_high_rows": int(group["severity"].isin(["critical", "high"]).sum()),
                "top_category": str(group["category"].value_counts().index[0]),
                "themes": [int(t) for t in themed.value_counts().index[:5]],
            }
        )
    table = pd.DataFrame(records, columns=list(QUERIES))
    return table.sort_values(
        ["critical_high_rows", "safety_rows", "rows", "query"], ascending=[False, False, False, True], kind="stable"
    ).reset_index(drop=True)
