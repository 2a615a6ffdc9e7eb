"""How big report.html gets and how long it takes to open, at 10,000 and 100,000 rows.

    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.report_size                 # 10k and 100k
    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.report_size --sizes 2000 --no-write

For each size: sample that many reviews with replacement from the IS-2023 app-review dataset
(column ``Content``, with a synthetic time over 60 days so the count-over-time chart is filled), run
the pipeline model-free (hashing embedder, PCA, tokenizer-only spaCy: the report's size depends on
the number of themes and rows, not on the embedder), then open ``report.html`` from disk in headless
Chromium (``/usr/bin/chromium``) ``--repeats`` times, each in a fresh browser context, and take the
median of:

* ``report_open_s``: navigation start to the theme table rendered (the script's
  ``insights-rendered`` performance mark);
* ``report_load_s``: navigation start to the load event.

Also ``report_bytes`` (the file's size) and ``report_themes``. Records go to ``RESULTS.json``
(section ``browse``), merged like every other part (same section, system and size replaced), and
``RESULTS.md`` is re-rendered from all records by :mod:`benchmarks.report`.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks._setup import CHROMIUM, CHROMIUM_ARGS, start_benchmark

log = logging.getLogger("benchmarks.report_size")

HERE = Path(__file__).resolve().parent
DATASET = "dabrowski_is22_app_reviews"
SOURCE = HERE.parents[1] / "shared" / "datasets" / DATASET / "collected_reviews_8apps.csv"
FAST = {"clean.spacy_model": "blank:en", "embed.model": "hashing", "reduce.method": "pca"}
SECTION = "browse"


def sample_export(source: Path, rows: int, target: Path, *, seed: int = 0) -> Path:
    """``rows`` reviews drawn with replacement, with a time column spread over 60 days."""
    reviews = pd.read_csv(source, usecols=["App id", "Content"]).dropna(subset=["Content"])
    rng = np.random.default_rng(seed)
    picked = reviews.iloc[rng.integers(0, len(reviews), rows)].reset_index(drop=True)
    start = pd.Timestamp("2026-09-01", tz="UTC")
    picked["created_at"] = start + pd.to_timedelta(rng.integers(0, 60 * 86400, rows), unit="s")
    picked.to_csv(target, index=False)
    return target


def build_run(rows: int, work_dir: Path, *, min_cluster_size: int | None = None) -> tuple[Path, dict[str, Any]]:
    from pipeline import run

    export = sample_export(SOURCE, rows, work_dir / f"reviews-{rows}.csv")
    overrides = {
        **FAST,
        "ingest.text_col": "Content",
        "ingest.time_col": "created_at",
        "ingest.meta_cols": ["App id"],
        "embed.cache_dir": str(work_dir / "cache"),
        "output.out_dir": str(work_dir / "out"),
        "output.run_id": f"browse-{rows}",
        "output.force": True,
    }
    if min_cluster_size:
        overrides["cluster.min_cluster_size"] = min_cluster_size
    started = time.perf_counter()
    result = run(export, overrides=overrides)
    assert result.run_dir is not None
    log.info("%d rows: pipeline %.1f s, %d themes", rows, time.perf_counter() - started, len(result.themes))
    return result.run_dir, result.manifest


def open_times(report: Path, repeats: int) -> dict[str, float]:
    """Median seconds from navigation start to the load event and to the first table render."""
    from playwright.sync_api import sync_playwright

    loads, renders = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for _ in range(repeats):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(report.as_uri(), wait_until="load", timeout=120_000)
            page.wait_for_selector("html[data-ready='1']", timeout=120_000)
            timing = page.evaluate(
                """() => ({
                  load: performance.getEntriesByType('navigation')[0].loadEventEnd,
                  render: performance.getEntriesByName('insights-rendered')[0].startTime,
                })"""
            )
            loads.append(timing["load"] / 1000)
            renders.append(timing["render"] / 1000)
            context.close()
        browser.close()
    return {"report_load_s": statistics.median(loads), "report_open_s": statistics.median(renders)}


def measure(rows: int, work_dir: Path, repeats: int, *, min_cluster_size: int | None = None) -> dict[str, float]:
    run_dir, manifest = build_run(rows, work_dir, min_cluster_size=min_cluster_size)
    report = run_dir / "report.html"
    figures: dict[str, float] = {
        "report_bytes": report.stat().st_size,
        "report_themes": len(pd.read_parquet(run_dir / "themes.parquet", columns=["theme_id"])),
        "report_stage_s": float(manifest["stages"]["report"]["seconds"]),
    }
    figures.update(open_times(report, repeats))
    print(
        f"{rows:>7,} rows: report.html {figures['report_bytes'] / 2**20:.2f} MiB, {int(figures['report_themes'])} "
        f"themes; opens in {figures['report_open_s']:.2f} s (table rendered), "
        f"load event {figures['report_load_s']:.2f} s (median of {repeats}); "
        f"report stage {figures['report_stage_s']:.1f} s",
        flush=True,
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=3, help="browser opens per size (median reported)")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/feedback-insights-report-size"))
    parser.add_argument("--out", type=Path, default=HERE, help="folder of RESULTS.json / RESULTS.md")
    parser.add_argument("--no-write", action="store_true", help="print the figures only")
    parser.add_argument(
        "--min-cluster-share",
        type=float,
        default=None,
        help="HDBSCAN min_cluster_size as a share of the rows (recorded as the config): more, smaller themes "
        "make a bigger report; the model-free run finds fewer themes than the real embedder does",
    )
    args = parser.parse_args(argv)
    start_benchmark()
    if not SOURCE.is_file():
        parser.error(f"the dataset is missing: {SOURCE}")
    if not CHROMIUM.exists():
        parser.error(f"no Chromium at {CHROMIUM}: run `make setup` (it installs Debian's chromium)")
    args.work_dir.mkdir(parents=True, exist_ok=True)

    from benchmarks.harness.machine import Machine
    from benchmarks.harness.records import merge_records
    from benchmarks.report import write_results

    machine = Machine.probe()
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    notes = [
        "report.html of a model-free run (hashing embedder, PCA) of reviews sampled with replacement; "
        "opened from disk in headless Chromium, median of "
        f"{args.repeats} fresh browser contexts; open = navigation start to the theme table rendered."
    ]
    for rows in args.sizes:
        mcs = max(5, round(rows * args.min_cluster_share)) if args.min_cluster_share else None
        figures = measure(rows, args.work_dir, args.repeats, min_cluster_size=mcs)
        records = [
            {
                "section": SECTION,
                "dataset": DATASET,
                "system": "ours",
                "rows": rows,
                "config": f"min_cluster_size={mcs}" if mcs else None,
                "metric": metric,
                "value": round(value, 3) if isinstance(value, float) else int(value),
                "date": date,
                "machine": machine.label,
                "notes": notes,
            }
            for metric, value in figures.items()
        ]
        if not args.no_write:
            path = args.out / "RESULTS.json"
            write_results(args.out, merge_records(path, records))
            log.info("%d rows: records merged into %s", rows, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
