"""Cluster: sizes derived from the data, degenerate inputs explained, outliers kept and reassigned."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.cluster import cluster, default_min_cluster_size, theme_centroids
from pipeline.config import ClusterConfig


class FixedLabels:
    """A clusterer that returns the labels it was given (HDBSCAN's interface)."""

    def __init__(self, labels: list[int]) -> None:
        self.labels = np.array(labels)

    def fit(self, points: np.ndarray) -> FixedLabels:
        assert len(points) == len(self.labels)
        self.labels_ = self.labels
        return self


def _unit(v: list[float]) -> np.ndarray:
    a = np.array(v, dtype=np.float32)
    return a / np.linalg.norm(a)


# --- default_min_cluster_size ----------------------------------------------------------------


def test_min_cluster_size_is_at_least_five_for_small_exports():
    assert [default_min_cluster_size(n) for n in (0, 10, 100, 1000)] == [5, 5, 5, 5]


def test_min_cluster_size_is_about_0_5_percent_of_rows():
    for n in (5_000, 20_000, 100_000):
        assert default_min_cluster_size(n) == pytest.approx(0.005 * n, abs=1)


def test_min_cluster_size_grows_with_size_and_is_capped():
    sizes = [2_000, 10_000, 50_000, 250_000, 10_000_000]
    values = [default_min_cluster_size(n) for n in sizes]
    assert values == sorted(values)
    assert values[-1] == default_min_cluster_size(100_000_000)  # the cap holds


# --- degenerate inputs -----------------------------------------------------------------------


def test_too_few_distinct_texts_form_one_group_with_a_note():
    points = np.zeros((8, 2))
    out = cluster(points, np.ones((8, 4)), ClusterConfig(min_rows=20), n_distinct=6)
    assert out.labels.tolist() == [0] * 8
    assert out.reassigned.tolist() == [0] * 8
    assert out.note is not None and "6 distinct texts" in out.note and "min_rows=20" in out.note


def test_no_rows_gives_no_labels_and_a_note():
    out = cluster(np.zeros((0, 2)), np.zeros((0, 4)), ClusterConfig(), n_distinct=0)
    assert len(out.labels) == 0
    assert out.note


def test_all_outliers_is_reported_in_the_note():
    n = 25
    out = cluster(np.zeros((n, 2)), np.eye(n, 4), ClusterConfig(), n_distinct=n, clusterer=FixedLabels([-1] * n))
    assert (out.labels == -1).all()
    assert out.note and "outlier" in out.note


# --- labels ----------------------------------------------------------------------------------


def test_themes_are_renumbered_by_size_largest_first():
    raw = [7, 7, 3, 3, 3, 3, -1, 9, 9, 9] + [3] * 15
    n = len(raw)
    out = cluster(np.zeros((n, 2)), np.eye(n, n), ClusterConfig(), n_distinct=n, clusterer=FixedLabels(raw))
    mapping = {r: int(new) for r, new in zip(raw, out.labels, strict=True)}
    assert mapping == {3: 0, 9: 1, 7: 2, -1: -1}


def test_equal_sizes_keep_first_appearance_order():
    raw = [4] * 10 + [1] * 10 + [2] * 10
    out = cluster(np.zeros((30, 2)), np.eye(30, 30), ClusterConfig(), n_distinct=30, clusterer=FixedLabels(raw))
    assert out.labels.tolist() == [0] * 10 + [1] * 10 + [2] * 10


def test_outlier_reassignment_keeps_both_labels_and_respects_the_threshold():
    theme_a = [_unit([1, 0.05 * i, 0]) for i in range(10)]
    theme_b = [_unit([0, 1, 0.05 * i]) for i in range(10)]
    near_a = _unit([1, 0.3, 0])  # cosine ~0.95 to theme A's centroid
    far = _unit([0, 0, 1])  # ~0 to both centroids
    vectors = np.stack([*theme_a, *theme_b, near_a, far])
    raw = [0] * 10 + [1] * 10 + [-1, -1]
    config = ClusterConfig(reassign_threshold=0.5)
    out = cluster(vectors, vectors, config, n_distinct=22, clusterer=FixedLabels(raw))
    assert out.labels[-2:].tolist() == [-1, -1]  # still outliers
    assert out.reassigned[-2:].tolist() == [out.labels[0], -1]  # only the close one is reassigned
    assert (out.reassigned[:20] == out.labels[:20]).all()


def test_reassignment_votes_among_the_nearest_themed_points_in_the_clustering_space():
    # In embedding space the outlier's most similar rows are theme A's; in the clustering space it sits in theme B.
    theme_a = [_unit([1, 0.1 + 0.01 * i, 0]) for i in range(10)]  # cosine ~0.99 to the outlier
    theme_b = [_unit([1, 0, 0.6 + 0.01 * i]) for i in range(10)]  # cosine ~0.85
    vectors = np.stack([*theme_a, *theme_b, _unit([1, 0, 0])])
    points = np.concatenate([np.zeros((10, 2)), np.full((10, 2), 5.0), [[5.1, 5.0]]])
    raw = [0] * 10 + [1] * 10 + [-1]
    out = cluster(points, vectors, ClusterConfig(reassign_threshold=0.5), n_distinct=21, clusterer=FixedLabels(raw))
    assert out.labels[-1] == -1
    assert out.reassigned[-1] == out.labels[10]  # theme B, its neighbours in the clustering space


def test_reassignment_threshold_of_one_reassigns_nothing_short_of_identical():
    vectors = np.stack([_unit([1, 0.1 * i, 0]) for i in range(10)] + [_unit([1, 0.5, 0])])
    raw = [0] * 10 + [-1]
    out = cluster(
        np.zeros((11, 2)),
        vectors,
        ClusterConfig(reassign_threshold=1.0, min_rows=5),
        n_distinct=11,
        clusterer=FixedLabels(raw),
    )
    assert out.reassigned[-1] == -1


def test_reassignment_can_be_switched_off():
    vectors = np.stack([_unit([1, 0.05 * i, 0]) for i in range(10)] + [_unit([1, 0.1, 0])])
    raw = [0] * 10 + [-1]
    config = ClusterConfig(reassign_outliers=False, min_rows=5)
    out = cluster(np.zeros((11, 2)), vectors, config, n_distinct=11, clusterer=FixedLabels(raw))
    assert out.reassigned[-1] == -1


def test_theme_centroids_are_normalized_means_without_outliers():
    vectors = np.array([[1, 0], [0, 1], [5, 5]], dtype=np.float32)
    centroids = theme_centroids(vectors, np.array([0, 0, -1]))
    assert list(centroids) == [0]
    np.testing.assert_allclose(centroids[0], [2**-0.5, 2**-0.5], rtol=1e-6)


def test_hdbscan_finds_well_separated_groups():
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [10, 10], [0, 10]])
    points = np.concatenate([c + rng.normal(scale=0.3, size=(30, 2)) for c in centres])
    vectors = np.concatenate([np.tile(_unit([*c, 1]), (30, 1)) for c in centres])
    out = cluster(points, vectors, ClusterConfig(), n_distinct=90)
    assert len(set(out.labels[out.labels >= 0].tolist())) == 3
    for k in range(3):  # each blob is one theme
        blob = out.labels[30 * k : 30 * (k + 1)]
        assert len(set(blob[blob >= 0].tolist())) == 1
    assert out.params["min_cluster_size"] == default_min_cluster_size(90)


def test_themes_with_near_identical_centroids_are_merged_and_distinct_ones_kept():
    from pipeline.cluster import merge_similar_themes

    rng = np.random.default_rng(0)
    base = rng.normal(size=(3, 16))
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    # themes 0 and 1 scatter around the same direction; theme 2 points elsewhere
    centers = [base[0], base[0], base[1]]
    vectors = np.vstack([c + 0.01 * rng.normal(size=(10, 16)) for c in centers])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = np.repeat([0, 1, 2], 10)
    merged, count = merge_similar_themes(labels, vectors, 0.85)
    assert count == 1
    assert len(set(merged[:20])) == 1
    assert merged[20] != merged[0]
    unchanged, none = merge_similar_themes(labels, vectors, 1.0 - 1e-9)
    assert none == 0 and (unchanged == labels).all()


# --- splitting large themes ----------------------------------------------------------------------


def _hdbscan(min_cluster_size: int = 5):
    import hdbscan

    return lambda: hdbscan.HDBSCAN(min_cluster_size=min_cluster_size, core_dist_n_jobs=1)


def _blobs(centres: list[list[float]], size: int = 30, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([np.array(c) + rng.normal(scale=0.3, size=(size, 2)) for c in centres])


def test_a_large_theme_made_of_two_dense_groups_is_split_in_two():
    from pipeline.cluster import split_large_themes

    points = _blobs([[0, 0], [6, 0], [30, 30]])
    labels = np.array([0] * 60 + [1] * 30)  # theme 0 holds two groups; theme 1 is one
    out, splits = split_large_themes(points, labels, _hdbscan(), min_size=20)
    assert splits == 1
    assert len(set(out[:30])) == 1 and len(set(out[30:60])) == 1 and out[0] != out[30]
    assert 0 in set(out[:60]) and (out[60:] == 1).all()  # one piece keeps the id; the other theme is untouched
    assert (out >= 0).all()  # the pieces' own noise joins its nearest piece: nobody becomes an outlier


def test_themes_below_the_size_or_of_one_dense_group_stay_whole():
    from pipeline.cluster import split_large_themes

    points = _blobs([[0, 0], [6, 0], [30, 30]])
    labels = np.array([0] * 60 + [1] * 30)
    out, splits = split_large_themes(points, labels, _hdbscan(), min_size=61)  # theme 0 is too small to look at
    assert splits == 0 and (out == labels).all()
    one_group = _blobs([[0, 0]], size=60)
    out, splits = split_large_themes(one_group, np.zeros(60, np.int64), _hdbscan(), min_size=20)
    assert splits == 0 and (out == 0).all()


def test_pieces_that_say_the_same_thing_are_not_split_apart():
    from pipeline.cluster import split_large_themes

    points = _blobs([[0, 0], [6, 0]])  # two groups in the clustering space...
    rng = np.random.default_rng(1)
    same = rng.normal(size=(60, 8))  # ...whose texts do not differ: one cloud in embedding space
    distinct = np.concatenate(
        [rng.normal(size=(30, 8)) + 4 * np.eye(8)[0], rng.normal(size=(30, 8)) + 4 * np.eye(8)[1]]
    )
    labels = np.zeros(60, np.int64)
    kept, splits = split_large_themes(points, labels, _hdbscan(), min_size=20, vectors=same, min_silhouette=0.1)
    assert splits == 0 and (kept == 0).all()
    _, splits = split_large_themes(points, labels, _hdbscan(), min_size=20, vectors=distinct, min_silhouette=0.1)
    assert splits == 1


def test_the_silhouette_of_a_large_theme_is_sampled_without_losing_a_small_piece():
    from pipeline.cluster import _silhouette

    rng = np.random.default_rng(0)
    vectors = np.concatenate(
        [rng.normal(size=(5000, 8)) + 6 * np.eye(8)[0], rng.normal(size=(10, 8)) - 6 * np.eye(8)[0]]
    )
    labels = np.repeat([0, 1], [5000, 10])
    assert _silhouette(vectors, labels, sample=200) > 0.5  # both pieces are in the sample, and far apart


def test_the_split_size_counts_rows_behind_each_point():
    from pipeline.cluster import split_large_themes

    points = _blobs([[0, 0], [6, 0]])
    labels = np.zeros(60, np.int64)
    out, splits = split_large_themes(points, labels, _hdbscan(), min_size=100, weights=np.full(60, 2))
    assert splits == 1 and len(set(out)) == 2


def test_outliers_keep_their_label_through_the_split():
    from pipeline.cluster import split_large_themes

    points = np.concatenate([_blobs([[0, 0], [6, 0]]), [[50.0, 50.0]]])
    labels = np.array([0] * 60 + [-1])
    out, splits = split_large_themes(points, labels, _hdbscan(), min_size=20)
    assert splits == 1 and out[-1] == -1


def test_the_built_in_hdbscan_splits_themes_from_split_factor_times_the_cluster_size(monkeypatch):
    import pipeline.cluster as module

    calls: list[float] = []

    def spy(points, labels, make_clusterer, *, min_size, vectors, min_silhouette, weights=None):
        calls.append(min_size)
        assert min_silhouette == config.split_min_silhouette
        return labels, 0

    monkeypatch.setattr(module, "split_large_themes", spy)
    points = _blobs([[0, 0], [6, 0]])
    vectors = np.concatenate([np.tile(_unit([1, 0, 0]), (30, 1)), np.tile(_unit([0, 1, 0]), (30, 1))])
    config = ClusterConfig(min_cluster_size=5)
    cluster(points, vectors, config, n_distinct=60)
    assert calls == [4.0 * 5]
    cluster(points, vectors, config.model_copy(update={"split_factor": 0.0}), n_distinct=60)
    assert len(calls) == 1  # 0 turns the split off


def test_a_clusterer_passed_in_is_never_split():
    points = _blobs([[0, 0], [6, 0]])
    vectors = np.concatenate([np.tile(_unit([1, 0, 0]), (30, 1)), np.tile(_unit([0, 1, 0]), (30, 1))])
    config = ClusterConfig(min_cluster_size=5, merge_threshold=1.0)
    out = cluster(points, vectors, config, n_distinct=60, clusterer=FixedLabels([0] * 60))
    assert out.params["themes_split"] == 0 and (out.labels == 0).all()


# --- distinct texts as points (cluster.points = "texts") ---------------------------------------


def test_texts_are_points_weighted_by_their_rows_and_labels_come_back_per_row():
    from pipeline.cluster import cluster_texts

    rng = np.random.default_rng(0)
    centers = np.eye(3, 8, dtype=np.float32) * 10
    points = np.concatenate([c + rng.normal(0, 0.1, (40, 8)) for c in centers]).astype(np.float32)
    vectors = points / np.linalg.norm(points, axis=1, keepdims=True)
    row_group = np.repeat(np.arange(120), 3)  # every text reported three times
    result = cluster_texts(points, vectors, row_group, ClusterConfig())
    assert len(result.labels) == 360
    assert result.params["points"] == "texts" and result.params["n_rows"] == 360 and result.params["n_points"] == 120
    # the size default counts rows, not texts
    assert result.params["min_cluster_size"] == default_min_cluster_size(360)
    assert len(set(result.labels[result.labels >= 0])) == 3
    assert (result.labels[0::3] == result.labels[1::3]).all()  # copies of a text share its theme


def test_a_text_repeated_min_cluster_size_times_is_a_theme_of_its_own():
    labels = [0] * 10 + [1] * 10 + [-1]
    weights = np.array([1] * 20 + [25])
    points = np.zeros((21, 2))
    vectors = np.tile(_unit([1, 0]), (21, 1))
    result = cluster(
        points,
        vectors,
        ClusterConfig(min_cluster_size=8),
        n_distinct=21,
        clusterer=FixedLabels(labels),
        weights=weights,
    )
    assert result.params["repeated_text_themes"] == 1
    assert result.labels[-1] == 0  # renumbered by rows: its 25 rows make it the largest theme
