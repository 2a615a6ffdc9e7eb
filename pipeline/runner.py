"""The runner: composes the stages in order, times each, and writes the run directory.

    ingest → clean → embed → reduce → cluster → represent → classify → summarize → report

It reads like the flow above; each stage is a plain function from ``pipeline.<stage>``. The
embedder, reducer, clusterer and spaCy pipeline can be swapped through the config or passed in
as objects (like BERTopic's sub-models).
"""

from __future__ import annotations

import hashlib
import logging
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from models.embedding import Embedder, make_embedder
from pipeline import __version__
from pipeline._profile import peak_rss_mb, stage
from pipeline.baseline import Baseline, assign, load_baseline, match_clusters, theme_model
from pipeline.classify import Classified, PrototypeClassifier, classify, load_examples, unclassified
from pipeline.clean import clean
from pipeline.cluster import Clustered, cluster, cluster_texts, theme_centroids
from pipeline.config import RunConfig, load_config
from pipeline.embed import CachedEmbedder, embed
from pipeline.ingest import Ingested, ingest, ingest_frame
from pipeline.reduce import reduce
from pipeline.report import insights_markdown, report_html
from pipeline.represent import represent
from pipeline.review.curation import Carried, apply_curation, carry_forward, merge_labels
from pipeline.schemas import FEEDBACK
from pipeline.store import (
    EmbeddingCache,
    RunStore,
    default_cache_dir,
    file_sha256,
    package_versions,
    write_csv,
    write_json,
    write_parquet,
    write_text,
)
from pipeline.summarize import RANKING_FORMULA, query_rollup, summarize
from pipeline.taxonomy import Taxonomy, load_taxonomy
from pipeline.trends import Trends, alerts_json, continue_alerts, detect, no_trends, trend_weights

__all__ = ["RunResult", "run"]

log = logging.getLogger(__name__)

Inputs: TypeAlias = "str | Path | pd.DataFrame | Sequence[str | Path]"


@dataclass
class RunResult:
    """What a run produced: the tables as DataFrames, the manifest, and where they were written."""

    feedback: pd.DataFrame
    themes: pd.DataFrame
    categories: pd.DataFrame
    manifest: dict[str, Any]
    config: RunConfig
    run_dir: Path | None = None
    embeddings: np.ndarray | None = field(default=None, repr=False)
    alerts: pd.DataFrame = field(default_factory=pd.DataFrame)
    trends: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    trend_counts: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    queries: pd.DataFrame | None = field(default=None, repr=False)
    theme_model: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    carried: Carried | None = field(default=None, repr=False)  # the baseline's curation and reviewed examples

    @property
    def accounting(self) -> dict[str, Any]:
        return dict(self.manifest["accounting"])

    def summary(self, top_n: int = 10) -> str:
        """A few plain lines: row accounting and the top themes."""
        acc = self.accounting
        lines = [
            f"rows in {acc['rows_in']}: themed {acc['themed']}, outliers {acc['outliers']}"
            f" ({acc['outliers_reassigned']} reassignable), excluded {acc['excluded']}",
        ]
        if acc["excluded_by_reason"]:
            lines.append("excluded by reason: " + ", ".join(f"{k} {v}" for k, v in acc["excluded_by_reason"].items()))
        lines.extend(f"note: {note}" for note in self.manifest["notes"])
        if len(self.alerts):
            lines.append(f"alerts ({len(self.alerts)}; `insights triage` shows them with verbatims):")
            lines.extend(f"  ! {alert_line(a)}" for _, a in self.alerts.head(5).iterrows())
        lines.append("themes:")
        for _, row in self.themes.head(top_n).iterrows():
            category = f" · {row['category']} ({row['severity']})" if pd.notna(row.get("category_id")) else ""
            lines.append(
                f"{int(row['rank']):>3}. [{int(row['theme_id'])}] {row['label']} — {row['size']} ({row['share']:.1%})"
                f"{category}"
            )
        if self.run_dir is not None:
            lines.append(f"written to {self.run_dir}")
            if (self.run_dir / "report.html").exists():
                lines.append(f"open the report: {(self.run_dir / 'report.html').resolve().as_uri()} (works offline)")
            lines.append(f"browse every row: insights serve {self.run_dir}  (then open http://127.0.0.1:8765/)")
        return "\n".join(lines)


def alert_line(alert: pd.Series) -> str:
    """One line per alert: what, where, how much."""
    growth = alert["growth"]
    grew = "new" if not np.isfinite(growth) else f"{growth:.1f}x"
    what = f"theme {int(alert['theme_id'])} {alert['label']}" if alert["kind"] == "theme" else alert["label"]
    node = f" · {alert['category']}" if alert["kind"] == "theme" and pd.notna(alert["category_id"]) else ""
    return (
        f"[{alert['severity']}] {what}{node}: {alert['current_count']} now vs "
        f"{alert['baseline_per_bin']:.1f}/bin before ({grew}; {', '.join(alert['detectors'])}; "
        + (
            "opened now)"
            if alert["status"] == "new"
            else f"continuing since {str(alert['first_seen'])[:10]}, run {alert['runs']})"
        )
    )


QUERY_NAMES = ("query", "searchquery", "searchterm", "searchterms", "search", "keyword", "keywords", "q")


def _query_column(config: RunConfig, meta_columns: list[str]) -> str | None:
    """The search-query column: the configured one, or a metadata column with a common name."""
    if config.ingest.query_col:
        if config.ingest.query_col not in meta_columns:
            from pipeline.errors import ConfigError

            raise ConfigError(
                f"ingest.query_col {config.ingest.query_col!r} is not among the kept columns {meta_columns}."
            )
        return config.ingest.query_col
    normalized = {"".join(ch for ch in c.lower() if ch.isalnum()): c for c in meta_columns}
    return next((normalized[n] for n in QUERY_NAMES if n in normalized), None)


def _run_id(files: list[dict[str, Any]], config: RunConfig) -> str:
    digest = hashlib.sha256(config.model_dump_json().encode())
    for f in files:
        digest.update(str(f.get("sha256", f["path"])).encode())
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + digest.hexdigest()[:6]


def _feedback_table(
    cleaned: pd.DataFrame,
    meta_columns: list[str],
    valid: np.ndarray,
    labels: np.ndarray,
    reassigned: np.ndarray,
    coords: np.ndarray,
    row_labels: pd.DataFrame,
) -> pd.DataFrame:
    """The per-row output table: every input row, in input order."""
    n = len(cleaned)
    theme = np.full(n, -1, np.int64)
    theme_re = np.full(n, -1, np.int64)
    xy = np.full((n, 2), np.nan, np.float32)
    theme[valid] = labels
    theme_re[valid] = reassigned
    xy[valid] = coords
    status = np.where(~cleaned["excluded"].to_numpy(), np.where(theme >= 0, "themed", "outlier"), "excluded")
    out = cleaned[["row_id", "source_file", "source_row", "text", "clean_text", "language"]].copy()
    out["status"] = status
    out["exclusion_reason"] = cleaned["exclusion_reason"]
    out["duplicate_of"] = cleaned["duplicate_of"]
    out["truncated"] = cleaned["truncated"]
    out["theme_id"] = theme
    out["theme_id_reassigned"] = theme_re
    positions = np.flatnonzero(valid)
    defaults: dict[str, Any] = {"category_id": None, "category": "", "severity": "", "category_confidence": np.nan}
    for col, default in defaults.items():
        values = np.full(n, default, dtype=object)
        values[positions] = row_labels[col].to_numpy(dtype=object)
        out[col] = values
    out["category_confidence"] = out["category_confidence"].astype(float)
    lists: list[list[str]] = [[] for _ in range(n)]
    for pos, cats in zip(positions, row_labels["categories"], strict=True):
        lists[pos] = list(cats)
    out["categories"] = lists
    out["x"] = xy[:, 0]
    out["y"] = xy[:, 1]
    out["time"] = cleaned["time"]
    for col in meta_columns:
        out[col] = cleaned[col]
    return out[[*FEEDBACK, *meta_columns]]


def _classify(
    rows: pd.DataFrame,
    group_vectors: np.ndarray,
    row_group: np.ndarray,
    themes: pd.DataFrame,
    labels: np.ndarray,
    embedder: CachedEmbedder,
    config: RunConfig,
    taxonomy: Taxonomy | None,
    nli: Any,
    extra: pd.DataFrame | None = None,
) -> Classified:
    """Fit the taxonomy prototypes with the run's embedder and label the rows and themes."""
    if taxonomy is None or len(rows) == 0:
        return unclassified(len(rows), themes)
    examples = load_examples(config.classify.examples_file, taxonomy) if config.classify.examples_file else None
    if extra is not None and len(extra):  # labeled examples from the baseline's review
        examples = pd.concat([examples, extra], ignore_index=True) if examples is not None else extra
    classifier = PrototypeClassifier(
        taxonomy,
        embedder,
        extra_examples=examples,
        lexicon_boost=config.classify.lexicon_boost,
        recall_weight=config.classify.recall_weight,
    ).fit()
    keyword_vectors = None
    if len(themes) and config.classify.keyword_weight > 0:
        keyword_vectors = embedder.encode([", ".join(map(str, kw)) for kw in themes["keywords"]])
    return classify(
        rows,
        group_vectors,
        themes,
        labels,
        classifier,
        config.classify,
        keyword_vectors=keyword_vectors,
        nli=nli,
        row_group=row_group,
    )


def _cluster(
    points: np.ndarray,
    row_vectors: np.ndarray,
    reduced: Any,
    group_vectors: np.ndarray,
    row_group: np.ndarray,
    config: RunConfig,
    clusterer: Any,
) -> Clustered:
    """HDBSCAN over distinct texts (default) or over rows, per ``cluster.points``."""
    n_groups = len(group_vectors)
    if config.cluster.points == "rows":
        return cluster(points, row_vectors, config.cluster, n_distinct=n_groups, clusterer=clusterer)
    group_points = reduced.cluster_space if reduced is not None else group_vectors
    return cluster_texts(group_points, group_vectors, row_group, config.cluster, clusterer=clusterer)


def _cluster_with_baseline(
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


def _trends(
    rows: pd.DataFrame,
    labels: np.ndarray,
    classified: Classified,
    themes: pd.DataFrame,
    config: RunConfig,
    query_col: str | None,
    *,
    new_theme_ids: set[int] | None = None,
    previous_alerts: pd.DataFrame | None = None,
    vectors: np.ndarray | None = None,
) -> Trends:
    if not config.trends.enabled:
        return no_trends([])
    frame = rows[["time", "clean_text", *([query_col] if query_col else [])]].reset_index(drop=True)
    frame = frame.assign(
        theme_id=labels,
        category_id=classified.rows["category_id"].to_numpy(),
        category=classified.rows["category"].to_numpy(),
        severity=classified.rows["severity"].to_numpy(),
    )
    trends = detect(
        frame,
        themes,
        config.trends,
        severity_weights=config.classify.severity_weights,
        new_theme_ids=new_theme_ids,
        query_col=query_col,
        vectors=vectors,
    )
    trends.alerts = continue_alerts(trends.alerts, previous_alerts)
    return trends


def _accounting(feedback: pd.DataFrame) -> dict[str, Any]:
    status = feedback["status"].value_counts()
    acc: dict[str, Any] = {
        "rows_in": len(feedback),
        "themed": int(status.get("themed", 0)),
        "outliers": int(status.get("outlier", 0)),
        "excluded": int(status.get("excluded", 0)),
        "excluded_by_reason": dict(
            Counter(feedback.loc[feedback["status"] == "excluded", "exclusion_reason"].astype(str)).most_common()
        ),
        "outliers_reassigned": int(((feedback["status"] == "outlier") & (feedback["theme_id_reassigned"] >= 0)).sum()),
        "duplicates": int(feedback["duplicate_of"].notna().sum()),
        "truncated": int(feedback["truncated"].sum()),
    }
    if acc["rows_in"] != acc["themed"] + acc["outliers"] + acc["excluded"]:
        raise RuntimeError(f"Row accounting broken: {acc}")  # an internal error, never the user's
    return acc


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
) -> RunResult:
    """Run the whole pipeline on files (or a DataFrame) and return the tables.

    ``config`` or ``config_file`` + ``overrides`` (dotted keys, e.g. ``{"cluster.min_cluster_size": 20}``)
    set the parameters. With ``write=True`` the artifacts go to ``<output.out_dir>/<run_id>/``.
    """
    if config is None:
        config = load_config(config_file, overrides)
    elif overrides:
        config = config.with_overrides(overrides)
    timings: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    # The taxonomy and a configured NLI model are loaded first: a bad file or model fails in seconds,
    # not after the clustering.
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
    baseline = load_baseline(config.trends.baseline, embedder.identity) if config.trends.baseline else None
    carried = None
    if baseline is not None:
        carried = carry_forward(baseline.run_dir, {n.id for n in taxonomy.leaves} if taxonomy else set())

    with stage("ingest", timings):
        if isinstance(inputs, pd.DataFrame):
            ingested: Ingested = ingest_frame(inputs, config.ingest)
        else:
            paths = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
            ingested = ingest(paths, config.ingest)
            for info in ingested.files:
                info["sha256"] = file_sha256(Path(info["path"]))

    with stage("clean", timings):
        cleaned = clean(ingested.rows, config.clean, nlp=nlp)

    with stage("embed", timings):
        cache = None
        if config.embed.use_cache:
            cache = EmbeddingCache(config.embed.cache_dir or default_cache_dir(), embedder.identity)
        cached = CachedEmbedder(embedder, cache)
        embedded = embed(cleaned, cached, show_progress=show_progress)
        embed_stats = {**embedded.stats, "computed": cached.misses, "from_cache": cached.hits}

    valid = embedded.row_group >= 0
    row_group = embedded.row_group[valid]  # each clustered row's distinct-text group
    n_groups = len(embedded.group_first_row)
    row_vectors = embedded.row_vectors()
    with stage("reduce", timings):
        if n_groups >= config.cluster.min_rows:
            reduced = reduce(embedded.vectors, config.reduce, seed=config.seed, reducer=reducer)
        else:
            reduced = None

    with stage("cluster", timings):
        points = reduced.cluster_space[row_group] if reduced is not None else row_vectors
        new_theme_ids: set[int] | None = None
        if baseline is None:
            clustered = _cluster(points, row_vectors, reduced, embedded.vectors, row_group, config, clusterer)
        else:
            clustered, new_theme_ids = _cluster_with_baseline(
                points, row_vectors, embedded.vectors, row_group, baseline, config, clusterer
            )
        if carried is not None:
            clustered = merge_labels(clustered, carried.curation)
        if clustered.note:
            notes.append(clustered.note)

    with stage("represent", timings):
        clustered_rows = cleaned.loc[valid].reset_index(drop=True)
        themes = represent(clustered_rows, clustered.labels, row_vectors, config.represent, embedder=cached)

    extra = carried.examples if carried is not None else None  # rows people labeled in the baseline's review
    with stage("classify", timings):
        classified = _classify(
            clustered_rows, embedded.vectors, row_group, themes, clustered.labels, cached, config, taxonomy, nli, extra
        )
        themes = classified.themes

    query_col = _query_column(config, ingested.meta_columns)
    with stage("trends", timings):
        trends = _trends(
            clustered_rows,
            clustered.labels,
            classified,
            themes,
            config,
            query_col,
            new_theme_ids=new_theme_ids,
            previous_alerts=baseline.alerts if baseline is not None else None,
            vectors=row_vectors,
        )
        notes.extend(trends.notes)
        themes = themes.assign(trend_weight=trend_weights(themes, trends).to_numpy())

    with stage("summarize", timings):
        queries = clustered_rows[query_col] if query_col else None
        themes = summarize(
            themes, clustered.labels, clustered.reassigned, clustered_rows["time"], config.summarize, queries=queries
        )
        if carried is not None:
            themes = apply_curation(themes, carried.curation, taxonomy, config.classify.severity_weights)
        coords = reduced.map_2d[row_group] if reduced is not None else np.full((int(valid.sum()), 2), np.nan)
        feedback = _feedback_table(
            cleaned, ingested.meta_columns, valid, clustered.labels, clustered.reassigned, coords, classified.rows
        )
        accounting = _accounting(feedback)
        query_table = None
        if query_col:
            branches = classified.rows["category_id"].map(
                lambda c: taxonomy.branch_of(c) if taxonomy is not None and isinstance(c, str) else None
            )
            query_table = query_rollup(
                clustered_rows[[query_col]].assign(
                    theme_id=clustered.labels,
                    category=classified.rows["category"].to_numpy(),
                    severity=classified.rows["severity"].to_numpy(),
                    branch=branches.to_numpy(),
                ),
                query_col,
            )

    manifest: dict[str, Any] = {
        "tool": "feedback-insights",
        "version": __version__,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "config": config.model_dump(mode="json"),
        "packages": package_versions(),
        "models": {
            "embedding": embedder.identity,
            "spacy": config.clean.spacy_model,
            "language_id": "py3langid" if config.clean.detect_language else None,
            "nli": nli.identity if nli is not None else None,
        },
        "classify": classified.params,
        "trends": {
            "window": trends.window,
            "alerts": len(trends.alerts),
            "query_column": query_col,
        },
        "inputs": ingested.files,
        "accounting": accounting,
        "ranking_formula": RANKING_FORMULA,
        "embedding_cache": {**embed_stats, "dir": str(cache.dir) if cache else None},
        "reduce": reduced.params if reduced is not None else None,
        "cluster": {**clustered.params, "n_themes": len(themes)},
        "notes": notes,
        "warnings": {"count": len(ingested.warnings), "first": ingested.warnings[:50]},
        "stages": timings,
    }
    result = RunResult(
        feedback,
        themes,
        classified.categories,
        manifest,
        config,
        embeddings=embedded.vectors,
        alerts=trends.alerts,
        trends=trends.stats,
        trend_counts=trends.counts,
        queries=query_table,
    )
    run_id = config.output.run_id or _run_id(ingested.files, config)
    result.theme_model = theme_model(themes, run_id, baseline)
    if baseline is not None:
        manifest["baseline"] = {"run_dir": str(baseline.run_dir), "run_id": baseline.run_id}
    if carried is not None:
        manifest["review"] = carried.summary()
        result.carried = carried
    if write:
        result.run_dir = _write(result, config, run_id, timings, notes)
    return result


def _write(
    result: RunResult, config: RunConfig, run_id: str, timings: dict[str, dict[str, Any]], notes: list[str]
) -> Path:
    store = RunStore(config.output.out_dir, run_id, force=config.output.force)
    try:
        with stage("report", timings):
            write_parquet(result.feedback, store.path("feedback.parquet"))
            write_parquet(result.themes, store.path("themes.parquet"))
            write_csv(result.themes.drop(columns=["centroid"]), store.path("themes.csv"))
            write_parquet(result.categories, store.path("categories.parquet"))
            write_csv(result.categories, store.path("categories.csv"))
            write_parquet(result.theme_model, store.path("theme_model.parquet"))
            write_parquet(result.alerts, store.path("alerts.parquet"))
            write_text(alerts_json(result.alerts) + "\n", store.path("alerts.json"))
            if len(result.trends):
                write_parquet(result.trends.astype({"key": str}), store.path("trends.parquet"))
                write_parquet(result.trend_counts.astype({"key": str}), store.path("trend_counts.parquet"))
            if result.queries is not None:
                write_parquet(result.queries, store.path("queries.parquet"))
                write_csv(result.queries, store.path("queries.csv"))
            acc = result.manifest["accounting"]
            write_text(
                insights_markdown(
                    result.themes,
                    acc,
                    top_n=config.summarize.top_n,
                    notes=notes,
                    categories=result.categories,
                    alerts=result.alerts,
                    queries=result.queries,
                ),
                store.path("insights.md"),
            )
            if config.output.write_report:
                page = report_html(
                    result.themes,
                    acc,
                    run_id=run_id,
                    notes=notes,
                    feedback=result.feedback,
                    alerts=result.alerts,
                    trends=result.trends,
                    run_dir=str(Path(config.output.out_dir) / run_id),
                )
                write_text(page, store.path("report.html"))
        if result.carried is not None:
            result.carried.write(store.path("."))
        result.manifest["run_id"] = run_id
        result.manifest["peak_rss_mb"] = round(peak_rss_mb(), 1)
        write_json(result.manifest, store.path("manifest.json"))
        return store.commit()
    except BaseException:
        store.abandon()
        raise
