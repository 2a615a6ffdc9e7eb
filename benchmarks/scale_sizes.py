"""``python -m benchmarks.scale --sizes``: the whole pipeline at 100k-1M rows in a fresh process, timed from
outside, with growth exponents between sizes (section ``scale``)."""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import math
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from benchmarks import report
from benchmarks.harness.inputs import TEXT_COL, BenchInput, build_input
from benchmarks.harness.machine import Machine, load_note
from benchmarks.harness.pipeline_runs import prepare_builds, seed_cache
from benchmarks.harness.processes import BenchError, child_env, measure
from benchmarks.harness.records import SYSTEM, merge_replacing, today

__all__ = ["ENGINES", "SCALE", "ScaleRun", "growth_records", "run_sizes", "scale_records", "target_notes"]

log = logging.getLogger("benchmarks.scale")


SCALE = "scale"


ENGINES = ("local", "spark")


END_TO_END = "end_to_end"


#: Issue 7's targets for 1,000,000 rows.
TARGET_ROWS = 1_000_000


TARGET_SECONDS = 45 * 60


TARGET_RSS_MB = 6 * 1024  # MiB, as peak_rss_mb everywhere in RESULTS.json


#: "Close to linear": an end-to-end growth exponent up to this counts as met.
TARGET_EXPONENT = 1.15


#: Issue 15's tighter targets for the same 1,000,000 rows, local engine.
TARGET_SECONDS_15 = 30 * 60


TARGET_RSS_MB_15 = 4 * 1024


def pipeline_has_engine_flag(python: str) -> bool:
    """Whether ``python -m pipeline run --help`` offers ``--engine``."""
    done = subprocess.run(
        [python, "-m", "pipeline", "run", "--help"], env=child_env(), capture_output=True, text=True, check=False
    )
    return "--engine" in done.stdout


@dataclass
class ScaleRun:
    bench: BenchInput
    engine: str
    wall_s: float
    cpu_s: float
    max_rss_mb: float
    manifest: dict[str, Any]
    load_start: float
    load_end: float


def run_size(bench: BenchInput, engine: str, args: argparse.Namespace) -> ScaleRun:
    """One fresh ``python -m pipeline run`` process on ``bench`` with an empty embedding cache."""
    run_id = f"scale-{engine}-{bench.rows}"
    cache_dir = args.work_dir / "cache" / run_id
    shutil.rmtree(cache_dir, ignore_errors=True)
    cache_dir.mkdir(parents=True)
    seed_cache(cache_dir, args.prepared)
    env = {**child_env(), "FEEDBACK_INSIGHTS_CACHE": str(cache_dir)}
    runs_dir = args.work_dir / "runs"
    cmd = [
        args.python, "-m", "pipeline", "run", str(bench.path), "--text-col", TEXT_COL, "--meta-cols", "origin",
        "--cache-dir", str(cache_dir), "--out", str(runs_dir), "--run-id", run_id, "--force", "-q",
        *(["--engine", engine] if engine != "local" else []),
        *(arg for item in args.set for arg in ("--set", item)),
    ]  # fmt: skip
    log.info("%s: %s", run_id, " ".join(cmd[1:]))
    load_start = os.getloadavg()[0]
    measured = measure(cmd, env=env, log_stem=args.work_dir / "logs" / run_id, timeout=args.timeout)
    load_end = os.getloadavg()[0]
    if measured.returncode != 0:
        tail = measured.stderr.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
        raise BenchError(f"{run_id} failed (exit {measured.returncode}): {tail} (log: {measured.stderr})")
    manifest_path = runs_dir / run_id / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BenchError(f"{manifest_path}: cannot read the run's manifest ({exc}).") from None
    if not args.keep_cache:
        shutil.rmtree(cache_dir, ignore_errors=True)
    log.info(
        "%s: %.1f s wall, peak RSS %.0f MB, load %.2f -> %.2f",
        run_id, measured.wall_s, measured.max_rss_mb, load_start, load_end,
    )  # fmt: skip
    return ScaleRun(bench, engine, measured.wall_s, measured.cpu_s, measured.max_rss_mb, manifest, load_start, load_end)


def scale_records(run: ScaleRun, common: dict[str, Any]) -> list[dict[str, Any]]:
    """Per stage: seconds, peak RSS, rows/s; end to end: the same plus CPU, counts and load."""
    n = run.bench.rows
    base = {
        **common, "section": SCALE, "dataset": run.bench.dataset, "system": SYSTEM, "rows": n, "engine": run.engine,
        "run": run.engine, "config": common.get("config"),
    }  # fmt: skip

    def rec(metric: str, stage: str | None, value: float | int | None, unit: str, **extra: Any) -> dict[str, Any]:
        v = value if value is None or isinstance(value, int) else round(float(value), 4 if abs(value) < 10 else 1)
        return {**base, "metric": metric, "stage": stage, "value": v, "unit": unit, **extra}

    records = []
    for name, info in run.manifest.get("stages", {}).items():
        seconds = float(info["seconds"])
        records.append(rec("stage_seconds", name, seconds, "s"))
        records.append(rec("peak_rss_mb", name, float(info.get("peak_rss_mb", math.nan)), "MB"))
        if "start_rss_mb" in info:  # what the stage itself added on top of what the earlier stages hold
            records.append(rec("rss_added_mb", name, float(info["peak_rss_mb"]) - float(info["start_rss_mb"]), "MB"))
        records.append(rec("rows_per_s", name, n / seconds if seconds > 0 else None, "rows/s"))
    records.append(rec("stage_seconds", END_TO_END, run.wall_s, "s"))
    records.append(rec("peak_rss_mb", END_TO_END, run.max_rss_mb, "MB"))
    records.append(rec("rows_per_s", END_TO_END, n / run.wall_s, "rows/s"))
    cluster = run.manifest.get("cluster") or {}
    fitted = cluster.get("fitted_on") or {}
    assigned = cluster.get("assigned") or {}
    embedded = (run.manifest.get("embedding_cache") or {}).get("groups")
    accounting = run.manifest.get("accounting") or {}
    counts: dict[str, Any] = {
        "cpu_seconds": (run.cpu_s, "s"),
        "load_1min_start": (run.load_start, "load"),
        "load_1min_end": (run.load_end, "load"),
        "distinct_texts": (run.bench.distinct_texts, "texts"),
        "distinct_texts_embedded": (embedded, "texts"),
        # No sample below scale.sample_size: every embedded text is fitted on.
        "fitted_texts": (fitted.get("texts", embedded if not assigned else None), "texts"),
        "fitted_rows": (fitted.get("rows", cluster.get("n_rows") if not assigned else None), "rows"),
        "assigned_texts": (assigned.get("texts", 0), "texts"),
        "assigned_rows": (assigned.get("rows", 0), "rows"),
        "n_themes": (cluster.get("n_themes"), "themes"),
        "outlier_share": (
            accounting["outliers"] / accounting["rows_in"] if accounting.get("rows_in") else None,
            "share",
        ),
    }
    for metric, (value, unit) in counts.items():
        if value is not None:
            records.append(rec(metric, None, value, unit))
    return records


def growth_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """log(t2/t1)/log(n2/n1) between consecutive measured sizes of each engine and config, per stage.

    Computed over all ``scale`` records given (the merged file), recorded at the larger size with
    ``from_rows`` naming the smaller one.
    """
    seconds: dict[tuple[Any, ...], dict[int, dict[str, Any]]] = {}
    for r in records:
        if r.get("section") == SCALE and r.get("metric") == "stage_seconds" and r.get("value"):
            key = (r.get("engine"), r.get("config"), r.get("stage"))
            seconds.setdefault(key, {})[int(r["rows"])] = r
    out = []
    for (_engine, _config, stage), by_rows in seconds.items():
        sizes = sorted(by_rows)
        for n1, n2 in itertools.pairwise(sizes):
            t1, t2 = float(by_rows[n1]["value"]), float(by_rows[n2]["value"])
            if t1 <= 0 or t2 <= 0:
                continue
            later = by_rows[n2]
            out.append(
                {
                    **{k: later.get(k) for k in ("section", "dataset", "system", "rows", "engine", "run", "config")},
                    "metric": "growth_exponent",
                    "stage": stage,
                    "value": round(math.log(t2 / t1) / math.log(n2 / n1), 3),
                    "unit": "exponent",
                    "from_rows": n1,
                    "date": later.get("date"),
                }
            )
    return out


#: The ``stage`` of the derived record that holds the target lines (see :func:`targets_record`).
TARGETS_STAGE = "targets"


def target_notes(records: list[dict[str, Any]]) -> list[str]:
    """Issue 7's targets checked against the merged records (local engine and each other engine)."""
    notes = []
    by: dict[tuple[Any, ...], float] = {
        (r.get("engine"), r["rows"], r["metric"], r.get("stage")): float(r["value"])
        for r in records
        if r.get("section") == SCALE and r.get("value") is not None and r.get("rows") and not r.get("config")
    }
    for engine in ENGINES:
        wall = by.get((engine, TARGET_ROWS, "stage_seconds", END_TO_END))
        rss = by.get((engine, TARGET_ROWS, "peak_rss_mb", END_TO_END))
        exp = by.get((engine, TARGET_ROWS, "growth_exponent", END_TO_END))
        sizes = sorted({k[1] for k in by if k[0] == engine})
        if not sizes:
            continue
        if wall is None:
            notes.append(
                f"Targets ({engine} engine): 1,000,000 rows not measured yet (measured: "
                f"{', '.join(f'{n:,}' for n in sizes)}); target: end to end ≤ {TARGET_SECONDS // 60} min, "
                f"peak RSS < {TARGET_RSS_MB / 1024:.0f} GiB, growth close to linear."
            )
            continue
        mark = report.check_mark  # the same check marks as the other sections
        notes.append(
            f"Targets ({engine} engine) at 1,000,000 rows: end to end {wall / 60:.1f} min "
            f"(≤ {TARGET_SECONDS // 60} min {mark(wall <= TARGET_SECONDS)}), peak RSS {rss or 0:,.0f} MB "
            f"(< {TARGET_RSS_MB:,} MB {mark((rss or math.inf) < TARGET_RSS_MB)}), end-to-end growth exponent "
            + (f"{exp:.2f} (≤ {TARGET_EXPONENT} {mark(exp <= TARGET_EXPONENT)})." if exp is not None else "—.")
        )
        if engine == "local":
            notes.append(
                f"Issue 15's targets (local engine) at 1,000,000 rows: end to end {wall / 60:.1f} min "
                f"(≤ {TARGET_SECONDS_15 // 60} min {mark(wall <= TARGET_SECONDS_15)}), peak RSS {rss or 0:,.0f} MB "
                f"(≤ {TARGET_RSS_MB_15:,} MB {mark((rss or math.inf) <= TARGET_RSS_MB_15)})."
            )
    return notes


def targets_record(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The lines of :func:`target_notes` as a record of their own, worked out again at each write (like the
    growth records): kept in a run's notes, they would go on showing figures that a later run replaced."""
    return {
        "section": SCALE, "dataset": None, "system": None, "rows": None, "metric": report.RUN_INFO,
        "stage": TARGETS_STAGE, "value": None, "date": today(), "notes": target_notes(records),
    }  # fmt: skip


def scale_settings(manifest: dict[str, Any]) -> str:
    """The run's resolved ``scale`` settings that shape the figures (from its manifest)."""
    scale = (manifest.get("config") or {}).get("scale") or {}
    keys = ("sample_size", "assign_threshold", "assign_member_quantile", "batch_size", "memmap_min_texts")
    return "scale config " + ", ".join(f"{k}={scale[k]}" for k in keys if k in scale)


def run_sizes(args: argparse.Namespace) -> int:
    machine = Machine.probe()
    started = time.perf_counter()
    notes: list[str] = list(getattr(args, "note", []))
    common = {
        "date": today(),
        "machine": machine.label,
        "config": ";".join(sorted(args.set)) or None,
        "repeats": 1,
    }
    new: list[dict[str, Any]] = []
    measured_keys: set[tuple[Any, ...]] = set()
    if args.engine == "spark" and not pipeline_has_engine_flag(args.python):
        notes.append(
            "Spark engine runs skipped: `python -m pipeline run` has no `--engine` option yet (checked with "
            "`--help`); rerun `python -m benchmarks.scale --sizes ... --engine spark` once it exists."
        )
        log.warning(notes[-1])
    else:
        if args.engine == "spark":
            notes.append(
                "Spark engine: peak RSS is the child's rusage (wait4), the largest single process among the driver "
                "and the processes it waited for (the JVM, Python workers), not their sum; the stage seconds are "
                "the engine's own timings from manifest.json."
            )
        args.prepared = prepare_builds(args, args.data_dir)
        for n in args.sizes:
            bench = build_input(n, data_dir=args.data_dir, work_dir=args.work_dir, seed=args.seed)
            log.info("input: %s", bench.description)
            run = run_size(bench, args.engine, args)
            new += scale_records(run, common)
            notes.append(f"{n:,} rows ({args.engine}): {scale_settings(run.manifest)}.")
            measured_keys.add((args.engine, n, common["config"]))
            notes.append(
                f"{n:,} rows ({args.engine}): input {bench.description}. Synthetic beyond 10,000 rows: real "
                "reviews and BANKING77 utterances resampled with replacement and lightly perturbed "
                "(benchmarks/README.md)."
            )
            _write_scale(args, new, measured_keys, notes, machine, started)
    _write_scale(args, new, measured_keys, notes, machine, started)
    return 0


def _write_scale(
    args: argparse.Namespace,
    new: list[dict[str, Any]],
    measured: set[tuple[Any, ...]],
    notes: list[str],
    machine: Machine,
    started: float,
) -> None:
    """Merge this run's records (replacing those of the same engine, size and config), recompute growth."""
    load_end = os.getloadavg()
    run_notes = [
        *notes,
        load_note(machine, load_end),
        "Each size runs once (no repeats), in a fresh process with an empty embedding cache (the int8 ONNX build "
        "copied in from an untimed preparatory run).",
    ]
    sizes = sorted(rows for _engine, rows, _config in measured)
    info = {
        "section": SCALE, "dataset": None, "system": None, "rows": None, "metric": report.RUN_INFO,
        "value": round(time.perf_counter() - started, 1), "unit": "s", "engine": args.engine, "run": args.engine,
        "config": ";".join(sorted(args.set)) or None, "command": args.command, "date": today(),
        "machine": machine.label, "sizes": sizes, "notes": run_notes,  # the notes of the section, shown once
    }  # fmt: skip

    def key(r: dict[str, Any]) -> tuple[Any, ...]:
        if r.get("section") != SCALE:
            return ()
        if r.get("metric") == "growth_exponent":
            return ("growth",)
        if r.get("metric") == report.RUN_INFO and r.get("stage") == TARGETS_STAGE:
            return ("growth",)  # derived from the others, like the growth records
        if r.get("metric") == report.RUN_INFO:
            # An earlier run's notes go only with all of its sizes: a run at other sizes keeps them.
            covered = r.get("sizes") is None or set(r["sizes"]) <= set(sizes)
            return ("info", r.get("engine"), r.get("config")) if covered else ("kept info",)
        return (r.get("engine"), r.get("rows"), r.get("config"))

    replaced = {*measured, ("growth",), ("info", args.engine, info["config"])}
    merged = merge_replacing(args.out / "RESULTS.json", [*new, info], replaced, key)
    merged += growth_records(merged)
    merged.append(targets_record(merged))
    args.out.mkdir(parents=True, exist_ok=True)
    report.write_results(args.out, merged)
