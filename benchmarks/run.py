"""Speed and memory of the batch pipeline, per stage, cold and warm, beside BERTopic, on real feedback text.

    python -m benchmarks.run --sizes 2000 10000 [--out benchmarks] [--data-dir ../shared/datasets]
    python -m benchmarks     # everything: speed at 2k/10k/50k/100k + theme quality (make bench)

For each size N it builds an input of N real app reviews (above 10,000: resampled with replacement,
lightly perturbed, see :func:`build_input`), then runs, each in a fresh process:

* **cold**: ``python -m pipeline run`` with an empty embedding cache, so the process imports everything,
  loads the models, compiles numba code and embeds every distinct text;
* **warm**: the same command with the same cache directory, so embeddings come from the cache
  (up to ``--warm-max-rows``);
* **bertopic**: ``python -m benchmarks.bertopic_e2e`` on the same CSV: BERTopic defaults end to end
  with the same MiniLM model (up to ``--bertopic-max-rows``; skipped when BERTopic is not installed).

It times each whole process from outside (wall clock and CPU seconds, via ``wait4``) and reads the
per-stage seconds and peak RSS from the run's ``manifest.json`` (BERTopic: from the JSON its script
writes). It also times bare process starts (``python -c pass``, ``python -c "import pipeline"``,
``python -m pipeline --help``). With ``--quality`` it then runs ``benchmarks.quality`` on BANKING77.

Results go to ``<out>/RESULTS.json`` (long-form records, merged into the file: records of other
sections, sizes or configs are kept) and ``<out>/RESULTS.md`` (rendered from the merged records by
:mod:`benchmarks.report`), rewritten after each size so an interrupted run keeps what it measured.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks._setup import start_benchmark
from benchmarks.harness.bertopic import bertopic_available
from benchmarks.harness.inputs import BENCH_DIR, DEFAULT_DATA_DIR, DEFAULT_WORK_DIR, BenchInput, build_input
from benchmarks.harness.processes import REPO_ROOT, BenchError, child_env, elapsed
from benchmarks.speed import DEFAULT_BERTOPIC_MAX_ROWS, DEFAULT_WARM_MAX_ROWS, benchmark

__all__ = ["BenchInput", "build_input", "main", "parse_args"]

log = logging.getLogger("benchmarks.run")


QUALITY_DATASETS = ("test", "train+test")


FULL_SIZES = [2000, 10000, 50000, 100000]


def parse_args(argv: Sequence[str] | None = None, *, everything: bool = False) -> argparse.Namespace:
    """Options of ``python -m benchmarks.run`` (speed only by default) and, with ``everything``, of
    ``python -m benchmarks`` (the same options; defaults: all four sizes and theme quality on both datasets)."""
    prog = "python -m benchmarks" if everything else "python -m benchmarks.run"
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Everything `make bench` measures: speed and memory of `python -m pipeline run` beside BERTopic, "
            "then theme quality on BANKING77 (benchmarks.quality); writes RESULTS.md and RESULTS.json."
            if everything
            else "Per-stage speed and peak memory of `python -m pipeline run`, cold (fresh process, empty "
            "embedding cache) and warm (cache filled), beside BERTopic end to end, on real app reviews; "
            "writes RESULTS.md and RESULTS.json."
        ),
        epilog="Examples: python -m benchmarks (make bench); python -m benchmarks.run --sizes 2000 (make bench-quick); "
        "python -m benchmarks.run --sizes 300 --out /tmp/bcheck (a quick check).",
    )
    sizes = FULL_SIZES if everything else [2000, 10000]
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=sizes,
        metavar="N",
        help=f"Row counts to measure (default: {' '.join(map(str, sizes))}). Above 10,000: resampled + perturbed.",
    )
    parser.add_argument(
        "--out", type=Path, default=BENCH_DIR, help="Folder for RESULTS.md and RESULTS.json (default: benchmarks/)."
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help=f"The shared datasets folder (default: {DEFAULT_DATA_DIR}).",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=DEFAULT_WORK_DIR,
        help="Inputs, run folders, caches and logs (default: benchmarks/.work, git-ignored).",
    )
    parser.add_argument("--seed", type=int, default=0, help="Seed of sampling and perturbation (default 0).")
    parser.add_argument(
        "--sampling",
        choices=("random", "head"),
        default="random",
        help="Below 10,000 rows: a seeded sample (default) or the first N rows of the file.",
    )
    parser.add_argument(
        "--repeats", type=int, default=1, help="Runs of each kind per size; figures are medians (default 1)."
    )
    parser.add_argument(
        "--start-repeats", type=int, default=5, help="Timed runs of each process-start command (default 5)."
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Passed to our pipeline as --set (e.g. embed.batch_size=128), in the speed runs and the theme-quality "
        "runs; recorded as 'config'.",
    )
    parser.add_argument(
        "--warm-max-rows",
        type=int,
        default=DEFAULT_WARM_MAX_ROWS if everything else None,
        metavar="N",
        help="Warm (cached) runs only at sizes up to N"
        + (f" (default {DEFAULT_WARM_MAX_ROWS})." if everything else " (default: every size)."),
    )
    parser.add_argument(
        "--bertopic-max-rows",
        type=int,
        default=DEFAULT_BERTOPIC_MAX_ROWS,
        metavar="N",
        help=f"Run BERTopic end to end only at sizes up to N (default {DEFAULT_BERTOPIC_MAX_ROWS}).",
    )
    parser.add_argument("--no-bertopic", action="store_true", help="No BERTopic runs (speed or quality).")
    parser.add_argument(
        "--quality",
        nargs="+",
        choices=QUALITY_DATASETS,
        default=list(QUALITY_DATASETS) if everything else [],
        metavar="DATASET",
        help="After the speed part, run benchmarks.quality on these BANKING77 sets ("
        + ", ".join(QUALITY_DATASETS)
        + "; default: "
        + ("both" if everything else "none")
        + ").",
    )
    parser.add_argument("--no-quality", action="store_true", help="Skip the theme-quality part.")
    parser.add_argument("--no-speed", action="store_true", help="Skip the speed part (theme quality only).")
    parser.add_argument(
        "--fresh-numba-cache",
        action="store_true",
        help="Give each cold run and each BERTopic run an empty NUMBA_CACHE_DIR (a first-ever run).",
    )
    parser.add_argument(
        "--no-warmup",
        action="store_true",
        help="Skip the untimed import of the heavy libraries that warms the OS file cache.",
    )
    parser.add_argument(
        "--rebuild-models",
        action="store_true",
        help="Cold runs start from a fully empty cache directory, so models built on first use (the int8 ONNX "
        "export) are rebuilt and timed in each; default: an untimed preparatory run builds them once.",
    )
    parser.add_argument("--keep-cache", action="store_true", help="Keep the embedding caches in the work dir.")
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        metavar="M",
        help="Time budget of the speed part: a size whose estimated time (scaled from the previous size) would "
        "pass it is skipped, with the larger ones, and the notes say so (default: no budget).",
    )
    parser.add_argument("--timeout", type=float, default=3600.0, help="Seconds allowed per process (default 3600).")
    parser.add_argument("--python", default=sys.executable, help="Interpreter that runs the pipeline (default: this).")
    parser.add_argument("-v", "--verbose", action="store_true", help="Debug logging.")
    args = parser.parse_args(argv)  # fmt: skip
    if any(n < 1 for n in args.sizes):
        parser.error(f"--sizes must be positive row counts; got {args.sizes}.")
    if args.repeats < 1 or args.start_repeats < 1:
        parser.error(f"--repeats and --start-repeats must be at least 1; got {args.repeats}, {args.start_repeats}.")
    if args.no_quality:
        args.quality = []
    if args.no_speed and not args.quality:
        parser.error("--no-speed with no theme-quality datasets leaves nothing to run.")
    args.sizes = list(dict.fromkeys(args.sizes))
    args.work_dir = args.work_dir.resolve()
    args.bertopic_reason = "--no-bertopic" if args.no_bertopic else None
    args.prepared, args.seeded, args.skipped = None, [], []
    args.command = f"{prog} " + " ".join(sys.argv[1:] if argv is None else argv)
    return args


def run_quality(args: argparse.Namespace) -> None:
    """The theme-quality part, in its own process: it merges its records and re-renders RESULTS.md."""
    cmd = [
        args.python, "-m", "benchmarks.quality", "--datasets", *args.quality, "--out", str(args.out.resolve()),
        "--data-dir", str(args.data_dir.resolve()), "--cache-dir", str(args.work_dir / "cache" / "theme-quality"),
        "--work-dir", str(args.work_dir / "quality"),
        *(arg for item in args.set for arg in ("--set", item)),
    ]  # fmt: skip
    missing = None if args.no_bertopic else bertopic_available(args.python, child_env())
    if args.no_bertopic or missing:
        if missing:
            log.warning("BERTopic %s: theme quality of ours only", missing)
        cmd.append("--no-bertopic")
    log.info("theme quality: %s", " ".join(cmd[1:]))
    start = time.perf_counter()
    done = subprocess.run(cmd, env=child_env(), cwd=REPO_ROOT, check=False)
    if done.returncode != 0:
        raise BenchError(f"the theme-quality part failed (exit {done.returncode}); see its messages above.")
    log.info("theme quality done in %s", elapsed(start))


def main(argv: Sequence[str] | None = None, *, everything: bool = False) -> int:
    args = parse_args(argv, everything=everything)
    start_benchmark(verbose=args.verbose)
    start = time.perf_counter()
    try:
        if not args.no_speed:
            benchmark(args)
        if args.quality:
            run_quality(args)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: the sizes finished so far are in RESULTS.json/md.", file=sys.stderr)
        return 130
    log.info("all done in %s: %s", elapsed(start), args.out / "RESULTS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
