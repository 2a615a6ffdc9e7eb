"""Read the inputs with Spark's readers (CSV, JSON lines, Parquet, a table) into one indexed DataFrame."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from pipeline.engines.spark.session import spark_error
from pipeline.errors import InputError

__all__ = ["format_of", "local_path", "read_input"]


_READERS = {".csv": "csv", ".tsv": "csv", ".jsonl": "json", ".json": "json", ".ndjson": "json", ".parquet": "parquet"}
_FIRST_ROW = {"csv": 2, "json": 1, "parquet": 1, "table": 1}  # the local engine's source_row of a file's first record


def local_path(uri: str) -> str:
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme in ("file", "") else uri


def format_of(item: str) -> tuple[str, str]:
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
        kind, location = format_of(str(item))
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
            raise spark_error(exc, f"{location}: cannot be read") from None
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
