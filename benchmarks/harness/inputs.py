"""Benchmark inputs from the shared datasets: N real app reviews, resampled and perturbed above 10,000."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.harness.processes import BenchError

__all__ = [
    "BANKING_FILES",
    "BENCH_DIR",
    "DEFAULT_DATA_DIR",
    "DEFAULT_WORK_DIR",
    "REVIEWS_FILE",
    "TEXT_COL",
    "BenchInput",
    "build_input",
    "perturb",
]


BENCH_DIR = Path(__file__).resolve().parents[1]


DEFAULT_DATA_DIR = Path(__file__).resolve().parents[3] / "shared" / "datasets"


DEFAULT_WORK_DIR = BENCH_DIR / ".work"


REVIEWS_FILE = Path("dabrowski_is22_app_reviews") / "collected_reviews_8apps.csv"


BANKING_FILES = (Path("banking77") / "train.csv", Path("banking77") / "test.csv")


TEXT_COL = "Content"


REVIEWS_DATASET = "dabrowski_is22_app_reviews"


RESAMPLED_DATASET = "dabrowski_is22_app_reviews+banking77 (resampled, perturbed)"


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
