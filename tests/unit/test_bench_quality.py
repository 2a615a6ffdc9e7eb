"""benchmarks.quality and its report: scores over every row, means over runs, and the bar judged on the means."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from benchmarks.quality import hungarian_accuracy, mean_records, score
from benchmarks.report import quality_section


def test_a_perfect_clustering_scores_one_whatever_its_ids():
    gold = np.array(["a", "a", "b", "b", "c", "c"])
    got = score(gold, np.array([7, 7, 3, 3, 0, 0]))
    assert (got.n_themes, got.outlier_share) == (3, 0.0)
    assert got.nmi == pytest.approx(1.0) and got.ari == pytest.approx(1.0) and got.acc == pytest.approx(1.0)


def test_outliers_are_one_extra_cluster_and_count_against_accuracy():
    gold = np.array(["a"] * 4 + ["b"] * 4)
    pred = np.array([0, 0, 0, -1, 1, 1, -1, -1])
    got = score(gold, pred)
    assert got.n_themes == 2 and got.outlier_share == pytest.approx(3 / 8)
    # -1 is matched like any cluster: it takes class b's two outliers or a's one, never both
    assert hungarian_accuracy(gold, pred) == pytest.approx(5 / 8)


def _records(system: str, configs: list[str | None], metric: str, values: list[float]) -> list[dict[str, Any]]:
    return [
        {"section": "theme_quality", "dataset": "banking77-test", "system": system, "rows": 8, "metric": metric,
         "value": v, "config": c, "gold_classes": 2, "date": "2026-11-26"}
        for c, v in zip(configs, values, strict=True)
    ]  # fmt: skip


def test_means_are_per_system_and_metric_over_its_runs():
    records = _records("ours", [None, "seed=1", "seed=2"], "ari", [0.4, 0.5, 0.6])
    records += _records("bertopic", [None, "run=2"], "ari", [0.3, 0.5])
    records += _records("bertopic+reduce_outliers", [None], "ari", [0.9])  # one run: no mean
    means = {r["system"]: r for r in mean_records(records)}
    assert set(means) == {"ours", "bertopic"}
    assert means["ours"]["value"] == pytest.approx(0.5) and means["ours"]["config"] == "mean of 3 runs"
    assert (means["ours"]["min"], means["ours"]["max"]) == (0.4, 0.6)
    assert means["bertopic"]["value"] == pytest.approx(0.4) and means["bertopic"]["config"] == "mean of 2 runs"


def test_overrides_stay_in_the_config_of_the_mean():
    records = _records("ours", ["merge=1", "merge=1;seed=1"], "nmi", [0.8, 0.9])
    assert mean_records(records)[0]["config"] == "merge=1;mean of 2 runs"


def test_the_bar_is_judged_mean_against_mean_and_each_run_against_the_first_opponent_run():
    records = []
    for metric, ours, theirs in (("nmi", [0.79, 0.83], [0.80, 0.80]), ("ari", [0.40, 0.50], [0.44, 0.40])):
        records += _records("ours", [None, "seed=1"], metric, ours)
        records += _records("bertopic", [None, "run=2"], metric, theirs)
    records += mean_records(records)
    text = "\n".join(quality_section(records))
    mean_line = next(line for line in text.splitlines() if line.startswith("- **ours** `mean of 2 runs`"))
    assert "vs bertopic (mean of its runs): NMI 0.810 vs 0.800 ✓, ARI 0.450 vs 0.420 ✓" in mean_line
    first_line = next(line for line in text.splitlines() if line.startswith("- **ours**: "))
    assert "vs bertopic (this run): NMI 0.790 vs 0.800 ✗, ARI 0.400 vs 0.440 ✗" in first_line
    # the mean row comes first among ours' rows in the table
    rows = [line for line in text.splitlines() if line.startswith("| ours")]
    assert rows[0].startswith("| ours `mean of 2 runs` |")
