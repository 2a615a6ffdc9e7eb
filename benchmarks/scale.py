"""Scale (issue 7): the whole pipeline at 100k-1M rows, and how well sampled fits assign the other texts.

    python -m benchmarks.scale --sizes 100000 [1000000] [--engine local|spark] [--timeout S]
    python -m benchmarks.scale --assign-compare [--seeds 0 1] [--shares 0.3 0.5]

``--sizes`` (section ``scale``): for each size it builds the input with :func:`benchmarks.run.build_input`
(all 10,000 real app reviews, plus rows resampled with replacement from the reviews and BANKING77 and
lightly perturbed: synthetic by construction, see ``benchmarks/README.md``), then runs
``python -m pipeline run <csv> --text-col Content --meta-cols origin`` in a fresh process with a fresh
embedding cache directory (holding only the model builds of an untimed preparatory run), timed from
outside (wall, CPU, peak RSS via ``wait4``). Per stage: seconds and peak RSS from the run's
``manifest.json``; also distinct texts, texts fitted on vs assigned (``cluster.fitted_on`` /
``cluster.assigned``), and the growth exponent log(t2/t1)/log(n2/n1) between consecutive measured sizes
of the same engine, per stage and end to end, computed over the merged ``RESULTS.json`` (so a size
measured later, e.g. 1M by itself, is compared with the 100k already there).

``--assign-compare`` (section ``assign_quality``): on BANKING77 (settings chosen on ``train``, reported on
``train+test``) the themes are fitted on a seeded random sample of the distinct texts (share 0.3 and 0.5)
and the other texts assigned, by

* ``centroid_floor t=T q=Q``: the pipeline's :func:`pipeline.assign.fit_theme_model` + :func:`assign`
  (nearest theme centroid above a per-theme floor) for T in 0.3-0.6 and Q in 0-0.1;
* ``hdbscan_approximate_predict``: a plain ``umap.UMAP`` fitted on the sample (the pipeline's reduce
  parameters), ``transform`` of the other texts, ``hdbscan.approximate_predict``;

both from the *same* clustering of the sample (HDBSCAN with the pipeline's parameters on that plain-UMAP
space, through :func:`pipeline.cluster.cluster`, so merges are applied to both); and also

* ``pipeline_sampled``: the runner's own sampled path, ``pipeline.run(frame, overrides={"scale.sample_size":
  k, "seed": s})`` (its own stratified sample, its own UMAP with the 2-d map);
* ``full_fit``: ``pipeline.run`` on every text (no sampling), the reference. Its "assigned rows" figures
  are over the rows that the other methods assigned for the same share and seed.

Scores (as ``benchmarks.quality``): NMI, ARI, Hungarian ACC over all rows with outliers as one extra
cluster, and the same over the assigned rows only; outlier share; themes; assignment seconds per 10,000
texts. Figures are means over the seeds (each seed's value in ``values``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks._setup import start_benchmark
from benchmarks.harness.inputs import BENCH_DIR, DEFAULT_DATA_DIR, DEFAULT_WORK_DIR
from benchmarks.harness.processes import BenchError
from benchmarks.harness.records import parse_recorded
from benchmarks.scale_assign import (
    DEFAULT_ASSIGN_CACHE,
    DEFAULT_SEEDS,
    DEFAULT_SHARES,
    EARLIER_DEFAULT_SETTINGS,
    assign_compare,
    cf_name,
    choose_settings,
)
from benchmarks.scale_fits import BANKING_PARTS
from benchmarks.scale_sizes import ENGINES, ScaleRun, growth_records, run_sizes, scale_records, target_notes

__all__ = [
    "EARLIER_DEFAULT_SETTINGS",
    "ScaleRun",
    "assign_compare",
    "cf_name",
    "choose_settings",
    "growth_records",
    "main",
    "parse_args",
    "scale_records",
    "target_notes",
]

log = logging.getLogger("benchmarks.scale")


DEFAULT_TIMEOUT = 3 * 3600.0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.scale",
        description="Scale benchmark (issue 7): the pipeline at 100k-1M rows (--sizes), and assignment of texts "
        "to themes fitted on a sample vs HDBSCAN's approximate_predict on BANKING77 (--assign-compare).",
    )
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--sizes", type=int, nargs="+", metavar="N", help="row counts to run end to end, e.g. 100000")
    what.add_argument(
        "--assign-compare", action="store_true", help="sampled fit + assignment vs approximate_predict on BANKING77"
    )
    parser.add_argument(
        "--engine", choices=ENGINES, default="local", help="--sizes: pipeline engine; 'spark' passes --engine spark"
    )
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per child run (default: %(default)s)"
    )
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="--sizes: pipeline override")
    parser.add_argument("--keep-cache", action="store_true", help="--sizes: keep each run's embedding cache")
    parser.add_argument(
        "--note", action="append", default=[], metavar="TEXT",
        help="--sizes: a line for the section's notes, e.g. the figures these runs replace",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=42, help="--sizes: input resampling seed (as benchmarks.run)")
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS), help="--assign-compare: sample/fit seeds"
    )
    parser.add_argument(
        "--shares", type=float, nargs="+", default=list(DEFAULT_SHARES), help="--assign-compare: sample shares"
    )
    parser.add_argument(
        "--datasets",
        nargs="+",
        choices=list(BANKING_PARTS),
        default=["train", "train+test"],
        help="--assign-compare: BANKING77 parts; settings are chosen on train (default: train train+test)",
    )
    parser.add_argument(
        "--cache-dir", type=Path, default=DEFAULT_ASSIGN_CACHE, help="--assign-compare: embedding cache (kept)"
    )
    parser.add_argument("--out", type=Path, default=BENCH_DIR, help="where RESULTS.json and RESULTS.md go")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="the shared datasets folder")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR, help="inputs, runs, caches, logs")
    parser.add_argument("--python", default=sys.executable, help="interpreter of the child runs")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings only")
    return parse_recorded(parser, argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    start_benchmark(quiet=args.quiet)
    try:
        return assign_compare(args) if args.assign_compare else run_sizes(args)
    except BenchError as exc:
        log.error("%s", exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
