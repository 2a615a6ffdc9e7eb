"""Shared fixtures: offline models, a private embedding cache, fast fakes and the one real run.

Fast tests use the model-free stand-ins (HashingEmbedder, PCA, spaCy ``blank:en``); only tests
marked ``slow`` load the packaged models, and they share a single session-scoped run.
"""

from __future__ import annotations

import atexit
import csv
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Nothing a test runs may write to ~/.cache: the default embedding cache lives here instead.
_CACHE_ROOT = tempfile.mkdtemp(prefix="feedback-insights-test-cache-")
atexit.register(shutil.rmtree, _CACHE_ROOT, ignore_errors=True)
os.environ["FEEDBACK_INSIGHTS_CACHE"] = _CACHE_ROOT

# `pipeline` must be imported before `models` (see tests/unit/test_imports.py).
import pipeline  # noqa: E402,F401
from pipeline.config import RunConfig  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SAMPLE_CSV = REPO / "data" / "sample" / "app_reviews_sample.csv"
FEEDBACK_FILES = (
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

#: Overrides that make a run model-free and fast; used by the API and CLI tests alike.
FAST_OVERRIDES: dict[str, Any] = {
    "clean.spacy_model": "blank:en",
    "embed.model": "hashing",
    "reduce.method": "pca",
}


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """The CLI points the root logger at the (captured) stderr of its run; undo that after each test."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    levels = {name: logging.getLogger(name).level for name in ("pipeline", "models")}
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture(scope="session")
def blank_nlp() -> Any:
    """A tokenizer-only spaCy pipeline: no model to load, no NER, no lemmas."""
    import spacy

    return spacy.blank("en")


@pytest.fixture
def fast_config(tmp_path: Path) -> RunConfig:
    """Model-free configuration with a per-test cache and output folder."""
    return RunConfig().with_overrides(
        {
            **FAST_OVERRIDES,
            "embed.cache_dir": str(tmp_path / "cache"),
            "output.out_dir": str(tmp_path / "out"),
        }
    )


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    """Write rows (the first one the header) with the csv module; returns the path."""

    def _write(rows: list[list[Any]], name: str = "export.csv", delimiter: str = ",", encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        with path.open("w", newline="", encoding=encoding) as handle:
            csv.writer(handle, delimiter=delimiter, lineterminator="\n").writerows(rows)
        return path

    return _write


@pytest.fixture
def write_jsonl(tmp_path: Path) -> Callable[..., Path]:
    """Write one line per item: dicts as JSON, strings verbatim (for malformed lines)."""

    def _write(items: list[Any], name: str = "export.jsonl") -> Path:
        path = tmp_path / name
        lines = [item if isinstance(item, str) else json.dumps(item) for item in items]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return _write


# --- the one real end-to-end run, shared by every slow test ---------------------------------

E2E_ROWS = 300


@pytest.fixture(scope="session")
def real_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two runs with the packaged models on the first 300 sample reviews, sharing one cache.

    The first run fills the embedding, clean and reduce caches; the second, with the same seed, must
    reproduce the first run's assignments without computing any embedding; the third reads neither the
    clean nor the reduce cache, and must give the second's tables.
    """
    from pipeline import run

    base = tmp_path_factory.mktemp("e2e")
    sample = base / "reviews.csv"
    with SAMPLE_CSV.open(encoding="utf-8", newline="") as src, sample.open("w", encoding="utf-8", newline="") as dst:
        reader, writer = csv.reader(src), csv.writer(dst)
        for i, record in enumerate(reader):
            if i > E2E_ROWS:
                break
            writer.writerow(record)
    overrides = {
        "ingest.text_col": "Content",
        "ingest.id_col": "Review id",
        "ingest.meta_cols": ["App id", "App"],
        "embed.cache_dir": str(base / "cache"),
        "output.out_dir": str(base / "out"),
        "seed": 7,
        "clean.use_cache": True,  # opt-in; on here so the warm run is checked against an uncached one
    }
    first = run(sample, overrides={**overrides, "output.run_id": "first"})
    second = run(sample, overrides={**overrides, "output.run_id": "second"})
    uncached = {"clean.use_cache": False, "reduce.use_cache": False, "output.run_id": "uncached"}
    third = run(sample, overrides={**overrides, **uncached})
    return {"sample": sample, "first": first, "second": second, "uncached": third, "cache": base / "cache"}
