"""Assign: fit the themes on a sample, then give every other text a theme with the fitted model.

UMAP and HDBSCAN grow faster than the data (and hold every point in memory), so above
``scale.sample_size`` distinct texts the runner fits reduce → cluster → represent on a stratified
random sample and this stage assigns the rest. The fitted state is a :class:`ThemeModel`: theme
centroids in embedding space, a similarity floor per theme, and a few anchor texts per theme with
their map coordinates. It is small and picklable, so a distributed engine can broadcast it and
assign each partition with the same :func:`assign` that the local engine runs in batches.

Why nearest centroid and not HDBSCAN's ``approximate_predict``: the latter needs every text pushed
through UMAP's ``transform`` first (a nearest-neighbour search and an optimisation per batch), which
costs more than the whole fit at a million rows; ``benchmarks/scale.py`` measures both on BANKING77.

A text joins its most similar theme when the cosine reaches the theme's floor: the similarity that
``member_quantile`` of the theme's fitted members reach (a tight theme takes only close texts, a
broad one takes broader ones), never below ``threshold``. Others stay outliers, like HDBSCAN's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Assigned", "ThemeModel", "assign", "fit_theme_model", "sample_groups"]

log = logging.getLogger(__name__)


def sample_groups(
    weights: np.ndarray,
    size: int,
    *,
    seed: int,
    strata: np.ndarray | None = None,
    keep_weight: int | None = None,
) -> np.ndarray:
    """Indices (sorted) of ``size`` distinct texts to fit on, out of ``len(weights)``.

    ``weights`` are the rows behind each text. Texts repeated at least ``keep_weight`` times are always
    in (a flood of identical reports must be able to become a theme); the rest of the sample is drawn
    at random within ``strata`` (e.g. the time bin of each text), each stratum in proportion to its
    texts, so a quiet day is not crowded out by a busy one.
    """
    n = len(weights)
    if size >= n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    forced = np.flatnonzero(weights >= keep_weight) if keep_weight else np.zeros(0, np.int64)
    forced = forced[np.argsort(-weights[forced], kind="stable")][:size]
    chosen = np.zeros(n, bool)
    chosen[forced] = True
    left = size - len(forced)
    if left > 0:
        strata = np.zeros(n, np.int64) if strata is None else np.asarray(strata)
        pool = np.flatnonzero(~chosen)
        keys, inverse = np.unique(strata[pool], return_inverse=True)
        counts = np.bincount(inverse, minlength=len(keys))
        quota = counts * left / len(pool)
        take = np.floor(quota).astype(np.int64)
        # Largest remainders get the seats that rounding down left over.
        for k in np.argsort(-(quota - take), kind="stable")[: left - int(take.sum())]:
            take[k] += 1
        for k in range(len(keys)):
            members = pool[inverse == k]
            chosen[rng.choice(members, size=min(int(take[k]), len(members)), replace=False)] = True
    return np.flatnonzero(chosen)


@dataclass
class ThemeModel:
    """What the fit on the sample learned, enough to assign any new text (picklable, a few MB)."""

    theme_ids: np.ndarray  # (k,) int64
    centroids: np.ndarray  # (k, dim) float32, L2-normalized
    floors: np.ndarray  # (k,) cosine a text needs to join each theme
    reassign_threshold: float  # cosine to the nearest centroid for the reassigned label of an outlier
    anchors: np.ndarray  # (m, dim) float32: a few fitted texts per theme (and outliers), for the map
    anchor_theme: np.ndarray  # (m,) int64, -1 for outlier anchors
    anchor_xy: np.ndarray  # (m, 2) float32 map coordinates of the anchors

    @property
    def params(self) -> dict[str, Any]:
        floors = self.floors if len(self.floors) else np.zeros(1)
        return {
            "themes": len(self.theme_ids),
            "floor_min": round(float(floors.min()), 4),
            "floor_median": round(float(np.median(floors)), 4),
            "anchors": len(self.anchors),
        }


def fit_theme_model(
    vectors: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    map_xy: np.ndarray,
    *,
    threshold: float,
    member_quantile: float,
    reassign_threshold: float,
    anchors_per_theme: int = 50,
    seed: int = 0,
) -> ThemeModel:
    """Centroids (row-weighted), floors and map anchors from the fitted sample texts."""
    rng = np.random.default_rng(seed)
    ids = np.unique(labels[labels >= 0])
    dim = vectors.shape[1]
    centroids = np.zeros((len(ids), dim), np.float32)
    floors = np.full(len(ids), threshold, np.float64)
    anchor_idx: list[np.ndarray] = []
    for i, theme in enumerate(ids):
        members = np.flatnonzero(labels == theme)
        mean = (vectors[members] * weights[members, None]).sum(axis=0)
        centroids[i] = mean / (np.linalg.norm(mean) or 1.0)
        sims = vectors[members] @ centroids[i]
        floors[i] = max(threshold, float(np.quantile(sims, member_quantile)))
        anchor_idx.append(rng.choice(members, size=min(anchors_per_theme, len(members)), replace=False))
    outliers = np.flatnonzero(labels < 0)
    anchor_idx.append(rng.choice(outliers, size=min(anchors_per_theme * 20, len(outliers)), replace=False))
    picked = np.sort(np.concatenate(anchor_idx)).astype(np.int64)
    return ThemeModel(
        theme_ids=ids.astype(np.int64),
        centroids=centroids,
        floors=floors,
        reassign_threshold=reassign_threshold,
        anchors=np.asarray(vectors[picked], np.float32),
        anchor_theme=labels[picked].astype(np.int64),
        anchor_xy=np.asarray(map_xy[picked], np.float32),
    )


@dataclass
class Assigned:
    """Per text: theme (-1 outlier), reassigned theme, cosine to the nearest centroid, map position."""

    labels: np.ndarray
    reassigned: np.ndarray
    similarity: np.ndarray
    xy: np.ndarray


def _place(vectors: np.ndarray, labels: np.ndarray, model: ThemeModel, k: int = 5) -> np.ndarray:
    """Map position: the similarity-weighted mean of the ``k`` nearest anchors of the same theme."""
    xy = np.full((len(vectors), 2), np.nan, np.float32)
    if not len(model.anchors) or np.isnan(model.anchor_xy).all():
        return xy
    for theme in np.unique(labels):
        rows = np.flatnonzero(labels == theme)
        pool = np.flatnonzero(model.anchor_theme == theme)
        if not len(pool):
            pool = np.arange(len(model.anchors))
        sims = vectors[rows] @ model.anchors[pool].T
        kk = min(k, len(pool))
        top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        w = np.clip(np.take_along_axis(sims, top, axis=1), 1e-3, None)
        xy[rows] = (model.anchor_xy[pool][top] * w[..., None]).sum(axis=1) / w.sum(axis=1, keepdims=True)
    return xy


def assign(vectors: np.ndarray, model: ThemeModel, *, batch_size: int = 50_000) -> Assigned:
    """Assign each vector (L2-normalized rows; a memmap is fine) in batches: memory stays flat."""
    n = len(vectors)
    labels = np.full(n, -1, np.int64)
    reassigned = np.full(n, -1, np.int64)
    similarity = np.zeros(n, np.float32)
    xy = np.full((n, 2), np.nan, np.float32)
    if not len(model.theme_ids):
        return Assigned(labels, reassigned, similarity, xy)
    for start in range(0, n, batch_size):
        batch = np.asarray(vectors[start : start + batch_size], np.float32)
        sims = batch @ model.centroids.T
        best = sims.argmax(axis=1)
        top = sims[np.arange(len(batch)), best]
        nearest = model.theme_ids[best]
        joined = top >= model.floors[best]
        labels[start : start + len(batch)] = np.where(joined, nearest, -1)
        reassigned[start : start + len(batch)] = np.where(joined | (top >= model.reassign_threshold), nearest, -1)
        similarity[start : start + len(batch)] = top
        xy[start : start + len(batch)] = _place(batch, labels[start : start + len(batch)], model)
    return Assigned(labels, reassigned, similarity, xy)
