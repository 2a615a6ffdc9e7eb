"""A run that continues a baseline run (``--baseline``): its themes keep their ids, its review carries on.

Rows near a known theme's centroid take its id; HDBSCAN runs on the rest only, and a new cluster that
matches a known theme takes that id too (:mod:`pipeline.baseline`). The reviewers' merges, renames and
labeled rows of the baseline carry forward (:mod:`pipeline.review.curation`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.baseline import Baseline, assign, load_baseline, match_clusters
from pipeline.cluster import Clustered, cluster, cluster_texts, theme_centroids
from pipeline.config import RunConfig
from pipeline.review.curation import Carried, carry_forward
from pipeline.taxonomy import Taxonomy

__all__ = ["cluster_with_baseline", "load_continuity"]


def load_continuity(
    config: RunConfig, embedding_identity: str, taxonomy: Taxonomy | None
) -> tuple[Baseline | None, Carried | None]:
    """The baseline run (``trends.baseline``) and what its review carries forward; (None, None) without one."""
    baseline = load_baseline(config.trends.baseline, embedding_identity) if config.trends.baseline else None
    carried = None
    if baseline is not None:
        carried = carry_forward(baseline.run_dir, {n.id for n in taxonomy.leaves} if taxonomy else set())
    return baseline, carried


def cluster_with_baseline(
    points: np.ndarray,
    row_vectors: np.ndarray,
    group_vectors: np.ndarray,
    row_group: np.ndarray,
    baseline: Baseline,
    config: RunConfig,
    clusterer: Any,
) -> tuple[Clustered, set[int]]:
    """Known themes first (nearest centroid), then HDBSCAN on what is left; ids stay stable."""
    group_known = assign(group_vectors, baseline, config.trends.baseline_threshold)
    row_known = group_known[row_group]
    todo = row_known < 0
    n_todo = int((group_known < 0).sum())
    labels, reassigned = row_known.copy(), row_known.copy()
    fresh: set[int] = set()
    note = None
    if n_todo >= config.cluster.min_rows:
        if config.cluster.points == "texts":
            group_points = np.zeros((len(group_vectors), points.shape[1]), dtype=points.dtype)
            group_points[row_group] = points
            rest = cluster_texts(group_points, group_vectors, row_group[todo], config.cluster, clusterer=clusterer)
        else:
            rest = cluster(points[todo], row_vectors[todo], config.cluster, n_distinct=n_todo, clusterer=clusterer)
        mapping, fresh = match_clusters(
            theme_centroids(row_vectors[todo], rest.labels), baseline, config.trends.match_threshold
        )
        labels[todo] = [mapping.get(int(x), -1) for x in rest.labels]
        reassigned[todo] = [mapping.get(int(x), -1) for x in rest.reassigned]
        params = dict(rest.params)
        note = rest.note
    else:
        params = {}
        if n_todo:
            note = f"{n_todo} texts matched no known theme: too few to cluster (< cluster.min_rows), kept as outliers"
    params["baseline"] = {
        "run": baseline.run_id,
        "rows_assigned_to_known_themes": int((~todo).sum()),
        "rows_clustered": int(todo.sum()),
        "new_themes": sorted(fresh),
    }
    probabilities = np.where(labels >= 0, 1.0, 0.0)
    return Clustered(labels, reassigned, probabilities, params, note=note), fresh
