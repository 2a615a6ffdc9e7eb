"""Novelty: crowds of current rows among their nearest neighbours, per theme and as ``emerging`` groups."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from pipeline.config import TrendsConfig
from pipeline.trends.alerts import alert_id
from pipeline.trends.significance import benjamini_hochberg, score
from pipeline.trends.tables import ALERTS, VectorRows


def emerging_pvalues(
    vectors: VectorRows,
    rows: np.ndarray,
    current: np.ndarray,
    *,
    k: int,
    rng: np.random.Generator,
    max_points: int = 20_000,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """p-values that current rows sit in a crowd of current rows.

    Returns the indices into ``rows`` of the current rows tested, their p-values, and their ``k``
    nearest neighbours (indices into ``rows``; no columns when nothing could be tested).

    ``rows``: the positions in ``vectors`` (unit vectors) of the rows in the windows; ``current``: which
    of them are in the current window. For each current row, count the current rows among its ``k``
    nearest neighbours (cosine, itself excluded). If nothing changed, a neighbour is current with
    probability ``p0``, the current share of the other rows, so the count is binomial(k, p0); a new
    sub-topic's rows have each other as neighbours, far more current ones than that. Above
    ``max_points`` rows, uniform samples of the current rows (up to a quarter) and of the others keep
    time and memory flat; ``p0`` is then the sample's share, which keeps the test exact.
    """
    now, before = np.flatnonzero(current), np.flatnonzero(~current)
    if len(now) + len(before) > max_points:
        keep_now = min(len(now), max(max_points // 4, max_points - len(before)))
        now = np.sort(rng.choice(now, keep_now, replace=False))
        before = np.sort(rng.choice(before, min(len(before), max_points - keep_now), replace=False))
    index = np.concatenate([now, before])
    is_current = np.arange(len(index)) < len(now)
    if len(index) <= k or not len(now) or not len(before):
        return now, np.ones(len(now)), np.empty((len(now), 0), dtype=np.int64)
    p0 = (len(now) - 1) / (len(index) - 1)  # a current row's neighbours exclude itself
    points = np.asarray(vectors[rows[index]], dtype=np.float32)
    neighbours = np.empty((len(now), k), dtype=np.int64)
    for start in range(0, len(now), 512):
        block = np.arange(start, min(start + 512, len(now)))
        sims = points[block] @ points.T
        sims[np.arange(len(block)), block] = -np.inf
        neighbours[block] = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    counts = is_current[neighbours].sum(axis=1)
    return now, stats.binom.sf(counts - 1, k, p0), index[neighbours]


@dataclass
class Novelty:
    """What the novelty test found: theme q-values, the significant rows, and groups no theme holds."""

    theme_q: dict[int, float] = field(default_factory=dict)
    rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))  # frame ``_pos``
    #: groups that are mostly outliers: (frame positions, most typical first; q; baseline rows among neighbours)
    groups: list[tuple[np.ndarray, float, int]] = field(default_factory=list)


def novelty_of(frame: pd.DataFrame, current_start: pd.Timestamp, vectors: VectorRows, config: TrendsConfig) -> Novelty:
    """Emerging sub-topics: crowds of current rows (:func:`emerging_pvalues`), per theme and among outliers.

    Row p-values are corrected over all current rows (Benjamini–Hochberg). A theme's q is the
    ``novelty_rows``-th smallest q of its current rows, so at least that many are significant when it is
    flagged; outliers count for their nearest theme when they are near one (``theme_id_reassigned``).
    Significant rows that are each other's neighbours form groups; a group of ``novelty_rows`` or more
    that is mostly outliers is a new topic too small to be a theme yet: it gets an alert of its own.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    tested, p, neighbours = emerging_pvalues(
        vectors,
        frame["_pos"].to_numpy(),
        (frame["bin"] >= current_start).to_numpy(),
        k=config.novelty_neighbors,
        rng=np.random.default_rng(0),
    )
    if not len(p):
        return Novelty()
    q = benjamini_hochberg(p)
    theme_of = frame["theme_id"].to_numpy()
    near = frame["near_theme"].to_numpy() if "near_theme" in frame.columns else theme_of
    by_theme = pd.DataFrame({"theme_id": np.where(theme_of[tested] >= 0, theme_of[tested], near[tested]), "q": q})
    theme_q = {
        int(theme): float(np.sort(group.to_numpy())[config.novelty_rows - 1])
        for theme, group in by_theme.loc[by_theme["theme_id"] >= 0].groupby("theme_id")["q"]
        if len(group) >= config.novelty_rows
    }
    significant = np.flatnonzero(q <= config.fdr)
    groups: list[tuple[np.ndarray, float, int]] = []
    if len(significant) >= config.novelty_rows and neighbours.shape[1]:
        slot = np.full(len(frame), -1)
        slot[tested[significant]] = np.arange(len(significant))
        linked = slot[neighbours[significant]]  # neighbours that are significant too
        src, dst = np.nonzero(linked >= 0)
        graph = coo_matrix((np.ones(len(src)), (src, linked[src, dst])), shape=(len(significant),) * 2)
        _, component = connected_components(graph, directed=True, connection="weak")
        degree = np.bincount(src, minlength=len(significant)) + np.bincount(
            linked[src, dst], minlength=len(significant)
        )
        is_current = (frame["bin"] >= current_start).to_numpy()
        for c in np.unique(component):
            inside = np.flatnonzero(component == c)
            members = tested[significant[inside]]
            if len(members) < config.novelty_rows or (theme_of[members] >= 0).mean() >= 0.5:
                continue
            order = np.argsort(-degree[inside], kind="stable")
            around = np.unique(neighbours[significant[inside]])
            groups.append(
                (
                    members[order],
                    float(np.sort(q[significant[inside]])[config.novelty_rows - 1]),
                    int((~is_current[around]).sum()),
                )
            )
    return Novelty(theme_q, frame["_pos"].to_numpy()[tested[significant]], groups)


def emerging_alerts(
    frame: pd.DataFrame,
    groups: list[tuple[np.ndarray, float, int]],
    baseline_bins: int,
    severity_weights: dict[str, float],
    window: dict[str, Any],
    with_queries: bool,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """One ``emerging`` alert per group of new rows that no theme holds (columns :data:`ALERTS`).

    Labelled by the group's most typical report (the one with the most neighbours in the group); its
    node and severity are the group's most common. Also returns each alert's rows (frame positions).
    """
    out, members_of = [], {}
    for members, q, baseline in groups:
        rows = frame.iloc[members]
        texts = list(dict.fromkeys(rows["clean_text"].dropna().astype(str)))
        typical = texts[0] if texts else ""
        node = rows["category_id"].dropna().mode()
        category_id = str(node.iloc[0]) if len(node) else None
        picked = rows[rows["category_id"] == category_id] if category_id else rows
        severity = str(picked["severity"].mode().iloc[0]) if picked["severity"].notna().any() else "none"
        significance = score(q)
        queries = (
            [str(x) for x in rows["query"].dropna().value_counts().head(5).index]
            if with_queries and "query" in rows.columns
            else []
        )
        aid = alert_id("emerging", typical)
        members_of[aid] = members
        out.append(
            {
                "alert_id": aid,
                "kind": "emerging",
                "theme_id": None,
                "label": f"new: {typical[:80]}",
                "category_id": category_id,
                "category": str(picked["category"].iloc[0]) if category_id else "Unmapped",
                "severity": severity,
                "detectors": ["new"],
                "current_count": len(rows),
                "baseline_count": baseline,
                "baseline_per_bin": round(baseline / baseline_bins, 4),
                "growth": len(rows) * baseline_bins / baseline if baseline else float("inf"),
                "p_value": q,
                "q_value": q,
                "significance": round(significance, 4),
                "priority": round(
                    float(severity_weights.get(severity, 1.0)) * significance * float(np.log1p(len(rows))), 4
                ),
                "window_start": window["current"][0],
                "window_end": window["current"][1],
                "first_seen": window["current"][1],
                "last_seen": window["current"][1],
                "runs": 1,
                "peak_count": len(rows),
                "status": "new",
                "verbatims": texts[:3],
                "top_queries": queries,
            }
        )
    return pd.DataFrame(out, columns=list(ALERTS)), members_of
