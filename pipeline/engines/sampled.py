"""Fit themes on a sample of the distinct texts, then assign every other text: the large-export path.

Both engines use it: the local engine when ``scale.sample_size`` is below the distinct texts, the Spark
engine always (its driver fits the sample; the executors assign the rest with the broadcast model).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline.assign import ThemeModel, fit_theme_model, sample_groups
from pipeline.assign import assign as assign_texts
from pipeline.cluster import cluster_texts, default_min_cluster_size
from pipeline.config import RunConfig
from pipeline.reduce import Reduced
from pipeline.store import release_pages

__all__ = [
    "FittedThemes",
    "assign_rest",
    "first_rows",
    "fit_themes",
    "sample_texts",
    "sampled_params",
    "sizes_over_all_rows",
    "time_strata",
]

log = logging.getLogger(__name__)


def time_strata(group_times: pd.Series, bin_width: str) -> np.ndarray | None:
    """Each distinct text's sampling stratum: the time bin of its first row (undated texts: one stratum)."""
    if group_times.isna().all():
        return None
    bins = pd.Series(pd.to_datetime(group_times.to_numpy(), utc=True)).dt.floor(pd.Timedelta(bin_width))
    return pd.factorize(bins, use_na_sentinel=False)[0]


def sample_texts(weights: np.ndarray, group_times: pd.Series, config: RunConfig) -> np.ndarray:
    """The distinct texts (group indices, sorted) the themes are fitted on: all of them up to
    ``scale.sample_size``, else a sample stratified by time bin that keeps floods of repeated texts."""
    n_groups = len(weights)
    size = min(int(config.scale.sample_size or n_groups), n_groups)
    if size >= n_groups:
        return np.arange(n_groups)
    sample_volume = int(weights.sum() * size / n_groups)
    keep = config.cluster.min_cluster_size or default_min_cluster_size(sample_volume)
    strata = time_strata(group_times, config.trends.bin)
    return sample_groups(weights, size, seed=config.seed, strata=strata, keep_weight=keep)


@dataclass
class FittedThemes:
    """Themes fitted on the sample's distinct texts: their labels and the model that assigns the others."""

    labels: np.ndarray  # per sample text
    reassigned: np.ndarray  # per sample text
    model: ThemeModel
    params: dict[str, Any]
    note: str | None


def fit_themes(
    reduced: Reduced, vectors: np.ndarray, row_group: np.ndarray, config: RunConfig, *, clusterer: Any = None
) -> FittedThemes:
    """Cluster the sample's texts (``vectors``, reduced; ``row_group``: the text of each sampled row)."""
    fitted = cluster_texts(reduced.cluster_space, vectors, row_group, config.cluster, clusterer=clusterer)
    labels = np.full(len(vectors), -1, np.int64)
    reassigned = np.full(len(vectors), -1, np.int64)
    labels[row_group] = fitted.labels
    reassigned[row_group] = fitted.reassigned
    model = fit_theme_model(
        vectors,
        labels,
        np.bincount(row_group, minlength=len(vectors)),
        reduced.map_2d,
        threshold=config.scale.assign_threshold,
        member_quantile=config.scale.assign_member_quantile,
        reassign_threshold=config.cluster.reassign_threshold,
        seed=config.seed,
    )
    return FittedThemes(labels, reassigned, model, dict(fitted.params), fitted.note)


def sampled_params(
    fitted: FittedThemes, *, fitted_texts: int, fitted_rows: int, assigned_texts: int, assigned_rows: int,
    assigned_themed: int, n_rows: int,
) -> dict[str, Any]:  # fmt: skip
    """The manifest's ``cluster`` entry of a run fitted on a sample."""
    return {
        **fitted.params,
        "n_rows": n_rows,
        "fitted_on": {"texts": fitted_texts, "rows": fitted_rows},
        "assigned": {
            "texts": assigned_texts,
            "rows": assigned_rows,
            "to_themes": assigned_themed,
            "method": "nearest theme centroid above a per-theme floor",
            **fitted.model.params,
        },
    }


def first_rows(row_group: np.ndarray, n_groups: int) -> np.ndarray:
    """Position of each distinct text's first row (-1 for a text without rows)."""
    first = np.full(n_groups, -1, np.int64)
    groups, index = np.unique(row_group, return_index=True)
    first[groups] = index
    return first


def assign_rest(
    vectors: np.ndarray,
    groups: np.ndarray,
    reduced: Reduced,
    fitted: FittedThemes,
    batch: int,
    *,
    show_progress: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local engine: labels, reassigned labels and map positions of every text, the sample's from the fit
    and the others assigned in batches (memory stays flat); ``show_progress``: a bar in texts/s."""
    from tqdm.auto import tqdm

    n_groups = len(vectors)
    group_labels = np.full(n_groups, -1, np.int64)
    group_reassigned = np.full(n_groups, -1, np.int64)
    group_xy = np.full((n_groups, 2), np.nan, np.float32)
    group_labels[groups] = fitted.labels
    group_reassigned[groups] = fitted.reassigned
    group_xy[groups] = reduced.map_2d
    rest = np.setdiff1d(np.arange(n_groups), groups)
    bar = tqdm(total=len(rest), desc="assign", unit="text", disable=not show_progress, leave=False)
    for start in range(0, len(rest), batch):
        todo = rest[start : start + batch]
        done = assign_texts(np.asarray(vectors[todo], np.float32), fitted.model, batch_size=batch)
        group_labels[todo] = done.labels
        group_reassigned[todo] = done.reassigned
        group_xy[todo] = done.xy
        release_pages(vectors)
        bar.update(len(todo))
    bar.close()
    log.info("Assigned %d texts to %d themes fitted on %d", len(rest), len(fitted.model.theme_ids), len(groups))
    return group_labels, group_reassigned, group_xy


def sizes_over_all_rows(themes: pd.DataFrame, labels: np.ndarray, row_group: np.ndarray) -> pd.DataFrame:
    """Theme sizes count every row, not just the sample that described the theme."""
    if themes.empty:
        return themes
    ids = themes["theme_id"].to_numpy(dtype=np.int64)
    size = np.bincount(labels[labels >= 0], minlength=int(ids.max()) + 1)
    pairs = np.unique(np.stack([labels, row_group], axis=1)[labels >= 0], axis=0)
    unique = np.bincount(pairs[:, 0], minlength=int(ids.max()) + 1)
    return themes.assign(size=size[ids], unique_texts=unique[ids])
