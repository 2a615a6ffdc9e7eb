"""The on-disk cache of a reduce fit: the same vectors, settings and seed give the same coordinates.

UMAP fitting is seeded and its kNN graph is exact up to ``reduce.EXACT_KNN_MAX`` points, so a re-run of
the same export (the same embeddings of the same sample) would compute the very coordinates it
computed before. The key is the SHA-256 of the vectors' bytes and shape, the reduce settings, the seed
and the versions of the libraries that compute the fit; the entry is one ``.npz`` file in
``<cache>/reduce/``, written to a temporary name and renamed. Two runs at once may both write the same
entry (the same bytes; the last rename wins); an entry that cannot be read or has the wrong shape is
fitted again, never a crash. Only the default reducer is cached: a caller's own object may not be
deterministic.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np

from pipeline.config import ReduceConfig
from pipeline.reduce import Reduced, reduce
from pipeline.store import atomic_path

__all__ = ["cached_reduce", "reduce_key"]

log = logging.getLogger(__name__)

#: Bumped when what an entry holds changes.
FORMAT = 1
_LIBRARIES = ("umap-learn", "pynndescent", "numba", "numpy", "scikit-learn")


def _versions() -> str:
    out = []
    for name in _LIBRARIES:
        try:
            out.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name}=none")
    return ",".join(out)


def reduce_key(vectors: np.ndarray, config: ReduceConfig, seed: int) -> str:
    """What the fit depends on: the vectors (bytes and shape), the settings, the seed and the library versions."""
    data = np.ascontiguousarray(vectors, dtype=np.float32)
    digest = hashlib.sha256()
    digest.update(f"format={FORMAT}|shape={data.shape}|seed={seed}|{_versions()}|".encode())
    digest.update(config.model_dump_json(exclude={"use_cache"}).encode())
    digest.update(data.tobytes())
    return digest.hexdigest()[:32]


def _load(path: Path, n: int, config: ReduceConfig) -> Reduced | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            cluster_space = np.asarray(data["cluster_space"], np.float32)
            map_2d = np.asarray(data["map_2d"], np.float32)
            params = json.loads(str(data["params"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        log.warning("Refitting: unreadable reduce cache entry %s: %s", path, exc)
        return None
    if cluster_space.shape != (n, config.n_components) or map_2d.shape != (n, 2) or not isinstance(params, dict):
        log.warning("Refitting: reduce cache entry %s has the wrong shape", path)
        return None
    return Reduced(cluster_space, map_2d, params)


def _save(path: Path, reduced: Reduced) -> None:
    try:
        with atomic_path(path) as tmp, tmp.open("wb") as handle:
            np.savez(
                handle,
                cluster_space=np.asarray(reduced.cluster_space, np.float32),
                map_2d=np.asarray(reduced.map_2d, np.float32),
                params=np.array(json.dumps(reduced.params, default=str)),
            )
    except OSError as exc:
        log.warning("Could not write the reduce cache entry %s: %s", path, exc)


def cached_reduce(vectors: np.ndarray, config: ReduceConfig, *, seed: int, cache_dir: Path | None) -> Reduced:
    """:func:`pipeline.reduce.reduce` with the default reducer, read from the cache when this fit was made before."""
    if cache_dir is None or not config.use_cache:
        return reduce(vectors, config, seed=seed)
    path = Path(cache_dir) / "reduce" / f"{reduce_key(vectors, config, seed)}.npz"
    found = _load(path, len(vectors), config)
    if found is not None:
        log.info("Reduced %d vectors: fit read from the cache (%s)", len(vectors), path.name)
        return found
    reduced = reduce(vectors, config, seed=seed)
    _save(path, reduced)
    return reduced
