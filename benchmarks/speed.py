"""The speed benchmark: our pipeline at each size, cold and warm, beside BERTopic; process starts.

Run by ``python -m benchmarks.run`` (its docstring says how); the harness (:mod:`benchmarks.harness`)
times the processes and writes the records.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import shutil
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks import report
from benchmarks.harness.bertopic import bertopic_available, bertopic_figures, run_bertopic
from benchmarks.harness.inputs import BANKING_FILES, REVIEWS_FILE, BenchInput, build_input
from benchmarks.harness.machine import Machine
from benchmarks.harness.pipeline_runs import PipelineRun, prepare_builds, run_pipeline, seed_cache
from benchmarks.harness.processes import HEAVY_IMPORTS, BenchError, child_env, elapsed, last_line, measure
from benchmarks.harness.records import BERTOPIC, SYSTEM, Figure, make_record, median_records, merge_records, round_value
from benchmarks.speed_notes import estimate_seconds, speed_notes

__all__ = ["BERTOPIC", "SYSTEM", "benchmark", "benchmark_size", "ratio_records", "size_figures", "startup_records"]

log = logging.getLogger("benchmarks.run")


SECTION = report.SPEED


#: BERTopic end to end by default only up to this size (its UMAP makes larger runs long; see the notes).
DEFAULT_BERTOPIC_MAX_ROWS = 10_000


#: ``python -m benchmarks`` (make bench) runs the warm (cached) pass only up to this size.
DEFAULT_WARM_MAX_ROWS = 10_000


EMBED = report.EMBED


def size_figures(n: int, cold: PipelineRun, warm: PipelineRun | None) -> list[Figure]:
    """Every figure of one cold (+ warm) pair of our pipeline at N rows."""
    figures: list[Figure] = []
    ref = cold.stages[EMBED]
    runs = [("cold", cold)] + ([("warm", warm)] if warm is not None else [])
    for name, run in runs:
        stages = run.stages
        total = sum(stages.values())
        for stage, seconds in stages.items():
            figures.append(("stage_seconds", stage, name, seconds, "s"))
            if seconds > 0:
                figures.append(("rows_per_s", stage, name, n / seconds, "rows/s"))
            figures.append(("peak_rss_mb", stage, name, run.stage_rss[stage], "MB"))
            if stage != EMBED and ref > 0:
                figures.append(("fraction_of_cold_embed", stage, name, seconds / ref, "ratio"))
        if ref > 0:
            non_embed = total - stages[EMBED]
            figures.append(("fraction_of_cold_embed", "non_embed_total", name, non_embed / ref, "ratio"))
        figures += [
            ("stages_total_seconds", "all_stages", name, total, "s"),
            ("rows_per_s", "all_stages", name, n / total if total > 0 else float("nan"), "rows/s"),
            ("end_to_end_seconds", "process", name, run.process.wall_s, "s"),
            ("rows_per_s", "process", name, n / run.process.wall_s, "rows/s"),
            ("process_overhead_seconds", "process", name, run.process.wall_s - total, "s"),
            ("cpu_seconds", "process", name, run.process.cpu_s, "s"),
            ("peak_rss_mb", "process", name, float(run.manifest["peak_rss_mb"]), "MB"),
        ]
        cache = run.manifest["embedding_cache"]
        computed = int(cache.get("computed", 0))
        figures += [
            ("distinct_texts_embedded", EMBED, name, float(cache.get("groups", 0)), "texts"),
            ("texts_computed", EMBED, name, float(computed), "texts"),
            ("texts_from_cache", EMBED, name, float(cache.get("from_cache", 0)), "texts"),
        ]
        if computed and stages[EMBED] > 0:
            figures.append(("texts_per_s", EMBED, name, computed / stages[EMBED], "texts/s"))
    # What the cold run found (the warm run finds the same: same input, same seed).
    accounting = cold.manifest.get("accounting") or {}
    themes = (cold.manifest.get("cluster") or {}).get("n_themes")
    rows_in = accounting.get("rows_in") or n
    if themes is not None:
        figures.append(("n_themes", None, "cold", float(themes), "themes"))
    if "outliers" in accounting:
        outliers = int(accounting["outliers"])
        left = outliers - int(accounting.get("outliers_reassigned", 0))
        figures += [
            ("outlier_share", None, "cold", outliers / rows_in, "share"),
            ("outlier_share_reassigned", None, "cold", left / rows_in, "share"),
        ]
    if warm is not None:
        if warm.stages[EMBED] > 0:
            figures.append(("embed_speedup_cached", EMBED, "warm", ref / warm.stages[EMBED], "x"))
        speedup = cold.process.wall_s / warm.process.wall_s
        figures.append(("end_to_end_speedup_cached", "process", "warm", speedup, "x"))
    return figures


def ratio_records(ours: list[dict[str, Any]], theirs: list[dict[str, Any]], base: dict[str, Any]) -> list[dict]:
    """BERTopic ÷ ours (metric ``ratio_to_ours``): end to end against our cold and warm runs, the
    comparable stages (see :data:`benchmarks.report.COMPARABLE_STEPS`) and peak RSS against our cold run."""
    mine, bt = report.Lookup(ours), report.Lookup(theirs)
    pairs: list[tuple[str, str, float | None, float | None]] = []
    bt_wall = bt.get("end_to_end_seconds", "process", "cold")
    for run in ("cold", "warm"):
        pairs.append(("end_to_end", run, bt_wall, mine.get("end_to_end_seconds", "process", run)))
    for stage, index in report.RATIO_STEPS.items():
        _, our_stages, their_stages = report.COMPARABLE_STEPS[index]
        pairs.append(
            (stage, "cold", bt.total("stage_seconds", their_stages, "cold"),
             mine.total("stage_seconds", our_stages, "cold"))
        )  # fmt: skip
    pairs.append(
        ("peak_rss", "cold", bt.get("peak_rss_mb", "process", "cold"), mine.get("peak_rss_mb", "process", "cold"))
    )
    return [
        make_record(base, metric="ratio_to_ours", stage=stage, run=run, value=round_value(num / den), unit="x")
        for stage, run, num, den in pairs
        if num is not None and den
    ]


def startup_records(
    python: str, *, repeats: int, work_dir: Path, timeout: float, common: dict[str, Any]
) -> list[dict[str, Any]]:
    commands = {
        "python_bare": [python, "-c", "pass"],
        "import_pipeline": [python, "-c", "import pipeline"],
        "cli_help": [python, "-m", "pipeline", "--help"],
    }
    figures: list[list[Figure]] = [[] for _ in range(repeats)]
    env = child_env()
    for label, cmd in commands.items():
        stem = work_dir / "logs" / f"start-{label}"
        measure(cmd, env=env, log_stem=stem, timeout=timeout)  # untimed: fills the OS file cache
        for i in range(repeats):
            result = measure(cmd, env=env, log_stem=stem, timeout=timeout)
            if result.returncode != 0:
                raise BenchError(f"{' '.join(cmd[1:])} failed (exit {result.returncode}): {last_line(result.stderr)}")
            figures[i].append(("process_start_seconds", label, "cold", result.wall_s, "s"))
        log.info("start %s: %.2f s (median of %d)", label, statistics.median(f[-1][3] for f in figures), repeats)
    return median_records(figures, common={**common, "dataset": None, "rows": None, "repeats": repeats})


def benchmark_size(
    bench: BenchInput, args: argparse.Namespace, *, common: dict[str, Any]
) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """Cold (+ warm) runs of ours and a BERTopic run, ``--repeats`` times.

    Returns the records, the last cold manifest and the last BERTopic result (empty when not run)."""
    n = bench.rows
    with_warm = args.warm_max_rows is None or n <= args.warm_max_rows
    with_bertopic = args.bertopic_reason is None and n <= args.bertopic_max_rows
    ours_repeats: list[list[Figure]] = []
    bt_repeats: list[list[Figure]] = []
    manifest: dict[str, Any] = {}
    bt_result: dict[str, Any] = {}
    for r in range(1, args.repeats + 1):
        tag = f"{n}" if args.repeats == 1 else f"{n}-r{r}"
        cache_dir = args.work_dir / "cache" / tag
        shutil.rmtree(cache_dir, ignore_errors=True)
        cache_dir.mkdir(parents=True)
        args.seeded = seed_cache(cache_dir, args.prepared)
        numba_dir = None
        if args.fresh_numba_cache:
            numba_dir = args.work_dir / "numba" / tag
            shutil.rmtree(numba_dir, ignore_errors=True)
            numba_dir.mkdir(parents=True)
        env = child_env(numba_dir)
        kwargs: dict[str, Any] = {
            "cache_dir": cache_dir, "work_dir": args.work_dir, "env": env, "settings": args.set,
            "timeout": args.timeout,
        }  # fmt: skip
        cold = run_pipeline(args.python, bench, run_id=f"cold-{tag}", **kwargs)
        warm = run_pipeline(args.python, bench, run_id=f"warm-{tag}", **kwargs) if with_warm else None
        ours_repeats.append(size_figures(n, cold, warm))
        manifest = cold.manifest
        if not args.keep_cache:
            shutil.rmtree(cache_dir, ignore_errors=True)
        if with_bertopic:
            if args.fresh_numba_cache:
                numba_dir = args.work_dir / "numba" / f"bertopic-{tag}"
                shutil.rmtree(numba_dir, ignore_errors=True)
                numba_dir.mkdir(parents=True)
            bt = run_bertopic(
                args.python, bench, tag=tag, work_dir=args.work_dir, env=child_env(numba_dir), timeout=args.timeout
            )
            bt_repeats.append(bertopic_figures(n, bt))
            bt_result = bt.result
    base = {**common, "dataset": bench.dataset, "rows": n}
    records = median_records(ours_repeats, common=base)
    records += [
        make_record(base, metric="input_rows", stage=label, run=None, value=count, unit="rows")
        for label, count in bench.composition.items()
    ]
    distinct = bench.distinct_texts
    records.append(make_record(base, metric="input_distinct_texts", stage=None, run=None, value=distinct, unit="texts"))
    if bt_repeats:
        bt_base = {**base, "system": BERTOPIC}
        bt_records = median_records(bt_repeats, common=bt_base)
        records += bt_records + ratio_records(records, bt_records, bt_base)
    return records, manifest, bt_result


def benchmark(args: argparse.Namespace) -> Path:
    """The speed part: every size, ours and BERTopic; RESULTS.json/md rewritten after each size."""
    started = time.perf_counter()
    data_dir = args.data_dir.resolve()
    if not (data_dir / REVIEWS_FILE).is_file():
        raise BenchError(f"{data_dir / REVIEWS_FILE}: not found; pass --data-dir pointing at shared/datasets.")
    if max(args.sizes) > 10_000:
        for rel in BANKING_FILES:
            if not (data_dir / rel).is_file():
                raise BenchError(f"{data_dir / rel}: not found; sizes above 10,000 need BANKING77 for resampling.")
    machine = Machine.probe()
    date = datetime.now(timezone.utc).date().isoformat()
    config = ";".join(sorted(args.set)) or None
    common: dict[str, Any] = {"section": SECTION, "system": SYSTEM, "date": date, "machine": machine.label}
    common |= {"repeats": args.repeats, "config": config}
    log.info("machine: %s; load average %.2f; work dir %s", machine.label, machine.load_start[0], args.work_dir)
    if machine.load_start[0] > 0.5 * machine.usable_cores:
        log.warning("the machine is busy (load %.2f): figures will be slow and noisy", machine.load_start[0])
    args.work_dir.mkdir(parents=True, exist_ok=True)
    if args.bertopic_reason is None and any(n <= args.bertopic_max_rows for n in args.sizes):
        args.bertopic_reason = bertopic_available(args.python, child_env())
        if args.bertopic_reason:
            log.warning("BERTopic %s: skipping the BERTopic runs", args.bertopic_reason)

    inputs = [
        build_input(n, data_dir=data_dir, work_dir=args.work_dir, seed=args.seed, sampling=args.sampling)
        for n in args.sizes
    ]
    for bench in inputs:
        log.info("input %s: %s", bench.path.name, bench.description)
    if not args.no_warmup:
        imports = HEAVY_IMPORTS + (", bertopic" if args.bertopic_reason is None else "")
        log.info("warming the OS file cache (untimed): %s", imports)
        warm = measure([args.python, "-c", imports], env=child_env(), log_stem=args.work_dir / "logs" / "warmup",
                       timeout=args.timeout)  # fmt: skip
        if warm.returncode != 0:
            raise BenchError(f"importing the libraries failed: {last_line(warm.stderr)}")

    if not args.rebuild_models:
        args.prepared = prepare_builds(args, data_dir)
    args.out.mkdir(parents=True, exist_ok=True)
    json_path = args.out / "RESULTS.json"
    records = startup_records(
        args.python, repeats=args.start_repeats, work_dir=args.work_dir, timeout=args.timeout, common=common
    )
    manifest: dict[str, Any] = {}
    bt_versions: dict[str, Any] = {}

    def save(partial: bool) -> None:
        machine.load_end = os.getloadavg()
        info = make_record(
            {**common, "dataset": None, "rows": None},
            metric=report.RUN_INFO, stage="speed_run", run=None, value=round(time.perf_counter() - started, 1),
            unit="s", partial=partial, python=manifest.get("python", platform.python_version()),
            packages=manifest.get("packages"), bertopic_versions=bt_versions or None, os=machine.system,
            usable_cores=machine.usable_cores, load_avg_start=[round(x, 2) for x in machine.load_start],
            load_avg_end=[round(x, 2) for x in machine.load_end], env={k: v for k, v in machine.env.items() if v},
            command=args.command, notes=speed_notes(inputs, args, machine),
        )  # fmt: skip
        merged = merge_records(json_path, [*records, info])
        report.write_results(args.out, merged)

    history: list[tuple[int, list[dict[str, Any]]]] = []
    for i, bench in enumerate(inputs):
        guess = estimate_seconds(bench.rows, history, args)
        spent = time.perf_counter() - started
        if guess is not None and args.max_minutes is not None and spent + guess > 60 * args.max_minutes:
            args.skipped = [b.rows for b in inputs[i:]]
            log.warning(
                "skipping %s rows: about %.0f more minutes would pass --max-minutes %g",
                ", ".join(f"{n:,}" for n in args.skipped), guess / 60, args.max_minutes,
            )  # fmt: skip
            break
        log.info(
            "[%s] size %d%s", elapsed(started), bench.rows,
            f" (a rough estimate from the sizes before: {guess / 60:.1f} min)" if guess is not None else "",
        )  # fmt: skip
        size_records, manifest, bt_result = benchmark_size(bench, args, common=common)
        bt_versions = bt_result.get("versions") or bt_versions
        records += size_records
        history.append((bench.rows, size_records))
        save(partial=bench is not inputs[-1])
        log.info("[%s] size %d done; results written to %s", elapsed(started), bench.rows, args.out)
    if not inputs or args.skipped:
        save(partial=False)
    log.info("[%s] speed part done: %s (%d records)", elapsed(started), args.out / "RESULTS.md", len(records))
    return args.out / "RESULTS.md"
