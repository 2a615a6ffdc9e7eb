"""``python -m benchmarks.scale_memory``: ingest and clean alone at 250k-1M rows, for their memory (issue 15).

Each size runs in a fresh process that executes the plan's first two stages with the local engine's steps
and the default config (``text_col`` set, an empty cache folder), as ``insights run`` does, and stops
there: on a machine where embedding 1M rows takes hours, this still shows how ingest and clean grow. It
records, per stage, the peak RSS, what the stage added above its start, and after clean the RSS that
stays (what the later stages start from).

``--compare COMMIT`` runs the same child with that commit's ``pipeline`` package first on the path (from
``git archive``), size by size beside this checkout's, so before and after come from one run on one machine.

Records go to section ``ingest_clean_memory`` of RESULTS.json (this run's sizes and code replace older ones).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["SECTION", "main", "memory_records", "slope_records"]

log = logging.getLogger("benchmarks.scale_memory")

SECTION = "ingest_clean_memory"
REPO = Path(__file__).resolve().parents[1]
_STAGES = ("ingest", "clean")


def _child(path: Path) -> dict[str, Any]:
    """Run ingest → clean on ``path`` with the ``pipeline`` package first on the path; the figures as a dict."""
    from pipeline._profile import current_rss_mb
    from pipeline.config import RunConfig
    from pipeline.engines.local import LOCAL_STEPS
    from pipeline.plan import execute, stages_through
    from pipeline.runner import local_run

    with tempfile.TemporaryDirectory(prefix="scale-memory-") as cache:
        config = RunConfig.model_validate({"ingest": {"text_col": "Content"}, "embed": {"cache_dir": cache}})
        ctx = local_run(config)
        start = current_rss_mb()
        values: dict[str, Any] = {"inputs": path}
        execute(stages_through("clean"), LOCAL_STEPS, ctx, values, ctx.timings)
        retained = current_rss_mb()
        rows = len(values["cleaned"])
    return {"rows": rows, "start_rss_mb": start, "retained_rss_mb": retained, "stages": ctx.timings}


def memory_records(figures: dict[str, Any], common: dict[str, Any]) -> list[dict[str, Any]]:
    """RESULTS.json records of one child's figures."""
    from benchmarks.harness.records import make_record

    base = {**common, "rows": figures["rows"]}
    out = []
    for stage in _STAGES:
        t = figures["stages"][stage]
        for metric, value, unit in (
            ("stage_seconds", t["seconds"], "s"),
            ("peak_rss_mb", t["peak_rss_mb"], "MB"),
            ("rss_added_mb", t["peak_rss_mb"] - t["start_rss_mb"], "MB"),
        ):
            out.append(make_record(base, metric=metric, stage=stage, run=None, value=round(value, 1), unit=unit))
    out.append(
        make_record(
            base,
            metric="retained_rss_mb",
            stage="clean",
            run=None,
            value=round(figures["retained_rss_mb"], 1),
            unit="MB",
        )
    )
    return out


def slope_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """MB per 100,000 more rows, from the smallest to the largest size measured, of each code's rss_added_mb
    per stage and retained_rss_mb: about 0 is memory that does not grow with the input."""
    series: dict[tuple[Any, ...], dict[int, dict[str, Any]]] = {}
    for r in records:
        if r.get("metric") in ("rss_added_mb", "retained_rss_mb"):
            series.setdefault((r.get("config"), r["metric"], r["stage"]), {})[int(r["rows"])] = r
    out = []
    for (config, metric, _stage), by_rows in series.items():
        if len(by_rows) < 2:
            continue
        small, large = min(by_rows), max(by_rows)
        slope = (by_rows[large]["value"] - by_rows[small]["value"]) / (large - small) * 100_000
        out.append({**by_rows[large], "metric": f"{metric}_per_100k_rows", "value": round(slope, 1),
                    "unit": "MB", "from_rows": small, "config": config})  # fmt: skip
    return out


def _code_of(commit: str, work_dir: Path) -> Path:
    """That commit's tree, unpacked once under ``work_dir`` (``git archive``: no worktree to clean up)."""
    target = work_dir / "code" / commit
    if not (target / "pipeline").is_dir():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(REPO), "archive", commit], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def _run_child(python: str, path: Path, code: Path, timeout: float) -> dict[str, Any]:
    # Run as a script, ``code`` first on the path: its ``pipeline`` is the one measured, and clean's worker
    # processes (which re-run the main module) find this file even when ``code`` has no such benchmark.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(dict.fromkeys([str(code), str(REPO)]))}
    command = [python, str(Path(__file__).resolve()), "--child", str(path)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        tail = [line for line in done.stderr.splitlines() if line.strip()][-1:] or [f"exit {done.returncode}"]
        raise RuntimeError(f"{Path(command[1]).name} --child {path.name} ({code}) failed: {tail[0]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(args: argparse.Namespace) -> Path:
    from benchmarks import report
    from benchmarks.harness.inputs import build_input
    from benchmarks.harness.machine import Machine, load_note
    from benchmarks.harness.records import merge_replacing, today

    machine = Machine.probe()
    started = time.perf_counter()
    head = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "pipeline"], capture_output=True,
                           text=True, check=False).stdout.strip()  # fmt: skip
    # A clean checkout is measured from its own archive, so editing the tree during a long run changes nothing.
    codes = {f"{head}+changes": REPO} if dirty else {head: _code_of(head, args.work_dir)}
    if args.compare:
        codes = {args.compare: _code_of(args.compare, args.work_dir), **codes}
    records: list[dict[str, Any]] = []
    common = {"section": SECTION, "dataset": "dabrowski_is22_app_reviews+banking77 (resampled, perturbed)",
              "system": "ours", "date": today(), "machine": machine.label}  # fmt: skip
    for n in args.sizes:
        bench = build_input(n, data_dir=args.data_dir, work_dir=args.work_dir, seed=args.seed)
        for label, code in codes.items():
            log.info("%d rows, code %s: ingest + clean", n, label)
            figures = _run_child(args.python, bench.path, code, args.timeout)
            added = [figures["stages"][s]["peak_rss_mb"] - figures["stages"][s]["start_rss_mb"] for s in _STAGES]
            log.info("%d rows, code %s: ingest +%.0f MB, clean +%.0f MB, %.0f MB retained", n, label, *added,
                     figures["retained_rss_mb"])  # fmt: skip
            records += memory_records(figures, {**common, "config": f"code {label}"})
    records += slope_records(records)
    notes = [
        f"Command: `python -m benchmarks.scale_memory --sizes {' '.join(map(str, args.sizes))}"
        + (f" --compare {args.compare}`" if args.compare else "`")
        + f" ({(time.perf_counter() - started) / 60:.1f} min). Each size and code in a fresh process: ingest and clean"
        " with the local engine's steps and the default config, an empty cache; 'config' names the code measured.",
        "rss_added_mb: the stage's peak RSS minus its start; retained_rss_mb: RSS after clean, which the later "
        "stages start from; *_per_100k_rows: how much either grows per 100,000 more rows, from the smallest size "
        "to the largest (0 = flat).",
        load_note(machine, os.getloadavg()),
    ]
    info = {"section": SECTION, "metric": report.RUN_INFO, "value": round(time.perf_counter() - started, 1),
            "unit": "s", "date": today(), "machine": machine.label, "notes": notes}  # fmt: skip
    # This run's sizes and codes replace every earlier record of the section.
    merged = merge_replacing(args.out / "RESULTS.json", [*records, info], {(SECTION,)}, lambda r: (r.get("section"),))
    report.write_results(args.out, merged)
    return args.out / "RESULTS.md"


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None and len(sys.argv) > 2 and sys.argv[1] == "--child":  # only the pipeline is imported here
        logging.basicConfig(level=logging.ERROR)
        print(json.dumps(_child(Path(sys.argv[2]))))
        return 0
    from benchmarks._setup import OFFLINE, start_benchmark
    from benchmarks.harness.inputs import DEFAULT_DATA_DIR, DEFAULT_WORK_DIR

    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale_memory", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[250_000, 500_000, 1_000_000], metavar="N")
    parser.add_argument("--compare", metavar="COMMIT", help="also measure this commit's pipeline, size by size")
    parser.add_argument("--seed", type=int, default=42, help="input resampling seed (default 42, as benchmarks.scale)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks", help="where RESULTS.json/md go")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="the shared datasets folder")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR, help="inputs and unpacked code")
    parser.add_argument("--python", default=sys.executable, help="interpreter of the child runs")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per child (default 3600)")
    args = parser.parse_args(argv)
    start_benchmark()
    os.environ.update(OFFLINE)
    print(run(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
