"""Spark plumbing of one run: schemas of the pandas frames, the scratch folder, the options refused."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.config import RunConfig
from pipeline.errors import ConfigError
from pipeline.store import default_cache_dir

__all__ = ["Scratch", "check_supported", "schema_of", "with_fields"]


def schema_of(frame: pd.DataFrame) -> Any:
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


def with_fields(schema: Any, *fields: tuple[str, str]) -> Any:
    """A copy of ``schema`` with more fields (``StructType.add`` would change the frame's own schema)."""
    from pyspark.sql.types import StructType, _parse_datatype_string

    out = StructType(list(schema.fields))
    for name, kind in fields:
        out = out.add(name, _parse_datatype_string(kind), True)
    return out


def check_supported(config: RunConfig) -> None:
    checks = {
        "trends.baseline (--baseline)": config.trends.baseline is not None,
        "classify.nli_model (--nli-model)": bool(config.classify.nli_model),
        "cluster.points = 'rows'": config.cluster.points == "rows",
    }
    for name, used in checks.items():
        if used:
            raise ConfigError(f"{name} is not available with --engine spark yet; run it with the local engine.")


class Scratch:
    """Intermediate Parquet tables of one run, under the cache directory; removed at the end."""

    def __init__(self, spark: Any, config: RunConfig) -> None:
        root = default_cache_dir(config.embed.cache_dir) / "work"
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
