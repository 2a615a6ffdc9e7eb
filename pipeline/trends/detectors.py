"""The spike, rise, new and escalation detectors over per-bin counts: :func:`detect` and :func:`score_counts`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import TrendsConfig
from pipeline.trends.alerts import alert_table
from pipeline.trends.novelty import emerging_alerts, novelty_of
from pipeline.trends.significance import benjamini_hochberg, cusum_statistic, score, spike_pvalue
from pipeline.trends.tables import DETECTORS, Trends, VectorRows, Window, bin_counts, no_trends, trend_window


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
    novelty = (
        novelty_of(frame, window.current_start, vectors, config) if vectors is not None and config.novelty else None
    )
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
        cusum, climb = cusum_statistic(counts_all, mean, sd, config.cusum_k)
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
    table["spike_score"] = np.where(table["spike"], table["q_value"].map(score), 0.0)
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
            [share_recent.fillna(0), matched_none.astype(float), np.where(novel, table["novelty_q"].map(score), 0.0)]
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
