"""The runner: composes the stages in order, times each, and writes the run directory.

    ingest → clean → embed → reduce → cluster → represent → classify → summarize → report

It reads like the flow above; each stage is a plain function from ``pipeline.<stage>``. The
embedder, reducer, clusterer and spaCy pipeline can be swapped through the config or passed in
as objects (like BERTopic's sub-models).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
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
from pipeline.assign import ThemeModel, fit_theme_model, sample_groups
from pipeline.assign import assign as assign_texts
from pipeline.baseline import Baseline, assign, load_baseline, match_clusters, theme_model
from pipeline.classify import Classified, PrototypeClassifier, classify, load_examples, unclassified
from pipeline.clean import clean
from pipeline.cluster import Clustered, cluster, cluster_texts, default_min_cluster_size, theme_centroids
from pipeline.config import RunConfig, load_config
from pipeline.embed import CachedEmbedder, embed
from pipeline.ingest import Ingested, ingest, ingest_frame
from pipeline.reduce import Reduced, reduce
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
    release_pages,
    write_csv,
    write_json,
    write_parquet,
    write_text,
)
from pipeline.summarize import RANKING_FORMULA, query_rollup, summarize
from pipeline.taxonomy import Taxonomy, load_taxonomy
from pipeline.trends import Trends, VectorRows, alerts_json, continue_alerts, detect, no_trends, trend_weights

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
    node = f" · {alert['category']}" if alert["kind"] != "category" and pd.notna(alert["category_id"]) else ""
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


def query_column(config: RunConfig, meta_columns: list[str]) -> str | None:
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


def new_run_id(files: list[dict[str, Any]], config: RunConfig) -> str:
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
    assigned: np.ndarray | None = None,
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
    flag = np.zeros(n, bool)
    if assigned is not None:
        flag[valid] = assigned
    out["assigned"] = flag
    for col in meta_columns:
        out[col] = cleaned[col]
    return out[[*FEEDBACK, *meta_columns]]


def fit_classifier(
    taxonomy: Taxonomy, embedder: Any, config: RunConfig, *, extra: pd.DataFrame | None = None
) -> PrototypeClassifier:
    """The taxonomy's prototype classifier, with the configured extra examples, fitted with the run's embedder.

    ``extra``: more labeled examples (text, node_id), e.g. the rows people corrected in the baseline's review.
    """
    examples = load_examples(config.classify.examples_file, taxonomy) if config.classify.examples_file else None
    if extra is not None and len(extra):
        examples = pd.concat([examples, extra], ignore_index=True) if examples is not None else extra
    return PrototypeClassifier(
        taxonomy,
        embedder,
        extra_examples=examples,
        lexicon_boost=config.classify.lexicon_boost,
        recall_weight=config.classify.recall_weight,
    ).fit()


def theme_keyword_vectors(themes: pd.DataFrame, embedder: Any, config: RunConfig) -> np.ndarray | None:
    """One embedding of each theme's keywords (for the keywords' share of the theme's label)."""
    if not len(themes) or config.classify.keyword_weight <= 0:
        return None
    return np.asarray(embedder.encode([", ".join(map(str, kw)) for kw in themes["keywords"]]))


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
    classifier = fit_classifier(taxonomy, embedder, config, extra=extra)
    keyword_vectors = theme_keyword_vectors(themes, embedder, config)
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
    reassigned: np.ndarray,
    classified: Classified,
    themes: pd.DataFrame,
    config: RunConfig,
    query_col: str | None,
    *,
    new_theme_ids: set[int] | None = None,
    previous_alerts: pd.DataFrame | None = None,
    vectors: VectorRows | None = None,
) -> Trends:
    if not config.trends.enabled:
        return no_trends([])
    frame = rows[["time", "clean_text", *([query_col] if query_col else [])]].reset_index(drop=True)
    frame = frame.assign(
        theme_id=labels,
        theme_id_reassigned=reassigned,
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


def _work_dir(config: RunConfig) -> Path:
    """Scratch space on disk for memory-mapped vectors: beside the embedding cache, not in /tmp (often RAM)."""
    return Path(config.embed.cache_dir or default_cache_dir()) / "work"


class RowVectors:
    """Row ``i``'s vector is ``group_vectors[row_group[i]]``, built only for the rows indexed.

    The novelty test reads the rows of its time windows; a full rows x dim copy would grow with the export.
    """

    def __init__(self, group_vectors: np.ndarray, row_group: np.ndarray) -> None:
        self.group_vectors, self.row_group = group_vectors, row_group

    def __len__(self) -> int:
        return len(self.row_group)

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.group_vectors[self.row_group[rows]])


def _novelty_vectors(
    row_vectors: np.ndarray | None, group_vectors: np.ndarray, row_group: np.ndarray, config: RunConfig
) -> np.ndarray | RowVectors | None:
    """Row vectors for the novelty detector, when it is on."""
    if not config.trends.novelty:
        return None
    return row_vectors if row_vectors is not None else RowVectors(group_vectors, row_group)


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


def _first_rows(row_group: np.ndarray, n_groups: int) -> np.ndarray:
    """Position of each distinct text's first row (-1 for a text without rows)."""
    first = np.full(n_groups, -1, np.int64)
    groups, index = np.unique(row_group, return_index=True)
    first[groups] = index
    return first


def _assign_rest(
    vectors: np.ndarray, groups: np.ndarray, reduced: Reduced, fitted: FittedThemes, batch: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local engine: labels, reassigned labels and map positions of every text, the sample's from the fit
    and the others assigned in batches (memory stays flat)."""
    n_groups = len(vectors)
    group_labels = np.full(n_groups, -1, np.int64)
    group_reassigned = np.full(n_groups, -1, np.int64)
    group_xy = np.full((n_groups, 2), np.nan, np.float32)
    group_labels[groups] = fitted.labels
    group_reassigned[groups] = fitted.reassigned
    group_xy[groups] = reduced.map_2d
    rest = np.setdiff1d(np.arange(n_groups), groups)
    for start in range(0, len(rest), batch):
        todo = rest[start : start + batch]
        done = assign_texts(np.asarray(vectors[todo], np.float32), fitted.model, batch_size=batch)
        group_labels[todo] = done.labels
        group_reassigned[todo] = done.reassigned
        group_xy[todo] = done.xy
        release_pages(vectors)
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
            from pipeline.errors import ConfigError

            raise ConfigError("The spark engine reads files or tables: pass paths or a table name, not a DataFrame.")
        if embedder is not None or nlp is not None:
            from pipeline.errors import ConfigError

            raise ConfigError("The spark engine loads its models on the executors from the config: pass no objects.")
        from pipeline.engines.spark import run_spark

        return run_spark(inputs, config, spark=spark, write=write, reducer=reducer, clusterer=clusterer)
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
        ingested.rows = ingested.rows.iloc[:0]  # the cleaned table carries every column on: free the copy

    with stage("embed", timings):
        cache = None
        if config.embed.use_cache:
            cache = EmbeddingCache(config.embed.cache_dir or default_cache_dir(), embedder.identity)
        cached = CachedEmbedder(embedder, cache)
        n_texts = int(cleaned.loc[~cleaned["excluded"], "dup_key"].nunique())
        embedded = embed(
            cleaned,
            cached,
            show_progress=show_progress,
            batch_size=config.scale.batch_size,
            memmap_dir=_work_dir(config) if n_texts >= config.scale.memmap_min_texts else None,
        )
        embed_stats = {**embedded.stats, "computed": cached.misses, "from_cache": cached.hits}

    valid = embedded.row_group >= 0
    row_group = embedded.row_group[valid]  # each clustered row's distinct-text group
    n_groups = len(embedded.group_first_row)
    clustered_rows = cleaned.loc[valid].reset_index(drop=True)
    sample_size = config.scale.sample_size
    if baseline is None and sample_size is not None and n_groups > sample_size:
        # Large export: reduce, cluster and represent a sample, then assign every other text.
        row_vectors = None
        with stage("reduce", timings):
            weights = np.bincount(row_group, minlength=n_groups)
            group_times = clustered_rows["time"].iloc[_first_rows(row_group, n_groups)]
            groups = sample_texts(weights, group_times, config)
            log.info("Fitting themes on a sample of %d of %d distinct texts", len(groups), n_groups)
            local = np.full(n_groups, -1, np.int64)
            local[groups] = np.arange(len(groups))
            in_sample = local[row_group] >= 0
            sample_vectors = np.asarray(embedded.vectors[groups], np.float32)
            reduced = reduce(sample_vectors, config.reduce, seed=config.seed, reducer=reducer)
        with stage("cluster", timings):
            fitted = fit_themes(reduced, sample_vectors, local[row_group[in_sample]], config, clusterer=clusterer)
            group_labels, group_reassigned, group_xy = _assign_rest(
                embedded.vectors, groups, reduced, fitted, config.scale.batch_size
            )
            labels = group_labels[row_group]
            params = sampled_params(
                fitted,
                fitted_texts=len(groups),
                fitted_rows=int(in_sample.sum()),
                assigned_texts=n_groups - len(groups),
                assigned_rows=int((~in_sample).sum()),
                assigned_themed=int(((labels >= 0) & ~in_sample).sum()),
                n_rows=len(row_group),
            )
            clustered = Clustered(
                labels, group_reassigned[row_group], np.where(labels >= 0, 1.0, 0.0), params, note=fitted.note
            )
            if clustered.note:
                notes.append(clustered.note)
            notes.append(
                f"{n_groups:,} distinct texts: themes were fitted on a stratified sample of {len(groups):,} "
                f"(scale.sample_size) and the other texts assigned to the nearest theme (feedback column 'assigned')"
            )
        new_theme_ids: set[int] | None = None
        with stage("represent", timings):
            themes = represent(
                clustered_rows.loc[in_sample].reset_index(drop=True),
                clustered.labels[in_sample],
                sample_vectors[local[row_group[in_sample]]],
                config.represent,
                embedder=cached,
                spacy_model=config.clean.spacy_model,
            )
            themes = sizes_over_all_rows(themes, clustered.labels, row_group)
        coords = group_xy[row_group]
        assigned_rows = ~in_sample
        reduce_params: dict[str, Any] | None = {**reduced.params, "fitted_on_sample": len(groups)}
    else:
        row_vectors = embedded.row_vectors()
        with stage("reduce", timings):
            if n_groups >= config.cluster.min_rows:
                reduced = reduce(embedded.vectors, config.reduce, seed=config.seed, reducer=reducer)
            else:
                reduced = None

        with stage("cluster", timings):
            points = reduced.cluster_space[row_group] if reduced is not None else row_vectors
            new_theme_ids = None
            if baseline is None:
                clustered = _cluster(points, row_vectors, reduced, embedded.vectors, row_group, config, clusterer)
            else:
                clustered, new_theme_ids = _cluster_with_baseline(
                    points, row_vectors, embedded.vectors, row_group, baseline, config, clusterer
                )
            if carried is not None:  # themes the baseline's reviewers merged share one id
                clustered = merge_labels(clustered, carried.curation)
            if clustered.note:
                notes.append(clustered.note)

        with stage("represent", timings):
            themes = represent(
                clustered_rows,
                clustered.labels,
                row_vectors,
                config.represent,
                embedder=cached,
                spacy_model=config.clean.spacy_model,
            )
        coords = reduced.map_2d[row_group] if reduced is not None else np.full((int(valid.sum()), 2), np.nan)
        assigned_rows = np.zeros(len(row_group), bool)
        reduce_params = reduced.params if reduced is not None else None

    extra = carried.examples if carried is not None else None  # rows people labeled in the baseline's review
    with stage("classify", timings):
        classified = _classify(
            clustered_rows, embedded.vectors, row_group, themes, clustered.labels, cached, config, taxonomy, nli, extra
        )
        themes = classified.themes

    query_col = query_column(config, ingested.meta_columns)
    with stage("trends", timings):
        trends = _trends(
            clustered_rows,
            clustered.labels,
            clustered.reassigned,
            classified,
            themes,
            config,
            query_col,
            new_theme_ids=new_theme_ids,
            previous_alerts=baseline.alerts if baseline is not None else None,
            vectors=_novelty_vectors(row_vectors, embedded.vectors, row_group, config),
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
        feedback = _feedback_table(
            cleaned,
            ingested.meta_columns,
            valid,
            clustered.labels,
            clustered.reassigned,
            coords,
            classified.rows,
            assigned=assigned_rows,
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
        "reduce": reduce_params,
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
    run_id = config.output.run_id or new_run_id(ingested.files, config)
    result.theme_model = theme_model(themes, run_id, baseline)
    if baseline is not None:
        manifest["baseline"] = {"run_dir": str(baseline.run_dir), "run_id": baseline.run_id}
    if carried is not None:
        manifest["review"] = carried.summary()
        result.carried = carried
    if write:
        result.run_dir = write_run(result, config, run_id, timings, notes)
    return result


def write_run(
    result: RunResult,
    config: RunConfig,
    run_id: str,
    timings: dict[str, dict[str, Any]],
    notes: list[str],
    *,
    feedback_file: Path | None = None,
) -> Path:
    """Write every artifact into a fresh run folder and publish it at once.

    ``feedback_file``: a finished feedback.parquet to move in (the Spark engine writes it part by part).
    """
    store = RunStore(config.output.out_dir, run_id, force=config.output.force)
    try:
        with stage("report", timings):
            if feedback_file is not None:
                shutil.move(str(feedback_file), store.path("feedback.parquet"))
            else:
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
