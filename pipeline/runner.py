"""The runner: resolve the config, load the models, and run the stage plan on the chosen engine.

    ingest → clean → embed → reduce → cluster → represent → classify → trends → summarize → report

The order lives once, in :data:`pipeline.plan.PLAN`; the local engine (:mod:`pipeline.engines.local`)
and the Spark engine (:mod:`pipeline.engines.spark`) each supply one step per stage. The embedder,
reducer, clusterer and spaCy pipeline can be swapped through the config or passed in as objects (like
BERTopic's sub-models).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd

from models.embedding import Embedder, make_embedder
from pipeline.config import RunConfig, load_config
from pipeline.embed import CachedEmbedder
from pipeline.engines.base import run_plan
from pipeline.engines.continuity import load_continuity
from pipeline.engines.labeling import fit_classifier
from pipeline.engines.local import LOCAL_STEPS, local_result
from pipeline.engines.local_context import LocalRun
from pipeline.errors import ConfigError
from pipeline.result import RunResult, alert_line
from pipeline.store import EmbeddingCache, default_cache_dir
from pipeline.taxonomy import Taxonomy, load_taxonomy

__all__ = ["RunResult", "alert_line", "fit_classifier", "run"]

Inputs: TypeAlias = "str | Path | pd.DataFrame | Sequence[str | Path]"


def run(
    inputs: Inputs,
    config: RunConfig | None = None,
    *,
    config_file: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    embedder: Embedder | None = None,
    reducer: Any = None,
    clusterer: Any = None,
    nlp: Any = None,
    write: bool = True,
    show_progress: bool = False,
    spark: Any = None,
) -> RunResult:
    """Run the whole pipeline on files (or a DataFrame) and return the tables.

    ``config`` or ``config_file`` + ``overrides`` (dotted keys, e.g. ``{"cluster.min_cluster_size": 20}``)
    set the parameters. With ``write=True`` the artifacts go to ``<output.out_dir>/<run_id>/``.
    With ``scale.engine = "spark"`` (or a SparkSession passed as ``spark``) the job runs on Spark; the
    inputs are then paths or table names.
    """
    if config is None:
        config = load_config(config_file, overrides)
    elif overrides:
        config = config.with_overrides(overrides)
    if spark is not None or config.scale.engine == "spark":
        if isinstance(inputs, pd.DataFrame):
            raise ConfigError("The spark engine reads files or tables: pass paths or a table name, not a DataFrame.")
        if embedder is not None or nlp is not None:
            raise ConfigError("The spark engine loads its models on the executors from the config: pass no objects.")
        from pipeline.engines.spark import run_spark

        return run_spark(inputs, config, spark=spark, write=write, reducer=reducer, clusterer=clusterer)
    ctx = local_run(config, embedder, reducer=reducer, clusterer=clusterer, nlp=nlp, show_progress=show_progress)
    return run_plan(LOCAL_STEPS, ctx, {"inputs": inputs}, result_of=local_result, write=write)


def local_run(config: RunConfig, embedder: Embedder | None = None, **swaps: Any) -> LocalRun:
    """Load what the local engine's stages use. The taxonomy and a configured NLI model come first: a bad
    file or model fails in seconds, not after the clustering. ``swaps``: the sub-models passed in (reducer,
    clusterer, nlp) and ``show_progress``."""
    taxonomy: Taxonomy | None = None
    nli = None
    if config.classify.enabled:
        taxonomy = load_taxonomy(config.classify.taxonomy)
        if config.classify.nli_model:
            from models.nli import load_nli

            nli = load_nli(config.classify.nli_model, batch_size=config.classify.nli_batch_size)
    embedder = embedder or make_embedder(
        config.embed.model,
        batch_size=config.embed.batch_size,
        device=config.embed.device,
        backend=config.embed.backend,
        cache_dir=config.embed.cache_dir,
    )
    baseline, carried = load_continuity(config, embedder.identity, taxonomy)
    cache = None
    if config.embed.use_cache:
        cache = EmbeddingCache(default_cache_dir(config.embed.cache_dir), embedder.identity)
    return LocalRun(
        config=config,
        embedder=embedder,
        cached=CachedEmbedder(embedder, cache),
        cache=cache,
        taxonomy=taxonomy,
        nli=nli,
        baseline=baseline,
        carried=carried,
        **swaps,
    )
