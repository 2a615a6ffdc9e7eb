"""Run the pipeline on Apache Spark (``insights run --engine spark``, or ``scale.engine = "spark"``).

The same stage functions as the local engine, arranged for a cluster:

1. **read** with Spark's readers (CSV, JSON lines, Parquet, or a table name); every record gets its
   global position (``_order``) and its row in its file;
2. **ingest** per partition (:func:`pipeline.ingest.ingest_frame`, :func:`pipeline.clean.prepare_text`);
   repeated ids are resolved over all rows with a window (the first keeps the id);
3. **clean** per distinct text: spaCy per partition (:func:`pipeline.clean.analyse_texts`); the two
   corpus-level rules of name redaction (words capitalized in many texts, names found in many texts)
   are counted with Spark aggregations and broadcast; near-duplicates resolved with a window;
4. **embed** each distinct text once, per partition (each Python worker loads the model once and
   shares the on-disk embedding cache);
5. **fit** on the driver: the stratified sample of distinct texts is collected, reduced, clustered and
   described by the local engine's own code (:func:`pipeline.runner.fit_themes`, ``represent``);
6. **assign and classify** per partition with the broadcast :class:`~pipeline.assign.ThemeModel` and
   the fitted taxonomy classifier;
7. **aggregate** with Spark: label counts, theme statistics, query counts and per-bin counts, which the
   driver turns into the tables with the local engine's functions (``label_themes``, ``rank_themes``,
   ``rollup_queries``, ``score_counts``);
8. **write** ``feedback.parquet`` from Spark's part files (streamed into one file) and every other table
   and the manifest exactly as the local engine does.

Intermediate tables go to Parquet under a scratch folder beside the embedding cache, so no stage is
computed twice. Not supported here (the run stops with a message naming the option): ``--baseline``,
NLI re-scoring and ``cluster.points = "rows"``. The novelty test of the ``new`` detector is skipped
(it reads every in-window row's vector on one machine); the run's notes say so.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import sys
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd

from pipeline import __version__
from pipeline._profile import stage
from pipeline.assign import assign as assign_texts
from pipeline.classify import label_texts, label_themes, unclassified
from pipeline.clean import (
    analyse_texts,
    canonical_key,
    capitalized_words,
    common_words,
    detect_languages,
    finish_text,
    late_exclusion,
    person_names,
    prepare_text,
    public_names,
    uses_common_words,
)
from pipeline.config import RunConfig
from pipeline.errors import ConfigError, InputError
from pipeline.ingest import ingest_frame
from pipeline.reduce import reduce
from pipeline.represent import represent
from pipeline.schemas import FEEDBACK
from pipeline.store import default_cache_dir, package_versions
from pipeline.summarize import RANKING_FORMULA, THEME_STATS, rank_themes, rollup_queries
from pipeline.taxonomy import Taxonomy, load_taxonomy
from pipeline.trends import Trends, alert_table, no_trends, score_counts, trend_weights, trend_window

__all__ = ["run_spark", "start_session"]

log = logging.getLogger(__name__)

SPARK_HINT = "pip install pyspark (Spark 4 needs a Java 17+ runtime)"
_READERS = {".csv": "csv", ".tsv": "csv", ".jsonl": "json", ".json": "json", ".ndjson": "json", ".parquet": "parquet"}
_FIRST_ROW = {"csv": 2, "json": 1, "parquet": 1, "table": 1}  # the local engine's source_row of a file's first record


# --------------------------------------------------------------------------------------------- session


def _probe_master(master: str) -> None:
    """Fail in seconds, with one line, when a standalone or Kubernetes master does not answer."""
    if master.startswith("spark://"):
        hosts = [h.strip() for h in master[len("spark://") :].split(",") if h.strip()]
        default_port = 7077
    elif master.startswith("k8s://"):
        parsed = urlparse(master[len("k8s://") :])
        hosts = [f"{parsed.hostname}:{parsed.port or 443}"] if parsed.hostname else []
        default_port = 443
    else:
        return
    errors = []
    for hostport in hosts:
        host, _, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", str(default_port))
        try:
            with socket.create_connection((host, int(port)), timeout=5):
                return
        except (OSError, ValueError) as exc:
            errors.append(f"{hostport}: {exc}")
    raise ConfigError(
        f"Spark master {master!r} cannot be reached ({'; '.join(errors) or 'no host in the URL'}); "
        "check the URL and the network, or run with --master 'local[*]'."
    )


def start_session(master: str = "local[*]", *, driver_memory: str = "2g", app_name: str = "feedback-insights") -> Any:
    """A Spark session for ``master`` (``local[*]``, ``spark://host:7077``, ``yarn``, ``k8s://...``)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError(f"--engine spark needs pyspark: {SPARK_HINT}.") from None
    _probe_master(master)
    warnings.filterwarnings("ignore", message=".*PySpark does not yet fully support pandas.*")
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.driver.memory", driver_memory)
    )
    if master.startswith("local"):
        # Workers run this very interpreter (its packages and offline models); on a cluster the
        # packed environment's interpreter is named with PYSPARK_PYTHON (see docs/spark.md).
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        # pyspark warns on every worker that pandas 3 is newer than it knows; the workers inherit this.
        os.environ.setdefault("PYTHONWARNINGS", "ignore::FutureWarning")
        builder = builder.config("spark.pyspark.python", os.environ["PYSPARK_PYTHON"])
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # the JVM's own exception types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"Spark could not start with master {master!r}: {first[:300]}") from None
    session.sparkContext.setLogLevel("ERROR")
    return session


def _spark_error(exc: Exception, what: str) -> InputError:
    """One line out of a JVM error: its first line, no stack trace."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InputError(f"{what}: {text[:400]}")


# ------------------------------------------------------------------------------------------------ read


def _local_path(uri: str) -> str:
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme in ("file", "") else uri


def _format_of(item: str) -> tuple[str, str]:
    """(reader, location) for a path or directory; a name without a path separator is a table."""
    path = Path(item)
    if "://" not in item and not path.exists():
        if "/" in item or os.sep in item or path.suffix.lower() in _READERS:
            raise InputError(f"{item}: no such file or directory.")
        return "table", item
    suffix = path.suffix.lower()
    if suffix in _READERS:
        return _READERS[suffix], item
    if path.is_dir():
        found = sorted({_READERS[p.suffix.lower()] for p in path.rglob("*") if p.suffix.lower() in _READERS})
        if not found:
            raise InputError(f"{item}: no .csv, .jsonl or .parquet files in this directory.")
        if len(found) > 1:
            raise InputError(f"{item}: holds several formats ({', '.join(found)}); point at one kind of file.")
        return found[0], item
    raise InputError(f"{item}: unknown file type {suffix!r}; the spark engine reads .csv, .jsonl and .parquet.")


def read_input(spark: Any, items: Sequence[str]) -> tuple[Any, list[dict[str, Any]], str]:
    """One Spark DataFrame over every input, plus ``_file``, ``_order`` (global position) and ``_source_row``."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType, StructField, StructType

    frames, files, kinds = [], [], set()
    for item in items:
        kind, location = _format_of(str(item))
        kinds.add(kind)
        try:
            if kind == "table":
                frame = spark.table(location).withColumn("_file", F.lit(location))
            else:
                reader = spark.read
                if kind == "csv":
                    sep = "\t" if location.lower().endswith(".tsv") else ","
                    reader = reader.options(header=True, multiLine=True, escape='"', sep=sep, inferSchema=False)
                frame = reader.format(kind).load(location)
                if kind == "csv":  # Spark reads an empty cell as null; the local reader keeps ""
                    frame = frame.select(*[F.coalesce(F.col(f"`{c}`"), F.lit("")).alias(c) for c in frame.columns])
                frame = frame.withColumn("_file", F.input_file_name())
        except Exception as exc:
            raise _spark_error(exc, f"{location}: cannot be read") from None
        if not frame.columns or frame.columns == ["_file"] or "_corrupt_record" in frame.columns:
            raise InputError(f"{location}: no readable records (is it {kind}?).")
        frames.append(frame)
        files.append({"path": str(item), "format": kind})
    data = frames[0]
    for more in frames[1:]:
        data = data.unionByName(more, allowMissingColumns=True)
    schema = StructType([*data.schema.fields, StructField("_order", LongType(), False)])
    indexed = data.rdd.zipWithIndex().map(lambda pair: (*pair[0], pair[1]))
    data = spark.createDataFrame(indexed, schema)
    kind = kinds.pop() if len(kinds) == 1 else "parquet"
    from pyspark.sql import Window

    first = F.min("_order").over(Window.partitionBy("_file"))
    data = data.withColumn("_source_row", F.col("_order") - first + F.lit(_FIRST_ROW[kind]))
    # A multi-line CSV is read by one task; spread the records so that ingest and clean use every core.
    return data.repartition(spark.sparkContext.defaultParallelism * 2), files, kind


# ------------------------------------------------------------------------------ per-partition functions
# Each runs on an executor over pandas frames (mapInPandas); models load once per Python worker.

_WORKER_MODELS: dict[tuple[Any, ...], Any] = {}


def _worker_embedder(config: RunConfig) -> Any:
    from models.embedding import make_embedder
    from pipeline.embed import CachedEmbedder
    from pipeline.store import EmbeddingCache

    key = ("embedder", config.embed.model, config.embed.backend, str(config.embed.cache_dir), config.embed.use_cache)
    if key not in _WORKER_MODELS:
        embedder = make_embedder(
            config.embed.model,
            batch_size=config.embed.batch_size,
            device=config.embed.device,
            backend=config.embed.backend,
            cache_dir=config.embed.cache_dir,
        )
        cache = None
        if config.embed.use_cache:
            cache = EmbeddingCache(config.embed.cache_dir or default_cache_dir(), embedder.identity)
        _WORKER_MODELS[key] = CachedEmbedder(embedder, cache)
    return _WORKER_MODELS[key]


def _ingest_partition(
    batches: Iterator[pd.DataFrame], config: RunConfig, names: dict[str, str], columns: list[str]
) -> Iterator[pd.DataFrame]:
    for batch in batches:
        for file, part in batch.groupby("_file", sort=False):
            part = part.sort_values("_order")
            records = part.drop(columns=["_file", "_order", "_source_row"])
            name = names.get(str(file), _local_path(str(file)))
            rows = ingest_frame(
                records, config.ingest, name=name, source_rows=part["_source_row"].astype(int).tolist(),
                dedupe_ids=False,
            ).rows  # fmt: skip
            rows["_order"] = part["_order"].to_numpy()
            prepared: list[str | None] = [None] * len(rows)
            truncated = np.zeros(len(rows), bool)
            for i in np.flatnonzero(~rows["excluded"].to_numpy()):
                prepared[i], truncated[i] = prepare_text(rows["text"].iat[i], config.clean)
            rows["_prepared"] = pd.Series(prepared, dtype=object)
            rows["truncated"] = truncated
            yield rows[columns]


def _words_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    for batch in batches:
        words = [w for text in batch["_prepared"] for w in capitalized_words(str(text))]
        yield pd.DataFrame({"word": pd.Series(words, dtype=object)})


def _analyse_partition(
    batches: Iterator[pd.DataFrame], config: RunConfig, common: frozenset[str]
) -> Iterator[pd.DataFrame]:
    for batch in batches:
        texts = batch["_prepared"].astype(str).tolist()
        terms, persons = analyse_texts(texts, config.clean, None, common)
        yield pd.DataFrame(
            {
                "_prepared": texts,
                "lemmas": [t[0] for t in terms],
                "phrases": [list(t[1]) for t in terms],
                "persons": [[{"start": a, "end": b, "name": n} for a, b, n in spans] for spans in persons],
                "names": [sorted(person_names(spans)) for spans in persons],
            }
        )


def _finish_partition(batches: Iterator[pd.DataFrame], config: RunConfig, public: set[str]) -> Iterator[pd.DataFrame]:
    for batch in batches:
        texts = [
            finish_text(str(t), [(int(p["start"]), int(p["end"]), str(p["name"])) for p in spans], public)
            for t, spans in zip(batch["_prepared"], batch["persons"], strict=True)
        ]
        languages = detect_languages(texts) if config.clean.detect_language else [None] * len(texts)
        yield pd.DataFrame(
            {
                "_prepared": batch["_prepared"].to_numpy(),
                "clean_text": texts,
                "language": pd.Series(languages, dtype=object),
                "lemmas": batch["lemmas"].to_numpy(),
                "phrases": batch["phrases"].map(list).to_numpy(),
            }
        )


def _late_partition(batches: Iterator[pd.DataFrame], config: RunConfig) -> Iterator[pd.DataFrame]:
    for batch in batches:
        excluded = batch["excluded"].to_numpy(copy=True)
        reasons = batch["exclusion_reason"].astype(object).where(batch["exclusion_reason"].notna(), None).tolist()
        keys: list[str | None] = [None] * len(batch)
        for i in np.flatnonzero(~excluded):
            reason = late_exclusion(batch["clean_text"].iat[i], batch["language"].iat[i], config.clean)
            if reason is not None:
                excluded[i], reasons[i] = True, reason
            else:
                keys[i] = canonical_key(batch["clean_text"].iat[i] or "")
        yield batch.assign(
            excluded=excluded,
            exclusion_reason=pd.Series(reasons, index=batch.index, dtype=object),
            dup_key=pd.Series(keys, index=batch.index, dtype=object),
        )


def _embed_partition(batches: Iterator[pd.DataFrame], config: RunConfig) -> Iterator[pd.DataFrame]:
    embedder = _worker_embedder(config)
    for batch in batches:
        if batch.empty:
            continue
        vectors = np.asarray(embedder.encode(batch["clean_text"].astype(str).tolist()), np.float32)
        yield pd.DataFrame({"group": batch["group"].to_numpy(), "vector": list(vectors)})


def _label_partition(
    batches: Iterator[pd.DataFrame], config: RunConfig, fit: dict[str, Any], classifier: Any
) -> Iterator[pd.DataFrame]:
    """Theme (fitted or assigned), map position and taxonomy labels of each distinct text."""
    model = fit["model"]
    for batch in batches:
        groups = batch["group"].to_numpy(dtype=np.int64)
        vectors = np.stack(batch["vector"].to_numpy()).astype(np.float32) if len(batch) else np.zeros((0, 1))
        position = np.searchsorted(fit["groups"], groups)
        position = np.minimum(position, max(len(fit["groups"]) - 1, 0))
        sampled = fit["groups"][position] == groups if len(fit["groups"]) else np.zeros(len(groups), bool)
        done = assign_texts(vectors, model, batch_size=max(len(vectors), 1))
        labels = np.where(sampled, fit["labels"][position], done.labels)
        reassigned = np.where(sampled, fit["reassigned"][position], done.reassigned)
        xy = np.where(sampled[:, None], fit["xy"][position], done.xy)
        out = pd.DataFrame(
            {"group": groups, "theme_id": labels, "theme_id_reassigned": reassigned, "x": xy[:, 0], "y": xy[:, 1],
             "assigned": ~sampled},
        )  # fmt: skip
        if classifier is not None:
            table, _ = label_texts(vectors, batch["clean_text"].astype(str).tolist(), classifier, config.classify)
            branch = table["category_id"].map(
                lambda c: classifier.taxonomy.branch_of(c) if isinstance(c, str) else None
            )
            out = out.assign(
                category_id=table["category_id"].to_numpy(dtype=object),
                category=table["category"].to_numpy(dtype=object),
                severity=table["severity"].to_numpy(dtype=object),
                category_confidence=table["category_confidence"].to_numpy(dtype=float),
                categories=table["categories"].map(list).to_numpy(),
                branch=branch.to_numpy(dtype=object),
            )
        else:
            out = out.assign(
                category_id=None, category="Unmapped", severity="none", category_confidence=np.nan,
                categories=[[] for _ in range(len(out))], branch=None,
            )  # fmt: skip
        yield out


def _row_partition(
    batches: Iterator[pd.DataFrame], bin_width: str | None, query_col: str | None
) -> Iterator[pd.DataFrame]:
    """Per-row columns the aggregations read: status, time bin, day, stripped query."""
    for batch in batches:
        excluded = batch["excluded"].to_numpy(dtype=bool)
        theme = batch["theme_id"].fillna(-1).astype(np.int64).to_numpy()
        status = np.where(~excluded, np.where(theme >= 0, "themed", "outlier"), "excluded")
        times = pd.to_datetime(batch["time"], utc=True)
        out = batch.assign(
            status=status,
            _bin=times.dt.floor(pd.Timedelta(bin_width)) if bin_width else pd.NaT,
            _day=times.dt.strftime("%Y-%m-%d"),
        )
        if query_col:
            out["_query"] = batch[query_col].astype("string").str.strip()
        yield out


# ----------------------------------------------------------------------------------------------- engine


def _schema_of(frame: pd.DataFrame) -> Any:
    """A Spark schema for a pandas frame (used for the ingest output, whose meta columns vary)."""
    from pyspark.sql.types import (
        ArrayType,
        BooleanType,
        DoubleType,
        LongType,
        StringType,
        StructField,
        StructType,
        TimestampType,
    )

    fields = []
    for name, dtype in frame.dtypes.items():
        if name == "phrases":
            kind: Any = ArrayType(StringType())
        elif pd.api.types.is_bool_dtype(dtype):
            kind = BooleanType()
        elif pd.api.types.is_integer_dtype(dtype):
            kind = LongType()
        elif pd.api.types.is_float_dtype(dtype):
            kind = DoubleType()
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            kind = TimestampType()
        else:
            kind = StringType()
        fields.append(StructField(str(name), kind, True))
    return StructType(fields)


def _with_fields(schema: Any, *fields: tuple[str, str]) -> Any:
    """A copy of ``schema`` with more fields (``StructType.add`` would change the frame's own schema)."""
    from pyspark.sql.types import StructType, _parse_datatype_string

    out = StructType(list(schema.fields))
    for name, kind in fields:
        out = out.add(name, _parse_datatype_string(kind), True)
    return out


def _unsupported(config: RunConfig) -> None:
    checks = {
        "trends.baseline (--baseline)": config.trends.baseline is not None,
        "classify.nli_model (--nli-model)": bool(config.classify.nli_model),
        "cluster.points = 'rows'": config.cluster.points == "rows",
    }
    for name, used in checks.items():
        if used:
            raise ConfigError(f"{name} is not available with --engine spark yet; run it with the local engine.")


class _Scratch:
    """Intermediate Parquet tables of one run, under the cache directory; removed at the end."""

    def __init__(self, spark: Any, config: RunConfig) -> None:
        root = Path(config.embed.cache_dir or default_cache_dir()) / "work"
        root.mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix="spark-", dir=root))
        self.spark = spark

    def keep(self, frame: Any, name: str) -> Any:
        """Write ``frame`` and read it back: later jobs start from here instead of recomputing it."""
        path = str(self.dir / name)
        frame.write.mode("overwrite").parquet(path)
        return self.spark.read.parquet(path)

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def run_spark(
    inputs: str | Path | Sequence[str | Path],
    config: RunConfig,
    *,
    spark: Any = None,
    write: bool = True,
    reducer: Any = None,
    clusterer: Any = None,
) -> Any:
    """Run the pipeline with Spark and return a :class:`pipeline.runner.RunResult`.

    ``spark``: an existing SparkSession (default: one for ``config.scale.spark_master``).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from pipeline import runner

    _unsupported(config)
    timings: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    taxonomy: Taxonomy | None = load_taxonomy(config.classify.taxonomy) if config.classify.enabled else None
    items = [str(inputs)] if isinstance(inputs, (str, Path)) else [str(i) for i in inputs]
    session = spark or start_session(config.scale.spark_master, driver_memory=config.scale.spark_driver_memory)
    scratch = _Scratch(session, config)
    try:
        with stage("ingest", timings):
            data, files, _ = read_input(session, items)
            try:
                head = data.limit(5).toPandas()
            except Exception as exc:
                raise _spark_error(exc, f"{', '.join(items)}: cannot be read") from None
            if head.empty:
                raise InputError(f"{', '.join(items)}: no data rows.")
            names = {}
            for item in items:
                if Path(item).is_file():
                    names[Path(item).resolve().as_uri()] = item
                    names["file:" + str(Path(item).resolve())] = item
            probe = ingest_frame(
                head.drop(columns=["_file", "_order", "_source_row"]), config.ingest, name=items[0], dedupe_ids=False
            )
            meta_columns = probe.meta_columns
            sample_rows = probe.rows.assign(_order=np.int64(0), _prepared="", truncated=False)
            columns = list(sample_rows.columns)
            schema = _schema_of(sample_rows)
            ingested = data.mapInPandas(
                lambda it: _ingest_partition(it, config, names, columns), schema
            )  # fmt: skip
            # Repeated ids over all rows: the first keeps its id, later ones get '#n' (and are excluded
            # when the id was read from the file).
            rank = F.row_number().over(Window.partitionBy("row_id").orderBy("_order"))
            ingested = ingested.withColumn("_rank", rank)
            repeat = F.col("_rank") > 1
            ingested = (
                ingested.withColumn(
                    "exclusion_reason",
                    F.when(repeat & ~F.col("_id_generated") & ~F.col("excluded"), F.lit("duplicate_id")).otherwise(
                        F.col("exclusion_reason")
                    ),
                )
                .withColumn("excluded", F.col("excluded") | (repeat & ~F.col("_id_generated")))
                .withColumn(
                    "row_id",
                    F.when(repeat, F.concat_ws("#", F.col("row_id"), F.col("_rank"))).otherwise(F.col("row_id")),
                )
                .drop("_rank", "_id_generated")
            )
            ingested = scratch.keep(ingested, "ingested")
            files = [{**f, "rows": None} for f in files]

        with stage("clean", timings):
            distinct = ingested.filter(~F.col("excluded")).select("_prepared").distinct()
            distinct = scratch.keep(distinct, "prepared")
            n_distinct = distinct.count()
            common: frozenset[str] = frozenset()
            if uses_common_words(config.clean, None) and n_distinct:
                words = distinct.mapInPandas(_words_partition, "word string").groupBy("word").count()
                counted = words.filter(F.col("count") >= 3).toPandas()
                common = common_words(dict(zip(counted["word"], counted["count"], strict=True)), n_distinct)
            parts = max(1, min(n_distinct // 2000 + 1, session.sparkContext.defaultParallelism * 4))
            analysed = distinct.repartition(parts).mapInPandas(
                lambda it: _analyse_partition(it, config, common),
                "_prepared string, lemmas string, phrases array<string>, "
                "persons array<struct<start:long,end:long,name:string>>, names array<string>",
            )
            analysed = scratch.keep(analysed, "analysed")
            # Every name is needed, not only frequent ones: a name made of common words is public too.
            counted = analysed.select(F.explode("names").alias("name")).groupBy("name").count().toPandas()
            public = public_names(dict(zip(counted["name"], counted["count"], strict=True)), n_distinct, common)
            finished = analysed.mapInPandas(
                lambda it: _finish_partition(it, config, public),
                "_prepared string, clean_text string, language string, lemmas string, phrases array<string>",
            )
            cleaned = ingested.join(finished, on="_prepared", how="left")
            cleaned = cleaned.withColumn("lemmas", F.coalesce("lemmas", F.lit("")))
            cleaned = cleaned.withColumn("phrases", F.coalesce("phrases", F.array().cast("array<string>")))
            late_schema = _with_fields(cleaned.schema, ("dup_key", "string"))
            cleaned = cleaned.mapInPandas(lambda it: _late_partition(it, config), late_schema)
            first_id = F.first("row_id").over(Window.partitionBy("dup_key").orderBy("_order"))
            cleaned = cleaned.withColumn(
                "duplicate_of",
                F.when(F.col("dup_key").isNotNull() & (F.col("row_id") != first_id), first_id),
            )
            cleaned = scratch.keep(cleaned, "cleaned")

        with stage("embed", timings):
            usable = cleaned.filter(~F.col("excluded"))
            firsts = usable.groupBy("dup_key").agg(F.min("_order").alias("_order"), F.count("*").alias("weight"))
            groups = firsts.join(usable.select("_order", "clean_text", "time"), on="_order")
            groups = groups.withColumn("group", F.row_number().over(Window.orderBy("_order")) - 1)
            groups = scratch.keep(groups, "groups")
            n_groups = groups.count()
            if n_groups < config.cluster.min_rows:
                raise InputError(
                    f"only {n_groups} distinct texts (< cluster.min_rows={config.cluster.min_rows}): too few for "
                    "the spark engine; run the local engine."
                )
            parts = max(1, min(n_groups // 2000, session.sparkContext.defaultParallelism * 4))
            vectors = groups.select("group", "clean_text").repartition(parts).mapInPandas(
                lambda it: _embed_partition(it, config), "group long, vector array<float>"
            )  # fmt: skip
            vectors = scratch.keep(vectors, "vectors")

        with stage("reduce", timings):
            table = groups.select("group", "weight", "time").orderBy("group").toPandas()
            chosen = runner.sample_texts(table["weight"].to_numpy(np.int64), table["time"], config)
            log.info("Fitting themes on %d of %d distinct texts", len(chosen), n_groups)
            chosen_frame = session.createDataFrame(pd.DataFrame({"group": chosen.astype(np.int64)}))
            picked = vectors.join(F.broadcast(chosen_frame), on="group").orderBy("group").toPandas()
            sample_vectors = np.stack(picked["vector"].to_numpy()).astype(np.float32)
            reduced = reduce(sample_vectors, config.reduce, seed=config.seed, reducer=reducer)

        with stage("cluster", timings):
            sample_rows = (
                cleaned.filter(~F.col("excluded"))
                .join(groups.select("dup_key", "group"), on="dup_key")
                .join(F.broadcast(chosen_frame), on="group")
                .orderBy("_order")
                .toPandas()
            )
            local = np.searchsorted(chosen, sample_rows["group"].to_numpy(np.int64))
            fitted = runner.fit_themes(reduced, sample_vectors, local, config, clusterer=clusterer)
            fit = {
                "groups": chosen.astype(np.int64),
                "labels": fitted.labels,
                "reassigned": fitted.reassigned,
                "xy": np.asarray(reduced.map_2d, np.float32),
                "model": fitted.model,
            }
            if fitted.note:
                notes.append(fitted.note)

        with stage("represent", timings):
            embedder = _worker_embedder(config)
            themes = represent(
                sample_rows.reset_index(drop=True), fitted.labels[local], sample_vectors[local], config.represent,
                embedder=embedder, spacy_model=config.clean.spacy_model,
            )  # fmt: skip

        with stage("classify", timings):
            classifier = runner.fit_classifier(taxonomy, embedder, config) if taxonomy is not None else None
            shared = session.sparkContext.broadcast((fit, classifier))
            labelled = vectors.join(groups.select("group", "clean_text"), on="group").mapInPandas(
                lambda it: _label_partition(it, config, *shared.value),
                "group long, theme_id long, theme_id_reassigned long, x float, y float, assigned boolean, "
                "category_id string, category string, severity string, category_confidence double, "
                "categories array<string>, branch string",
            )
            labelled = scratch.keep(labelled, "labelled")
            query_col = runner.query_column(config, meta_columns)
            rows = cleaned.join(groups.select("dup_key", "group"), on="dup_key", how="left").join(
                labelled, on="group", how="left"
            )
            added = [("status", "string"), ("_bin", "timestamp"), ("_day", "string")]
            row_schema = _with_fields(rows.schema, *added, *([("_query", "string")] if query_col else []))
            bin_width = config.trends.bin if config.trends.enabled else None
            rows = rows.mapInPandas(lambda it: _row_partition(it, bin_width, query_col), row_schema)
            rows = scratch.keep(rows, "rows")
            clustered = rows.filter(F.col("status") != "excluded")
            n_clustered = clustered.count()
            if classifier is not None:
                counts = (
                    clustered.withColumn("category_id", F.coalesce("category_id", F.lit("")))
                    .groupBy("theme_id", "category_id", "severity")
                    .agg(F.count("*").alias("rows"), F.sum("category_confidence").alias("confidence_sum"))
                    .orderBy("theme_id", "category_id", "severity")
                    .toPandas()
                )
                keyword_vectors = runner.theme_keyword_vectors(themes, embedder, config)
                classified = label_themes(themes, counts, classifier, config.classify, keyword_vectors=keyword_vectors)
            else:
                classified = unclassified(0, themes)
            themes = classified.themes
            themes = _sizes(themes, clustered)

        with stage("trends", timings):
            trends = _spark_trends(clustered, themes, config, query_col)
            notes.extend(trends.notes)
            if config.trends.novelty and not trends.stats.empty:
                notes.append("trends.novelty is skipped with --engine spark: new themes come from share and counts.")
            themes = themes.assign(trend_weight=trend_weights(themes, trends).to_numpy())

        with stage("summarize", timings):
            stats = _theme_stats(clustered, query_col)
            themes = rank_themes(themes, stats, n_clustered, config.summarize, with_queries=query_col is not None)
            query_table = None
            if query_col:
                qcounts = (
                    clustered.filter(F.col("_query").isNotNull() & (F.col("_query") != ""))
                    .select(
                        F.col("_query").alias("query"), "theme_id", "category",
                        F.coalesce("branch", F.lit("")).alias("branch"), "severity",
                    )
                    .groupBy("query", "theme_id", "category", "branch", "severity")
                    .agg(F.count("*").alias("rows"))
                    .toPandas()
                )  # fmt: skip
                query_table = rollup_queries(qcounts)
            accounting = _accounting(rows)

        run_id = config.output.run_id or runner.new_run_id(files, config)
        feedback_file = scratch.dir / "feedback.parquet"
        with stage("feedback", timings):  # feedback.parquet, before the other tables (report)
            feedback_columns = [*FEEDBACK, *meta_columns]
            _write_feedback(rows, feedback_columns, meta_columns, feedback_file, scratch)
            feedback = pd.read_parquet(feedback_file)
        manifest: dict[str, Any] = {
            "tool": "feedback-insights",
            "version": __version__,
            "engine": {"name": "spark", "master": session.sparkContext.master, "spark": session.version},
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "python": sys.version.split()[0],
            "config": config.model_dump(mode="json"),
            "packages": package_versions(extra=("pyspark",)),
            "models": {
                "embedding": embedder.identity,
                "spacy": config.clean.spacy_model,
                "language_id": "py3langid" if config.clean.detect_language else None,
                "nli": None,
            },
            "classify": classified.params,
            "trends": {"window": trends.window, "alerts": len(trends.alerts), "query_column": query_col},
            "inputs": files,
            "accounting": accounting,
            "ranking_formula": RANKING_FORMULA,
            "embedding_cache": {"groups": n_groups, "dir": str(config.embed.cache_dir or default_cache_dir())},
            "reduce": {**reduced.params, "fitted_on_sample": len(chosen)},
            "cluster": {
                **runner.sampled_params(
                    fitted,
                    fitted_texts=len(chosen),
                    fitted_rows=len(sample_rows),
                    assigned_texts=n_groups - len(chosen),
                    assigned_rows=int(n_clustered - len(sample_rows)),
                    assigned_themed=int((feedback["assigned"] & (feedback["theme_id"] >= 0)).sum()),
                    n_rows=n_clustered,
                ),
                "n_themes": len(themes),
            },
            "notes": notes,
            "warnings": {"count": 0, "first": []},
            "stages": timings,
        }
        if len(chosen) < n_groups:
            notes.append(
                f"{n_groups:,} distinct texts: themes were fitted on a stratified sample of {len(chosen):,} "
                f"(scale.sample_size) and the other texts assigned to the nearest theme (feedback column 'assigned')"
            )
        result = runner.RunResult(
            feedback, themes, classified.categories, manifest, config, embeddings=None, alerts=trends.alerts,
            trends=trends.stats, trend_counts=trends.counts, queries=query_table,
        )  # fmt: skip
        result.theme_model = runner.theme_model(themes, run_id, None)
        if write:
            result.run_dir = runner.write_run(result, config, run_id, timings, notes, feedback_file=feedback_file)
        return result
    finally:
        scratch.close()


def _sizes(themes: pd.DataFrame, clustered: Any) -> pd.DataFrame:
    """Theme sizes and distinct texts over every row (Spark aggregation)."""
    from pyspark.sql import functions as F

    if themes.empty:
        return themes
    sizes = (
        clustered.filter(F.col("theme_id") >= 0)
        .groupBy("theme_id")
        .agg(F.count("*").alias("size"), F.countDistinct("group").alias("unique_texts"))
        .toPandas()
        .set_index("theme_id")
    )
    ids = themes["theme_id"].astype(int)
    return themes.assign(
        size=[int(sizes["size"].get(t, 0)) for t in ids],
        unique_texts=[int(sizes["unique_texts"].get(t, 0)) for t in ids],
    )


def _theme_stats(clustered: Any, query_col: str | None) -> pd.DataFrame:
    """:data:`pipeline.summarize.THEME_STATS` with Spark aggregations."""
    from pyspark.sql import functions as F

    themed = clustered.filter(F.col("theme_id") >= 0)
    ids = sorted(int(r["theme_id"]) for r in themed.select("theme_id").distinct().collect())
    reassigned = clustered.groupBy("theme_id_reassigned").count().toPandas().set_index("theme_id_reassigned")["count"]
    dated = themed.filter(F.col("time").isNotNull())
    spans = dated.groupBy("theme_id").agg(F.min("time").alias("first"), F.max("time").alias("last")).toPandas()
    spans = spans.set_index("theme_id")
    days = dated.groupBy("theme_id", "_day").count().toPandas()
    day_counts: dict[int, dict[str, int]] = {}
    for theme, day, count in days[["theme_id", "_day", "count"]].itertuples(index=False):
        day_counts.setdefault(int(theme), {})[str(day)] = int(count)
    query_counts: dict[int, dict[str, int]] = {}
    if query_col:
        q = themed.filter(F.col("_query").isNotNull() & (F.col("_query") != "")).groupBy("theme_id", "_query").count()
        for theme, query, count in q.toPandas()[["theme_id", "_query", "count"]].itertuples(index=False):
            query_counts.setdefault(int(theme), {})[str(query)] = int(count)

    def _utc(values: list[Any]) -> pd.Series:
        return pd.Series(pd.to_datetime(values, utc=True), dtype="datetime64[ns, UTC]")

    return pd.DataFrame(
        {
            "theme_id": ids,
            "size_with_reassigned": [int(reassigned.get(t, 0)) for t in ids],
            "first_seen": _utc([spans["first"].get(t, pd.NaT) for t in ids]),
            "last_seen": _utc([spans["last"].get(t, pd.NaT) for t in ids]),
            "day_counts": [day_counts.get(t, {}) for t in ids],
            "query_counts": [query_counts.get(t, {}) for t in ids],
        },
        columns=list(THEME_STATS),
    )


def _spark_trends(clustered: Any, themes: pd.DataFrame, config: RunConfig, query_col: str | None) -> Any:
    """The trend detectors over per-bin counts aggregated by Spark; alert verbatims fetched for flagged keys only."""
    from pyspark.sql import functions as F

    if not config.trends.enabled:
        return no_trends([])
    dated = clustered.filter(F.col("time").isNotNull())
    latest = dated.agg(F.unix_micros(F.max("time"))).collect()[0][0]
    if latest is None:
        return no_trends(["no time column (or no valid timestamps): trends and alerts are skipped."])
    window = trend_window(pd.Timestamp(int(latest), unit="us", tz="UTC"), config.trends)
    start, end = window.baseline_start.to_pydatetime(), window.end.to_pydatetime()
    scope = dated.filter((F.col("_bin") >= F.lit(start)) & (F.col("_bin") < F.lit(end)))
    if scope.limit(1).count() == 0:
        return no_trends([f"no rows between {window.baseline_start} and {window.end}: trends are skipped."])
    theme_counts = scope.filter(F.col("theme_id") >= 0).groupBy("theme_id", "_bin").count().toPandas()
    cat_counts = scope.filter(F.col("category_id").isNotNull()).groupBy("category_id", "_bin").count().toPandas()
    counts = pd.concat(
        [
            pd.DataFrame({"kind": "theme", "key": theme_counts["theme_id"].astype(int).astype(object),
                          "bin": pd.to_datetime(theme_counts["_bin"], utc=True), "count": theme_counts["count"]}),
            pd.DataFrame({"kind": "category", "key": cat_counts["category_id"].astype(object),
                          "bin": pd.to_datetime(cat_counts["_bin"], utc=True), "count": cat_counts["count"]}),
        ],
        ignore_index=True,
    )  # fmt: skip
    totals = dated.groupBy("theme_id").count().toPandas().set_index("theme_id")["count"]
    severity = scope.filter(F.col("category_id").isNotNull()).groupBy("category_id").agg(F.first("severity"))
    node_severity = {str(k): str(v) for k, v in severity.collect()}
    scored = score_counts(counts, totals, themes, window, config.trends, node_severity=node_severity)
    described = window.describe(config.trends.bin)
    if scored is None:
        empty = no_trends(["no themes or taxonomy nodes to follow over time: no alerts."])
        empty.window = described
        return empty
    table, series = scored
    flagged = table[table["alert"]]
    theme_keys = [int(k) for k in flagged.loc[flagged["kind"] == "theme", "key"]]
    cat_keys = [str(k) for k in flagged.loc[flagged["kind"] == "category", "key"]]
    cols = ["theme_id", "category_id", "category", "severity", "clean_text", "_order"]
    if query_col:
        cols.append(query_col)
    current = scope.filter(F.col("_bin") >= F.lit(window.current_start.to_pydatetime()))
    wanted = current.filter(F.col("theme_id").isin(theme_keys) | F.col("category_id").isin(cat_keys))
    rows = wanted.select(*cols).orderBy("_order").toPandas() if len(flagged) else pd.DataFrame(columns=cols)
    if query_col:
        rows = rows.rename(columns={query_col: "query"})
        rows["query"] = rows["query"].astype("string")
    alerts = alert_table(flagged, rows, themes, config.classify.severity_weights, described, query_col is not None)

    return Trends(series, table, alerts, described, [])


def _accounting(rows: Any) -> dict[str, Any]:
    from pyspark.sql import functions as F

    status = {r["status"]: int(r["count"]) for r in rows.groupBy("status").count().collect()}
    reasons = (
        rows.filter(F.col("status") == "excluded")
        .groupBy("exclusion_reason")
        .count()
        .orderBy(F.desc("count"))
        .collect()
    )
    extra = rows.agg(
        F.sum(((F.col("status") == "outlier") & (F.col("theme_id_reassigned") >= 0)).cast("long")).alias("re"),
        F.sum(F.col("duplicate_of").isNotNull().cast("long")).alias("dups"),
        F.sum(F.col("truncated").cast("long")).alias("trunc"),
        F.count("*").alias("n"),
    ).collect()[0]
    acc: dict[str, Any] = {
        "rows_in": int(extra["n"]),
        "themed": status.get("themed", 0),
        "outliers": status.get("outlier", 0),
        "excluded": status.get("excluded", 0),
        "excluded_by_reason": {str(r["exclusion_reason"]): int(r["count"]) for r in reasons},
        "outliers_reassigned": int(extra["re"] or 0),
        "duplicates": int(extra["dups"] or 0),
        "truncated": int(extra["trunc"] or 0),
    }
    if acc["rows_in"] != acc["themed"] + acc["outliers"] + acc["excluded"]:
        raise RuntimeError(f"Row accounting broken: {acc}")
    return acc


def _write_feedback(rows: Any, columns: list[str], meta: list[str], target: Path, scratch: _Scratch) -> None:
    """feedback.parquet in input order, streamed part by part from Spark's output into one file."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyspark.sql import functions as F

    out = rows.select(
        *[c for c in FEEDBACK if c not in ("theme_id", "theme_id_reassigned", "x", "y", "assigned", "category",
                                           "severity", "categories")],
        F.coalesce("theme_id", F.lit(-1)).alias("theme_id"),
        F.coalesce("theme_id_reassigned", F.lit(-1)).alias("theme_id_reassigned"),
        F.when(F.col("excluded"), F.lit("")).otherwise(F.col("category")).alias("category"),
        F.when(F.col("excluded"), F.lit("")).otherwise(F.col("severity")).alias("severity"),
        F.coalesce("categories", F.array().cast("array<string>")).alias("categories"),
        F.col("x").cast("float").alias("x"),
        F.col("y").cast("float").alias("y"),
        F.coalesce("assigned", F.lit(False)).alias("assigned"),
        *meta,
        "_order",
    )  # fmt: skip
    parts_dir = scratch.dir / "feedback-parts"
    out.orderBy("_order").write.mode("overwrite").parquet(str(parts_dir))
    parts = sorted(parts_dir.glob("part-*.parquet"))
    writer = None
    try:
        for part in parts:
            table = pq.read_table(part).drop(["_order"]).select(columns)
            at = table.schema.get_field_index("time")
            table = table.set_column(at, "time", table["time"].cast(pa.timestamp("ns", tz="UTC")))
            if writer is None:
                writer = pq.ParquetWriter(target, table.schema)
            writer.write_table(table.cast(writer.schema))
        if writer is None:
            empty = pa.Table.from_pandas(pd.DataFrame(columns=columns), preserve_index=False)
            pq.write_table(empty, target)
    finally:
        if writer is not None:
            writer.close()
