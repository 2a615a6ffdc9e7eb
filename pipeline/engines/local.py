"""The local engine: the plan's stages run in this process, on pandas and NumPy.

Each step is a thin adapter from the plan's named values to a stage function of ``pipeline.<stage>``;
the branches that differ by run (themes fitted on a sample of a large export, a baseline run to
continue) live here, so the stage modules stay plain functions.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline import rundir
from pipeline.baseline import theme_model
from pipeline.classify import Classified, classify, unclassified
from pipeline.clean import clean
from pipeline.cluster import Clustered, cluster, cluster_texts
from pipeline.embed import Embedded, embed
from pipeline.engines.continuity import cluster_with_baseline
from pipeline.engines.labeling import fit_classifier, query_column, taxonomy_caveat, theme_keyword_vectors
from pipeline.engines.local_context import Clustering, LocalRun, Reduction, Rows, Sample
from pipeline.engines.local_tables import feedback_table, novelty_vectors, work_dir
from pipeline.engines.sampled import (
    assign_rest,
    first_rows,
    fit_themes,
    sample_texts,
    sampled_params,
    sizes_over_all_rows,
)
from pipeline.ingest import Ingested, ingest, ingest_frame
from pipeline.manifest import manifest, model_ids, new_run_id, row_accounting, sample_note
from pipeline.plan import Step, collect_steps
from pipeline.reduce import reduce
from pipeline.reduce_cache import cached_reduce
from pipeline.represent import represent
from pipeline.result import RunResult
from pipeline.review.curation import apply_curation, curated_labels, merge_labels
from pipeline.schemas import CLEANED, INGESTED
from pipeline.store import default_cache_dir, file_sha256, release_pages
from pipeline.summarize import query_rollup, summarize
from pipeline.trends import Trends, continue_alerts, detect, no_trends, trend_weights

__all__ = ["LOCAL_STEPS", "LocalRun", "local_result"]

log = logging.getLogger(__name__)


def ingest_step(ctx: LocalRun, *, inputs: Any) -> dict[str, Any]:
    if isinstance(inputs, pd.DataFrame):
        return {"ingested": ingest_frame(inputs, ctx.config.ingest)}
    paths = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    ingested = ingest(paths, ctx.config.ingest)
    for info in ingested.files:
        info["sha256"] = file_sha256(Path(info["path"]))
    return {"ingested": ingested}


def clean_step(ctx: LocalRun, *, ingested: Ingested) -> dict[str, Any]:
    cache_dir = default_cache_dir(ctx.config.embed.cache_dir)
    cleaned = clean(ingested.rows, ctx.config.clean, nlp=ctx.nlp, cache_dir=cache_dir, show_progress=ctx.show_progress)
    ingested.rows = ingested.rows.iloc[:0]  # the cleaned table carries every column on: free the copy
    return {"cleaned": cleaned}


def embed_step(ctx: LocalRun, *, cleaned: pd.DataFrame) -> dict[str, Any]:
    config = ctx.config
    n_texts = int(cleaned.loc[~cleaned["excluded"], "dup_key"].nunique())
    embedded = embed(
        cleaned,
        ctx.cached,
        show_progress=ctx.show_progress,
        batch_size=config.scale.batch_size,
        memmap_dir=work_dir(config) if n_texts >= config.scale.memmap_min_texts else None,
    )
    ctx.embedding_cache = {**embedded.stats, "computed": ctx.cached.misses, "from_cache": ctx.cached.hits}
    valid = embedded.row_group >= 0
    n_groups = len(embedded.group_first_row)
    size = config.scale.sample_size
    sampled = ctx.baseline is None and size is not None and n_groups > size
    rows = Rows(
        table=cleaned.loc[valid, _row_columns(cleaned)].reset_index(drop=True),
        valid=valid,
        group=embedded.row_group[valid],
        n_groups=n_groups,
        sampled=sampled,
        vectors=None if sampled else embedded.row_vectors(),
    )
    return {"embedded": embedded, "rows": rows}


#: The cleaned columns the stages after embed read from :attr:`Rows.table` (the feedback table is built from
#: the cleaned table itself): copying only these keeps a million rows' raw texts and ids in memory once, not twice.
_ROW_COLUMNS = ("time", "clean_text", "dup_key", "lemmas", "phrases")


def _row_columns(cleaned: pd.DataFrame) -> list[str]:
    meta = [c for c in cleaned.columns if c not in INGESTED and c not in CLEANED]  # a query column is one of them
    return [*_ROW_COLUMNS, *meta]


def _reduce(ctx: LocalRun, vectors: np.ndarray) -> Any:
    """The reduce fit, from the on-disk cache when the default reducer made it before."""
    config = ctx.config
    if ctx.reducer is not None:
        return reduce(vectors, config.reduce, seed=config.seed, reducer=ctx.reducer)
    cache_dir = default_cache_dir(config.embed.cache_dir)
    return cached_reduce(vectors, config.reduce, seed=config.seed, cache_dir=cache_dir)


def reduce_step(ctx: LocalRun, *, embedded: Embedded, rows: Rows) -> dict[str, Any]:
    config = ctx.config
    if not rows.sampled:
        reduced = None
        if rows.n_groups >= config.cluster.min_rows:
            reduced = _reduce(ctx, embedded.vectors)
        return {"reduced": Reduction(reduced, None)}
    # Large export: reduce, cluster and represent a sample, then assign every other text.
    weights = np.bincount(rows.group, minlength=rows.n_groups)
    group_times = rows.table["time"].iloc[first_rows(rows.group, rows.n_groups)]
    groups = sample_texts(weights, group_times, config)
    log.info("Fitting themes on a sample of %d of %d distinct texts", len(groups), rows.n_groups)
    local = np.full(rows.n_groups, -1, np.int64)
    local[groups] = np.arange(len(groups))
    sample = Sample(groups, local, local[rows.group] >= 0, np.asarray(embedded.vectors[groups], np.float32))
    release_pages(embedded.vectors)  # gathering the sample faulted in most of a memory-mapped file's pages
    reduced = _reduce(ctx, sample.vectors)
    return {"reduced": Reduction(reduced, sample)}


def cluster_step(ctx: LocalRun, *, embedded: Embedded, rows: Rows, reduced: Reduction) -> dict[str, Any]:
    config, fit = ctx.config, reduced.reduced
    if reduced.sample is not None and fit is not None:
        sample = reduced.sample
        fitted = fit_themes(fit, sample.vectors, sample.local[rows.group[sample.in_sample]], config,
                            clusterer=ctx.clusterer)  # fmt: skip
        labels, relabels, xy = assign_rest(
            embedded.vectors, sample.groups, fit, fitted, config.scale.batch_size, show_progress=ctx.show_progress
        )
        row_labels = labels[rows.group]
        params = sampled_params(
            fitted,
            fitted_texts=len(sample.groups),
            fitted_rows=int(sample.in_sample.sum()),
            assigned_texts=rows.n_groups - len(sample.groups),
            assigned_rows=int((~sample.in_sample).sum()),
            assigned_themed=int(((row_labels >= 0) & ~sample.in_sample).sum()),
            n_rows=len(rows.group),
        )
        clustered = Clustered(
            row_labels, relabels[rows.group], np.where(row_labels >= 0, 1.0, 0.0), params, note=fitted.note
        )
        if clustered.note:
            ctx.notes.append(clustered.note)
        ctx.notes.append(sample_note(rows.n_groups, len(sample.groups)))
        return {"clustered": Clustering(clustered, xy[rows.group], ~sample.in_sample, None)}
    row_vectors = _row_vectors(rows)
    points = fit.cluster_space[rows.group] if fit is not None else row_vectors
    new_theme_ids = None
    if ctx.baseline is None:
        clustered = _cluster(points, row_vectors, fit, embedded.vectors, rows.group, config, ctx.clusterer)
    else:
        clustered, new_theme_ids = cluster_with_baseline(
            points, row_vectors, embedded.vectors, rows.group, ctx.baseline, config, ctx.clusterer
        )
    if ctx.carried is not None:  # themes the baseline's reviewers merged share one id
        clustered = merge_labels(clustered, ctx.carried.curation)
    if clustered.note:
        ctx.notes.append(clustered.note)
    coords = fit.map_2d[rows.group] if fit is not None else np.full((int(rows.valid.sum()), 2), np.nan)
    return {"clustered": Clustering(clustered, coords, np.zeros(len(rows.group), bool), new_theme_ids)}


def _row_vectors(rows: Rows) -> np.ndarray:
    if rows.vectors is None:
        raise RuntimeError("Row vectors are only kept when the themes are not fitted on a sample.")
    return rows.vectors


def _cluster(
    points: np.ndarray,
    row_vectors: np.ndarray,
    reduced: Any,
    group_vectors: np.ndarray,
    row_group: np.ndarray,
    config: Any,
    clusterer: Any,
) -> Clustered:
    """HDBSCAN over distinct texts (default) or over rows, per ``cluster.points``."""
    n_groups = len(group_vectors)
    if config.cluster.points == "rows":
        return cluster(points, row_vectors, config.cluster, n_distinct=n_groups, clusterer=clusterer)
    group_points = reduced.cluster_space if reduced is not None else group_vectors
    return cluster_texts(group_points, group_vectors, row_group, config.cluster, clusterer=clusterer)


def represent_step(ctx: LocalRun, *, rows: Rows, reduced: Reduction, clustered: Clustering) -> dict[str, Any]:
    labels, sample = clustered.clustered.labels, reduced.sample
    reserved = curated_labels(ctx.carried.curation if ctx.carried is not None else None)
    if sample is None:
        themes = represent(
            rows.table,
            labels,
            _row_vectors(rows),
            ctx.config.represent,
            embedder=ctx.cached,
            spacy_model=ctx.config.clean.spacy_model,
            reserved_labels=reserved,
        )
        return {"themes": themes}
    inside = sample.in_sample
    themes = represent(
        rows.table.loc[inside].reset_index(drop=True),
        labels[inside],
        sample.vectors[sample.local[rows.group[inside]]],
        ctx.config.represent,
        embedder=ctx.cached,
        spacy_model=ctx.config.clean.spacy_model,
        reserved_labels=reserved,
    )
    return {"themes": sizes_over_all_rows(themes, labels, rows.group)}


def classify_step(
    ctx: LocalRun, *, embedded: Embedded, rows: Rows, clustered: Clustering, themes: pd.DataFrame
) -> dict[str, Any]:
    """Fit the taxonomy prototypes with the run's embedder and label the rows and themes."""
    labels = clustered.clustered.labels
    if ctx.taxonomy is None or len(rows.table) == 0:
        classified = unclassified(len(rows.table), themes)
    else:
        extra = ctx.carried.examples if ctx.carried is not None else None  # rows labeled in the baseline's review
        classifier = fit_classifier(ctx.taxonomy, ctx.cached, ctx.config, extra=extra)
        caveat = taxonomy_caveat(ctx.config)
        if caveat:
            ctx.notes.append(caveat)
        classified = classify(
            rows.table,
            embedded.vectors,
            themes,
            labels,
            classifier,
            ctx.config.classify,
            keyword_vectors=theme_keyword_vectors(themes, ctx.cached, ctx.config),
            nli=ctx.nli,
            row_group=rows.group,
            show_progress=ctx.show_progress,
        )
    return {"classified": classified, "themes": classified.themes}


def trends_step(
    ctx: LocalRun,
    *,
    ingested: Ingested,
    embedded: Embedded,
    rows: Rows,
    clustered: Clustering,
    classified: Classified,
    themes: pd.DataFrame,
) -> dict[str, Any]:
    config = ctx.config
    if not config.trends.enabled:
        trends = no_trends([])
    else:
        query_col = query_column(config, ingested.meta_columns)
        frame = rows.table[["time", "clean_text", *([query_col] if query_col else [])]].reset_index(drop=True)
        frame = frame.assign(
            theme_id=clustered.clustered.labels,
            theme_id_reassigned=clustered.clustered.reassigned,
            category_id=classified.rows["category_id"].to_numpy(),
            category=classified.rows["category"].to_numpy(),
            severity=classified.rows["severity"].to_numpy(),
        )
        trends = detect(
            frame,
            themes,
            config.trends,
            severity_weights=config.classify.severity_weights,
            new_theme_ids=clustered.new_theme_ids,
            query_col=query_col,
            vectors=novelty_vectors(rows.vectors, embedded.vectors, rows.group, config),
        )
        trends.alerts = continue_alerts(trends.alerts, ctx.baseline.alerts if ctx.baseline is not None else None)
    ctx.notes.extend(trends.notes)
    return {"trends": trends, "themes": themes.assign(trend_weight=trend_weights(themes, trends).to_numpy())}


def summarize_step(
    ctx: LocalRun,
    *,
    ingested: Ingested,
    cleaned: pd.DataFrame,
    rows: Rows,
    clustered: Clustering,
    classified: Classified,
    themes: pd.DataFrame,
) -> dict[str, Any]:
    config, taxonomy, found = ctx.config, ctx.taxonomy, clustered.clustered
    query_col = query_column(config, ingested.meta_columns)
    queries = rows.table[query_col] if query_col else None
    themes = summarize(themes, found.labels, found.reassigned, rows.table["time"], config.summarize, queries=queries)
    if ctx.carried is not None:
        themes = apply_curation(themes, ctx.carried.curation, taxonomy, config.classify.severity_weights)
    feedback = feedback_table(
        cleaned,
        ingested.meta_columns,
        rows.valid,
        found.labels,
        found.reassigned,
        clustered.coords,
        classified.rows,
        assigned=clustered.assigned,
    )
    query_table = None
    if query_col:
        branches = classified.rows["category_id"].map(
            lambda c: taxonomy.branch_of(c) if taxonomy is not None and isinstance(c, str) else None
        )
        query_table = query_rollup(
            rows.table[[query_col]].assign(
                theme_id=found.labels,
                category=classified.rows["category"].to_numpy(),
                severity=classified.rows["severity"].to_numpy(),
                branch=branches.to_numpy(),
            ),
            query_col,
        )
    return {"themes": themes, "feedback": feedback, "accounting": row_accounting(feedback), "queries": query_table}


def local_result(ctx: LocalRun, values: MutableMapping[str, Any]) -> RunResult:
    """The tables and the manifest of a local run; sets the run id."""
    config = ctx.config
    ingested: Ingested = values["ingested"]
    trends: Trends = values["trends"]
    themes: pd.DataFrame = values["themes"]
    classified: Classified = values["classified"]
    clustered: Clustered = values["clustered"].clustered
    info = manifest(
        config,
        models=model_ids(config, ctx.embedder.identity, ctx.nli.identity if ctx.nli is not None else None),
        classify=classified.params,
        trends={
            "window": trends.window,
            "alerts": len(trends.alerts),
            "query_column": query_column(config, ingested.meta_columns),
        },
        inputs=ingested.files,
        accounting=values["accounting"],
        embedding_cache={**ctx.embedding_cache, "dir": str(ctx.cache.dir) if ctx.cache else None},
        reduce=values["reduced"].params,
        cluster={**clustered.params, "n_themes": len(themes)},
        notes=ctx.notes,
        warnings=ingested.warnings,
        stages=ctx.timings,
    )
    result = RunResult(
        values["feedback"],
        themes,
        classified.categories,
        info,
        config,
        embeddings=values["embedded"].vectors,
        alerts=trends.alerts,
        trends=trends.stats,
        trend_counts=trends.counts,
        queries=values["queries"],
    )
    ctx.run_id = config.output.run_id or new_run_id(ingested.files, config)
    result.theme_model = theme_model(themes, ctx.run_id, ctx.baseline)
    if ctx.baseline is not None:
        info["baseline"] = {"run_dir": str(ctx.baseline.run_dir), "run_id": ctx.baseline.run_id}
    if ctx.carried is not None:
        info["review"] = ctx.carried.summary()
        result.carried = ctx.carried
    return result


LOCAL_STEPS: dict[str, Step] = collect_steps(sys.modules[__name__], rundir)
