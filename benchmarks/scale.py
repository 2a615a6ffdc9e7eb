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
import contextlib
import itertools
import json
import logging
import math
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks import report
from benchmarks._setup import start_benchmark
from benchmarks.run import (
    DEFAULT_DATA_DIR,
    DEFAULT_WORK_DIR,
    TEXT_COL,
    BenchError,
    BenchInput,
    Machine,
    build_input,
    child_env,
    measure,
    prepare_builds,
    seed_cache,
)

__all__ = ["assign_compare", "growth_records", "main", "scale_records"]

log = logging.getLogger("benchmarks.scale")

BENCH_DIR = Path(__file__).resolve().parent
SCALE = "scale"
ASSIGN = "assign_quality"
SYSTEM = "ours"
ENGINES = ("local", "spark")
END_TO_END = "end_to_end"

#: Issue 7's targets for 1,000,000 rows.
TARGET_ROWS = 1_000_000
TARGET_SECONDS = 45 * 60
TARGET_RSS_MB = 6 * 1024  # MiB, as peak_rss_mb everywhere in RESULTS.json
#: "Close to linear": an end-to-end growth exponent up to this counts as met.
TARGET_EXPONENT = 1.15

DEFAULT_TIMEOUT = 3 * 3600.0
DEFAULT_SHARES = (0.3, 0.5)
DEFAULT_SEEDS = (42, 43)  # 42: the pipeline default, as in benchmarks.quality
THRESHOLDS = (0.3, 0.4, 0.5, 0.6)
QUANTILES = (0.0, 0.05, 0.1)
#: umap-learn fits on fewer points than this keep the raw data and ``transform`` by brute-force distances to
#: every fitted point (through sklearn's pairwise_distances with UMAP's numba metric: slow); from it on, an
#: NNDescent index is searched.
UMAP_SMALL_DATA = 4096
DEFAULT_ASSIGN_CACHE = BENCH_DIR / ".work" / "cache" / "theme-quality"  # shared with benchmarks.quality


def _today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


def _load_note(machine: Machine, load_end: tuple[float, float, float]) -> str:
    busy = max(machine.load_start[0], load_end[0]) > 0.5 * machine.usable_cores
    return (
        f"1-min load average {machine.load_start[0]:.2f} at the start, {load_end[0]:.2f} at the end, on "
        f"{machine.usable_cores} cores"
        + (" (busy: seconds are slower and noisier than on a quiet machine)." if busy else ".")
    )


def merge(path: Path, new: list[dict[str, Any]], replaced: set[tuple[Any, ...]], key: Any) -> list[dict[str, Any]]:
    """The records in ``path`` minus those whose ``key(record)`` is in ``replaced``, plus ``new``."""
    try:
        old = report.load_records(path)
    except ValueError as exc:
        raise BenchError(str(exc)) from None
    return [r for r in old if key(r) not in replaced] + new


# ============================================================================================== --sizes


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
        mark = report._mark  # the same check marks as the other sections
        notes.append(
            f"Targets ({engine} engine) at 1,000,000 rows: end to end {wall / 60:.1f} min "
            f"(≤ {TARGET_SECONDS // 60} min {mark(wall <= TARGET_SECONDS)}), peak RSS {rss or 0:,.0f} MB "
            f"(< {TARGET_RSS_MB:,} MB {mark((rss or math.inf) < TARGET_RSS_MB)}), end-to-end growth exponent "
            + (f"{exp:.2f} (≤ {TARGET_EXPONENT} {mark(exp <= TARGET_EXPONENT)})." if exp is not None else "—.")
        )
    return notes


def scale_settings(manifest: dict[str, Any]) -> str:
    """The run's resolved ``scale`` settings that shape the figures (from its manifest)."""
    scale = (manifest.get("config") or {}).get("scale") or {}
    keys = ("sample_size", "assign_threshold", "assign_member_quantile", "batch_size", "memmap_min_texts")
    return "scale config " + ", ".join(f"{k}={scale[k]}" for k in keys if k in scale)


def run_sizes(args: argparse.Namespace) -> int:
    machine = Machine.probe()
    started = time.perf_counter()
    notes: list[str] = []
    common = {
        "date": _today(),
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
        _load_note(machine, load_end),
        "Each size runs once (no repeats), in a fresh process with an empty embedding cache (the int8 ONNX build "
        "copied in from an untimed preparatory run).",
    ]
    info = {
        "section": SCALE, "dataset": None, "system": None, "rows": None, "metric": report.RUN_INFO,
        "value": round(time.perf_counter() - started, 1), "unit": "s", "engine": args.engine, "run": args.engine,
        "config": ";".join(sorted(args.set)) or None, "command": args.command, "date": _today(),
        "machine": machine.label, "notes": run_notes,  # the notes of the section, shown once
    }  # fmt: skip

    def key(r: dict[str, Any]) -> tuple[Any, ...]:
        if r.get("section") != SCALE:
            return ()
        if r.get("metric") == "growth_exponent":
            return ("growth",)
        if r.get("metric") == report.RUN_INFO:
            return ("info", r.get("engine"), r.get("config"))
        return (r.get("engine"), r.get("rows"), r.get("config"))

    replaced = {*measured, ("growth",), ("info", args.engine, info["config"])}
    merged = merge(args.out / "RESULTS.json", [*new, info], replaced, key)
    merged += growth_records(merged)
    targets = target_notes(merged)
    info["notes"] = [*run_notes, *targets]
    args.out.mkdir(parents=True, exist_ok=True)
    report.write_results(args.out, merged)


# ======================================================================================== --assign-compare


BANKING_PARTS = {"train": ("train",), "test": ("test",), "train+test": ("train", "test")}
SELECT_ON = "train"  # the settings of centroid_floor are chosen here and reported on the others
#: Always reported beside the chosen settings (the pipeline defaults before issue 7's comparison).
EARLIER_DEFAULT_SETTINGS = (0.5, 0.05)
ASSIGN_METRICS = (
    "n_themes", "outlier_share", "nmi", "ari", "acc",
    "outlier_share_assigned", "nmi_assigned", "ari_assigned", "acc_assigned",
    "assign_seconds_per_10k", "assigned_texts",
)  # fmt: skip


def load_banking(name: str, data_dir: Path) -> pd.DataFrame:
    """BANKING77 ``train`` (10,003 rows), ``test`` (3,080) or ``train+test`` (train, then test): text, category."""
    from benchmarks.quality import QualityError, load_dataset

    try:
        return load_dataset(name, data_dir)
    except QualityError as exc:
        raise BenchError(str(exc)) from None


@dataclass
class Corpus:
    """One labelled dataset as distinct texts: the unit that is sampled, fitted on and assigned."""

    name: str
    frame: pd.DataFrame
    gold: np.ndarray  # per row
    row_group: np.ndarray  # per row: index of its distinct text
    vectors: np.ndarray  # per distinct text, L2-normalized
    weights: np.ndarray  # rows behind each distinct text

    @property
    def dataset(self) -> str:
        return f"banking77-{self.name}"


def pipeline_embedder(cache_dir: Path) -> Any:
    """The pipeline's configured embedder (default: int8 ONNX MiniLM) behind the on-disk embedding cache."""
    from models.embedding import make_embedder
    from pipeline.config import load_config
    from pipeline.embed import CachedEmbedder
    from pipeline.store import EmbeddingCache

    cfg = load_config(None, {}).embed
    model = make_embedder(
        cfg.model, batch_size=cfg.batch_size, device=cfg.device, backend=cfg.backend, cache_dir=cache_dir
    )
    return CachedEmbedder(model, EmbeddingCache(cache_dir, model.identity))


def load_corpus(name: str, data_dir: Path, embedder: Any) -> Corpus:
    frame = load_banking(name, data_dir)
    codes, uniques = pd.factorize(frame["text"])
    vectors = np.asarray(embedder.encode(list(uniques)), np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-12)
    weights = np.bincount(codes, minlength=len(uniques)).astype(np.int64)
    log.info("%s: %d rows, %d distinct texts (embeddings: %d cached)", name, len(frame), len(uniques), embedder.hits)
    return Corpus(name, frame, frame["category"].to_numpy(), codes.astype(np.int64), vectors, weights)


def _scores(gold: np.ndarray, pred: np.ndarray, assigned: np.ndarray) -> dict[str, float]:
    """Quality over all rows and over the assigned rows only (outliers: one extra cluster, as benchmarks.quality)."""
    from benchmarks.quality import score

    every = score(gold, pred)
    out = {"n_themes": every.n_themes, "outlier_share": every.outlier_share}
    out |= {"nmi": every.nmi, "ari": every.ari, "acc": every.acc}
    if assigned.any():
        part = score(gold[assigned], pred[assigned])
        out |= {"outlier_share_assigned": part.outlier_share, "nmi_assigned": part.nmi}
        out |= {"ari_assigned": part.ari, "acc_assigned": part.acc}
    return out


class _KeepRawLabels:
    """Passed to :func:`pipeline.cluster.cluster` as its clusterer: fits the HDBSCAN and keeps a copy of its
    raw labels (``cluster`` renumbers, merges and may write into ``labels_``), to map the labels that
    ``approximate_predict`` returns onto the themes."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.raw_: np.ndarray | None = None

    def fit(self, points: np.ndarray) -> Any:
        self.inner.fit(points)
        self.raw_ = np.array(self.inner.labels_, dtype=np.int64, copy=True)
        return self.inner


@dataclass
class SharedFit:
    """One clustering of a sample, shared by centroid_floor and hdbscan_approximate_predict."""

    sample: np.ndarray  # distinct-text indices fitted on (sorted)
    rest: np.ndarray  # the others, to assign
    space: np.ndarray  # plain-UMAP coordinates of the sample
    umap: Any
    hdbscan: Any
    labels: np.ndarray  # theme per sample text, as pipeline.cluster.cluster returns it
    raw_to_theme: dict[int, int]  # HDBSCAN's raw label -> theme (after merges and renumbering)
    params: dict[str, Any] = field(default_factory=dict)


def fit_shared(corpus: Corpus, share: float, seed: int, cfg: Any) -> SharedFit:
    """Sample the distinct texts, reduce them with a plain UMAP (pipeline parameters), cluster with HDBSCAN."""
    import hdbscan
    import umap

    from pipeline.assign import sample_groups
    from pipeline.cluster import cluster, default_min_cluster_size
    from pipeline.reduce import default_n_neighbors

    n_texts = len(corpus.vectors)
    size = round(share * n_texts)
    volume = int(corpus.weights.sum() * size / n_texts)
    keep = cfg.cluster.min_cluster_size or default_min_cluster_size(volume)
    sample = sample_groups(corpus.weights, size, seed=seed, keep_weight=keep)
    rest = np.setdiff1d(np.arange(n_texts), sample)
    vectors, weights = corpus.vectors[sample], corpus.weights[sample]
    n_neighbors = min(cfg.reduce.n_neighbors or default_n_neighbors(len(sample)), len(sample) - 1)
    start = time.perf_counter()
    with warnings_quiet():
        reducer = umap.UMAP(
            n_neighbors=n_neighbors, n_components=cfg.reduce.n_components, min_dist=cfg.reduce.min_dist,
            metric=cfg.reduce.metric, n_epochs=cfg.reduce.n_epochs, random_state=seed, low_memory=True,
        )  # fmt: skip
        space = np.asarray(reducer.fit_transform(vectors), np.float32)
    umap_s = time.perf_counter() - start
    # The pipeline's HDBSCAN parameters (pipeline.cluster.cluster), with prediction data for approximate_predict.
    min_cluster_size = cfg.cluster.min_cluster_size or default_min_cluster_size(int(weights.sum()))
    min_cluster_size = min(min_cluster_size, max(2, len(sample) // 2))
    min_samples = cfg.cluster.min_samples or min(min_cluster_size, max(5, round(min_cluster_size / 8)))
    recorder = _KeepRawLabels(
        hdbscan.HDBSCAN(
            min_cluster_size=min_cluster_size, min_samples=min_samples,
            cluster_selection_method=cfg.cluster.selection_method, prediction_data=True, core_dist_n_jobs=1,
        )
    )  # fmt: skip
    start = time.perf_counter()
    clustered = cluster(space, vectors, cfg.cluster, n_distinct=len(sample), clusterer=recorder, weights=weights)
    cluster_s = time.perf_counter() - start
    if (clustered.params.get("min_cluster_size"), clustered.params.get("min_samples")) != (
        min_cluster_size,
        min_samples,
    ):
        log.warning("HDBSCAN parameters differ from the pipeline's: %s vs ours %s", clustered.params,
                    (min_cluster_size, min_samples))  # fmt: skip
    raw = recorder.raw_ if recorder.raw_ is not None else np.full(len(sample), -1)
    raw_to_theme = {
        int(r): int(np.bincount(clustered.labels[raw == r] + 1).argmax()) - 1 for r in np.unique(raw[raw >= 0])
    }
    params = {
        "sample_texts": len(sample), "n_neighbors": n_neighbors, "min_cluster_size": min_cluster_size,
        "min_samples": min_samples, "umap_seconds": round(umap_s, 1), "cluster_seconds": round(cluster_s, 1),
        "themes_merged": clustered.params.get("themes_merged"),
    }  # fmt: skip
    log.info("%s share %.2f seed %d: %s", corpus.name, share, seed, params)
    return SharedFit(sample, rest, space, reducer, recorder.inner, clustered.labels, raw_to_theme, params)


@contextlib.contextmanager
def warnings_quiet() -> Iterator[None]:
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        yield


def _row_labels(corpus: Corpus, fit: SharedFit, rest_labels: np.ndarray) -> np.ndarray:
    groups = np.full(len(corpus.vectors), -1, np.int64)
    groups[fit.sample] = fit.labels
    groups[fit.rest] = rest_labels
    return groups[corpus.row_group]


def centroid_floor(corpus: Corpus, fit: SharedFit, threshold: float, quantile: float, seed: int, cfg: Any) -> tuple:
    """Labels per row and assignment seconds with the pipeline's fit_theme_model + assign."""
    from pipeline.assign import assign, fit_theme_model

    model = fit_theme_model(
        corpus.vectors[fit.sample], fit.labels, corpus.weights[fit.sample], fit.space[:, :2],
        threshold=threshold, member_quantile=quantile, reassign_threshold=cfg.cluster.reassign_threshold, seed=seed,
    )  # fmt: skip
    start = time.perf_counter()
    done = assign(corpus.vectors[fit.rest], model, batch_size=cfg.scale.batch_size)
    return _row_labels(corpus, fit, done.labels), time.perf_counter() - start


def approximate_predict(corpus: Corpus, fit: SharedFit) -> tuple:
    """Labels per row and seconds: UMAP ``transform`` of the other texts, then HDBSCAN ``approximate_predict``."""
    import hdbscan

    start = time.perf_counter()
    with warnings_quiet():
        points = np.asarray(fit.umap.transform(corpus.vectors[fit.rest]), np.float32)
        raw, _ = hdbscan.approximate_predict(fit.hdbscan, points)
    seconds = time.perf_counter() - start
    labels = np.array([fit.raw_to_theme.get(int(r), -1) for r in raw], np.int64)
    return _row_labels(corpus, fit, labels), seconds


@contextlib.contextmanager
def timed_runner_assign() -> Iterator[list[float]]:
    """Time the runner's calls of :func:`pipeline.assign.assign` (it imports it as ``assign_texts``)."""
    import pipeline.runner as runner

    spent: list[float] = []
    original = getattr(runner, "assign_texts", None)
    if original is None:
        yield spent
        return

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - start)

    runner.assign_texts = timed
    try:
        yield spent
    finally:
        runner.assign_texts = original


@dataclass
class PipelineResult:
    labels: np.ndarray
    assigned: np.ndarray  # per row: the text was assigned, not fitted on
    assign_seconds: float | None
    assigned_texts: int
    fit_seconds: float
    cluster: dict[str, Any]


def run_pipeline_inprocess(corpus: Corpus, overrides: dict[str, Any], cache_dir: Path) -> PipelineResult:
    """``pipeline.run`` on the dataset's text column with the packaged default models."""
    from pipeline import run

    with timed_runner_assign() as spent:
        result = run(corpus.frame[["text"]], write=False, overrides={**overrides, "embed.cache_dir": str(cache_dir)})
    feedback = result.feedback
    if len(feedback) != len(corpus.frame):
        raise BenchError(f"pipeline.run returned {len(feedback)} rows for {len(corpus.frame)}")
    cluster = result.manifest.get("cluster") or {}
    texts = int((cluster.get("assigned") or {}).get("texts", 0))
    assigned = feedback["assigned"].to_numpy(bool) if "assigned" in feedback else np.zeros(len(feedback), bool)
    stages = result.manifest["stages"]
    fit_s = sum(float(stages[s]["seconds"]) for s in ("reduce", "cluster", "represent") if s in stages)
    return PipelineResult(
        feedback["theme_id"].to_numpy(np.int64), assigned, sum(spent) if spent else None, texts, fit_s, cluster
    )


Measurements = dict[tuple[str, float], dict[str, list[float | None]]]  # (system, share) -> metric -> per seed


def _add(into: Measurements, system: str, share: float, values: dict[str, float | None]) -> None:
    slot = into.setdefault((system, share), {})
    for metric, value in values.items():
        slot.setdefault(metric, []).append(value)


def cf_name(threshold: float, quantile: float) -> str:
    return f"centroid_floor t={threshold:g} q={quantile:g}"


def measure_corpus(
    corpus: Corpus,
    args: argparse.Namespace,
    grid: list[tuple[float, float]],
    runner_settings: list[tuple[float, float]],
) -> Measurements:
    """Every method for every share and seed on one dataset."""
    from pipeline.config import load_config

    got: Measurements = {}
    for seed in args.seeds:
        cfg = load_config(None, {"seed": seed})
        full = run_pipeline_inprocess(corpus, {"seed": seed, "scale.sample_size": None}, args.cache_dir)
        log.info("%s seed %d: full fit, %s themes", corpus.name, seed, full.cluster.get("n_themes"))
        for share in args.shares:
            fit = fit_shared(corpus, share, seed, cfg)
            assigned_rows = np.isin(corpus.row_group, fit.rest)
            per10k = 1e4 / max(len(fit.rest), 1)
            common = {"assigned_texts": len(fit.rest)}
            _add(got, "full_fit (reference)", share, {**_scores(corpus.gold, full.labels, assigned_rows),
                                                      "fit_seconds": full.fit_seconds})  # fmt: skip
            for threshold, quantile in grid:
                labels, seconds = centroid_floor(corpus, fit, threshold, quantile, seed, cfg)
                values = {**_scores(corpus.gold, labels, assigned_rows), "assign_seconds_per_10k": seconds * per10k}
                _add(got, cf_name(threshold, quantile), share, {**values, **common})
            labels, seconds = approximate_predict(corpus, fit)
            values = {**_scores(corpus.gold, labels, assigned_rows), "assign_seconds_per_10k": seconds * per10k}
            _add(got, "hdbscan_approximate_predict", share, {**values, **common})
            log.info("%s share %.2f seed %d: approximate_predict %s", corpus.name, share, seed, values)
            for threshold, quantile in runner_settings:
                overrides = {
                    "seed": seed, "scale.sample_size": round(share * len(corpus.vectors)),
                    "scale.assign_threshold": threshold, "scale.assign_member_quantile": quantile,
                }  # fmt: skip
                res = run_pipeline_inprocess(corpus, overrides, args.cache_dir)
                values = _scores(corpus.gold, res.labels, res.assigned)
                if res.assign_seconds is not None and res.assigned_texts:
                    values["assign_seconds_per_10k"] = res.assign_seconds * 1e4 / res.assigned_texts
                values |= {"assigned_texts": res.assigned_texts, "fit_seconds": res.fit_seconds}
                name = f"pipeline_sampled t={threshold:g} q={quantile:g} (runner)"
                _add(got, name, share, values)
                log.info("%s share %.2f seed %d: %s %s", corpus.name, share, seed, name, values)
    return got


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def default_settings() -> tuple[float, float]:
    """The pipeline's current ``scale.assign_threshold`` and ``scale.assign_member_quantile``."""
    from pipeline.config import load_config

    scale = load_config(None, {}).scale
    return float(scale.assign_threshold), float(scale.assign_member_quantile)


def choose_settings(
    got: Measurements, grid: list[tuple[float, float]], default: tuple[float, float] = EARLIER_DEFAULT_SETTINGS
) -> tuple[tuple[float, float], dict]:
    """The grid point with the best mean of NMI, ARI and ACC over all rows, averaged over shares and seeds."""
    objective = {}
    for threshold, quantile in grid:
        slots = [m for (system, _share), m in got.items() if system == cf_name(threshold, quantile)]
        objective[(threshold, quantile)] = float(
            np.mean([np.mean([_mean(m[k]) or 0.0 for k in ("nmi", "ari", "acc")]) for m in slots])
        )
    best = max(objective, key=lambda k: (objective[k], k == default))
    return best, objective


def assign_records(corpus: Corpus, got: Measurements, common: dict[str, Any]) -> list[dict]:
    """Records of one dataset: each figure the mean over the seeds (notes and seeds: on the run's info record)."""
    records = []
    for (system, share), metrics in got.items():
        for metric, values in metrics.items():
            value = _mean(values)
            if value is None:
                continue
            integer = metric in ("n_themes", "assigned_texts") and len(values) == 1
            records.append(
                {
                    **common, "section": ASSIGN, "dataset": corpus.dataset, "system": system,
                    "rows": len(corpus.frame), "config": f"sample_share={share:g}", "stage": None, "run": None,
                    "metric": metric, "value": int(value) if integer else round(value, 4),
                    "values": [None if v is None else round(float(v), 4) for v in values],
                    "gold_classes": len(set(corpus.gold)),
                }
            )  # fmt: skip
    return records


def warm_up() -> float:
    """Compile numba code untimed (UMAP fit and transform, NNDescent, HDBSCAN), so no method pays for it."""
    import hdbscan
    import umap

    from benchmarks.quality import warm_up as warm_up_fit

    start = time.perf_counter()
    warm_up_fit()
    points = np.random.default_rng(0).normal(size=(UMAP_SMALL_DATA + 100, 384)).astype(np.float32)
    with warnings_quiet():
        # Both transform paths: below UMAP_SMALL_DATA fitted points (brute force) and above (NNDescent search).
        for n in (300, UMAP_SMALL_DATA):
            reducer = umap.UMAP(
                n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=0, n_epochs=20
            )
            space = reducer.fit_transform(points[:n])
            clusterer = hdbscan.HDBSCAN(min_cluster_size=10, prediction_data=True).fit(space)
            hdbscan.approximate_predict(clusterer, reducer.transform(points[n : n + 50]))
    return time.perf_counter() - start


def assign_compare(args: argparse.Namespace) -> int:
    machine = Machine.probe()
    started = time.perf_counter()
    compile_s = warm_up()
    log.info("numba warm-up (untimed): %.1f s", compile_s)
    common: dict[str, Any] = {"date": _today(), "machine": machine.label, "repeats": len(args.seeds)}
    embedder = pipeline_embedder(args.cache_dir)
    full_grid = [(t, q) for t in THRESHOLDS for q in QUANTILES]
    datasets = args.datasets
    select_on = SELECT_ON if SELECT_ON in datasets else datasets[0]
    records: list[dict[str, Any]] = []
    default = default_settings()
    shown = list(dict.fromkeys([default, EARLIER_DEFAULT_SETTINGS]))  # beside the chosen settings
    chosen = default
    objective: dict[tuple[float, float], float] = {}
    lines = []
    for name in [select_on, *(d for d in datasets if d != select_on)]:
        corpus = load_corpus(name, args.data_dir, embedder)
        if name == select_on:
            got = measure_corpus(corpus, args, full_grid, shown)
            chosen, objective = choose_settings(got, full_grid, default)
            others = "; ".join(f"t={t:g} q={q:g}: {objective.get((t, q), math.nan):.4f}" for t, q in shown)
            lines.append(
                f"centroid_floor settings chosen on {corpus.dataset}: t={chosen[0]:g} q={chosen[1]:g} (mean of "
                f"NMI, ARI and ACC over all rows, shares {', '.join(f'{s:g}' for s in args.shares)} and seeds "
                f"{', '.join(map(str, args.seeds))}: {objective[chosen]:.4f}; pipeline default and earlier "
                f"default: {others}); the other datasets report the chosen and those settings only."
            )
            log.info(lines[-1])
        else:
            settings = list(dict.fromkeys([chosen, *shown]))
            got = measure_corpus(corpus, args, settings, settings)
        records += assign_records(corpus, got, common)
    for r in records:
        if r["system"] in (cf_name(*chosen), f"pipeline_sampled t={chosen[0]:g} q={chosen[1]:g} (runner)"):
            r["chosen_on"] = f"banking77-{select_on}"
    load_end = os.getloadavg()
    notes = [
        *lines,
        "Fitted on a seeded random sample of the distinct texts (config sample_share), the rest assigned; figures "
        f"are means over seeds {', '.join(map(str, args.seeds))} (each seed in `values`). *_assigned: over the rows "
        "whose text was assigned (for full_fit: the same rows as the sampled methods of that share and seed).",
        "centroid_floor and hdbscan_approximate_predict share one clustering of the sample: a plain umap.UMAP "
        "(the pipeline's n_neighbors rule, n_components, min_dist, metric, epochs; NNDescent kNN where the pipeline "
        "uses exact kNN up to 20,000 texts) and HDBSCAN with the pipeline's parameters and prediction_data=True, "
        "through pipeline.cluster.cluster (theme merges applied to both). Assignment seconds: assign() (with map "
        "placement) vs UMAP transform + approximate_predict, per 10,000 assigned texts.",
        "pipeline_sampled (runner): pipeline.run with scale.sample_size = share x distinct texts (its own stratified "
        "sample, UMAP and map); full_fit: pipeline.run with scale.sample_size=None; both embed the cleaned text, "
        "the in-process methods the raw text (same int8 ONNX MiniLM, same cache). fit_seconds: reduce + cluster + "
        "represent stages.",
        "Assignment seconds are noisy on this shared 2-core machine (each seed's value is in `values`): "
        "centroid_floor is one matrix product per batch (0.03-1 s per 10,000 texts here, the spread is BLAS threads "
        f"competing with other processes). UMAP's transform takes its brute-force path for fits on fewer than "
        f"{UMAP_SMALL_DATA:,} texts (share 0.3 of BANKING77: 3,001 and 3,925 texts), which is far slower than the "
        "NNDescent search used above that (share 0.5 here, and any sample of a large export).",
        _load_note(machine, load_end),
        f"Before timing, an untimed UMAP fit + transform and HDBSCAN approximate_predict on random data compiled "
        f"numba's code ({compile_s:.0f} s).",
    ]
    info = {
        "section": ASSIGN, "dataset": None, "system": None, "rows": None, "metric": report.RUN_INFO,
        "value": round(time.perf_counter() - started, 1), "unit": "s", "config": None, "command": args.command,
        "datasets": [f"banking77-{d}" for d in datasets], "seeds": list(args.seeds), "objective": {
        f"t={t:g} q={q:g}": round(v, 4) for (t, q), v in objective.items()}, "notes": notes, **common,
    }  # fmt: skip
    measured = {r["dataset"] for r in records}

    def key(r: dict[str, Any]) -> tuple[Any, ...]:
        if r.get("section") != ASSIGN:
            return ()
        return ("info",) if r.get("metric") == report.RUN_INFO else (r.get("dataset"),)

    merged = merge(args.out / "RESULTS.json", [*records, info], {("info",), *((d,) for d in measured)}, key)
    args.out.mkdir(parents=True, exist_ok=True)
    report.write_results(args.out, merged)
    frame = pd.DataFrame([r for r in records])
    table = frame.pivot_table(
        index=["dataset", "config", "system"], columns="metric", values="value", aggfunc="first", sort=False
    )
    print(table[[m for m in ASSIGN_METRICS if m in table]].to_string(float_format=lambda v: f"{v:.3f}"))
    log.info("wrote %s and %s", args.out / "RESULTS.json", args.out / "RESULTS.md")
    return 0


# ================================================================================================= main


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
    args = parser.parse_args(argv)
    args.command = "python -m benchmarks.scale " + " ".join(sys.argv[1:] if argv is None else argv)
    return args


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
