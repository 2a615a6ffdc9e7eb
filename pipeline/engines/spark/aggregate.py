"""Spark aggregations the driver turns into the tables with the local engine's functions, and the
feedback table streamed into one Parquet file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.config import RunConfig
from pipeline.engines.spark.frames import Scratch
from pipeline.schemas import FEEDBACK
from pipeline.summarize import THEME_STATS
from pipeline.trends import Trends, alert_table, no_trends, score_counts, trend_window

__all__ = ["row_accounting", "spark_trends", "theme_sizes", "theme_stats", "write_feedback"]


def theme_sizes(themes: pd.DataFrame, clustered: Any) -> pd.DataFrame:
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


def theme_stats(clustered: Any, query_col: str | None) -> pd.DataFrame:
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


def spark_trends(clustered: Any, themes: pd.DataFrame, config: RunConfig, query_col: str | None) -> Any:
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


def row_accounting(rows: Any) -> dict[str, Any]:
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


def write_feedback(rows: Any, columns: list[str], meta: list[str], target: Path, scratch: Scratch) -> None:
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
