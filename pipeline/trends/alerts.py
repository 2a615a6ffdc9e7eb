"""The alert table: one row per flagged theme or node, ranked by priority; its JSON and the theme weights."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import pandas as pd

from pipeline.trends.tables import ALERTS, DETECTORS, Trends


def alert_id(kind: str, key: Any) -> str:
    return hashlib.sha1(f"{kind}:{key}".encode()).hexdigest()[:12]


def alert_table(
    flagged: pd.DataFrame,
    frame: pd.DataFrame,
    themes: pd.DataFrame,
    severity_weights: dict[str, float],
    window: dict[str, Any],
    with_queries: bool,
) -> pd.DataFrame:
    """One row per flagged theme or node (columns :data:`ALERTS`), ranked by priority.

    ``frame``: the current window's rows (at least those of the flagged keys) in input order, with
    ``theme_id``, ``category_id``, ``category``, ``clean_text`` and, with queries, ``query``.
    """
    info = themes.set_index("theme_id") if len(themes) else pd.DataFrame()
    current = frame  # the current window's rows (at least those of the flagged keys), in input order
    out = []
    for _, r in flagged.iterrows():
        kind, key = r["kind"], r["key"]
        members = current[current["theme_id"] == key] if kind == "theme" else current[current["category_id"] == key]
        if kind == "theme":
            t = info.loc[key]
            label, category_id, category = str(t["label"]), t.get("category_id"), str(t.get("category", ""))
            weight = float(t.get("severity_weight", 1.0))
        else:
            label = category = str(members["category"].iloc[0]) if len(members) else str(key)
            category_id = key
            weight = float(severity_weights.get(str(r["severity"]), 1.0))
        queries: list[str] = []
        if with_queries and "query" in members.columns:
            queries = [str(q) for q in members["query"].dropna().value_counts().head(5).index]
        texts = list(dict.fromkeys(members["clean_text"].dropna().astype(str)))[:3]
        out.append(
            {
                "alert_id": alert_id(kind, key),
                "kind": kind,
                "theme_id": int(key) if kind == "theme" else None,
                "label": label,
                "category_id": None if pd.isna(category_id) else category_id,
                "category": category,
                "severity": str(r["severity"]),
                "detectors": [d for d in DETECTORS if bool(r[d])],
                "current_count": int(r["current_count"]),
                "baseline_count": int(r["baseline_count"]),
                "baseline_per_bin": round(float(r["baseline_per_bin"]), 4),
                "growth": float(r["growth"]),
                "p_value": float(r["p_value"]),
                "q_value": float(r["q_value"]),
                "significance": round(float(r["significance"]), 4),
                "priority": round(weight * float(r["significance"]) * float(np.log1p(r["current_count"])), 4),
                "window_start": window["current"][0],
                "window_end": window["current"][1],
                "first_seen": window["current"][1],
                "last_seen": window["current"][1],
                "runs": 1,
                "peak_count": int(r["current_count"]),
                "status": "new",
                "verbatims": texts,
                "top_queries": queries,
            }
        )
    table = pd.DataFrame(out, columns=list(ALERTS))
    if len(table):
        table = table.sort_values(["priority", "current_count"], ascending=False, kind="stable").reset_index(drop=True)
    return table


def trend_weights(themes: pd.DataFrame, trends: Trends) -> pd.Series:
    """``1 + 2 × significance`` for themes with an alert, else 1."""
    if trends.stats.empty:
        return pd.Series(1.0, index=themes.index)
    theme_stats = trends.stats[(trends.stats["kind"] == "theme") & trends.stats["alert"]]
    sig = dict(zip(theme_stats["key"].astype(int), theme_stats["significance"], strict=True))
    return themes["theme_id"].map(lambda t: 1.0 + 2.0 * float(sig.get(int(t), 0.0)))


def alerts_json(alerts: pd.DataFrame) -> str:
    """The alerts as a JSON list with the ALERTS keys, ready to post to a webhook."""
    records = []
    for rec in alerts.to_dict(orient="records"):
        clean = {}
        for k in ALERTS:
            v = rec.get(k)
            if isinstance(v, float) and not np.isfinite(v):
                v = None if np.isnan(v) else "inf"
            elif isinstance(v, np.ndarray):
                v = v.tolist()
            elif isinstance(v, (np.integer, np.floating)):
                v = v.item()
            clean[k] = v
        records.append(clean)
    return json.dumps(records, indent=1, ensure_ascii=False)
