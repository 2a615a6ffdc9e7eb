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

__all__ = [
    "QUERIES",
    "QUERY_COUNTS",
    "RANKING_FORMULA",
    "THEME_STATS",
    "query_counts",
    "query_rollup",
    "rank_themes",
    "rollup_queries",
    "summarize",
    "theme_stats",
    "top_counted",
    "top_values",
]

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


def top_values(values: pd.Series, n: int = 5) -> list[str]:
    """The ``n`` most frequent non-empty values, most frequent first (ties: alphabetical)."""
    values = values.dropna().astype(str).str.strip()
    counts = values[values != ""].value_counts()
    return top_counted(counts.index.tolist(), counts.tolist(), n)


def top_counted(values: list[str], counts: list[int], n: int = 5) -> list[str]:
    """The ``n`` values with the largest counts, ties broken alphabetically (the same in every engine)."""
    order = sorted(range(len(values)), key=lambda i: (-counts[i], values[i]))
    return [values[i] for i in order[:n]]


#: Per-theme aggregates that ranking needs; :func:`theme_stats` builds them with pandas, the Spark
#: engine with Spark SQL, and :func:`rank_themes` reads them.
THEME_STATS: dict[str, str] = {
    "theme_id": "int",
    "size_with_reassigned": "int: rows whose reassigned theme is this one",
    "first_seen": "datetime64[UTC] | NaT",
    "last_seen": "datetime64[UTC] | NaT",
    "day_counts": "dict[str, int]: rows per calendar day (UTC)",
    "query_counts": "dict[str, int]: rows per stripped, non-empty search query",
}


def theme_stats(
    labels: np.ndarray, reassigned: np.ndarray, times: pd.Series, queries: pd.Series | None = None
) -> pd.DataFrame:
    """:data:`THEME_STATS` from the clustered rows (labels, reassigned labels, times, queries aligned)."""
    labels = np.asarray(labels, dtype=np.int64)
    times = pd.to_datetime(times.reset_index(drop=True), utc=True)
    frame = pd.DataFrame({"theme_id": labels, "time": times})
    ids = np.unique(labels[labels >= 0])
    re_counts = pd.Series(np.asarray(reassigned, dtype=np.int64)).value_counts()
    dated = frame[frame["time"].notna() & (frame["theme_id"] >= 0)]
    spans = dated.groupby("theme_id")["time"].agg(["min", "max"])
    days = dated.assign(day=dated["time"].dt.strftime("%Y-%m-%d")).groupby(["theme_id", "day"]).size()
    query_counts: dict[int, dict[str, int]] = {}
    if queries is not None:
        q = queries.reset_index(drop=True).astype("string").str.strip()
        qf = pd.DataFrame({"theme_id": labels, "query": q})
        qf = qf[qf["query"].notna() & (qf["query"] != "") & (qf["theme_id"] >= 0)]
        for (theme, query), count in qf.groupby(["theme_id", "query"]).size().items():
            query_counts.setdefault(int(theme), {})[str(query)] = int(count)
    day_counts: dict[int, dict[str, int]] = {}
    for (theme, day), count in days.items():
        day_counts.setdefault(int(theme), {})[str(day)] = int(count)
    return pd.DataFrame(
        {
            "theme_id": ids,
            "size_with_reassigned": [int(re_counts.get(t, 0)) for t in ids],
            "first_seen": pd.Series([spans["min"].get(t, pd.NaT) for t in ids], dtype="datetime64[ns, UTC]"),
            "last_seen": pd.Series([spans["max"].get(t, pd.NaT) for t in ids], dtype="datetime64[ns, UTC]"),
            "day_counts": [day_counts.get(int(t), {}) for t in ids],
            "query_counts": [query_counts.get(int(t), {}) for t in ids],
        },
        columns=list(THEME_STATS),
    )


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
    stats = theme_stats(labels, reassigned, times, queries)
    return rank_themes(themes, stats, len(labels), config, with_queries=queries is not None)


def rank_themes(
    themes: pd.DataFrame,
    stats: pd.DataFrame,
    n_clustered: int,
    config: SummarizeConfig | None = None,
    *,
    with_queries: bool = False,
) -> pd.DataFrame:
    """The ranked theme table from the themes and their :data:`THEME_STATS` (any engine's)."""
    config = config or SummarizeConfig()
    if themes.empty:
        return pd.DataFrame(columns=list(THEMES))
    out = themes.copy()
    by_theme = stats.set_index("theme_id")
    ids = out["theme_id"].astype(int)
    out["share"] = out["size"] / max(n_clustered, 1)
    out["size_with_reassigned"] = [int(by_theme["size_with_reassigned"].get(t, 0)) for t in ids]
    out["volume_score"] = out["share"]
    if "category_id" not in out.columns:  # the classify stage did not run: everything unmapped, weight 1
        out = unclassified(0, out).themes
    if "trend_weight" not in out.columns:  # set by the trends stage when there are times
        out["trend_weight"] = 1.0
    out["priority"] = out["volume_score"] * out["severity_weight"] * out["trend_weight"]
    first = [by_theme["first_seen"].get(t, pd.NaT) for t in ids]
    last = [by_theme["last_seen"].get(t, pd.NaT) for t in ids]
    out["first_seen"] = pd.Series(first, index=out.index, dtype="datetime64[ns, UTC]")
    out["last_seen"] = pd.Series(last, index=out.index, dtype="datetime64[ns, UTC]")
    days = [by_theme["day_counts"].get(t) or {} for t in ids]
    out["daily_counts"] = [json.dumps({k: int(d[k]) for k in sorted(d)}) if d else "" for d in days]
    if with_queries:
        counted = [by_theme["query_counts"].get(t) or {} for t in ids]
        out["top_queries"] = [top_counted(list(q), list(q.values())) for q in counted]
    else:
        out["top_queries"] = [[] for _ in range(len(out))]
    out = out.sort_values(["priority", "size", "theme_id"], ascending=[False, False, True], kind="stable")
    out["rank"] = np.arange(1, len(out) + 1)
    return out[list(THEMES)].reset_index(drop=True)


#: The aggregate behind the query roll-up: rows per (query, theme, label, branch, severity).
QUERY_COUNTS: dict[str, str] = {
    "query": "str: stripped, non-empty search query",
    "theme_id": "int: -1 for outliers",
    "category": "str",
    "branch": "str: '' when unmapped",
    "severity": "str",
    "rows": "int",
}


def query_counts(rows: pd.DataFrame, query_col: str) -> pd.DataFrame:
    """:data:`QUERY_COUNTS` from clustered rows (query column, theme_id, category, branch, severity)."""
    query = rows[query_col].astype("string").str.strip()
    frame = pd.DataFrame(
        {
            "query": query,
            "theme_id": rows["theme_id"].astype(np.int64),
            "category": rows["category"].astype(str),
            "branch": rows["branch"].fillna("").astype(str),
            "severity": rows["severity"].astype(str),
        }
    )
    frame = frame[frame["query"].notna() & (frame["query"] != "")]
    out = frame.groupby(list(QUERY_COUNTS)[:-1], sort=True).size().rename("rows").reset_index()
    return out[list(QUERY_COUNTS)]


def query_rollup(rows: pd.DataFrame, query_col: str) -> pd.DataFrame:
    """Which queries drive safety reports: one row per query, most safety reports first.

    ``rows``: clustered rows with ``query_col``, ``theme_id``, ``category``, ``branch`` and ``severity``.
    """
    return rollup_queries(query_counts(rows, query_col))


def rollup_queries(counts: pd.DataFrame) -> pd.DataFrame:
    """The query roll-up from :data:`QUERY_COUNTS` (any engine's)."""
    if counts.empty:
        return pd.DataFrame(columns=list(QUERIES))
    records = []
    for query, group in counts.groupby("query", sort=True):
        by_category = group.groupby("category")["rows"].sum()
        by_theme = group[group["theme_id"] >= 0].groupby("theme_id")["rows"].sum()
        themes = sorted(by_theme.index, key=lambda t: (-by_theme[t], t))[:5]
        records.append(
            {
                "query": str(query),
                "rows": int(group["rows"].sum()),
                "safety_rows": int(group.loc[group["branch"] == "safety", "rows"].sum()),
                "critical_high_rows": int(group.loc[group["severity"].isin(["critical", "high"]), "rows"].sum()),
                "top_category": top_counted([str(c) for c in by_category.index], by_category.tolist(), 1)[0],
                "themes": [int(t) for t in themes],
            }
        )
    table = pd.DataFrame(records, columns=list(QUERIES))
    return table.sort_values(
        ["critical_high_rows", "safety_rows", "rows", "query"], ascending=[False, False, False, True], kind="stable"
    ).reset_index(drop=True)
