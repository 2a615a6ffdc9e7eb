"""Speed and memory of the batch pipeline, per stage, cold and warm, on real feedback text.

    python -m benchmarks.run --sizes 2000 10000 [--out benchmarks] [--data-dir ../shared/datasets]

For each size N it builds an input of N real app reviews (above 10,000: resampled with replacement,
lightly perturbed, see :func:`build_input`), then runs ``python -m pipeline run`` twice, each in a
fresh process:

* **cold**: an empty embedding cache, so the process imports everything, loads the models,
  compiles numba code and embeds every distinct text;
* **warm**: the same command with the same cache directory, so embeddings come from the cache.

It times each whole process from outside (wall clock and CPU seconds, via ``wait4``) and reads the
per-stage seconds and peak RSS from the run's ``manifest.json``. It also times bare process starts
(``python -c pass``, ``python -c "import pipeline"``, ``python -m pipeline --help``).

Results go to ``<out>/RESULTS.json`` (long-form records, merged into the file: records of other
sections, sizes or configs are kept) and ``<out>/RESULTS.md`` (rendered from the merged records).
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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

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

SECTION = "speed"
SYSTEM = "ours"
EMBED = "embed"
#: The non-embed stages should together cost less than this fraction of the (cold) embed stage.
TARGET_NON_EMBED_FRACTION = 1 / 3
#: The cached re-run should be at least this much faster in the embed stage.
TARGET_EMBED_SPEEDUP = 5.0

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


# -------------------------------------------------------------------------------------------- figures

Figure = tuple[str, str | None, str | None, float, str]  # metric, stage, run, value, unit


def size_figures(n: int, cold: PipelineRun, warm: PipelineRun) -> list[Figure]:
    """Every figure of one cold + warm pair at N rows."""
    figures: list[Figure] = []
    ref = cold.stages[EMBED]
    for name, run in (("cold", cold), ("warm", warm)):
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
    if warm.stages[EMBED] > 0:
        figures.append(("embed_speedup_cached", EMBED, "warm", ref / warm.stages[EMBED], "x"))
    figures.append(("end_to_end_speedup_cached", "process", "warm", cold.process.wall_s / warm.process.wall_s, "x"))
    return figures


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
    old: list[dict[str, Any]] = []
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise BenchError(f"{path}: not valid JSON ({exc}); fix or move it, then rerun.") from None
        if not isinstance(old, list) or not all(isinstance(r, dict) for r in old):
            raise BenchError(f"{path}: expected a JSON list of records; fix or move it, then rerun.")

    def key(record: dict[str, Any]) -> tuple[Any, ...]:
        return (record.get("section"), record.get("system"), record.get("rows"), record.get("config"))

    replaced = {key(r) for r in new}
    kept = [r for r in old if key(r) not in replaced]
    if old:
        log.info("%s: keeping %d of %d existing records", path, len(kept), len(old))
    return kept + new


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None or value != value:
        return "—"
    if unit == "x":
        return f"{value:.1f}×"
    if unit == "ratio":
        return f"{value:.2f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


class _Lookup:
    """Records of one table, by (metric, stage, run)."""

    def __init__(self, records: Iterable[dict[str, Any]]) -> None:
        self.by_key = {(r["metric"], r.get("stage"), r.get("run")): r for r in records}

    def get(self, metric: str, stage: str | None, run: str | None) -> float | None:
        record = self.by_key.get((metric, stage, run))
        return None if record is None else record["value"]

    def stages(self) -> list[str]:
        seen = [s for (m, s, r) in self.by_key if m == "stage_seconds" and r == "cold" and s is not None]
        return list(dict.fromkeys(seen))


def _speed_table(rows: int, records: list[dict[str, Any]], machine: Machine, date: str) -> list[str]:
    first = records[0]
    look = _Lookup(records)
    title = f"### {rows:,} rows — {first.get('dataset')}"
    if first.get("config"):
        title += f" — config `{first['config']}`"
    lines = [title, ""]
    if first.get("date") != date or first.get("machine") != machine.label:
        lines += [f"Measured {first.get('date')} on {first.get('machine')} (an earlier run).", ""]
    composition = [r for r in records if r["metric"] == "input_rows"]
    if composition:
        parts = ", ".join(f"{r['stage'].replace('_', ' ')} {int(r['value']):,}" for r in composition)
        distinct = look.get("input_distinct_texts", None, None)
        lines += [f"Input: {parts}; {int(distinct or 0):,} exactly distinct texts.", ""]
    repeats = first.get("repeats", 1)
    if repeats > 1:
        lines += [f"Median of {repeats} repeats.", ""]
    lines += [
        "| stage | cold s | cold rows/s | cold peak RSS MB | warm s | warm rows/s | warm peak RSS MB "
        "| cold s ÷ cold embed s | warm s ÷ cold embed s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for stage in look.stages():
        cells = [stage]
        for run in ("cold", "warm"):
            cells += [
                _fmt(look.get("stage_seconds", stage, run)),
                _fmt(look.get("rows_per_s", stage, run)),
                _fmt(look.get("peak_rss_mb", stage, run)),
            ]
        for run in ("cold", "warm"):
            cells.append("—" if stage == EMBED else _fmt(look.get("fraction_of_cold_embed", stage, run), "ratio"))
        lines.append("| " + " | ".join(cells) + " |")
    summary_rows = (
        ("all stages", "stages_total_seconds", "all_stages", "non_embed_total"),
        ("process start, imports, exit (wall − stages)", "process_overhead_seconds", "process", None),
        ("**end to end (whole process, wall)**", "end_to_end_seconds", "process", None),
    )
    for label, metric, stage, fraction_stage in summary_rows:
        cells = [label]
        for run in ("cold", "warm"):
            rate = look.get("rows_per_s", stage, run) if metric != "process_overhead_seconds" else None
            rss = look.get("peak_rss_mb", "process", run) if stage == "process" and rate is not None else None
            cells += [_fmt(look.get(metric, stage, run)), _fmt(rate), _fmt(rss)]
        for run in ("cold", "warm"):
            value = look.get("fraction_of_cold_embed", fraction_stage, run) if fraction_stage else None
            cells.append(_fmt(value, "ratio") if fraction_stage else "")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    non_embed = look.get("fraction_of_cold_embed", "non_embed_total", "cold")
    speedup = look.get("embed_speedup_cached", EMBED, "warm")
    e2e = look.get("end_to_end_speedup_cached", "process", "warm")
    computed = look.get("texts_computed", EMBED, "cold")
    rate = look.get("texts_per_s", EMBED, "cold")
    bullets = [
        f"Embedding, cold: {int(computed or 0):,} distinct texts encoded at {_fmt(rate)} texts/s "
        f"(the stage also imports torch and sentence-transformers and loads the model).",
        f"Everything but embedding, cold: {_fmt(non_embed, 'ratio')}× the cold embed stage "
        f"(target < {TARGET_NON_EMBED_FRACTION:.2f}×"
        + (", met)." if non_embed is not None and non_embed < TARGET_NON_EMBED_FRACTION else ", not met)."),
        f"Cached re-run: embed stage {_fmt(speedup, 'x')} faster (target ≥ {TARGET_EMBED_SPEEDUP:.0f}×"
        + (", met" if speedup is not None and speedup >= TARGET_EMBED_SPEEDUP else ", not met")
        + f"); whole process {_fmt(e2e, 'x')} faster; "
        f"{int(look.get('texts_from_cache', EMBED, 'warm') or 0):,} texts from the cache, "
        f"{int(look.get('texts_computed', EMBED, 'warm') or 0):,} encoded.",
        f"CPU time (user + system): cold {_fmt(look.get('cpu_seconds', 'process', 'cold'))} s, "
        f"warm {_fmt(look.get('cpu_seconds', 'process', 'warm'))} s.",
    ]
    return [*lines, *(f"- {b}" for b in bullets), ""]


def _startup_table(records: list[dict[str, Any]]) -> list[str]:
    labels = {
        "python_bare": "`python -c pass` (interpreter alone)",
        "import_pipeline": '`python -c "import pipeline"`',
        "cli_help": "`python -m pipeline --help`",
    }
    lines = ["| command | median s | min s | max s |", "|---|---:|---:|---:|"]
    for r in records:
        values = r.get("values", [r["value"]])
        label = labels.get(r["stage"], r["stage"])
        lines.append(f"| {label} | {r['value']:.2f} | {min(values):.2f} | {max(values):.2f} |")
    return [*lines, ""]


def _other_sections(records: list[dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    for section in dict.fromkeys(r.get("section") for r in records):
        header = "| dataset | system | rows | metric | value | date |"
        lines += [f"## {section}", "", header, "|---|---|---:|---|---:|---|"]
        for r in (r for r in records if r.get("section") == section):
            rows = f"{r['rows']:,}" if isinstance(r.get("rows"), int) else str(r.get("rows", ""))
            value = r.get("value")
            shown = f"{value:.4g}" if isinstance(value, float) else str(value)
            lines.append(
                f"| {r.get('dataset', '')} | {r.get('system', '')} | {rows} | {r.get('metric', '')} | {shown} "
                f"| {r.get('date', '')} |"
            )
        lines.append("")
    return lines


def render_markdown(records: list[dict[str, Any]], *, machine: Machine, date: str, info: dict[str, Any]) -> str:
    speed = [r for r in records if r.get("section") == SECTION]
    startup = [r for r in speed if r.get("metric") == "process_start_seconds"]
    sized = [r for r in speed if isinstance(r.get("rows"), int)]
    tables: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in sized:
        tables.setdefault((r["rows"], r.get("config") or "", r.get("dataset")), []).append(r)
    packages = info.get("packages") or {}
    versions = ", ".join(f"{name} {version}" for name, version in packages.items() if version)
    load = ", ".join(f"{x:.2f}" for x in machine.load_start)
    load_end = ", ".join(f"{x:.2f}" for x in machine.load_end)
    env = ", ".join(f"{k}={v}" for k, v in machine.env.items() if v)
    lines = [
        "# Benchmark results",
        "",
        "Written by `python -m benchmarks.run` (`make bench`); how it measures: `benchmarks/README.md`.",
        "",
        f"- Date: {date} (latest run; each table says when it was measured if earlier)",
        f"- Machine: {machine.label} ({machine.usable_cores} usable by this process); {machine.system}",
        f"- Load average (1, 5, 15 min) at start: {load}; at end: {load_end}",
        f"- Python {info.get('python', platform.python_version())}; {versions}",
        f"- Environment of the runs: {env}",
        f"- Command: `{info.get('command', '')}`",
        "",
        "## Speed and memory",
        "",
        "*cold*: a fresh process with an empty embedding cache (imports, model loading, numba compilation and",
        "every embedding included); *warm*: the same command again in a fresh process with that cache filled.",
        "Stage seconds and per-stage peak RSS come from the run's `manifest.json`; end to end is the wall time",
        "of the whole process, measured from outside. rows/s counts input rows. The last two columns are each",
        f"stage's cost as a fraction of the cold embed stage (the aim: all non-embed stages < "
        f"{TARGET_NON_EMBED_FRACTION:.2f} together).",
        "",
    ]
    if startup:
        lines += ["### Process start", "", *_startup_table(startup)]
    for key in sorted(tables, key=lambda k: (k[1], k[0])):
        lines += _speed_table(key[0], tables[key], machine, date)
    lines += ["## Notes on the data and the method", "", *(f"- {note}" for note in info.get("notes", [])), ""]
    lines += _other_sections([r for r in records if r.get("section") != SECTION])
    return "\n".join(lines).rstrip() + "\n"


def write_json(path: Path, records: list[dict[str, Any]]) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(records, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def write_text(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


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
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Cold + warm runs of one input, ``--repeats`` times; the records and the last cold manifest."""
    n = bench.rows
    repeats: list[list[Figure]] = []
    manifest: dict[str, Any] = {}
    for r in range(1, args.repeats + 1):
        tag = f"{n}" if args.repeats == 1 else f"{n}-r{r}"
        cache_dir = args.work_dir / "cache" / tag
        shutil.rmtree(cache_dir, ignore_errors=True)
        cache_dir.mkdir(parents=True)
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
        warm = run_pipeline(args.python, bench, run_id=f"warm-{tag}", **kwargs)
        repeats.append(size_figures(n, cold, warm))
        manifest = cold.manifest
        if not args.keep_cache:
            shutil.rmtree(cache_dir, ignore_errors=True)
    base = {**common, "dataset": bench.dataset, "rows": n}
    records = median_records(repeats, common=base)
    records += [
        make_record(base, metric="input_rows", stage=label, run=None, value=count, unit="rows")
        for label, count in bench.composition.items()
    ]
    distinct = bench.distinct_texts
    records.append(make_record(base, metric="input_distinct_texts", stage=None, run=None, value=distinct, unit="texts"))
    return records, manifest


def _notes(inputs: list[BenchInput], args: argparse.Namespace, machine: Machine) -> list[str]:
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
        "Cold runs use an empty embedding cache directory but the OS file cache is warm"
        + ("" if args.no_warmup else " (an untimed `python -c 'import torch, ...'` runs first)")
        + "; numba's on-disk cache is "
        + (
            "emptied for each cold run (NUMBA_CACHE_DIR set to a fresh folder), i.e. a first-ever run."
            if args.fresh_numba_cache
            else "left as the installed packages have it (a machine that has run the pipeline before)."
        ),
        "In the cold run the embed stage includes importing torch and sentence-transformers and loading the "
        "model (they load lazily); the warm run finds every embedding, keyword embeddings included, in the "
        "cache, so it never loads the model.",
        f"Each figure is from {args.repeats} cold + warm pair(s) per size (median when more than one); "
        f"process-start figures are medians of {args.start_repeats} runs after one untimed run.",
    ]
    if args.set:
        notes.append(f"Pipeline settings changed from the defaults: {'; '.join(args.set)}.")
    busy = max(machine.load_start[0], machine.load_end[0])
    if busy > 0.5 * machine.usable_cores:
        notes.append(
            f"The machine was busy (1-min load average up to {busy:.2f} on {machine.usable_cores} cores): "
            "figures are slower and noisier than on a quiet machine."
        )
    return notes


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Per-stage speed and peak memory of `python -m pipeline run`, cold (fresh process, empty "
        "embedding cache) and warm (cache filled), on real app reviews; writes RESULTS.md and RESULTS.json.",
        epilog="Example: python -m benchmarks.run --sizes 2000 10000   (make bench)",
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[2000, 10000],
        metavar="N",
        help="Row counts to measure (default: 2000 10000). Above 10,000: resampled + perturbed.",
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
        "--repeats", type=int, default=1, help="Cold + warm pairs per size; figures are medians (default 1)."
    )
    parser.add_argument(
        "--start-repeats", type=int, default=5, help="Timed runs of each process-start command (default 5)."
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Passed to the pipeline as --set (e.g. embed.batch_size=128); recorded as 'config'.",
    )
    parser.add_argument(
        "--fresh-numba-cache",
        action="store_true",
        help="Give each cold run an empty NUMBA_CACHE_DIR (a first-ever run).",
    )
    parser.add_argument(
        "--no-warmup",
        action="store_true",
        help="Skip the untimed import of the heavy libraries that warms the OS file cache.",
    )
    parser.add_argument("--keep-cache", action="store_true", help="Keep the embedding caches in the work dir.")
    parser.add_argument("--timeout", type=float, default=3600.0, help="Seconds allowed per process (default 3600).")
    parser.add_argument("--python", default=sys.executable, help="Interpreter that runs the pipeline (default: this).")
    parser.add_argument("-v", "--verbose", action="store_true", help="Debug logging.")
    args = parser.parse_args(argv)  # fmt: skip
    if any(n < 1 for n in args.sizes):
        parser.error(f"--sizes must be positive row counts; got {args.sizes}.")
    if args.repeats < 1 or args.start_repeats < 1:
        parser.error(f"--repeats and --start-repeats must be at least 1; got {args.repeats}, {args.start_repeats}.")
    args.sizes = list(dict.fromkeys(args.sizes))
    args.work_dir = args.work_dir.resolve()
    return args


def benchmark(args: argparse.Namespace) -> Path:
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

    inputs = [
        build_input(n, data_dir=data_dir, work_dir=args.work_dir, seed=args.seed, sampling=args.sampling)
        for n in args.sizes
    ]
    for bench in inputs:
        log.info("input %s: %s", bench.path.name, bench.description)
    if not args.no_warmup:
        log.info("warming the OS file cache (untimed): %s", HEAVY_IMPORTS)
        warm = measure([args.python, "-c", HEAVY_IMPORTS], env=child_env(), log_stem=args.work_dir / "logs" / "warmup",
                       timeout=args.timeout)  # fmt: skip
        if warm.returncode != 0:
            raise BenchError(f"importing the pipeline's libraries failed: {_last_line(warm.stderr)}")

    records = startup_records(
        args.python, repeats=args.start_repeats, work_dir=args.work_dir, timeout=args.timeout, common=common
    )
    manifest: dict[str, Any] = {}
    for bench in inputs:
        size_records, manifest = benchmark_size(bench, args, common=common)
        records += size_records
    machine.load_end = os.getloadavg()

    args.out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = args.out / "RESULTS.json", args.out / "RESULTS.md"
    merged = merge_records(json_path, records)
    info = {
        "python": manifest.get("python"),
        "packages": manifest.get("packages"),
        "command": "python -m benchmarks.run " + " ".join(sys.argv[1:]),
        "notes": _notes(inputs, args, machine),
    }
    write_json(json_path, merged)
    write_text(md_path, render_markdown(merged, machine=machine, date=date, info=info))
    log.info("wrote %s and %s (%d records, %d from this run)", md_path, json_path, len(merged), len(records))
    return md_path


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        benchmark(args)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: no results written.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
