"""``run_spark``: the stage plan with the Spark engine's steps, and the manifest of a Spark run."""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from pathlib import Path
from typing import Any

from pipeline import rundir
from pipeline.baseline import theme_model
from pipeline.classify import Classified
from pipeline.engines.base import run_plan
from pipeline.engines.sampled import sampled_params
from pipeline.engines.spark import text_steps, theme_steps
from pipeline.engines.spark.context import SparkRun
from pipeline.engines.spark.frames import Scratch, check_supported
from pipeline.engines.spark.partitions import worker_embedder
from pipeline.engines.spark.session import start_session
from pipeline.manifest import manifest, model_ids, new_run_id, sample_note
from pipeline.plan import Step, collect_steps
from pipeline.result import RunResult
from pipeline.store import default_cache_dir
from pipeline.taxonomy import load_taxonomy
from pipeline.trends import Trends

__all__ = ["SPARK_STEPS", "run_spark"]

SPARK_STEPS: dict[str, Step] = collect_steps(text_steps, theme_steps, rundir)


def run_spark(
    inputs: str | Path | Sequence[str | Path],
    config: Any,
    *,
    spark: Any = None,
    write: bool = True,
    reducer: Any = None,
    clusterer: Any = None,
) -> RunResult:
    """Run the pipeline with Spark and return a :class:`pipeline.result.RunResult`.

    ``spark``: an existing SparkSession (default: one for ``config.scale.spark_master``).
    """
    check_supported(config)
    taxonomy = load_taxonomy(config.classify.taxonomy) if config.classify.enabled else None
    session = spark or start_session(config.scale.spark_master, driver_memory=config.scale.spark_driver_memory)
    scratch = Scratch(session, config)
    ctx = SparkRun(
        config=config, session=session, scratch=scratch, taxonomy=taxonomy, reducer=reducer, clusterer=clusterer
    )
    try:
        return run_plan(SPARK_STEPS, ctx, {"inputs": inputs}, result_of=spark_result, write=write)
    finally:
        scratch.close()


def spark_result(ctx: SparkRun, values: MutableMapping[str, Any]) -> RunResult:
    """The tables and the manifest of a Spark run; sets the run id."""
    config, session = ctx.config, ctx.session
    files = values["ingested"].files
    trends: Trends = values["trends"]
    themes = values["themes"]
    classified: Classified = values["classified"].classified
    fit, n_groups, n_clustered = values["clustered"], values["rows"].n_groups, values["classified"].n_clustered
    chosen = values["reduced"].chosen
    feedback = values["feedback"]
    ctx.run_id = config.output.run_id or new_run_id(files, config)
    info = manifest(
        config,
        engine={"name": "spark", "master": session.sparkContext.master, "spark": session.version},
        extra_packages=("pyspark",),
        models=model_ids(config, worker_embedder(config).identity, None),
        classify=classified.params,
        trends={"window": trends.window, "alerts": len(trends.alerts), "query_column": ctx.query_col},
        inputs=files,
        accounting=values["accounting"],
        embedding_cache={"groups": n_groups, "dir": str(default_cache_dir(config.embed.cache_dir))},
        reduce={**values["reduced"].reduced.params, "fitted_on_sample": len(chosen)},
        cluster={
            **sampled_params(
                fit.fitted,
                fitted_texts=len(chosen),
                fitted_rows=len(fit.rows),
                assigned_texts=n_groups - len(chosen),
                assigned_rows=int(n_clustered - len(fit.rows)),
                assigned_themed=int((feedback["assigned"] & (feedback["theme_id"] >= 0)).sum()),
                n_rows=n_clustered,
            ),
            "n_themes": len(themes),
        },
        notes=ctx.notes,
        warnings=[],
        stages=ctx.timings,
    )
    if len(chosen) < n_groups:
        ctx.notes.append(sample_note(n_groups, len(chosen)))
    result = RunResult(
        feedback, themes, values["classified"].classified.categories, info, config, embeddings=None,
        alerts=trends.alerts, trends=trends.stats, trend_counts=trends.counts, queries=values["queries"],
    )  # fmt: skip
    result.theme_model = theme_model(themes, ctx.run_id, None)
    return result
