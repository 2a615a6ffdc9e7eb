"""Reduce: embeddings → a few dimensions for clustering, and 2-d for the map.

Both UMAP fits share one nearest-neighbour graph, computed once. Fitting is seeded, so the same
input and seed give the same coordinates. ``umap`` is imported only when used: importing it
costs seconds and its first fit compiles with numba.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.config import ReduceConfig

__all__ = ["PcaReducer", "Reduced", "UmapReducer", "default_n_neighbors", "exact_knn", "make_reducer", "reduce"]

log = logging.getLogger(__name__)


#: Up to this many points the kNN graph is computed exactly (blocked dot products): deterministic,
#: and it skips pynndescent's numba compilation (tens of seconds in a fresh process).
EXACT_KNN_MAX = 20_000


def exact_knn(X: np.ndarray, k: int, *, block: int = 2048, select: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Exact cosine k-nearest neighbours (self included, as UMAP expects) of normalized rows.

    Similarities are computed ``block`` rows at a time and the neighbours picked ``select`` rows at a
    time: ``argpartition`` returns an int64 index of its whole input, so picking from the whole block
    at once held 4x the block's similarities (about 650 MB at 20,000 points), not 0.5x as now.
    """
    n = X.shape[0]
    indices = np.empty((n, k), dtype=np.int32)
    dists = np.empty((n, k), dtype=np.float32)
    Xf = np.ascontiguousarray(X, dtype=np.float32)
    for start in range(0, n, block):
        sims = Xf[start : start + block] @ Xf.T
        rows = np.arange(sims.shape[0])
        sims[rows, start + rows] = np.inf  # each point is its own first neighbour
        np.negative(sims, out=sims)  # the nearest first: argpartition and argsort order ascending
        for sub in range(0, sims.shape[0], select):
            at = start + sub
            neg = sims[sub : sub + select]
            part = np.argpartition(neg, k - 1, axis=1)[:, :k]
            part_sims = np.take_along_axis(neg, part, axis=1)
            order = np.argsort(part_sims, axis=1, kind="stable")
            indices[at : at + len(neg)] = np.take_along_axis(part, order, axis=1)
            best = -np.take_along_axis(part_sims, order, axis=1)
            best[:, 0] = 1.0
            dists[at : at + len(neg)] = np.clip(1.0 - best, 0.0, 2.0)
    return indices, dists


_NUMBA_CACHED = False


def _cache_umap_kernels() -> None:
    """Recompile UMAP's hot numba kernels with ``cache=True`` so later processes load them from disk.

    umap-learn compiles its layout optimizer and fuzzy-set kernels without numba's disk cache, which
    costs about 9 s in every new process (measured: first 5-d fit of 2,000 points 11.1 s, 2.3 s with
    the cache). Same Python functions, same options; if umap's internals change, nothing is patched.
    """
    global _NUMBA_CACHED
    if _NUMBA_CACHED:
        return
    _NUMBA_CACHED = True
    try:
        import numba
        import umap.layouts as layouts
        import umap.umap_ as umap_

        # nogil: the 5-d fit and the 2-d map run in two threads, one core each (see UmapReducer.fit_with_map).
        layouts._nb_optimize_layout_euclidean_single_epoch = numba.njit(
            cache=True, fastmath=True, parallel=False, nogil=True
        )(layouts._optimize_layout_euclidean_single_epoch)
        for name in ("smooth_knn_dist", "compute_membership_strengths"):
            kernel = getattr(umap_, name)
            options = {k: v for k, v in kernel.targetoptions.items() if k in ("fastmath", "parallel", "locals")}
            setattr(umap_, name, numba.njit(cache=True, **options)(kernel.py_func))
    except (ImportError, AttributeError, TypeError) as exc:  # pragma: no cover - depends on umap's internals
        log.debug("UMAP kernels left uncached: %s", exc)


@contextlib.contextmanager
def _quiet_umap() -> Iterator[None]:
    """UMAP warns that n_jobs is overridden by the seed, and about its own choices: noise in a batch log."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*n_jobs value.*")
        warnings.filterwarnings("ignore", category=UserWarning, module="umap")
        yield


def default_n_neighbors(n: int) -> int:
    """15 near 5,000 points, growing slowly with size so large exports keep their global shape."""
    return int(min(max(n - 1, 2), np.clip(round(15 * (n / 5000) ** 0.25), 10, 50)))


@dataclass
class Reduced:
    cluster_space: np.ndarray  # (n, n_components)
    map_2d: np.ndarray  # (n, 2); NaN when the map is off
    params: dict[str, Any]


class UmapReducer:
    """UMAP with a shared kNN graph: ``fit_transform`` for clustering, ``map_2d`` for the map."""

    def __init__(
        self, *, n_components: int = 5, n_neighbors: int | None = None, min_dist: float = 0.0,
        metric: str = "cosine", random_state: int = 42, n_epochs: int | None = None, map_n_epochs: int | None = None,
    ) -> None:  # fmt: skip
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.metric = metric
        self.random_state = random_state
        self.n_epochs = n_epochs
        self.map_n_epochs = map_n_epochs

    def _umap(self, n: int, n_components: int, min_dist: float, n_epochs: int | None) -> Any:
        import umap

        return umap.UMAP(
            n_neighbors=self.n_neighbors_,
            n_components=n_components,
            min_dist=min_dist,
            metric=self.metric,
            random_state=self.random_state,
            n_epochs=n_epochs,
            init="spectral" if n >= 100 else "random",
            precomputed_knn=self.knn_,
            low_memory=True,
        )

    def _knn(self, X: np.ndarray) -> None:
        from umap.umap_ import nearest_neighbors

        _cache_umap_kernels()
        n = X.shape[0]
        self.n_neighbors_ = self.n_neighbors or default_n_neighbors(n)
        self.n_neighbors_ = min(self.n_neighbors_, n - 1)
        if self.metric == "cosine" and n <= EXACT_KNN_MAX:
            knn_indices, knn_dists = exact_knn(X, self.n_neighbors_)
            self.knn_ = (knn_indices, knn_dists, None)
        else:
            rng = np.random.RandomState(self.random_state)
            self.knn_ = nearest_neighbors(X, self.n_neighbors_, self.metric, {}, False, rng, n_jobs=1)

    def _fit(self, X: np.ndarray, n_components: int, min_dist: float, n_epochs: int | None) -> np.ndarray:
        return np.asarray(self._umap(X.shape[0], n_components, min_dist, n_epochs).fit_transform(X), np.float32)

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        with _quiet_umap():
            self._knn(X)
            return self._fit(X, self.n_components, self.min_dist, self.n_epochs)

    def map_2d(self, X: np.ndarray) -> np.ndarray:
        """A 2-d layout of the same points for display (reuses the kNN graph of ``fit_transform``)."""
        with _quiet_umap():
            return self._fit(X, 2, 0.1, self.map_n_epochs)

    def fit_with_map(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``fit_transform`` and ``map_2d`` at once: the two fits share the kNN graph and run in two threads.

        UMAP's layout optimizer is single-threaded (seeded, so deterministic) and releases the GIL, so on
        two cores the map costs almost no extra wall time. Each fit has its own random state: the result
        is the same as calling the two methods one after the other.
        """
        from concurrent.futures import ThreadPoolExecutor

        with _quiet_umap():
            self._knn(X)
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="umap-map") as pool:
                future = pool.submit(self._fit, X, 2, 0.1, self.map_n_epochs)
                cluster_space = self._fit(X, self.n_components, self.min_dist, self.n_epochs)
                return cluster_space, future.result()


class PcaReducer:
    """PCA: seconds instead of minutes on huge inputs, and a fast reducer for tests."""

    def __init__(self, *, n_components: int = 5, random_state: int = 42) -> None:
        self.n_components = n_components
        self.random_state = random_state

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        from sklearn.decomposition import PCA

        k = max(1, min(self.n_components, X.shape[0], X.shape[1]))
        self.pca_ = PCA(n_components=k, random_state=self.random_state).fit(X)
        return np.asarray(self.pca_.transform(X), np.float32)

    def map_2d(self, X: np.ndarray) -> np.ndarray:
        out = np.zeros((X.shape[0], 2), np.float32)
        z = self.pca_.transform(X)[:, :2]
        out[:, : z.shape[1]] = z
        return out


def make_reducer(config: ReduceConfig, seed: int) -> Any:
    if config.method == "pca":
        return PcaReducer(n_components=config.n_components, random_state=seed)
    return UmapReducer(
        n_components=config.n_components, n_neighbors=config.n_neighbors, min_dist=config.min_dist,
        metric=config.metric, random_state=seed, n_epochs=config.n_epochs, map_n_epochs=config.map_n_epochs,
    )  # fmt: skip


def reduce(vectors: np.ndarray, config: ReduceConfig, *, seed: int, reducer: Any = None) -> Reduced:
    """Fit the reducer on the distinct vectors; any object with ``fit_transform`` can stand in."""
    n = vectors.shape[0]
    reducer = reducer if reducer is not None else make_reducer(config, seed)
    if config.map_2d and hasattr(reducer, "fit_with_map"):
        cluster_space, map_2d = reducer.fit_with_map(vectors)
    else:
        cluster_space = reducer.fit_transform(vectors)
        if config.map_2d and hasattr(reducer, "map_2d"):
            map_2d = reducer.map_2d(vectors)
        elif config.map_2d and cluster_space.shape[1] >= 2:
            map_2d = cluster_space[:, :2]
        else:
            map_2d = np.full((n, 2), np.nan, np.float32)
    params = {"reducer": type(reducer).__name__, "n": n}
    if hasattr(reducer, "n_neighbors_"):
        params["n_neighbors"] = int(reducer.n_neighbors_)
    log.info("Reduced %d vectors to %d dimensions with %s", n, cluster_space.shape[1], params["reducer"])
    return Reduced(cluster_space, map_2d, params)
