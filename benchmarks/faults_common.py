"""What every fault scenario shares: the fast ``insights run`` command, the checks of a run folder and of
the embedding cache, and the outcome record each scenario returns.

The runs are real processes (``python -m pipeline run``) on the bundled 2,000-review replay, model-free
(hashing embedder, PCA, a tokenizer-only spaCy) so one costs a few seconds; ``scale.batch_size=1000``
makes the embed stage write two cache shards, so a kill can land between them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample" / "app_reviews_replay.csv"
STAGES = ("ingest", "clean", "embed", "reduce", "cluster", "represent", "classify", "trends", "summarize", "report")
#: Files every complete run folder holds.
RUN_FILES = (
    "feedback.parquet",
    "themes.parquet",
    "themes.csv",
    "categories.parquet",
    "categories.csv",
    "alerts.parquet",
    "alerts.json",
    "theme_model.parquet",
    "insights.md",
    "report.html",
    "manifest.json",
)
#: Tables that must come out the same from any two runs of the same input and config.
TABLES = ("feedback.parquet", "themes.parquet", "categories.parquet", "alerts.parquet", "theme_model.parquet")
RUN_ID = "r"
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
#: The model-free options of a fast run (see tests/conftest.py FAST_OVERRIDES).
FAST_OPTIONS = (
    "--embedding-model", "hashing", "--reducer", "pca", "--set", 'clean.spacy_model="blank:en"',
    "--set", "scale.batch_size=1000",
)  # fmt: skip
SAMPLE_OPTIONS = ("--text-col", "Content", "--id-col", "Review id", "--time-col", "Date")


@dataclass
class Outcome:
    """One scenario's result: how many trials, what went wrong (empty: nothing), figures and notes."""

    scenario: str
    trials: int = 0
    failures: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    command: str = ""

    def fail(self, trial: str, problems: list[str]) -> None:
        self.failures.extend(f"{trial}: {p}" for p in problems)


def child_env() -> dict[str, str]:
    return {**os.environ, **OFFLINE}


def run_command(
    cache: Path, out: Path, *, run_id: str = RUN_ID, force: bool = True, inputs: tuple[Path, ...] = (SAMPLE,),
    extra: tuple[str, ...] = (),
) -> list[str]:  # fmt: skip
    """``python -m pipeline run`` on the sample with the fast options."""
    return [
        sys.executable, "-m", "pipeline", "run", *map(str, inputs), *SAMPLE_OPTIONS, *FAST_OPTIONS,
        "--cache-dir", str(cache), "--out", str(out), "--run-id", run_id, *(["--force"] if force else []), *extra,
    ]  # fmt: skip


def run_to_end(cmd: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, env=child_env(), timeout=timeout, check=False)


def message_lines(stderr: str) -> list[str]:
    """The stderr lines that are not log records (``HH:MM:SS LEVEL ...``): what the user is told."""
    return [
        line for line in stderr.splitlines()
        if line.strip() and not (len(line) > 9 and line[2] == ":" and line[5] == ":" and line[8] == " ")
    ]  # fmt: skip


def one_line_error(proc: subprocess.CompletedProcess[str], code: int = 2) -> list[str]:
    """Problems with a refused run: it must exit ``code`` with one 'error:' line and no traceback."""
    problems = []
    if proc.returncode != code:
        problems.append(f"exit {proc.returncode}, expected {code}: {proc.stderr[-300:]!r}")
    lines = message_lines(proc.stderr)
    if len(lines) != 1 or not lines[0].startswith("error: "):
        problems.append(f"expected one 'error:' line, got {lines[:4]!r}")
    if "Traceback" in proc.stderr:
        problems.append("a traceback on stderr")
    return problems


def run_dir_problems(run_dir: Path) -> list[str]:
    """A run folder must be complete and valid: every file, readable tables, accounting that adds up."""
    missing = [name for name in RUN_FILES if not (run_dir / name).is_file()]
    if missing:
        return [f"{run_dir.name}: incomplete, missing {missing}"]
    try:
        manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
        feedback = pd.read_parquet(run_dir / "feedback.parquet")
        for name in TABLES[1:]:
            pd.read_parquet(run_dir / name)
        json.loads((run_dir / "alerts.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"{run_dir.name}: unreadable: {type(exc).__name__}: {exc}"]
    acc = manifest.get("accounting", {})
    status = feedback["status"].value_counts()
    counts = (int(status.get("themed", 0)), int(status.get("outlier", 0)), int(status.get("excluded", 0)))
    if acc.get("rows_in") != len(feedback) or (acc.get("themed"), acc.get("outliers"), acc.get("excluded")) != counts:
        return [f"{run_dir.name}: accounting {acc} does not match feedback.parquet ({len(feedback)} rows, {counts})"]
    return []


def run_matches(expected: Path, got: Path) -> list[str]:
    """Problems of ``got``: incomplete or invalid, else the tables that differ from ``expected``'s."""
    return run_dir_problems(got) or table_differences(expected, got)


def table_differences(expected: Path, got: Path) -> list[str]:
    """The tables of two run folders that differ (every cell compared)."""
    problems = []
    for name in TABLES:
        a, b = pd.read_parquet(expected / name), pd.read_parquet(got / name)
        try:
            pd.testing.assert_frame_equal(a, b, check_exact=True)
        except AssertionError as exc:
            problems.append(f"{name} differs from the uninterrupted run: {str(exc).splitlines()[:3]}")
    return problems


def cache_entries(cache: Path) -> tuple[dict[bytes, np.ndarray], list[str]]:
    """Every (key, vector) of the cache's complete shards, and what is wrong with any shard."""
    entries: dict[bytes, np.ndarray] = {}
    problems: list[str] = []
    for model_dir in sorted((cache / "embeddings").glob("*")):
        meta = model_dir / "model.json"
        if meta.exists():
            try:
                json.loads(meta.read_text(encoding="utf-8"))["model_identity"]
            except (OSError, ValueError, KeyError) as exc:
                problems.append(f"{meta}: corrupt ({exc})")
        for keys_file in sorted(model_dir.glob("shard-*.keys.npy")):
            vec_file = keys_file.with_name(keys_file.name.replace(".keys.npy", ".vecs.npy"))
            try:
                keys, vecs = np.load(keys_file), np.load(vec_file)
            except (OSError, ValueError) as exc:
                problems.append(f"{keys_file.name}: unreadable shard ({exc})")
                continue
            if keys.shape != (len(vecs), 16) or keys.dtype != np.uint8 or not np.isfinite(vecs).all():
                problems.append(f"{keys_file.name}: keys {keys.shape} do not fit vectors {vecs.shape}")
                continue
            for key, vec in zip(keys, vecs, strict=True):
                entries[key.tobytes()] = vec
    return entries, problems


def cache_problems(cache: Path, reference: dict[bytes, np.ndarray]) -> list[str]:
    """The cache must hold only complete shards whose every vector equals the uninterrupted run's."""
    entries, problems = cache_entries(cache)
    wrong = [k for k, v in entries.items() if k not in reference or not np.array_equal(v, reference[k])]
    if wrong:
        problems.append(f"{len(wrong)} cached vectors differ from the uninterrupted run's")
    return problems


def row_text_keys() -> set[bytes]:
    """The cache keys of the sample's distinct row texts, found by the real ingest, clean and embed code."""
    from pipeline.clean import clean
    from pipeline.config import RunConfig
    from pipeline.embed import embed
    from pipeline.ingest import ingest
    from pipeline.store import text_key

    config = RunConfig().with_overrides(
        {"clean.spacy_model": "blank:en", "ingest.text_col": "Content", "ingest.id_col": "Review id",
         "ingest.time_col": "Date"}
    )  # fmt: skip
    seen: list[str] = []

    class Recorder:
        identity = "recorder"

        def encode(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
            seen.extend(texts)
            return np.zeros((len(texts), 2), np.float32)

    cleaned = clean(ingest([SAMPLE], config.ingest).rows, config.clean)
    embed(cleaned, Recorder())
    return {text_key(t) for t in seen}


def hidden_entries(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name.startswith(".")) if out.is_dir() else []
