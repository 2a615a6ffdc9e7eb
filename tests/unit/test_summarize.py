"""Summarize: the ranked theme table, with its ranking formula visible as columns."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from pipeline.schemas import THEMES
from pipeline.summarize import RANKING_FORMULA, summarize


def _themes(sizes: dict[int, int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "theme_id": list(sizes),
            "label": [f"Theme {t}" for t in sizes],
            "keywords": [[f"kw{t}"] for t in sizes],
            "size": list(sizes.values()),
            "unique_texts": list(sizes.values()),
            "representatives": [[f"text {t}"] for t in sizes],
            "centroid": [[1.0, 0.0] for _ in sizes],
        }
    )


def _labels(sizes: dict[int, int], outliers: int) -> np.ndarray:
    return np.array([t for t, n in sizes.items() for _ in range(n)] + [-1] * outliers)


def _no_times(n: int) -> pd.Series:
    return pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns, UTC]")


def test_table_has_the_themes_schema_ranked_by_priority():
    sizes = {0: 3, 1: 6, 2: 1}
    labels = _labels(sizes, outliers=2)
    out = summarize(_themes(sizes), labels, labels, _no_times(len(labels)))
    assert list(out.columns) == list(THEMES)
    assert out["theme_id"].tolist() == [1, 0, 2]
    assert out["rank"].tolist() == [1, 2, 3]
    assert out["priority"].is_monotonic_decreasing


def test_share_is_size_over_clustered_rows_outliers_included():
    sizes = {0: 3, 1: 6}
    labels = _labels(sizes, outliers=3)
    out = summarize(_themes(sizes), labels, labels, _no_times(len(labels))).set_index("theme_id")
    assert out.loc[1, "share"] == 6 / 12
    assert out.loc[0, "share"] == 3 / 12


def test_priority_is_the_product_in_the_ranking_formula():
    sizes = {0: 3, 1: 6}
    labels = _labels(sizes, outliers=1)
    out = summarize(_themes(sizes), labels, labels, _no_times(len(labels)))
    assert RANKING_FORMULA == "priority = volume_score * severity_weight * trend_weight"
    expected = out["volume_score"] * out["severity_weight"] * out["trend_weight"]
    np.testing.assert_allclose(out["priority"], expected)
    np.testing.assert_allclose(out["volume_score"], out["share"])
    assert (out["severity_weight"] == 1.0).all() and (out["trend_weight"] == 1.0).all()


def test_size_with_reassigned_counts_reassigned_outliers():
    sizes = {0: 3, 1: 2}
    labels = _labels(sizes, outliers=3)
    reassigned = labels.copy()
    reassigned[-3:] = [1, 1, -1]
    out = summarize(_themes(sizes), labels, reassigned, _no_times(len(labels))).set_index("theme_id")
    assert out.loc[1, "size_with_reassigned"] == 4
    assert out.loc[0, "size_with_reassigned"] == 3


def test_first_last_seen_and_daily_counts_with_a_time_column():
    sizes = {0: 3, 1: 2}
    labels = _labels(sizes, outliers=1)
    times = pd.Series(
        pd.to_datetime(
            [
                "2024-03-02 10:00",
                "2024-03-01 09:00",
                "2024-03-02 23:59",  # theme 0
                None,
                "2024-03-05 00:00",  # theme 1, one without time
                "2024-01-01 00:00",  # outlier: counts for no theme
            ],
            utc=True,
        )
    )
    out = summarize(_themes(sizes), labels, labels, times).set_index("theme_id")
    assert out.loc[0, "first_seen"] == pd.Timestamp("2024-03-01 09:00", tz="UTC")
    assert out.loc[0, "last_seen"] == pd.Timestamp("2024-03-02 23:59", tz="UTC")
    assert json.loads(out.loc[0, "daily_counts"]) == {"2024-03-01": 1, "2024-03-02": 2}
    assert json.loads(out.loc[1, "daily_counts"]) == {"2024-03-05": 1}
    assert out.loc[1, "first_seen"] == out.loc[1, "last_seen"]


def test_without_times_the_time_columns_are_empty():
    sizes = {0: 2}
    labels = _labels(sizes, outliers=0)
    out = summarize(_themes(sizes), labels, labels, _no_times(2))
    assert out["first_seen"].isna().all() and out["last_seen"].isna().all()
    assert out["daily_counts"].tolist() == [""]


def test_times_are_aligned_by_position_not_index():
    sizes = {0: 1, 1: 1}
    labels = _labels(sizes, outliers=0)
    times = pd.Series(pd.to_datetime(["2024-01-01", "2024-02-02"], utc=True), index=[57, 3])
    out = summarize(_themes(sizes), labels, labels, times).set_index("theme_id")
    assert out.loc[0, "first_seen"] == pd.Timestamp("2024-01-01", tz="UTC")


def test_no_themes_gives_an_empty_table_with_the_schema():
    out = summarize(_themes({}), np.array([-1, -1]), np.array([-1, -1]), _no_times(2))
    assert out.empty
    assert list(out.columns) == list(THEMES)
