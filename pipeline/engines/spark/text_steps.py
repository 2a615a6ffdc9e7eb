"""The Spark engine's first three stages: ingest, clean and embed, per partition over every row.

Repeated ids and near-duplicates are resolved over all rows with windows; the corpus-level rules of
name redaction (words capitalized in many texts, names found in many texts) are counted with Spark
aggregations and broadcast. Each stage keeps its output under the scratch folder, so none is computed
twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pipeline.clean import common_words, public_names, uses_common_words
from pipeline.engines.labeling import query_column
from pipeline.engines.spark.context import Ingested, SparkRun, Texts
from pipeline.engines.spark.frames import schema_of, with_fields
from pipeline.engines.spark.partitions import (
    analyse_partition,
    embed_partition,
    finish_partition,
    ingest_partition,
    late_partition,
    words_partition,
)
from pipeline.engines.spark.read import read_input
from pipeline.engines.spark.session import spark_error
from pipeline.errors import InputError
from pipeline.ingest import ingest_frame

__all__ = ["clean_step", "embed_step", "ingest_step"]


def ingest_step(ctx: SparkRun, *, inputs: Any) -> dict[str, Any]:
    """Read every input and ingest it per partition; the first of a repeated id keeps it."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    config, session, scratch = ctx.config, ctx.session, ctx.scratch
    items = [str(inputs)] if isinstance(inputs, (str, Path)) else [str(i) for i in inputs]
    data, files, _ = read_input(session, items)
    try:
        head = data.limit(5).toPandas()
    except Exception as exc:
        raise spark_error(exc, f"{', '.join(items)}: cannot be read") from None
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
    schema = schema_of(sample_rows)
    ingested = data.mapInPandas(
        lambda it: ingest_partition(it, config, names, columns), schema
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
    ctx.query_col = query_column(config, meta_columns)
    return {"ingested": Ingested(ingested, files, meta_columns)}


def clean_step(ctx: SparkRun, *, ingested: Ingested) -> dict[str, Any]:
    """spaCy once per distinct prepared text; the corpus-level redaction rules from Spark counts."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    config, session, scratch = ctx.config, ctx.session, ctx.scratch
    frame = ingested.frame
    distinct = frame.filter(~F.col("excluded")).select("_prepared").distinct()
    distinct = scratch.keep(distinct, "prepared")
    n_distinct = distinct.count()
    common: frozenset[str] = frozenset()
    if uses_common_words(config.clean, None) and n_distinct:
        words = distinct.mapInPandas(words_partition, "word string").groupBy("word").count()
        counted = words.filter(F.col("count") >= 3).toPandas()
        common = common_words(dict(zip(counted["word"], counted["count"], strict=True)), n_distinct)
    parts = max(1, min(n_distinct // 2000 + 1, session.sparkContext.defaultParallelism * 4))
    analysed = distinct.repartition(parts).mapInPandas(
        lambda it: analyse_partition(it, config, common),
        "_prepared string, lemmas string, phrases array<string>, "
        "persons array<struct<start:long,end:long,name:string>>, names array<string>",
    )
    analysed = scratch.keep(analysed, "analysed")
    # Every name is needed, not only frequent ones: a name made of common words is public too.
    counted = analysed.select(F.explode("names").alias("name")).groupBy("name").count().toPandas()
    public = public_names(dict(zip(counted["name"], counted["count"], strict=True)), n_distinct, common)
    finished = analysed.mapInPandas(
        lambda it: finish_partition(it, config, public),
        "_prepared string, clean_text string, language string, lemmas string, phrases array<string>",
    )
    cleaned = frame.join(finished, on="_prepared", how="left")
    cleaned = cleaned.withColumn("lemmas", F.coalesce("lemmas", F.lit("")))
    cleaned = cleaned.withColumn("phrases", F.coalesce("phrases", F.array().cast("array<string>")))
    late_schema = with_fields(cleaned.schema, ("dup_key", "string"))
    cleaned = cleaned.mapInPandas(lambda it: late_partition(it, config), late_schema)
    first_id = F.first("row_id").over(Window.partitionBy("dup_key").orderBy("_order"))
    cleaned = cleaned.withColumn(
        "duplicate_of",
        F.when(F.col("dup_key").isNotNull() & (F.col("row_id") != first_id), first_id),
    )
    cleaned = scratch.keep(cleaned, "cleaned")
    return {"cleaned": cleaned}


def embed_step(ctx: SparkRun, *, cleaned: Any) -> dict[str, Any]:
    """Each distinct text embedded once, per partition (each worker loads the model once)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    config, session, scratch = ctx.config, ctx.session, ctx.scratch
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
        lambda it: embed_partition(it, config), "group long, vector array<float>"
    )  # fmt: skip
    vectors = scratch.keep(vectors, "vectors")
    return {"embedded": vectors, "rows": Texts(cleaned, groups, n_groups)}
