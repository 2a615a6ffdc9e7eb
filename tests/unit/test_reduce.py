"""Reduce: the exact kNN graph shared by UMAP's fits, and the PCA stand-in."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from pipeline.config import ReduceConfig
from pipeline.reduce import PcaReducer, UmapReducer, default_n_neighbors, exact_knn, make_reducer, reduce


def _unit_rows(n: int, dim: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize(("block", "select"), [(7, 3), (2048, 256), (2048, 16)])  # blocks and picks of several sizes
def test_exact_knn_matches_sklearn_cosine(block, select):
    x = _unit_rows(60, 16)
    k = 8
    indices, dists = exact_knn(x, k, block=block, select=select)
    ref_dists, ref_indices = NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(x).kneighbors(x)
    np.testing.assert_array_equal(indices, ref_indices)
    np.testing.assert_allclose(dists, ref_dists, atol=1e-5)


def test_exact_knn_lists_each_point_first_at_distance_zero():
    x = _unit_rows(30, 8, seed=1)
    x[5] = x[4]  # an exact duplicate must not displace the point itself
    indices, dists = exact_knn(x, 3)
    assert indices[:, 0].tolist() == list(range(30))
    assert (dists[:, 0] == 0).all()
    assert indices[4, 1] == 5 and indices[5, 1] == 4
    assert indices.dtype == np.int32 and dists.dtype == np.float32
    assert (np.diff(dists, axis=1) >= 0).all()


def test_default_n_neighbors_scales_with_size_within_bounds():
    assert default_n_neighbors(5000) == 15
    sizes = [30, 500, 5000, 50_000, 500_000, 10_000_000]
    values = [default_n_neighbors(n) for n in sizes]
    assert values == sorted(values)
    assert min(values) >= 10 and max(values) <= 50
    assert default_n_neighbors(5) == 4  # never more than the other points


def test_pca_reducer_shapes_and_determinism():
    x = _unit_rows(40, 12)
    a, b = PcaReducer(n_components=5), PcaReducer(n_components=5)
    za, zb = a.fit_transform(x), b.fit_transform(x)
    assert za.shape == (40, 5) and za.dtype == np.float32
    np.testing.assert_array_equal(za, zb)
    assert a.map_2d(x).shape == (40, 2)


def test_pca_reducer_copes_with_fewer_points_than_components():
    x = _unit_rows(3, 12)
    reducer = PcaReducer(n_components=5)
    assert reducer.fit_transform(x).shape[0] == 3
    assert reducer.map_2d(x).shape == (3, 2)


def test_reduce_with_pca_returns_cluster_space_map_and_params():
    x = _unit_rows(25, 10)
    out = reduce(x, ReduceConfig(method="pca", n_components=4), seed=3)
    assert out.cluster_space.shape == (25, 4)
    assert out.map_2d.shape == (25, 2)
    assert (out.params["reducer"], out.params["n"]) == ("PcaReducer", 25)


def test_reduce_without_map_leaves_nan_coordinates():
    x = _unit_rows(25, 10)

    class OnlyFit:
        def fit_transform(self, X):
            return X[:, :3]

    out = reduce(x, ReduceConfig(map_2d=False), seed=0, reducer=OnlyFit())
    assert np.isnan(out.map_2d).all()
    assert out.params["reducer"] == "OnlyFit"


def test_reduce_falls_back_to_the_first_two_dimensions_for_the_map():
    x = _unit_rows(25, 10)

    class OnlyFit:
        def fit_transform(self, X):
            return X[:, :3] * 2

    out = reduce(x, ReduceConfig(), seed=0, reducer=OnlyFit())
    np.testing.assert_array_equal(out.map_2d, out.cluster_space[:, :2])


def test_make_reducer_follows_the_config():
    assert isinstance(make_reducer(ReduceConfig(method="pca"), 1), PcaReducer)
    umap = make_reducer(ReduceConfig(n_components=7, n_neighbors=12), 9)
    assert isinstance(umap, UmapReducer)
    assert (umap.n_components, umap.n_neighbors, umap.random_state) == (7, 12, 9)


@pytest.mark.slow
def test_fit_with_map_equals_the_two_fits_one_after_the_other():
    x = _unit_rows(300, 16, seed=2)
    together = UmapReducer(n_epochs=30, map_n_epochs=20, random_state=4)
    cluster_space, map_2d = together.fit_with_map(x)
    apart = UmapReducer(n_epochs=30, map_n_epochs=20, random_state=4)
    np.testing.assert_array_equal(cluster_space, apart.fit_transform(x))
    np.testing.assert_array_equal(map_2d, apart.map_2d(x))
    assert cluster_space.shape == (300, 5) and map_2d.shape == (300, 2)


def test_reduce_uses_fit_with_map_when_the_reducer_has_it():
    x = _unit_rows(25, 10)

    class Both:
        def fit_with_map(self, X):
            return X[:, :4], X[:, 4:6]

        def fit_transform(self, X):  # pragma: no cover - must not be called
            raise AssertionError("fit_transform called")

    out = reduce(x, ReduceConfig(), seed=0, reducer=Both())
    np.testing.assert_array_equal(out.map_2d, x[:, 4:6])
    assert out.cluster_space.shape == (25, 4)
