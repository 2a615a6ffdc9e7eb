"""Theme quality on labeled data: our pipeline against BERTopic defaults, same MiniLM model, same process.

    python -m benchmarks.quality [--datasets test train+test] [--out benchmarks] [--data-dir ../shared/datasets]
                                 [--seeds 42 1 2] [--bertopic-runs 3] [--set embed.batch_size=128 ...]
                                 [--no-bertopic]

On BANKING77 (real banking customer utterances, 77 gold intents in the ``category`` column) it runs:

* **ours**: ``pipeline.run(frame, write=False)`` with the default config (or the ``--set KEY=VALUE``
  overrides, recorded in the records' ``config`` field), the embedding cache in ``--cache-dir``;
  scored on ``theme_id`` (HDBSCAN labels, outliers -1) as ``ours`` and on ``theme_id_reassigned`` as
  ``ours+reassign``;
* **bertopic**: ``BERTopic().fit_transform(docs, embeddings)`` with its defaults, the raw texts as
  documents and all-MiniLM-L6-v2 vectors from sentence-transformers (``SentenceTransformerEmbedder("default")`` behind
  ``CachedEmbedder`` on the same cache), scored as ``bertopic``; then
  ``reduce_outliers(docs, topics, strategy="embeddings", embeddings=embeddings)`` as
  ``bertopic+reduce_outliers``. BERTopic's UMAP is unseeded, so its figures vary between runs.

Both systems are random through UMAP, and one run of either moves ARI by several points, so each runs
several times: ours once per ``--seeds`` seed, BERTopic ``--bertopic-runs`` times. Every run is recorded
(config ``seed=N`` for ours beside the default seed, ``run=K`` for BERTopic's later runs), and so is each
system's mean over its runs (config ``mean of N runs``): the bar is judged on the means.

Every row is scored; outliers (and rows the pipeline excluded) count as one extra cluster labelled -1.
Metrics: number of themes (without -1), outlier share, NMI and ARI (scikit-learn), and accuracy after
Hungarian matching of clusters to intents (``scipy.optimize.linear_sum_assignment`` on the contingency
table; ACC = matched rows / all rows), plus seconds.

Results go to ``<out>/RESULTS.json`` (long-form records merged into the file: only ``theme_quality``
records of the datasets, systems and configs measured now are replaced), ``<out>/RESULTS.md`` (every
section, rendered from the merged records by :mod:`benchmarks.report`) and ``<out>/QUALITY.md`` (these
tables with diagnostics and the procedure). Per-row labels and per-theme diagnostics go to ``--work-dir``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks import report
from benchmarks._setup import start_benchmark
from benchmarks.harness.records import parse_recorded
from benchmarks.quality_page import (
    dataset_name,
    machine_label,
    merge_records,
    render_markdown,
    versions,
)
from benchmarks.quality_scores import (
    Scores,
    diagnose,
    hungarian_accuracy,
    mean_records,
    score,
)
from benchmarks.quality_systems import (
    BENCH_DIR,
    BERTOPIC_RUNS,
    DATASETS,
    DEFAULT_CACHE_DIR,
    DEFAULT_DATA_DIR,
    DEFAULT_SEED,
    DEFAULT_WORK_DIR,
    SECTION,
    SEEDS,
    QualityError,
    SystemRun,
    config_name,
    load_dataset,
    parse_settings,
    run_bertopic,
    run_ours,
    warm_up,
)
from benchmarks.report import write_atomic

__all__ = [
    "QualityError",
    "Scores",
    "hungarian_accuracy",
    "load_dataset",
    "machine_label",
    "main",
    "mean_records",
    "score",
    "versions",
    "warm_up",
]

log = logging.getLogger("benchmarks.quality")


def evaluate(name: str, args: argparse.Namespace, common: dict[str, Any]) -> tuple[list[dict[str, Any]], dict]:
    frame = load_dataset(name, args.data_dir)
    dataset = dataset_name(name)
    gold = frame["category"].to_numpy()
    log.info("%s: %d rows, %d intents", dataset, len(frame), len(set(gold)))

    runs: list[tuple[SystemRun, str | None]] = []  # each run with the config its records carry
    for seed in args.seeds:
        config = config_name([*args.set, *([f"seed={seed}"] if seed != DEFAULT_SEED else [])])
        log.info("%s: ours (pipeline.run, %s)", dataset, f"config {config}" if config else "default config")
        ours = run_ours(frame, args.cache_dir, {**args.settings, "seed": seed})
        log.info("%s: ours %s", dataset, ours.info)
        runs.append((ours, config))
    first_ours = runs[0][0]
    for k in range(0 if args.no_bertopic else args.bertopic_runs):
        log.info("%s: BERTopic defaults, run %d of %d", dataset, k + 1, args.bertopic_runs)
        runs.append((run_bertopic(frame, args.cache_dir), None if k == 0 else f"run={k + 1}"))

    work = args.work_dir / dataset
    work.mkdir(parents=True, exist_ok=True)
    labels = pd.DataFrame({"text": frame["text"], "category": frame["category"]})
    records: list[dict[str, Any]] = []
    diagnostics: dict[str, dict[str, float]] = {}
    for sys_run, system_config in runs:
        for system, pred in sys_run.labels.items():
            shown = system + (f" [{system_config}]" if system_config else "")
            labels[shown] = pred
            scores = score(gold, pred)
            themes, summary = diagnose(gold, pred)
            diagnostics[shown] = summary
            themes.to_csv(work / f"themes-{shown.replace(' ', '_').replace('/', '_')}.csv", index=False)
            log.info("%s %s: %s; %s", dataset, system, scores, summary)
            values: dict[str, float] = {**vars(scores), "seconds": sys_run.seconds[system]}
            if system in sys_run.run_seconds:
                values["run_seconds"] = sys_run.run_seconds[system]
            for metric, value in values.items():
                records.append(
                    {
                        "section": SECTION,
                        "dataset": dataset,
                        "system": system,
                        "rows": len(frame),
                        "metric": metric,
                        "value": round(float(value), 4) if metric != "n_themes" else int(value),
                        "gold_classes": len(set(gold)),
                        "config": system_config,
                        **common,
                    }
                )
                if metric == "run_seconds":
                    cache = sys_run.info.get("embedding_cache") or {}
                    records[-1]["embeddings_computed"] = int(cache.get("computed", 0))
    records += mean_records(records)
    labels.to_parquet(work / "labels.parquet", index=False)
    saved = work / "diagnostics.json"
    if saved.is_file():  # keep the diagnostics of other configs measured earlier
        with contextlib.suppress(ValueError):
            diagnostics = {**json.loads(saved.read_text(encoding="utf-8")), **diagnostics}
    write_atomic(saved, json.dumps(diagnostics, indent=1))
    if first_ours.themes is not None:
        first_ours.themes.to_csv(work / "themes-ours-pipeline.csv", index=False)
    (work / "info.json").write_text(
        json.dumps({next(iter(r.labels)) + (f" [{c}]" if c else ""): r.info for r, c in runs}, indent=2, default=str),
        encoding="utf-8",
    )
    return records, diagnostics


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.quality",
        description="Theme quality on BANKING77: our pipeline vs BERTopic defaults with the same MiniLM model.",
    )
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS), help="default: both")
    parser.add_argument("--out", type=Path, default=BENCH_DIR, help="where RESULTS.json and QUALITY.md go")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="the shared datasets folder")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR, help="embedding cache (kept)")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR, help="per-row labels and diagnostics")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config override for our pipeline (e.g. embed.batch_size=128), repeatable; recorded as 'config' "
        "in the records of ours (BERTopic always runs its defaults)",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=list(SEEDS),
        help=f"seeds of our pipeline, one run each (default: {' '.join(map(str, SEEDS))}); the bar is judged on "
        "the mean over the runs",
    )
    parser.add_argument(
        "--bertopic-runs",
        type=int,
        default=BERTOPIC_RUNS,
        help=f"BERTopic runs per dataset (its UMAP is unseeded; default {BERTOPIC_RUNS})",
    )
    parser.add_argument("--no-bertopic", action="store_true", help="score our pipeline only")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings only")
    return parse_recorded(parser, argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    start_benchmark(quiet=args.quiet)
    started = time.perf_counter()
    try:
        args.settings = parse_settings(args.set)
        if "seed" in args.settings:
            raise QualityError("--set seed=N: pass the seeds with --seeds instead")
        if args.bertopic_runs < 1 or not args.seeds:
            raise QualityError("--seeds needs at least one seed and --bertopic-runs at least 1")
        if args.settings:  # fail now, not after the warm-up
            from pipeline.config import load_config
            from pipeline.errors import ConfigError

            try:
                load_config(None, args.settings)
            except ConfigError as exc:
                raise QualityError(f"--set: {exc}") from None
        if not (args.data_dir / "banking77").is_dir():
            raise QualityError(f"{args.data_dir / 'banking77'} not found; pass --data-dir <shared/datasets>.")
        if not args.no_bertopic:
            try:
                import bertopic  # noqa: F401
            except ImportError:
                raise QualityError(
                    "BERTopic is not installed; pip install -e '.[bench]' (or bertopic), or pass --no-bertopic."
                ) from None
        load_start = os.getloadavg()
        compile_s = warm_up()
        log.info("numba warm-up (untimed in the figures): %.1f s", compile_s)
        common: dict[str, Any] = {
            "date": datetime.now(timezone.utc).date().isoformat(),
            "machine": machine_label(),
            "versions": versions(),
        }
        records: list[dict[str, Any]] = []
        diagnostics: dict[str, dict[str, dict[str, float]]] = {}
        for name in args.datasets:
            recs, diag = evaluate(name, args, common)
            records += recs
            diagnostics[dataset_name(name)] = diag
        load_end = os.getloadavg()
        cores = os.cpu_count() or 1
        notes = [
            f"1-min load average {load_start[0]:.2f} at the start, {load_end[0]:.2f} at the end, on {cores} cores"
            + (
                " (busy: seconds are slower and noisier than on a quiet machine)."
                if max(load_start[0], load_end[0]) > 0.5 * cores
                else "."
            ),
            f"numba warm-up before timing: {compile_s:.1f} s.",
        ]
        if args.set:
            notes.append(f"ours with config overrides: {config_name(args.set)} (BERTopic: its defaults).")
        notes.append(
            f"ours: seeds {', '.join(map(str, args.seeds))}"
            + ("" if args.no_bertopic else f"; BERTopic: {args.bertopic_runs} runs (unseeded)")
            + "; *mean of N runs* rows average them."
        )
        for r in records:
            r["notes"] = notes
        records.append(
            {
                "section": SECTION, "dataset": None, "system": None, "rows": None, "metric": report.RUN_INFO,
                "value": round(time.perf_counter() - started, 1), "unit": "s", "config": config_name(args.set),
                "datasets": [dataset_name(n) for n in args.datasets], "command": args.command, **common,
            }
        )  # fmt: skip
        args.out.mkdir(parents=True, exist_ok=True)
        merged = merge_records(args.out / "RESULTS.json", records)
        for dataset in {r.get("dataset") for r in merged if r.get("section") == SECTION} - set(diagnostics):
            saved = args.work_dir / str(dataset) / "diagnostics.json"
            if saved.is_file():  # measured by an earlier run on this machine
                diagnostics[str(dataset)] = json.loads(saved.read_text(encoding="utf-8"))
        report.write_results(args.out, merged)
        write_atomic(args.out / "QUALITY.md", render_markdown(merged, diagnostics=diagnostics))
    except QualityError as exc:
        log.error("%s", exc)
        return 2
    frame = pd.DataFrame([r for r in records if r["metric"] != report.RUN_INFO])
    frame["config"] = frame["config"].fillna("")
    table = frame.pivot_table(
        index=["dataset", "system", "config"], columns="metric", values="value", aggfunc="first", sort=False
    )
    for metric in ("n_themes",):
        if metric in table:
            table[metric] = table[metric].astype(int)
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    log.info("wrote %s, %s and %s", args.out / "RESULTS.json", args.out / "RESULTS.md", args.out / "QUALITY.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
