"""The systems the theme-quality benchmark compares on the same embeddings: our pipeline and BERTopic's
defaults (in this process), the dataset they read and the settings they take."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks import report

__all__ = [
    "BENCH_DIR",
    "BERTOPIC_RUNS",
    "DATASETS",
    "DEFAULT_CACHE_DIR",
    "DEFAULT_DATA_DIR",
    "DEFAULT_SEED",
    "DEFAULT_WORK_DIR",
    "EXTRA_PACKAGES",
    "FIT_STAGES",
    "METRICS",
    "SECTION",
    "SEEDS",
    "SYSTEMS",
    "QualityError",
    "SystemRun",
    "config_name",
    "load_dataset",
    "parse_settings",
    "run_bertopic",
    "run_ours",
    "warm_up",
]

log = logging.getLogger("benchmarks.quality")


BENCH_DIR = Path(__file__).resolve().parent


DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets"


DEFAULT_CACHE_DIR = BENCH_DIR / ".work" / "cache" / "theme-quality"


DEFAULT_WORK_DIR = BENCH_DIR / ".work" / "quality"


SECTION = report.QUALITY


DATASETS = ("test", "train+test")


SYSTEMS = ("ours", "ours+reassign", "bertopic", "bertopic+reduce_outliers")


METRICS = ("n_themes", "outlier_share", "nmi", "ari", "acc", "seconds")


EXTRA_PACKAGES = ("bertopic", "scipy", "plotly")


#: The stages of ``pipeline.run`` that work on the embeddings (the counterpart of BERTopic's fit).
FIT_STAGES = ("reduce", "cluster", "represent")


#: The pipeline's default seed; the records of other seeds carry ``seed=N`` in their config.
DEFAULT_SEED = 42


SEEDS = (DEFAULT_SEED, 1, 2)


BERTOPIC_RUNS = 3


class QualityError(Exception):
    """A problem the user can fix (missing data, missing optional dependency, unreadable results)."""


def load_dataset(name: str, data_dir: Path) -> pd.DataFrame:
    """BANKING77 ``train`` (10,003 rows), ``test`` (3,080) or ``train+test`` (train rows, then test rows: 13,083):
    text, category."""
    folder = data_dir / "banking77"
    parts = {"train": ["train"], "test": ["test"]}.get(name, ["train", "test"])
    frames = []
    for part in parts:
        path = folder / f"{part}.csv"
        if not path.is_file():
            raise QualityError(f"{path} not found; pass --data-dir pointing at the shared datasets folder.")
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        missing = {"text", "category"} - set(frame.columns)
        if missing:
            raise QualityError(f"{path}: expected columns text and category, missing {sorted(missing)}.")
        frames.append(frame[["text", "category"]])
    return pd.concat(frames, ignore_index=True)


@dataclass
class SystemRun:
    labels: dict[str, np.ndarray]  # system -> label per row
    seconds: dict[str, float]  # system -> fit seconds on the embeddings
    run_seconds: dict[str, float] = field(default_factory=dict)  # system -> whole call
    info: dict[str, Any] = field(default_factory=dict)
    themes: pd.DataFrame | None = None


def warm_up() -> float:
    """Compile numba code (UMAP, pynndescent) once, untimed, so neither system pays it in its timing."""
    import hdbscan
    import umap

    start = time.perf_counter()
    points = np.random.default_rng(0).normal(size=(300, 384)).astype(np.float32)
    reduced = umap.UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=0).fit_transform(
        points
    )
    umap.UMAP(n_components=2, metric="cosine").fit_transform(points)  # the unseeded (parallel) code path
    hdbscan.HDBSCAN(min_cluster_size=10).fit(reduced)
    return time.perf_counter() - start


def parse_settings(items: Sequence[str]) -> dict[str, Any]:
    """``--set`` items as config overrides, parsed exactly as the CLI's ``--set``."""
    from pipeline.config import parse_overrides
    from pipeline.errors import ConfigError

    try:
        return parse_overrides(list(items))
    except ConfigError as exc:
        raise QualityError(str(exc)) from None


def config_name(items: Sequence[str]) -> str | None:
    """The ``config`` field of the records: the overrides as given, sorted, joined by ';' (None: defaults)."""
    return ";".join(sorted(items)) or None


def run_ours(frame: pd.DataFrame, cache_dir: Path, settings: dict[str, Any] | None = None) -> SystemRun:
    from pipeline import run
    from pipeline.errors import ConfigError

    overrides = {**(settings or {}), "embed.cache_dir": str(cache_dir)}
    start = time.perf_counter()
    try:
        result = run(frame[["text"]], write=False, overrides=overrides)
    except ConfigError as exc:
        raise QualityError(f"--set: {exc}") from None
    total = time.perf_counter() - start
    feedback = result.feedback
    if len(feedback) != len(frame) or feedback["text"].tolist() != frame["text"].tolist():
        raise RuntimeError("pipeline.run returned rows that do not line up with the input")
    stages = {name: float(t["seconds"]) for name, t in result.manifest["stages"].items()}
    fit = sum(stages.get(name, 0.0) for name in FIT_STAGES)
    themes = result.themes.drop(columns=["centroid"], errors="ignore")
    return SystemRun(
        labels={
            "ours": feedback["theme_id"].to_numpy(np.int64),
            "ours+reassign": feedback["theme_id_reassigned"].to_numpy(np.int64),
        },
        seconds={"ours": fit, "ours+reassign": fit},
        run_seconds={"ours": total, "ours+reassign": total},
        info={
            "stages": stages,
            "accounting": result.accounting,
            "cluster": result.manifest.get("cluster"),
            "reduce": result.manifest.get("reduce"),
            "embedding_cache": result.manifest.get("embedding_cache"),
            "notes": result.manifest.get("notes"),
            "clean_text_differs": int((feedback["clean_text"].fillna("") != feedback["text"]).sum()),
        },
        themes=themes,
    )


def run_bertopic(frame: pd.DataFrame, cache_dir: Path) -> SystemRun:
    try:
        from bertopic import BERTopic
    except ImportError:
        raise QualityError(
            "BERTopic is not installed; pip install -e '.[bench]' (or bertopic), or pass --no-bertopic."
        ) from None
    from models.embedding import SentenceTransformerEmbedder
    from pipeline.embed import CachedEmbedder
    from pipeline.store import EmbeddingCache

    docs = frame["text"].tolist()
    model = SentenceTransformerEmbedder("default")
    embedder = CachedEmbedder(model, EmbeddingCache(cache_dir, model.identity))
    start = time.perf_counter()
    embeddings = embedder.encode(docs)
    embed_s = time.perf_counter() - start
    log.info(
        "bertopic: %d row embeddings (%d from the cache, %d computed) in %.1f s",
        len(docs),
        embedder.hits,
        embedder.misses,
        embed_s,
    )

    start = time.perf_counter()
    topic_model = BERTopic()
    topics, _ = topic_model.fit_transform(docs, embeddings)
    fit_s = time.perf_counter() - start
    log.info("bertopic: fit_transform in %.1f s", fit_s)

    start = time.perf_counter()
    reduced = topic_model.reduce_outliers(docs, topics, strategy="embeddings", embeddings=embeddings)
    reduce_s = time.perf_counter() - start
    log.info("bertopic: reduce_outliers in %.1f s", reduce_s)
    return SystemRun(
        labels={
            "bertopic": np.asarray(topics, dtype=np.int64),
            "bertopic+reduce_outliers": np.asarray(reduced, dtype=np.int64),
        },
        seconds={"bertopic": fit_s, "bertopic+reduce_outliers": fit_s + reduce_s},
        info={"embed_seconds": embed_s, "from_cache": embedder.hits, "computed": embedder.misses},
    )
