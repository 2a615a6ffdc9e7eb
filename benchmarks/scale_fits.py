"""The fits ``--assign-compare`` scores: one clustering of a sample of BANKING77, and the ways of assigning
the other texts to it (the pipeline's centroid floor, HDBSCAN's approximate_predict, the runner's own
sampled path)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.harness.processes import BenchError

__all__ = [
    "BANKING_PARTS",
    "Corpus",
    "PipelineResult",
    "SharedFit",
    "approximate_predict",
    "centroid_floor",
    "fit_shared",
    "load_corpus",
    "pipeline_embedder",
    "run_pipeline_inprocess",
    "warnings_quiet",
]

log = logging.getLogger("benchmarks.scale")


#: umap-learn fits on fewer points than this keep the raw data and ``transform`` by brute-force distances to
#: every fitted point (through sklearn's pairwise_distances with UMAP's numba metric: slow); from it on, an
#: NNDescent index is searched.
UMAP_SMALL_DATA = 4096


BANKING_PARTS = {"train": ("train",), "test": ("test",), "train+test": ("train", "test")}


def load_banking(name: str, data_dir: Path) -> pd.DataFrame:
    """BANKING77 ``train`` (10,003 rows), ``test`` (3,080) or ``train+test`` (train, then test): text, category."""
    from benchmarks.quality import QualityError, load_dataset

    try:
        return load_dataset(name, data_dir)
    except QualityError as exc:
        raise BenchError(str(exc)) from None


@dataclass
class Corpus:
    """One labelled dataset as distinct texts: the unit that is sampled, fitted on and assigned."""

    name: str
    frame: pd.DataFrame
    gold: np.ndarray  # per row
    row_group: np.ndarray  # per row: index of its distinct text
    vectors: np.ndarray  # per distinct text, L2-normalized
    weights: np.ndarray  # rows behind each distinct text

    @property
    def dataset(self) -> str:
        return f"banking77-{self.name}"


def pipeline_embedder(cache_dir: Path) -> Any:
    """The pipeline's configured embedder (default: int8 ONNX MiniLM) behind the on-disk embedding cache."""
    from models.embedding import make_embedder
    from pipeline.config import load_config
    from pipeline.embed import CachedEmbedder
    from pipeline.store import EmbeddingCache

    cfg = load_config(None, {}).embed
    model = make_embedder(
        cfg.model, batch_size=cfg.batch_size, device=cfg.device, backend=cfg.backend, cache_dir=cache_dir
    )
    return CachedEmbedder(model, EmbeddingCache(cache_dir, model.identity))


def load_corpus(name: str, data_dir: Path, embedder: Any) -> Corpus:
    frame = load_banking(name, data_dir)
    codes, uniques = pd.factorize(frame["text"])
    vectors = np.asarray(embedder.encode(list(uniques)), np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-12)
    weights = np.bincount(codes, minlength=len(uniques)).astype(np.int64)
    log.info("%s: %d rows, %d distinct texts (embeddings: %d cached)", name, len(frame), len(uniques), embedder.hits)
    return Corpus(name, frame, frame["category"].to_numpy(), codes.astype(np.int64), vectors, weights)


def scores(gold: np.ndarray, pred: np.ndarray, assigned: np.ndarray) -> dict[str, float]:
    """Quality over all rows and over the assigned rows only (outliers: one extra cluster, as benchmarks.quality)."""
    from benchmarks.quality import score

    every = score(gold, pred)
    out = {"n_themes": every.n_themes, "outlier_share": every.outlier_share}
    out |= {"nmi": every.nmi, "ari": every.ari, "acc": every.acc}
    if assigned.any():
        part = score(gold[assigned], pred[assigned])
        out |= {"outlier_share_assigned": part.outlier_share, "nmi_assigned": part.nmi}
        out |= {"ari_assigned": part.ari, "acc_assigned": part.acc}
    return out


class KeepRawLabels:
    """Passed to :func:`pipeline.cluster.cluster` as its clusterer: fits the HDBSCAN and keeps a copy of its
    raw labels (``cluster`` renumbers, merges and may write into ``labels_``), to map the labels that
    ``approximate_predict`` returns onto the themes."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.raw_: np.ndarray | None = None

    def fit(self, points: np.ndarray) -> Any:
        self.inner.fit(points)
        self.raw_ = np.array(self.inner.labels_, dtype=np.int64, copy=True)
        return self.inner


@dataclass
class SharedFit:
    """One clustering of a sample, shared by centroid_floor and hdbscan_approximate_predict."""

    sample: np.ndarray  # distinct-text indices fitted on (sorted)
    rest: np.ndarray  # the others, to assign
    space: np.ndarray  # plain-UMAP coordinates of the sample
    umap: Any
    hdbscan: Any
    labels: np.ndarray  # theme per sample text, as pipeline.cluster.cluster returns it
    raw_to_theme: dict[int, int]  # HDBSCAN's raw label -> theme (after merges and renumbering)
    params: dict[str, Any] = field(default_factory=dict)


def fit_shared(corpus: Corpus, share: float, seed: int, cfg: Any) -> SharedFit:
    """Sample the distinct texts, reduce them with a plain UMAP (pipeline parameters), cluster with HDBSCAN."""
    import hdbscan
    import umap

    from pipeline.assign import sample_groups
    from pipeline.cluster import cluster, default_min_cluster_size
    from pipeline.reduce import default_n_neighbors

    n_texts = len(corpus.vectors)
    size = round(share * n_texts)
    volume = int(corpus.weights.sum() * size / n_texts)
    keep = cfg.cluster.min_cluster_size or default_min_cluster_size(volume)
    sample = sample_groups(corpus.weights, size, seed=seed, keep_weight=keep)
    rest = np.setdiff1d(np.arange(n_texts), sample)
    vectors, weights = corpus.vectors[sample], corpus.weights[sample]
    n_neighbors = min(cfg.reduce.n_neighbors or default_n_neighbors(len(sample)), len(sample) - 1)
    start = time.perf_counter()
    with warnings_quiet():
        reducer = umap.UMAP(
            n_neighbors=n_neighbors, n_components=cfg.reduce.n_components, min_dist=cfg.reduce.min_dist,
            metric=cfg.reduce.metric, n_epochs=cfg.reduce.n_epochs, random_state=seed, low_memory=True,
        )  # fmt: skip
        space = np.asarray(reducer.fit_transform(vectors), np.float32)
    umap_s = time.perf_counter() - start
    # The pipeline's HDBSCAN parameters (pipeline.cluster.cluster), with prediction data for approximate_predict.
    min_cluster_size = cfg.cluster.min_cluster_size or default_min_cluster_size(int(weights.sum()))
    min_cluster_size = min(min_cluster_size, max(2, len(sample) // 2))
    min_samples = cfg.cluster.min_samples or min(min_cluster_size, max(5, round(min_cluster_size / 8)))
    recorder = KeepRawLabels(
        hdbscan.HDBSCAN(
            min_cluster_size=min_cluster_size, min_samples=min_samples,
            cluster_selection_method=cfg.cluster.selection_method, prediction_data=True, core_dist_n_jobs=1,
        )
    )  # fmt: skip
    start = time.perf_counter()
    clustered = cluster(space, vectors, cfg.cluster, n_distinct=len(sample), clusterer=recorder, weights=weights)
    cluster_s = time.perf_counter() - start
    if (clustered.params.get("min_cluster_size"), clustered.params.get("min_samples")) != (
        min_cluster_size,
        min_samples,
    ):
        log.warning("HDBSCAN parameters differ from the pipeline's: %s vs ours %s", clustered.params,
                    (min_cluster_size, min_samples))  # fmt: skip
    raw = recorder.raw_ if recorder.raw_ is not None else np.full(len(sample), -1)
    raw_to_theme = {
        int(r): int(np.bincount(clustered.labels[raw == r] + 1).argmax()) - 1 for r in np.unique(raw[raw >= 0])
    }
    params = {
        "sample_texts": len(sample), "n_neighbors": n_neighbors, "min_cluster_size": min_cluster_size,
        "min_samples": min_samples, "umap_seconds": round(umap_s, 1), "cluster_seconds": round(cluster_s, 1),
        "themes_merged": clustered.params.get("themes_merged"),
    }  # fmt: skip
    log.info("%s share %.2f seed %d: %s", corpus.name, share, seed, params)
    return SharedFit(sample, rest, space, reducer, recorder.inner, clustered.labels, raw_to_theme, params)


@contextlib.contextmanager
def warnings_quiet() -> Iterator[None]:
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        yield


def row_labels(corpus: Corpus, fit: SharedFit, rest_labels: np.ndarray) -> np.ndarray:
    groups = np.full(len(corpus.vectors), -1, np.int64)
    groups[fit.sample] = fit.labels
    groups[fit.rest] = rest_labels
    return groups[corpus.row_group]


def centroid_floor(corpus: Corpus, fit: SharedFit, threshold: float, quantile: float, seed: int, cfg: Any) -> tuple:
    """Labels per row and assignment seconds with the pipeline's fit_theme_model + assign."""
    from pipeline.assign import assign, fit_theme_model

    model = fit_theme_model(
        corpus.vectors[fit.sample], fit.labels, corpus.weights[fit.sample], fit.space[:, :2],
        threshold=threshold, member_quantile=quantile, reassign_threshold=cfg.cluster.reassign_threshold, seed=seed,
    )  # fmt: skip
    start = time.perf_counter()
    done = assign(corpus.vectors[fit.rest], model, batch_size=cfg.scale.batch_size)
    return row_labels(corpus, fit, done.labels), time.perf_counter() - start


def approximate_predict(corpus: Corpus, fit: SharedFit) -> tuple:
    """Labels per row and seconds: UMAP ``transform`` of the other texts, then HDBSCAN ``approximate_predict``."""
    import hdbscan

    start = time.perf_counter()
    with warnings_quiet():
        points = np.asarray(fit.umap.transform(corpus.vectors[fit.rest]), np.float32)
        raw, _ = hdbscan.approximate_predict(fit.hdbscan, points)
    seconds = time.perf_counter() - start
    labels = np.array([fit.raw_to_theme.get(int(r), -1) for r in raw], np.int64)
    return row_labels(corpus, fit, labels), seconds


@contextlib.contextmanager
def timed_runner_assign() -> Iterator[list[float]]:
    """Time the runner's calls of :func:`pipeline.assign.assign` (the sampled path imports it as ``assign_texts``
    in :mod:`pipeline.engines.sampled`)."""
    import pipeline.engines.sampled as runner

    spent: list[float] = []
    original = getattr(runner, "assign_texts", None)
    if original is None:
        yield spent
        return

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - start)

    runner.assign_texts = timed
    try:
        yield spent
    finally:
        runner.assign_texts = original


@dataclass
class PipelineResult:
    labels: np.ndarray
    assigned: np.ndarray  # per row: the text was assigned, not fitted on
    assign_seconds: float | None
    assigned_texts: int
    fit_seconds: float
    cluster: dict[str, Any]


def run_pipeline_inprocess(corpus: Corpus, overrides: dict[str, Any], cache_dir: Path) -> PipelineResult:
    """``pipeline.run`` on the dataset's text column with the packaged default models."""
    from pipeline import run

    with timed_runner_assign() as spent:
        result = run(corpus.frame[["text"]], write=False, overrides={**overrides, "embed.cache_dir": str(cache_dir)})
    feedback = result.feedback
    if len(feedback) != len(corpus.frame):
        raise BenchError(f"pipeline.run returned {len(feedback)} rows for {len(corpus.frame)}")
    cluster = result.manifest.get("cluster") or {}
    texts = int((cluster.get("assigned") or {}).get("texts", 0))
    assigned = feedback["assigned"].to_numpy(bool) if "assigned" in feedback else np.zeros(len(feedback), bool)
    stages = result.manifest["stages"]
    fit_s = sum(float(stages[s]["seconds"]) for s in ("reduce", "cluster", "represent") if s in stages)
    return PipelineResult(
        feedback["theme_id"].to_numpy(np.int64), assigned, sum(spent) if spent else None, texts, fit_s, cluster
    )
