"""Trends: what changed in the current window, per theme and per taxonomy node, and the alerts it raises.

Time is cut into bins (``trends.bin``, a day by default). The **current window** is the last
``current_bins`` bins up to ``as_of`` (default: the end of the bin holding the latest timestamp);
the **baseline** is the ``baseline_bins`` bins before it. For each theme and each taxonomy node:

* ``spike`` — is the current count too high for the baseline? The baseline's per-bin counts give a
  rate and, when they vary more than Poisson allows, a negative-binomial dispersion (method of
  moments); the tail probability ``P(X >= current)`` is computed under that model, with half a count
  added to the baseline so that a zero baseline is not an infinite surprise. p-values are corrected
  for the number of themes and nodes tested (Benjamini–Hochberg); a spike needs ``q <= fdr``, at least
  ``min_count`` rows and a growth of at least ``min_growth``.
* ``rise`` — a sustained climb: a one-sided CUSUM of the standardized bin counts over the baseline
  and current window (reference ``cusum_k`` sd, decision ``cusum_h`` sd), flagged when the statistic
  at the last bin exceeds ``cusum_h``, the current rate is still ``min_growth`` times the baseline's
  (so the tail of a past burst does not keep alerting), and the rows of the climb (the bins since the
  statistic last left zero) are improbable given the bins before it (the spike's tail test,
  Benjamini–Hochberg at ``fdr``): a standardized CUSUM alone over-reacts to small, skewed counts.
* ``new`` — a theme that is mostly recent: at least ``new_share`` of its dated rows are in the current
  window (and ``min_count`` rows), or, with a baseline run, a theme that matches none of the baseline's,
  or (``novelty``, on by default; needs the embeddings) a theme holding a *crowd* of current rows: rows
  whose ``novelty_neighbors`` nearest neighbours in the windows are current far more often than the
  current share of rows predicts (binomial tail per row, Benjamini–Hochberg at ``fdr`` over the current
  rows, ``novelty_rows`` significant rows). That catches a new sub-topic that joined an old theme on
  its first day, and a new topic still too small to be a theme: significant rows that are each
  other's neighbours and mostly outliers form an ``emerging`` alert of their own. On the replay
  benchmark it cut the new-theme lag from 2.3 days to under one (benchmarks/triage.py).
* ``escalation`` — a node of severity critical or high that appears (no baseline rows, at least
  ``min_count_escalation`` current rows) or spikes.

Every detector yields a flag and a score in [0, 1]. Spike scores are ``min(1, -log10(q) / 10)``: q =
0.01 scores 0.2, q = 1e-10 scores 1. An **alert** is a theme or node with at least one flag, or an
emerging group; its ``priority = severity_weight × significance × log1p(current_count)``, with
``significance`` the largest detector score. Themes with an alert get ``trend_weight = 1 + 2 ×
significance`` in the theme ranking (1 otherwise).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
from scipy import stats

from pipeline.config import TrendsConfig

__all__ = [
    "ALERTS",
    "BIN_COUNTS",
    "DETECTORS",
    "Trends",
    "VectorRows",
    "Window",
    "alert_table",
    "alerts_json",
    "benjamini_hochberg",
    "bin_counts",
    "continue_alerts",
    "detect",
    "emerging_alerts",
    "emerging_pvalues",
    "no_trends",
    "score_counts",
    "spike_pvalue",
    "trend_weights",
    "trend_window",
]

log = logging.getLogger(__name__)

DETECTORS = ("spike", "rise", "new", "escalation")

#: The alert table (alerts.parquet; alerts.json holds the same records): a stable schema for integrations.
ALERTS: dict[str, str] = {
    "alert_id": "str: stable across runs for the same theme or node (kind + key)",
    "kind": "str: 'theme' | 'category' | 'emerging' (a group of new reports that no theme holds yet)",
    "theme_id": "int | None: the theme (kind 'theme')",
    "label": "str: theme label, the node's name, or 'new: ' and the group's most typical report",
    "category_id": "str | None: the theme's primary node, or the node itself",
    "category": "str: node name or 'Unmapped'",
    "severity": "str: critical | high | medium | low | none",
    "detectors": "list[str]: which detectors fired (spike, rise, new, escalation)",
    "current_count": "int: rows in the current window",
    "baseline_count": "int: rows in the baseline window (emerging: baseline rows among the group's neighbours)",
    "baseline_per_bin": "float: baseline rows per bin",
    "growth": "float: current per bin / baseline per bin (inf when the baseline is empty)",
    "p_value": "float: spike tail probability (emerging: the group's novelty q-value)",
    "q_value": "float: after Benjamini-Hochberg over everything tested (emerging: over the current rows)",
    "significance": "float in [0, 1]: the largest detector score",
    "priority": "float: severity_weight * significance * log1p(current_count)",
    "window_start": "str: ISO start of the current window",
    "window_end": "str: ISO end of the current window",
    "first_seen": "str: ISO window end of the first run that raised this alert",
    "last_seen": "str: ISO window end of the latest run that raised it",
    "runs": "int: runs in which it was raised (1 = new alert)",
    "peak_count": "int: the largest current_count over those runs",
    "status": "str: 'new' | 'continuing'",
    "verbatims": "list[str]: up to three redacted reports from the current window",
    "top_queries": "list[str]: the most frequent search queries in the current window (when known)",
}


class VectorRows(Protocol):
    """Row vectors indexed by row positions: an array, or a view that builds only the rows asked for."""

    def __len__(self) -> int: ...

    def __getitem__(self, rows: np.ndarray) -> np.ndarray: ...


def spike_pvalue(current: int, baseline_counts: np.ndarray, current_bins: int) -> tuple[float, float]:
    """``P(X >= current)`` for the current window given the baseline bins; returns (p, expected)."""
    bins = max(len(baseline_counts), 1)
    mean = (float(np.sum(baseline_counts)) + 0.5) / bins
    expected = mean * current_bins
    if current <= 0:
        return 1.0, expected
    var = float(np.var(baseline_counts, ddof=1)) if len(baseline_counts) > 1 else mean
    if var > mean * 1.05:
        size = mean**2 / (var - mean)  # negative binomial r per bin; sums of bins add r
        prob = size / (size + mean)
        p = float(stats.nbinom.sf(current - 1, size * current_bins, prob))
    else:
        p = float(stats.poisson.sf(current - 1, expected))
    return min(max(p, 0.0), 1.0), expected


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """q-values controlling the false discovery rate over all tests."""
    p = np.asarray(p, dtype=float)
    n = len(p)
    if n == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(q, 1.0)
    return out


def _cusum(series: np.ndarray, mean: float, sd: float, k: float) -> tuple[float, int]:
    """The one-sided CUSUM at the last bin, and the first bin of its current climb (len(series) if none)."""
    s, start = 0.0, len(series)
    for i, x in enumerate(series):
        s = max(0.0, s + (x - mean) / sd - k)
        if s == 0.0:
            start = len(series)
        elif start == len(series):
            start = i
    return s, start


def _score(q: float) -> float:
    return float(min(1.0, -np.log10(max(q, 1e-300)) / 10.0))


@dataclass
class Trends:
    """Per-bin counts, per-key statistics and the alerts of one run."""

    counts: pd.DataFrame  # long: kind, key, bin, count
    stats: pd.DataFrame  # one row per (kind, key): windows, counts, growth, p, q, flags and scores
    alerts: pd.DataFrame  # columns ALERTS, ranked by priority
    window: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: the rows (positions in the rows given to :func:`detect`) of each ``emerging`` alert
    members: dict[str, np.ndarray] = field(default_factory=dict)


def no_trends(notes: list[str]) -> Trends:
    """The empty result: no time data, or trends turned off."""
    return Trends(
        pd.DataFrame(columns=["kind", "key", "bin", "count"]),
        pd.DataFrame(),
        pd.DataFrame(columns=list(ALERTS)),
        {},
        notes,
    )


@dataclass
class Window:
    """The binning of one run: bin width, the current window and the baseline before it."""

    freq: pd.Timedelta
    end: pd.Timestamp
    current_start: pd.Timestamp
    baseline_start: pd.Timestamp

    @property
    def bins(self) -> pd.DatetimeIndex:
        return pd.date_range(self.baseline_start, self.end - self.freq, freq=self.freq)

    def describe(self, bin_width: str) -> dict[str, Any]:
        return {
            "bin": bin_width,
            "current": [self.current_start.isoformat(), self.end.isoformat()],
            "baseline": [self.baseline_start.isoformat(), self.current_start.isoformat()],
        }


def trend_window(latest: pd.Timestamp, config: TrendsConfig) -> Window:
    """The windows for data whose latest timestamp is ``latest`` (or ``config.as_of`` when set)."""
    freq = pd.Timedelta(config.bin)
    if config.as_of is not None:
        as_of = pd.Timestamp(config.as_of)
        end = (as_of.tz_localize("UTC") if as_of.tzinfo is None else as_of.tz_convert("UTC")).floor(freq)
    else:
        end = latest.floor(freq) + freq
    current_start = end - freq * config.current_bins
    return Window(freq, end, current_start, current_start - freq * config.baseline_bins)


#: The aggregate the detectors read: rows per (kind, key, bin) inside the windows.
BIN_COUNTS: dict[str, str] = {
    "kind": "str: 'theme' | 'category'",
    "key": "int theme id | str node id",
    "bin": "datetime64[UTC]: bin start",
    "count": "int: rows",
}


def bin_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """:data:`BIN_COUNTS` from in-window rows with ``bin``, ``theme_id`` and ``category_id``."""
    themes = frame.groupby(["theme_id", "bin"]).size().rename("count").reset_index()
    themes = themes[themes["theme_id"] >= 0]
    cats = frame[frame["category_id"].notna()].groupby(["category_id", "bin"]).size().rename("count").reset_index()
    return pd.concat(
        [
            pd.DataFrame({"kind": "theme", "key": themes["theme_id"].astype(object), "bin": themes["bin"]})
            .assign(count=themes["count"].to_numpy()),
            pd.DataFrame({"kind": "category", "key": cats["category_id"].astype(object), "bin": cats["bin"]})
            .assign(count=cats["count"].to_numpy()),
        ],
        ignore_index=True,
    )  # fmt: skip


def detect(
    rows: pd.DataFrame,
    themes: pd.DataFrame,
    config: TrendsConfig,
    *,
    severity_weights: dict[str, float],
    new_theme_ids: set[int] | None = None,
    query_col: str | None = None,
    vectors: VectorRows | None = None,
) -> Trends:
    """Run the detectors.

    ``rows``: one row per clustered report with ``time``, ``theme_id`` (-1: outlier),
    ``category_id``, ``severity``, ``clean_text`` and optionally ``theme_id_reassigned`` (an
    outlier's nearest theme, for the novelty test). ``themes``: the theme table (``theme_id``,
    ``label``, ``category_id``, ``category``, ``severity``, ``severity_weight``).
    ``new_theme_ids``: themes that matched nothing in the baseline run. ``vectors``: the rows'
    embeddings (aligned with ``rows``), for the novelty test of the ``new`` detector.
    """
    dated = rows[rows["time"].notna()]
    if dated.empty:
        return no_trends(["no time column (or no valid timestamps): trends and alerts are skipped."])
    window = trend_window(dated["time"].max(), config)
    bins = dated["time"].dt.floor(window.freq)
    in_scope = (bins >= window.baseline_start) & (bins < window.end)
    if not in_scope.any():
        return no_trends([f"no rows between {window.baseline_start} and {window.end}: trends are skipped."])
    frame = dated.loc[in_scope, ["theme_id", "category_id", "category", "severity", "clean_text"]].copy()
    if "theme_id_reassigned" in dated.columns:  # an outlier's nearest theme, where it is near one
        frame["near_theme"] = dated.loc[in_scope, "theme_id_reassigned"].to_numpy()
    frame["_pos"] = np.flatnonzero(rows["time"].notna().to_numpy())[in_scope.to_numpy()]
    frame["bin"] = bins[in_scope]
    if query_col and query_col in dated.columns:
        frame["query"] = dated.loc[in_scope, query_col].astype("string")
    node_severity = frame[frame["category_id"].notna()].groupby("category_id")["severity"].first().to_dict()
    dated_totals = dated.groupby("theme_id")["time"].size()
    novelty = _novelty(frame, window.current_start, vectors, config) if vectors is not None and config.novelty else None
    table = score_counts(
        bin_counts(frame), dated_totals, themes, window, config, node_severity=node_severity,
        new_theme_ids=new_theme_ids, novelty=novelty.theme_q if novelty else None,
    )  # fmt: skip
    if table is None:
        empty = no_trends(["no themes or taxonomy nodes to follow over time: no alerts."])
        empty.window = window.describe(config.bin)
        return empty
    table, counts = table
    current = frame[frame["bin"] >= window.current_start]
    if novelty is not None and len(novelty.rows):  # a novelty alert's verbatims: its emerging rows first
        current = current.iloc[np.argsort(~current["_pos"].isin(novelty.rows).to_numpy(), kind="stable")]
    alerts = alert_table(table[table["alert"]], current, themes, severity_weights, window.describe(config.bin),
                     query_col is not None)  # fmt: skip
    members: dict[str, np.ndarray] = {}
    if novelty is not None and novelty.groups:
        emerging, members = emerging_alerts(
            frame, novelty.groups, config.baseline_bins, severity_weights, window.describe(config.bin),
            query_col is not None,
        )  # fmt: skip
        members = {aid: frame["_pos"].to_numpy()[rows] for aid, rows in members.items()}
        alerts = pd.concat([alerts, emerging], ignore_index=True) if len(alerts) else emerging
        alerts = alerts.sort_values(["priority", "current_count"], ascending=False, kind="stable")
        alerts = alerts.reset_index(drop=True)
    return Trends(counts, table, alerts, window.describe(config.bin), [], members)


def score_counts(
    counts: pd.DataFrame,
    dated_totals: pd.Series,
    themes: pd.DataFrame,
    window: Window,
    config: TrendsConfig,
    *,
    node_severity: dict[str, str],
    new_theme_ids: set[int] | None = None,
    novelty: dict[int, float] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Every detector over :data:`BIN_COUNTS` (any engine's): the per-key table and the full count series.

    ``dated_totals``: dated rows per theme id, over all time (for the share that is recent).
    ``node_severity``: each node's severity. ``novelty``: the novelty q-value of themes that
    have one (local engine only). None when there is nothing to follow.
    """
    all_bins = window.bins
    current_start = window.current_start
    base_bins = all_bins[all_bins < current_start]
    keys: list[tuple[str, Any]] = [("theme", int(t)) for t in themes["theme_id"]] if len(themes) else []
    categories = sorted({str(c) for c in counts.loc[counts["kind"] == "category", "key"]})
    keys += [("category", c) for c in categories]
    if not keys:
        return None
    series_of = {
        (kind, key): group.set_index("bin")["count"]
        for (kind, key), group in counts.groupby(["kind", "key"], sort=False)
    }
    records, count_rows = [], []
    for kind, key in keys:
        found = series_of.get((kind, key))
        series = (
            found.groupby(level=0).sum().reindex(all_bins, fill_value=0)
            if found is not None
            else pd.Series(0, index=all_bins)
        )
        count_rows += [(kind, key, b, int(c)) for b, c in series.items() if c]
        base = series.loc[series.index < current_start].to_numpy(dtype=float)
        cur = int(series.loc[series.index >= current_start].sum())
        p, expected = spike_pvalue(cur, base, config.current_bins)
        base_rate = float(base.sum()) / max(len(base_bins), 1)
        growth = (cur / config.current_bins) / base_rate if base_rate > 0 else (np.inf if cur else 0.0)
        mean = float(base.mean()) if len(base) else 0.0
        sd = max(float(base.std(ddof=1)) if len(base) > 1 else 0.0, np.sqrt(max(mean, 0.5)))
        counts_all = series.to_numpy(dtype=float)
        cusum, climb = _cusum(counts_all, mean, sd, config.cusum_k)
        # the climb's rows against the bins before it: a CUSUM alone over-reacts to small, skewed counts
        rise_p = (
            spike_pvalue(int(counts_all[climb:].sum()), counts_all[:climb], len(counts_all) - climb)[0]
            if cusum > 0 and climb >= 2
            else 1.0
        )
        records.append(
            {
                "kind": kind,
                "key": key,
                "current_count": cur,
                "baseline_count": int(base.sum()),
                "baseline_per_bin": base_rate,
                "expected": expected,
                "growth": growth,
                "p_value": p,
                "cusum": cusum,
                "rise_p": rise_p,
                "total_dated": int(dated_totals.get(key, 0)) if kind == "theme" else None,
            }
        )
    table = pd.DataFrame(records)
    table["q_value"] = benjamini_hochberg(table["p_value"].to_numpy())
    table["spike"] = (
        (table["q_value"] <= config.fdr)
        & (table["current_count"] >= config.min_count)
        & (table["growth"] >= config.min_growth)
    )
    table["spike_score"] = np.where(table["spike"], table["q_value"].map(_score), 0.0)
    table["rise_q"] = benjamini_hochberg(table["rise_p"].to_numpy())
    table["rise"] = (
        (table["cusum"] >= config.cusum_h)
        & (table["rise_q"] <= config.fdr)
        & (table["growth"] >= config.min_growth)
        & (table["current_count"] >= config.min_count)
    )
    table["rise_score"] = np.where(table["rise"], np.minimum(1.0, table["cusum"] / (2 * config.cusum_h)), 0.0)
    share_recent = table["current_count"] / table["total_dated"].where(table["kind"] == "theme").replace(0, np.nan)
    matched_none = table["key"].map(lambda k: new_theme_ids is not None and k in new_theme_ids)
    table["novelty_q"] = [
        float((novelty or {}).get(int(k), 1.0)) if kind == "theme" else 1.0
        for kind, k in zip(table["kind"], table["key"], strict=True)
    ]
    novel = (table["novelty_q"] <= config.fdr) & (table["kind"] == "theme")
    table["new"] = (
        (table["kind"] == "theme")
        & (table["current_count"] >= config.min_count)
        & ((share_recent.fillna(0) >= config.new_share) | matched_none | novel)
    )
    table["new_score"] = np.where(
        table["new"],
        np.maximum.reduce(
            [share_recent.fillna(0), matched_none.astype(float), np.where(novel, table["novelty_q"].map(_score), 0.0)]
        ),
        0.0,
    )
    theme_info = themes.set_index("theme_id") if len(themes) else pd.DataFrame()
    severity = (
        table.apply(
            lambda r: (
                theme_info.loc[r["key"], "severity"] if r["kind"] == "theme" else node_severity.get(r["key"], "none")
            ),
            axis=1,
        )
        if len(table)
        else pd.Series(dtype=object)
    )
    table["severity"] = severity
    urgent = table["severity"].isin(["critical", "high"]) & (table["kind"] == "category")
    appears = (table["baseline_count"] == 0) & (table["current_count"] >= config.min_count_escalation)
    table["escalation"] = urgent & (appears | table["spike"])
    table["escalation_score"] = np.where(
        table["escalation"], np.maximum(table["spike_score"], np.where(appears, 1.0 - table["p_value"], 0.0)), 0.0
    )
    flags = table[list(DETECTORS)]
    table["significance"] = table[[f"{d}_score" for d in DETECTORS]].max(axis=1)
    table["alert"] = flags.any(axis=1)
    return table, pd.DataFrame(count_rows, columns=["kind", "key", "bin", "count"])


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


def _novelty(frame: pd.DataFrame, current_start: pd.Timestamp, vectors: VectorRows, config: TrendsConfig) -> Novelty:
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
        significance = _score(q)
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


def continue_alerts(alerts: pd.DataFrame, previous: pd.DataFrame | None) -> pd.DataFrame:
    """Carry the history of alerts the previous run also raised: first seen, run count, peak."""
    if previous is None or previous.empty or alerts.empty:
        return alerts
    before = previous.set_index("alert_id")
    out = alerts.copy()
    for i, aid in enumerate(out["alert_id"]):
        if aid in before.index:
            prev = before.loc[aid]
            out.loc[i, "first_seen"] = prev["first_seen"]
            out.loc[i, "runs"] = int(prev["runs"]) + 1
            out.loc[i, "peak_count"] = max(int(prev["peak_count"]), int(out.loc[i, "current_count"]))
            out.loc[i, "status"] = "continuing"
    return out


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
