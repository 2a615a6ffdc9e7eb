"""The run folder: every table, the insights, the HTML report and the manifest, published at once.

The ``report`` stage writes the tables into a fresh ``.partial`` folder (:func:`write_tables`); once
the plan has run, :func:`publish` adds the carried review and the manifest (which then holds the
report stage's own time) and renames the folder into place. A failure at any point leaves no folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from pipeline._profile import peak_rss_mb
from pipeline.config import RunConfig
from pipeline.report import insights_markdown, report_html
from pipeline.result import RunResult
from pipeline.store import RunStore, write_csv, write_json, write_parquet, write_text
from pipeline.trends import alerts_json

__all__ = ["open_run", "publish", "write_tables"]


def open_run(
    result: RunResult, config: RunConfig, run_id: str, notes: list[str], *, feedback_file: Path | None = None
) -> RunStore:
    """A fresh run folder with every table written (the ``report`` stage); abandoned if a write fails.

    ``feedback_file``: a finished feedback.parquet to move in (the Spark engine writes it part by part).
    """
    store = RunStore(config.output.out_dir, run_id, force=config.output.force)
    try:
        write_tables(result, store, config, run_id, notes, feedback_file=feedback_file)
    except BaseException:
        store.abandon()
        raise
    return store


def write_tables(
    result: RunResult,
    store: RunStore,
    config: RunConfig,
    run_id: str,
    notes: list[str],
    *,
    feedback_file: Path | None = None,
) -> None:
    """Every table as Parquet (and CSV where people open them), the insights and the HTML report."""
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


def publish(result: RunResult, store: RunStore, run_id: str) -> Path:
    """Add the carried review and the manifest, then move the folder into place (abandoned on failure)."""
    try:
        if result.carried is not None:
            result.carried.write(store.path("."))
        result.manifest["run_id"] = run_id
        result.manifest["peak_rss_mb"] = round(peak_rss_mb(), 1)
        write_json(result.manifest, store.path("manifest.json"))
        return store.commit()
    except BaseException:
        store.abandon()
        raise


def report_step(ctx: Any, *, result: RunResult) -> dict[str, Any]:
    """The plan's ``report`` stage for either engine: ``ctx`` carries the config, run id, notes and,
    from the Spark engine, the finished feedback file."""
    store = open_run(result, ctx.config, ctx.run_id, ctx.notes, feedback_file=getattr(ctx, "feedback_file", None))
    return {"store": store}
