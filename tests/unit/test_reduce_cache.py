"""The reduce cache: a fit read back is the fit computed, and a damaged entry is fitted again."""

from __future__ import annotations

import numpy as np
import pytest

import pipeline.reduce_cache as reduce_cache
from pipeline.config import ReduceConfig
from pipeline.reduce import reduce
from pipeline.reduce_cache import cached_reduce, reduce_key


def _unit_rows(n: int, dim: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _entries(root):
    return sorted((root / "reduce").glob("*.npz"))


def _assert_same(a, b):
    np.testing.assert_array_equal(a.cluster_space, b.cluster_space)
    np.testing.assert_array_equal(a.map_2d, b.map_2d)
    assert a.params == b.params


@pytest.mark.slow
def test_a_cached_umap_fit_is_the_fit_computed_again(tmp_path):
    x = _unit_rows(300, 16)
    config = ReduceConfig(n_epochs=30, map_n_epochs=30)
    plain = reduce(x, config, seed=3)
    cold = cached_reduce(x, config, seed=3, cache_dir=tmp_path)
    warm = cached_reduce(x, config, seed=3, cache_dir=tmp_path)
    _assert_same(cold, plain)
    _assert_same(warm, plain)
    assert len(_entries(tmp_path)) == 1


def test_a_warm_fit_calls_no_reducer_and_the_key_follows_vectors_settings_and_seed(tmp_path, monkeypatch):
    x = _unit_rows(50, 8)
    config = ReduceConfig(method="pca")
    cold = cached_reduce(x, config, seed=1, cache_dir=tmp_path)

    def no_fit(*args, **kwargs):
        raise AssertionError("refitted a cached fit")

    monkeypatch.setattr(reduce_cache, "reduce", no_fit)
    _assert_same(cached_reduce(x, config, seed=1, cache_dir=tmp_path), cold)
    key = reduce_key(x, config, 1)
    assert reduce_key(x, config, 2) != key
    assert reduce_key(x, ReduceConfig(method="pca", n_components=4), 1) != key
    y = x.copy()
    y[0, 0] = np.nextafter(y[0, 0], 2)  # one bit of one vector
    assert reduce_key(y, config, 1) != key
    assert reduce_key(x, config.model_copy(update={"use_cache": False}), 1) == key


@pytest.mark.parametrize("damage", ["torn", "wrong_shape", "empty"])
def test_a_damaged_entry_is_fitted_again(tmp_path, damage):
    x = _unit_rows(50, 8)
    config = ReduceConfig(method="pca")
    plain = cached_reduce(x, config, seed=1, cache_dir=tmp_path)
    (entry,) = _entries(tmp_path)
    if damage == "torn":
        entry.write_bytes(entry.read_bytes()[:100])
    elif damage == "empty":
        entry.write_bytes(b"")
    else:
        with entry.open("wb") as handle:
            np.savez(handle, cluster_space=np.zeros((3, 5)), map_2d=np.zeros((3, 2)), params=np.array("{}"))
    _assert_same(cached_reduce(x, config, seed=1, cache_dir=tmp_path), plain)
    _assert_same(cached_reduce(x, config, seed=1, cache_dir=tmp_path), plain)  # rewritten whole


def test_use_cache_false_writes_nothing(tmp_path):
    x = _unit_rows(50, 8)
    cached_reduce(x, ReduceConfig(method="pca", use_cache=False), seed=1, cache_dir=tmp_path)
    assert not (tmp_path / "reduce").exists()
