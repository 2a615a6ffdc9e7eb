"""Trend detectors: sound at small counts, controlled over many themes, one contract for all."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pipeline.config import ClassifyConfig, TrendsConfig
from pipeline.trends import (
    ALERTS,
    DETECTORS,
    alerts_json,
    benjamini_hochberg,
    continue_alerts,
    detect,
    emerging_pvalues,
    spike_pvalue,
    trend_weights,
)

START = pd.Timestamp("2026-01-01", tz="UTC")
WEIGHTS = ClassifyConfig().severity_weights


def replay(
    rates: dict[int, float], days: int = 30, burst: dict[int, float] | None = None, seed: int = 0
) -> pd.DataFrame:
    """Rows at steady Poisson rates per theme; ``burst`` multiplies a theme's rate on the last day."""
    rng = np.random.default_rng(seed)
    records = []
    for day in range(days):
        for theme, rate in rates.items():
            factor = (burst or {}).get(theme, 1.0) if day == days - 1 else 1.0
            for _ in range(rng.poisson(rate * factor)):
                records.append((START + pd.Timedelta(days=day, hours=float(rng.uniform(0, 24))), theme))
    rows = pd.DataFrame(records, columns=["time", "theme_id"])
    rows["category_id"] = None
    rows["category"] = "Unmapped"
    rows["severity"] = "none"
    rows["clean_text"] = "report about theme " + rows["theme_id"].astype(str)
    return rows


def themes_for(ids: list[int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "theme_id": ids,
            "label": [f"theme {i}" for i in ids],
            "category_id": [None] * len(ids),
            "category": ["Unmapped"] * len(ids),
            "severity": ["none"] * len(ids),
            "severity_weight": [1.0] * len(ids),
        }
    )


def test_a_small_count_spike_is_not_significant_but_a_large_one_is() -> None:
    baseline = np.full(28, 2.0)
    assert spike_pvalue(4, baseline, 1)[0] > 0.05  # twice a rate of 2 is noise
    assert spike_pvalue(12, baseline, 1)[0] < 1e-4


def test_overdispersed_baselines_make_the_same_count_less_surprising() -> None:
    steady = np.full(28, 10.0)
    bursty = np.array([2.0, 18.0] * 14)  # same mean, much larger variance
    assert spike_pvalue(20, bursty, 1)[0] > spike_pvalue(20, steady, 1)[0]


def test_benjamini_hochberg_matches_the_definition() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.2])
    # sorted: .01 .03 .04 .2 -> p*n/rank = .04 .06 .0533 .2 -> running minimum from the top
    np.testing.assert_allclose(benjamini_hochberg(p), [0.04, 0.16 / 3, 0.16 / 3, 0.2])


def test_a_tripled_theme_is_flagged_and_steady_ones_are_not() -> None:
    rows = replay({0: 10, 1: 10, 2: 10, 3: 4}, burst={1: 3.0})
    trends = detect(rows, themes_for([0, 1, 2, 3]), TrendsConfig(), severity_weights=WEIGHTS)
    flagged = trends.stats[trends.stats["alert"]]
    assert flagged["key"].tolist() == [1]
    assert "spike" in trends.alerts.loc[0, "detectors"]
    assert trends.alerts.loc[0, "theme_id"] == 1


def test_burst_free_replays_raise_almost_no_alerts() -> None:
    false_alerts = 0
    for seed in range(20):
        rows = replay({t: 3 + t for t in range(20)}, seed=seed)
        trends = detect(rows, themes_for(list(range(20))), TrendsConfig(), severity_weights=WEIGHTS)
        false_alerts += len(trends.alerts)
    assert false_alerts / 20 <= 0.2


def test_a_theme_that_only_exists_now_is_new() -> None:
    rows = replay({0: 10, 1: 5})
    fresh = pd.DataFrame(
        {"time": START + pd.Timedelta(days=29, hours=1), "theme_id": 9, "category_id": None, "category": "Unmapped",
         "severity": "none", "clean_text": [f"brand new thing {i}" for i in range(8)]}
    )  # fmt: skip
    trends = detect(pd.concat([rows, fresh]), themes_for([0, 1, 9]), TrendsConfig(), severity_weights=WEIGHTS)
    alert = trends.alerts.set_index("theme_id").loc[9]
    assert "new" in alert["detectors"] and alert["current_count"] == 8
    assert alert["verbatims"] == ["brand new thing 0", "brand new thing 1", "brand new thing 2"]


def test_a_critical_node_appearing_escalates() -> None:
    rows = replay({0: 10})
    harm = pd.DataFrame(
        {"time": START + pd.Timedelta(days=29, hours=2), "theme_id": 0, "category_id": "safety.self_harm",
         "category": "Suicide and self-harm", "severity": "critical", "clean_text": [f"harm {i}" for i in range(4)]}
    )  # fmt: skip
    trends = detect(pd.concat([rows, harm]), themes_for([0]), TrendsConfig(), severity_weights=WEIGHTS)
    node = trends.alerts[trends.alerts["kind"] == "category"].iloc[0]
    assert node["category_id"] == "safety.self_harm" and "escalation" in node["detectors"]
    assert node["label"] == "Suicide and self-harm" and node["severity"] == "critical"


def test_every_detector_gives_a_flag_and_a_score_in_unit_interval() -> None:
    rows = replay({0: 10, 1: 10}, burst={1: 5.0})
    stats = detect(rows, themes_for([0, 1]), TrendsConfig(), severity_weights=WEIGHTS).stats
    for name in DETECTORS:
        assert stats[name].dtype == bool
        assert stats[f"{name}_score"].between(0, 1).all()
        assert (stats.loc[~stats[name], f"{name}_score"] == 0).all()


def test_alerts_are_ranked_by_the_documented_priority() -> None:
    rows = replay({0: 10, 1: 10, 2: 2}, burst={0: 5.0, 2: 6.0})
    themes = themes_for([0, 1, 2])
    themes.loc[2, ["severity", "severity_weight"]] = ["critical", 4.0]
    alerts = detect(rows, themes, TrendsConfig(), severity_weights=WEIGHTS).alerts
    expected = [
        themes.set_index("theme_id").loc[a.theme_id, "severity_weight"] * a.significance * np.log1p(a.current_count)
        for a in alerts.itertuples()
    ]
    np.testing.assert_allclose(alerts["priority"], expected, rtol=1e-3)
    assert alerts["priority"].is_monotonic_decreasing


def test_no_time_column_skips_trends_with_a_notice() -> None:
    rows = replay({0: 5}).assign(time=pd.NaT)
    trends = detect(rows, themes_for([0]), TrendsConfig(), severity_weights=WEIGHTS)
    assert trends.alerts.empty and trends.notes and "skipped" in trends.notes[0]


def test_a_continuing_alert_keeps_its_history() -> None:
    rows = replay({0: 10, 1: 10}, burst={1: 4.0})
    first = detect(rows, themes_for([0, 1]), TrendsConfig(), severity_weights=WEIGHTS).alerts
    first.loc[0, ["first_seen", "runs", "peak_count"]] = ["2025-12-31T00:00:00+00:00", 2, 999]
    again = continue_alerts(first.assign(runs=1, status="new", first_seen="x", peak_count=10), first)
    assert again.loc[0, "status"] == "continuing" and again.loc[0, "runs"] == 3
    assert again.loc[0, "first_seen"] == "2025-12-31T00:00:00+00:00" and again.loc[0, "peak_count"] == 999


def test_alerts_json_has_the_stable_schema_and_is_valid_json() -> None:
    rows = replay({0: 10, 1: 10}, burst={1: 4.0})
    alerts = detect(rows, themes_for([0, 1]), TrendsConfig(), severity_weights=WEIGHTS).alerts
    records = json.loads(alerts_json(alerts))
    assert records and all(list(r) == list(ALERTS) for r in records)


def test_trend_weight_rises_only_for_alerted_themes() -> None:
    rows = replay({0: 10, 1: 10}, burst={1: 4.0})
    themes = themes_for([0, 1])
    trends = detect(rows, themes, TrendsConfig(), severity_weights=WEIGHTS)
    weights = trend_weights(themes, trends).tolist()
    assert weights[0] == 1.0 and weights[1] > 1.0


@pytest.mark.parametrize("bin_width", ["1D", "6h"])
def test_the_windows_follow_the_bin_and_as_of(bin_width: str) -> None:
    rows = replay({0: 10})
    config = TrendsConfig(bin=bin_width, as_of="2026-01-20T00:00:00Z", baseline_bins=8)
    window = detect(rows, themes_for([0]), config, severity_weights=WEIGHTS).window
    assert window["current"][1] == "2026-01-20T00:00:00+00:00"
    width = pd.Timedelta(bin_width)
    assert pd.Timestamp(window["current"][0]) == pd.Timestamp("2026-01-20", tz="UTC") - width
    assert pd.Timestamp(window["baseline"][0]) == pd.Timestamp("2026-01-20", tz="UTC") - 9 * width


def _vectors(rows: pd.DataFrame, novel: np.ndarray, seed: int = 0) -> np.ndarray:
    """Unit vectors near one direction, or near another for the rows marked ``novel``."""
    rng = np.random.default_rng(seed)
    base = np.zeros((len(rows), 16))
    base[:, 0] = 1.0
    base[novel, 0], base[novel, 1] = 0.6, 0.8
    noisy = base + rng.normal(0, 0.15, base.shape)
    return noisy / np.linalg.norm(noisy, axis=1, keepdims=True)


def test_with_novelty_on_a_new_sub_topic_inside_an_old_theme_is_new() -> None:
    rows = replay({0: 10, 1: 10}).reset_index(drop=True)
    last_day = (rows["time"] >= START + pd.Timedelta(days=29)).to_numpy()
    sub_topic = last_day & (rows["theme_id"] == 1).to_numpy()
    themes = themes_for([0, 1])
    config = TrendsConfig(novelty=True)
    same_volume = detect(rows, themes, config, severity_weights=WEIGHTS, vectors=_vectors(rows, sub_topic))
    assert same_volume.alerts["theme_id"].tolist() == [1] and same_volume.alerts.loc[0, "detectors"] == ["new"]
    nothing_new = detect(
        rows, themes, config, severity_weights=WEIGHTS, vectors=_vectors(rows, np.zeros(len(rows), bool))
    )
    assert nothing_new.alerts.empty
    off = detect(rows, themes, TrendsConfig(novelty=False), severity_weights=WEIGHTS, vectors=_vectors(rows, sub_topic))
    assert off.alerts.empty


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_current_rows_in_a_crowd_of_current_rows_are_significant_and_steady_rows_are_not() -> None:
    rng = np.random.default_rng(3)
    topics = _unit(rng.normal(size=(8, 32)))
    old = topics[rng.integers(0, 8, 2900)] + rng.normal(0, 0.05, (2900, 32))
    steady_today = topics[rng.integers(0, 8, 100)] + rng.normal(0, 0.05, (100, 32))
    fresh = _unit(rng.normal(size=(1, 32)))[np.zeros(8, dtype=int)] + rng.normal(0, 0.05, (8, 32))
    vectors = _unit(np.vstack([old, steady_today, fresh]))
    current = np.r_[np.zeros(2900, bool), np.ones(108, bool)]
    tested, p, neighbours = emerging_pvalues(vectors, np.arange(3008), current, k=10, rng=np.random.default_rng(0))
    assert tested.tolist() == list(range(2900, 3008))
    q = benjamini_hochberg(p)
    assert (q[100:] <= 0.01).all() and (q[:100] > 0.01).all()
    assert neighbours.shape == (108, 10)
    assert (np.isin(neighbours[100:], np.arange(3000, 3008)).sum(axis=1) == 7).all()  # the other fresh rows
    sampled, p_sampled, _ = emerging_pvalues(
        vectors, np.arange(3008), current, k=10, rng=np.random.default_rng(0), max_points=1500
    )
    assert sampled.tolist() == list(range(2900, 3008))  # every current row is kept, the others sampled
    assert (benjamini_hochberg(p_sampled)[100:] <= 0.01).all()


def test_with_no_baseline_rows_nothing_can_be_emerging() -> None:
    vectors = _unit(np.random.default_rng(0).normal(size=(30, 8)))
    _, p, _ = emerging_pvalues(vectors, np.arange(30), np.ones(30, bool), k=5, rng=np.random.default_rng(0))
    assert (p == 1.0).all()


def test_a_crowd_of_new_outliers_gets_an_emerging_alert_of_its_own() -> None:
    rows = replay({0: 10, 1: 10}).reset_index(drop=True)
    crowd = pd.DataFrame(
        {
            "time": START + pd.Timedelta(days=29, hours=12),
            "theme_id": -1,
            "category_id": "scam",
            "category": "Scams",
            "severity": "high",
            "clean_text": [f"fake giveaway account number {i}" for i in range(8)],
        }
    )
    rows = pd.concat([rows, crowd], ignore_index=True)
    novel = np.r_[np.zeros(len(rows) - 8, bool), np.ones(8, bool)]
    found = detect(rows, themes_for([0, 1]), TrendsConfig(novelty=True), severity_weights=WEIGHTS,
                   vectors=_vectors(rows, novel))  # fmt: skip
    emerging = found.alerts[found.alerts["kind"] == "emerging"]
    assert len(emerging) == 1
    alert = emerging.iloc[0]
    assert 5 <= alert["current_count"] <= 8 and alert["detectors"] == ["new"] and alert["theme_id"] is None
    assert alert["category"] == "Scams" and alert["severity"] == "high" and alert["label"].startswith("new: fake")
    assert set(found.members[alert["alert_id"]]) <= set(range(len(rows) - 8, len(rows)))
    assert "emerging" in [a["kind"] for a in json.loads(alerts_json(found.alerts))]
    quiet = detect(rows, themes_for([0, 1]), TrendsConfig(novelty=True), severity_weights=WEIGHTS,
                   vectors=_vectors(rows, np.zeros(len(rows), bool)))  # fmt: skip
    assert not (quiet.alerts["kind"] == "emerging").any()


def test_nothing_to_follow_gives_no_alerts_and_says_so() -> None:
    rows = replay({0: 5}).assign(theme_id=-1)
    trends = detect(rows, themes_for([]), TrendsConfig(), severity_weights=WEIGHTS)
    assert trends.alerts.empty and trends.window and "no themes" in trends.notes[0]


def _daily_counts(counts: list[int]) -> pd.DataFrame:
    """Rows of theme 0 with the given count on each day (the last day is the current window)."""
    times = [START + pd.Timedelta(days=day, hours=12) for day, n in enumerate(counts) for _ in range(n)]
    rows = pd.DataFrame({"time": times, "theme_id": 0})
    return rows.assign(category_id=None, category="Unmapped", severity="none", clean_text="report")


def test_a_sustained_climb_is_a_rise_before_any_single_day_is_a_spike() -> None:
    counts = [10] * 26 + [16, 17, 17, 18]  # +60-80% for four days: no single day is extreme
    found = detect(_daily_counts(counts), themes_for([0]), TrendsConfig(novelty=False), severity_weights=WEIGHTS)
    row = found.stats.iloc[0]
    assert bool(row["rise"]) and not bool(row["spike"])
    assert found.alerts.loc[0, "detectors"] == ["rise"]


def test_a_low_count_blip_the_tail_test_does_not_back_is_not_a_rise() -> None:
    counts = [1, 2, 1, 0, 2, 1, 1, 2, 1, 0, 1, 2, 1, 1, 2, 1, 0, 1, 2, 1, 1, 2, 1, 1, 0, 2, 1, 1, 3, 7]
    config = TrendsConfig(novelty=False, fdr=1e-4)  # as if among many themes (Benjamini–Hochberg)
    found = detect(_daily_counts(counts), themes_for([0]), config, severity_weights=WEIGHTS)
    row = found.stats.iloc[0]
    assert row["cusum"] >= config.cusum_h  # the standardized CUSUM alone would have fired
    assert 1e-4 < row["rise_q"] < 0.01 and not bool(row["rise"]) and found.alerts.empty
