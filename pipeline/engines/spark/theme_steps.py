"""The Spark engine's theme stages: fit on a sample on the driver, assign and label on the executors,
aggregate with Spark into the local engine's tables (``label_themes``, ``rank_themes``, ``rollup_queries``,
``score_counts``)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from pipeline.classify import label_themes, unclassified
from pipeline.engines.labeling import fit_classifier, taxonomy_caveat, theme_keyword_vectors
from pipeline.engines.sampled import fit_themes, sample_texts
from pipeline.engines.spark.aggregate import row_accounting, spark_trends, theme_sizes, theme_stats, write_feedback
from pipeline.engines.spark.context import Fit, Ingested, Labelled, Sample, SparkRun, Texts
from pipeline.engines.spark.frames import with_fields
from pipeline.engines.spark.partitions import label_partition, row_partition, worker_embedder
from pipeline.reduce import reduce
from pipeline.represent import represent
from pipeline.schemas import FEEDBACK
from pipeline.summarize import rank_themes, rollup_queries
from pipeline.trends import trend_weights

__all__ = ["classify_step", "cluster_step", "reduce_step", "represent_step", "summarize_step", "trends_step"]

log = logging.getLogger(__name__)


def reduce_step(ctx: SparkRun, *, embedded: Any, rows: Texts) -> dict[str, Any]:
    """Collect the stratified sample of distinct texts and reduce it on the driver."""
    from pyspark.sql import functions as F

    config, session, vectors, groups, n_groups = ctx.config, ctx.session, embedded, rows.groups, rows.n_groups
    table = groups.select("group", "weight", "time").orderBy("group").toPandas()
    chosen = sample_texts(table["weight"].to_numpy(np.int64), table["time"], config)
    log.info("Fitting themes on %d of %d distinct texts", len(chosen), n_groups)
    chosen_frame = session.createDataFrame(pd.DataFrame({"group": chosen.astype(np.int64)}))
    picked = vectors.join(F.broadcast(chosen_frame), on="group").orderBy("group").toPandas()
    sample_vectors = np.stack(picked["vector"].to_numpy()).astype(np.float32)
    reduced = reduce(sample_vectors, config.reduce, seed=config.seed, reducer=ctx.reducer)
    return {"reduced": Sample(chosen, chosen_frame, sample_vectors, reduced)}


def cluster_step(ctx: SparkRun, *, embedded: Any, rows: Texts, reduced: Sample) -> dict[str, Any]:
    """Cluster the sample with the local engine's code; the executors assign the rest later."""
    from pyspark.sql import functions as F

    config, cleaned, groups, chosen, chosen_frame = ctx.config, rows.cleaned, rows.groups, reduced.chosen, reduced.frame
    sample_vectors, space = reduced.vectors, reduced.reduced
    sample_rows = (
        cleaned.filter(~F.col("excluded"))
        .join(groups.select("dup_key", "group"), on="dup_key")
        .join(F.broadcast(chosen_frame), on="group")
        .orderBy("_order")
        .toPandas()
    )
    local = np.searchsorted(chosen, sample_rows["group"].to_numpy(np.int64))
    fitted = fit_themes(space, sample_vectors, local, config, clusterer=ctx.clusterer)
    fit = {
        "groups": chosen.astype(np.int64),
        "labels": fitted.labels,
        "reassigned": fitted.reassigned,
        "xy": np.asarray(space.map_2d, np.float32),
        "model": fitted.model,
    }
    if fitted.note:
        ctx.notes.append(fitted.note)
    return {"clustered": Fit(sample_rows, local, fitted, fit)}


def represent_step(ctx: SparkRun, *, rows: Texts, reduced: Sample, clustered: Fit) -> dict[str, Any]:
    """Describe the sampled themes on the driver, with the local engine's ``represent``."""
    config, sample_rows, fitted, local = ctx.config, clustered.rows, clustered.fitted, clustered.local
    sample_vectors = reduced.vectors
    embedder = worker_embedder(config)
    themes = represent(
        sample_rows.reset_index(drop=True), fitted.labels[local], sample_vectors[local], config.represent,
        embedder=embedder, spacy_model=config.clean.spacy_model,
    )  # fmt: skip
    return {"themes": themes}


def classify_step(ctx: SparkRun, *, embedded: Any, rows: Texts, clustered: Fit, themes: pd.DataFrame) -> dict[str, Any]:
    """Assign and label every distinct text per partition, then label the themes from Spark counts."""
    from pyspark.sql import functions as F

    config, session, scratch, taxonomy, query_col = ctx.config, ctx.session, ctx.scratch, ctx.taxonomy, ctx.query_col
    vectors, groups, cleaned, fit = embedded, rows.groups, rows.cleaned, clustered.broadcast
    embedder = worker_embedder(config)
    classifier = fit_classifier(taxonomy, embedder, config) if taxonomy is not None else None
    caveat = taxonomy_caveat(config) if taxonomy is not None else None
    if caveat:
        ctx.notes.append(caveat)
    shared = session.sparkContext.broadcast((fit, classifier))
    labelled = vectors.join(groups.select("group", "clean_text"), on="group").mapInPandas(
        lambda it: label_partition(it, config, *shared.value),
        "group long, theme_id long, theme_id_reassigned long, x float, y float, assigned boolean, "
        "category_id string, category string, severity string, category_confidence double, "
        "categories array<string>, branch string",
    )
    labelled = scratch.keep(labelled, "labelled")
    every = cleaned.join(groups.select("dup_key", "group"), on="dup_key", how="left").join(
        labelled, on="group", how="left"
    )
    added = [("status", "string"), ("_bin", "timestamp"), ("_day", "string")]
    row_schema = with_fields(every.schema, *added, *([("_query", "string")] if query_col else []))
    bin_width = config.trends.bin if config.trends.enabled else None
    every = every.mapInPandas(lambda it: row_partition(it, bin_width, query_col), row_schema)
    every = scratch.keep(every, "rows")
    kept = every.filter(F.col("status") != "excluded")
    n_clustered = kept.count()
    if classifier is not None:
        counts = (
            kept.withColumn("category_id", F.coalesce("category_id", F.lit("")))
            .groupBy("theme_id", "category_id", "severity")
            .agg(F.count("*").alias("rows"), F.sum("category_confidence").alias("confidence_sum"))
            .orderBy("theme_id", "category_id", "severity")
            .toPandas()
        )
        keyword_vectors = theme_keyword_vectors(themes, embedder, config)
        classified = label_themes(themes, counts, classifier, config.classify, keyword_vectors=keyword_vectors)
    else:
        classified = unclassified(0, themes)
    themes = classified.themes
    themes = theme_sizes(themes, kept)
    return {"classified": Labelled(classified, every, kept, n_clustered), "themes": themes}


def trends_step(
    ctx: SparkRun,
    *,
    ingested: Ingested,
    embedded: Any,
    rows: Texts,
    clustered: Fit,
    classified: Labelled,
    themes: pd.DataFrame,
) -> dict[str, Any]:
    """The detectors over per-bin counts aggregated by Spark."""
    config, query_col = ctx.config, ctx.query_col
    trends = spark_trends(classified.clustered, themes, config, query_col)
    ctx.notes.extend(trends.notes)
    if config.trends.novelty and not trends.stats.empty:
        ctx.notes.append("trends.novelty is skipped with --engine spark: new themes come from share and counts.")
    themes = themes.assign(trend_weight=trend_weights(themes, trends).to_numpy())
    return {"trends": trends, "themes": themes}


def summarize_step(
    ctx: SparkRun,
    *,
    ingested: Ingested,
    cleaned: Any,
    rows: Texts,
    clustered: Fit,
    classified: Labelled,
    themes: pd.DataFrame,
) -> dict[str, Any]:
    """Rank the themes from Spark aggregates; feedback.parquet streamed from Spark's part files."""
    from pyspark.sql import functions as F

    config, query_col, scratch, meta_columns = ctx.config, ctx.query_col, ctx.scratch, ingested.meta_columns
    kept, n_clustered, every = classified.clustered, classified.n_clustered, classified.rows
    stats = theme_stats(kept, query_col)
    themes = rank_themes(themes, stats, n_clustered, config.summarize, with_queries=query_col is not None)
    query_table = None
    if query_col:
        qcounts = (
            kept.filter(F.col("_query").isNotNull() & (F.col("_query") != ""))
            .select(
                F.col("_query").alias("query"), "theme_id", "category",
                F.coalesce("branch", F.lit("")).alias("branch"), "severity",
            )
            .groupBy("query", "theme_id", "category", "branch", "severity")
            .agg(F.count("*").alias("rows"))
            .toPandas()
        )  # fmt: skip
        query_table = rollup_queries(qcounts)
    accounting = row_accounting(every)
    feedback_file = scratch.dir / "feedback.parquet"
    feedback_columns = [*FEEDBACK, *meta_columns]
    write_feedback(every, feedback_columns, meta_columns, feedback_file, scratch)
    feedback = pd.read_parquet(feedback_file)
    ctx.feedback_file = feedback_file
    return {"themes": themes, "feedback": feedback, "accounting": accounting, "queries": query_table}
