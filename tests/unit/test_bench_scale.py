"""benchmarks.scale: the figures it derives from run manifests, without running the pipeline."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from benchmarks.run import BenchInput
from benchmarks.scale import (
    EARLIER_DEFAULT_SETTINGS,
    ScaleRun,
    cf_name,
    choose_settings,
    growth_records,
    parse_args,
    scale_records,
    target_notes,
)


def _run(rows: int, seconds: float, *, assigned: bool = False) -> ScaleRun:
    cluster = {"n_rows": rows, "n_themes": 40}
    if assigned:
        cluster |= {"fitted_on": {"texts": 100, "rows": 120}, "assigned": {"texts": rows - 100, "rows": rows - 120}}
    manifest = {
        "stages": {"embed": {"seconds": seconds / 2, "peak_rss_mb": 900.0}, "reduce": {"seconds": seconds / 4}},
        "cluster": cluster,
        "embedding_cache": {"groups": rows - 5},
        "accounting": {"rows_in": rows, "outliers": rows // 10},
    }
    bench = BenchInput(rows, Path("in.csv"), "synthetic", {"app_reviews_unchanged": rows}, rows - 3)
    return ScaleRun(bench, "local", seconds, seconds * 1.5, 2048.0, manifest, 0.5, 0.7)


def _by(records: list[dict], metric: str, stage: str | None = None) -> float:
    return next(r["value"] for r in records if r["metric"] == metric and r.get("stage") == stage)


def test_scale_records_give_seconds_and_rows_per_second_per_stage_and_end_to_end() -> None:
    records = scale_records(_run(1000, 100.0), {"date": "d", "config": None})
    assert _by(records, "stage_seconds", "embed") == 50.0
    assert _by(records, "stage_seconds", "end_to_end") == 100.0
    assert _by(records, "rows_per_s", "end_to_end") == 10.0
    assert _by(records, "peak_rss_mb", "end_to_end") == 2048.0
    assert all(r["section"] == "scale" and r["engine"] == "local" for r in records)


def test_without_a_sample_every_embedded_text_counts_as_fitted_and_none_as_assigned() -> None:
    records = scale_records(_run(1000, 100.0), {})
    assert _by(records, "fitted_texts") == 995
    assert _by(records, "assigned_texts") == 0
    assert _by(records, "outlier_share") == pytest.approx(0.1)


def test_a_sampled_run_reports_the_manifest_fitted_and_assigned_counts() -> None:
    records = scale_records(_run(1000, 100.0, assigned=True), {})
    assert (_by(records, "fitted_texts"), _by(records, "assigned_texts")) == (100, 900)


def test_growth_exponent_is_log_time_ratio_over_log_size_ratio_between_consecutive_sizes() -> None:
    records = scale_records(_run(100_000, 600.0), {}) + scale_records(_run(1_000_000, 6000.0 * 1.2), {})
    growth = growth_records(records)
    end = next(r for r in growth if r["stage"] == "end_to_end")
    assert end["rows"] == 1_000_000 and end["from_rows"] == 100_000
    assert end["value"] == pytest.approx(1 + math.log10(1.2), abs=1e-3)


def test_targets_are_checked_only_once_a_million_rows_were_measured() -> None:
    small = scale_records(_run(100_000, 600.0), {})
    assert "not measured yet" in target_notes(small)[0]
    big = small + scale_records(_run(1_000_000, 2000.0), {})
    note = target_notes(big + growth_records(big))[0]
    assert "33.3 min" in note and "✓" in note


def test_settings_are_chosen_by_the_mean_of_nmi_ari_and_acc() -> None:
    grid = [EARLIER_DEFAULT_SETTINGS, (0.3, 0.0)]
    got = {
        (cf_name(*EARLIER_DEFAULT_SETTINGS), 0.3): {"nmi": [0.7], "ari": [0.3], "acc": [0.5]},
        (cf_name(0.3, 0.0), 0.3): {"nmi": [0.72], "ari": [0.32], "acc": [0.5]},
    }
    best, objective = choose_settings(got, grid)
    assert best == (0.3, 0.0)
    assert objective[EARLIER_DEFAULT_SETTINGS] == pytest.approx(0.5)


def test_cli_needs_sizes_or_assign_compare() -> None:
    with pytest.raises(SystemExit):
        parse_args([])
    assert parse_args(["--sizes", "100000", "--engine", "spark"]).engine == "spark"


def test_a_run_at_other_sizes_keeps_the_earlier_runs_notes_and_the_targets_are_worked_out_afresh(tmp_path) -> None:
    import argparse
    import json

    from benchmarks.harness.machine import Machine
    from benchmarks.report import RUN_INFO
    from benchmarks.scale_sizes import TARGETS_STAGE, _write_scale

    million = scale_records(_run(1_000_000, 1181.0), {"date": "2026-12-04", "config": None})
    earlier = {
        "section": "scale", "metric": RUN_INFO, "engine": "local", "config": None, "sizes": [1_000_000],
        "value": 1200.0, "notes": ["1,000,000 rows (local): input of the 1M run."],
    }  # fmt: skip
    stale = {"section": "scale", "metric": RUN_INFO, "stage": TARGETS_STAGE, "notes": ["Targets: 99.0 min (stale)."]}
    (tmp_path / "RESULTS.json").write_text(json.dumps([*million, earlier, stale]), encoding="utf-8")
    args = argparse.Namespace(out=tmp_path, engine="local", set=[], command="python -m benchmarks.scale --sizes 250000")
    new = scale_records(_run(250_000, 453.0), {"date": "2026-12-04", "config": None})
    _write_scale(args, new, {("local", 250_000, None)}, ["250,000 rows (local): input."], Machine.probe(), 0.0)

    records = json.loads((tmp_path / "RESULTS.json").read_text(encoding="utf-8"))
    runs = [r for r in records if r.get("metric") == RUN_INFO and r.get("stage") != TARGETS_STAGE]
    assert [run["sizes"] for run in runs] == [[1_000_000], [250_000]]
    assert runs[0]["notes"] == ["1,000,000 rows (local): input of the 1M run."]  # the 250k run kept them
    assert not any(n.startswith("Targets") for run in runs for n in run["notes"])
    (targets,) = [r for r in records if r.get("stage") == TARGETS_STAGE]
    assert targets["notes"][0].startswith("Targets (local engine) at 1,000,000 rows: end to end 19.7 min")
