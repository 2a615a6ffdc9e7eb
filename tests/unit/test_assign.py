"""Fit on a sample, assign the rest: sampling, the theme model, batched assignment, the runner's path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import run
from pipeline.assign import assign, fit_theme_model, sample_groups
from pipeline.config import RunConfig


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _blobs(n_per: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three tight, well separated directions in 16-d, plus their true labels."""
    rng = np.random.default_rng(seed)
    centers = np.eye(16)[:3]
    vectors = np.concatenate([c + 0.05 * rng.standard_normal((n_per, 16)) for c in centers])
    return _unit(vectors), np.repeat(np.arange(3), n_per)


def test_sample_has_the_requested_size_and_is_reproducible() -> None:
    weights = np.ones(1000, np.int64)
    first = sample_groups(weights, 100, seed=1)
    assert len(first) == 100 and len(np.unique(first)) == 100
    assert np.array_equal(first, sample_groups(weights, 100, seed=1))
    assert not np.array_equal(first, sample_groups(weights, 100, seed=2))


def test_sample_always_keeps_floods_of_repeated_reports() -> None:
    weights = np.ones(1000, np.int64)
    weights[[7, 500, 999]] = 50
    picked = sample_groups(weights, 20, seed=0, keep_weight=30)
    assert {7, 500, 999} <= set(picked.tolist())
    assert len(picked) == 20


def test_sample_allocates_strata_in_proportion() -> None:
    strata = np.array([0] * 900 + [1] * 100)
    picked = sample_groups(np.ones(1000, np.int64), 100, seed=0, strata=strata)
    assert (strata[picked] == 1).sum() == 10  # a quiet day keeps its share
    assert (strata[picked] == 0).sum() == 90


def test_sample_covering_everything_is_everything() -> None:
    assert np.array_equal(sample_groups(np.ones(5, np.int64), 5, seed=0), np.arange(5))


def test_assign_recovers_the_fitted_themes_and_leaves_strangers_out() -> None:
    vectors, truth = _blobs(200)
    fit = np.arange(0, 600, 3)  # a third of the texts were clustered
    labels = truth[fit]
    model = fit_theme_model(
        vectors[fit], labels, np.ones(len(fit)), np.zeros((len(fit), 2)),
        threshold=0.5, member_quantile=0.05, reassign_threshold=0.3,
    )  # fmt: skip
    done = assign(vectors, model, batch_size=128)
    assert (done.labels == truth).mean() > 0.9
    stranger = _unit(np.eye(16)[[10]] + 0.01)
    far = assign(stranger, model)
    assert far.labels[0] == -1 and far.similarity[0] < 0.5


def test_assign_in_batches_equals_assign_at_once() -> None:
    vectors, truth = _blobs(100, seed=3)
    model = fit_theme_model(
        vectors, truth, np.ones(len(truth)), np.random.default_rng(0).random((len(truth), 2)),
        threshold=0.4, member_quantile=0.1, reassign_threshold=0.3,
    )  # fmt: skip
    small, whole = assign(vectors, model, batch_size=7), assign(vectors, model, batch_size=10_000)
    assert np.array_equal(small.labels, whole.labels)
    assert np.allclose(small.xy, whole.xy)


def test_a_theme_floor_is_the_quantile_of_its_members_but_never_below_the_threshold() -> None:
    vectors, truth = _blobs(50)
    model = fit_theme_model(
        vectors, truth, np.ones(len(truth)), np.zeros((len(truth), 2)),
        threshold=0.99, member_quantile=0.5, reassign_threshold=0.3,
    )  # fmt: skip
    assert (model.floors >= 0.99).all()


def test_a_large_export_is_fitted_on_a_sample_and_every_row_is_accounted_for(
    fast_config: RunConfig, tmp_path: Path
) -> None:
    topics = ["the app crashes on start", "refund for my order", "search results are old", "login code never arrives"]
    texts = [f"{topics[i % 4]} case {i} {'x' * (i % 7)}" for i in range(600)] + ["the app crashes on start"] * 40
    frame = pd.DataFrame({"text": texts})
    config = fast_config.with_overrides({"scale.sample_size": 200, "scale.memmap_min_texts": 0})
    result = run(frame, config, write=False)
    feedback = result.feedback
    acc = result.accounting
    assert acc["rows_in"] == len(texts) == acc["themed"] + acc["outliers"] + acc["excluded"]
    fitted = result.manifest["cluster"]["fitted_on"]
    assert fitted["texts"] == 200
    assert int(feedback["assigned"].sum()) == result.manifest["cluster"]["assigned"]["rows"] > 0
    assert int(result.themes["size"].sum()) == acc["themed"]  # sizes count every row, not just the sample
    assert feedback.loc[feedback["status"] != "excluded", ["x", "y"]].notna().all().all()
    assert any("stratified sample" in note for note in result.manifest["notes"])
