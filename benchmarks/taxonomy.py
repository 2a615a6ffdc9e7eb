"""Taxonomy benchmark: how well the offline default maps real labeled texts to the taxonomy.

``python -m benchmarks.taxonomy`` (part of ``make bench``; about 2 minutes on 2 cores, most of it
embedding Davidson's 24,783 tweets once; the cache makes reruns fast).

* **AILuminate v1.0 demo** (1,200 prompts, 12 hazard categories; the four ``spc_*`` codes count as
  one, "specialized advice"): each prompt is scored against every leaf, and its prediction is the
  best-scoring leaf among those with an MLCommons code in the taxonomy's crosswalk (zero-shot over
  the dataset's label set), mapped through the crosswalk. ``macro_f1_strict`` instead takes the row's
  own primary label over all 41 leaves (unmapped, or a leaf without a code, counts as wrong).
  ``unmapped_or_uncoded_share`` is the issue-17 *Unmapped* measure: the share of these all-hazard rows
  whose primary label is missing or a leaf without an MLCommons code; ``no_label_share`` counts only
  the rows with no label at all.
* **Davidson et al. 2017** (hate / offensive / neither): a tweet is *hate* when ``safety.hate`` is
  its best-ranked label among the four below that pass their thresholds, *offensive* when it is
  ``safety.harassment``, ``safety.sexual_content`` or ``search_quality.offensive_results``, and
  *neither* when none passes.

* **IS-2023 safety check set** (``benchmarks/data/is2023_safety_check.csv``, 400 app-review sentences
  hand-labeled safety / non_safety): the false-safety-flag rate, the share of non_safety sentences whose
  primary label is on the safety branch.
* **Classify cost**: seconds to label 10,000 Davidson rows, and an *estimate* of classify's share of
  end-to-end time at 100k rows from the latest 100k scale run's stage times in RESULTS.json.

All three datasets are split in two halves with a fixed seed. The scoring formula, the crosswalk
additions, ``lexicon_boost``, ``recall_weight``, the branch bar, branch-first ranking and the slur term file were chosen
looking at the **dev** halves only;
the figures reported are on the **test** halves (and, for reference, on all rows). Thresholds are
calibrated on the taxonomy's own examples, never on these rows. Texts go through the same PII
redaction as the clean stage and the run's default embedder (int8 ONNX MiniLM).

``rows_per_s``: the classify stage's own throughput on Davidson (scoring + calibrated labels, the
embeddings already computed, as in a run), and ``fit_s``: embedding and calibrating the prototypes.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks._setup import start_benchmark
from benchmarks.report.other_sections import TAXONOMY_DEFAULT_CONFIG

log = logging.getLogger("benchmarks.taxonomy")

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE.parent.parent / "shared" / "datasets"
SECTION = "taxonomy"
SEED = 0
CHECK_SET = "is2023_safety_check"

DAVIDSON_CLASSES = {0: "hate", 1: "offensive", 2: "neither"}
#: Taxonomy leaves that stand for Davidson's classes.
DAVIDSON_NODES = {
    "safety.hate": "hate",
    "safety.harassment": "offensive",
    "safety.sexual_content": "offensive",
    "search_quality.offensive_results": "offensive",
}
#: Published or earlier figures to compare with (see ../shared/datasets/REFERENCE_NUMBERS.md and issue 4).
REFERENCE = {
    "ailuminate": ("MiniLM, one plain sentence per label, argmax cosine (issue 4, measured here)", 0.63),
    "davidson": ("NLI-only DeBERTa-v3-base zero-shot (MoritzLaurer, published)", 0.552),
    "davidson-floor": ("MiniLM, one plain sentence per label (issue 4, measured here)", 0.30),
}


def halves(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(dev, test) row positions: a seeded permutation cut in two."""
    perm = np.random.default_rng(SEED).permutation(n)
    return np.sort(perm[: n // 2]), np.sort(perm[n // 2 :])


def load_ailuminate(data_dir: Path) -> tuple[list[str], np.ndarray]:
    frame = pd.read_csv(data_dir / "ailuminate_demo" / "airr_official_1.0_demo_en_us_prompt_set_release.csv")
    gold = frame["hazard"].str.replace(r"^spc_.*", "spc", regex=True).to_numpy()
    return frame["prompt_text"].astype(str).tolist(), gold


def load_davidson(data_dir: Path) -> tuple[list[str], np.ndarray]:
    frame = pd.read_csv(data_dir / "davidson_hate_offensive" / "labeled_data.csv")
    return frame["tweet"].astype(str).tolist(), frame["class"].map(DAVIDSON_CLASSES).to_numpy()


def prepare(texts: list[str]) -> list[str]:
    """What the clean stage does to a text before it is embedded: PII redaction, whitespace."""
    from pipeline.clean import redact_pii

    return [" ".join(redact_pii(t).split()) for t in texts]


def mlcommons_code(node: Any) -> str | None:
    codes = node.crosswalk_codes("mlcommons")
    if not codes:
        return None
    return "spc" if codes[0].startswith("spc") else codes[0]


def score_ailuminate(classifier: Any, vectors: np.ndarray, texts: list[str], gold: np.ndarray) -> dict[str, Any]:
    from sklearn.metrics import f1_score, recall_score

    scores = classifier.scores(vectors, texts)
    proba = classifier.branch_proba(vectors)
    conf = classifier.confidence_of(scores, proba)
    codes = np.array([mlcommons_code(n) or "" for n in classifier.leaves])
    coded = codes != ""
    restricted = np.where(coded[None, :], scores, -np.inf)
    pred = codes[restricted.argmax(axis=1)]
    passing = np.where(conf >= 0.5, classifier.rank_of(scores, proba), -np.inf)
    labeled = np.isfinite(passing.max(axis=1))
    own = np.where(labeled, codes[passing.argmax(axis=1)], "")
    labels = sorted(set(gold))
    out: dict[str, Any] = {}
    for split, idx in zip(("dev", "test", "all"), (*halves(len(gold)), np.arange(len(gold))), strict=True):
        out[split] = {
            "rows": len(idx),
            "macro_f1": float(f1_score(gold[idx], pred[idx], labels=labels, average="macro")),
            "macro_f1_strict": float(f1_score(gold[idx], own[idx], labels=labels, average="macro")),
            "unmapped_or_uncoded_share": float((own[idx] == "").mean()),
            "no_label_share": float((~labeled[idx]).mean()),
            "recall": dict(
                zip(labels, map(float, recall_score(gold[idx], pred[idx], labels=labels, average=None)), strict=True)
            ),
        }
    return out


def score_davidson(classifier: Any, vectors: np.ndarray, texts: list[str], gold: np.ndarray) -> dict[str, Any]:
    from sklearn.metrics import f1_score

    started = time.perf_counter()
    scores = classifier.scores(vectors, texts)
    proba = classifier.branch_proba(vectors)
    conf = classifier.confidence_of(scores, proba)
    rank = classifier.rank_of(scores, proba)
    seconds = time.perf_counter() - started
    columns = [classifier.leaf_index[node] for node in DAVIDSON_NODES]
    classes = np.array(list(DAVIDSON_NODES.values()))
    sub = np.where(conf[:, columns] >= 0.5, rank[:, columns], -np.inf)
    pred = np.where(np.isfinite(sub.max(axis=1)), classes[sub.argmax(axis=1)], "neither")
    labels = ["hate", "offensive", "neither"]
    out: dict[str, Any] = {"rows_per_s": len(texts) / seconds, "seconds": seconds}
    for split, idx in zip(("dev", "test", "all"), (*halves(len(gold)), np.arange(len(gold))), strict=True):
        per_class = f1_score(gold[idx], pred[idx], labels=labels, average=None)
        out[split] = {
            "rows": len(idx),
            "macro_f1": float(np.mean(per_class)),
            "f1": dict(zip(labels, map(float, per_class), strict=True)),
        }
    return out


def load_check_set(data_dir: Path) -> tuple[list[str], np.ndarray]:
    """The IS-2023 safety check set (``benchmarks/data/is2023_safety_check.csv``): texts and labels."""
    check = pd.read_csv(HERE / "data" / "is2023_safety_check.csv")
    source = pd.read_csv(data_dir / "dabrowski_is22_app_reviews" / "opinion_mining_ground_truth_Apps.csv")
    return source["Sentence content"].astype(str).iloc[check["row"]].tolist(), check["label"].to_numpy()


def safety_flags(classifier: Any, vectors: np.ndarray, texts: list[str]) -> np.ndarray:
    """True where a text's primary label is a node on the safety branch."""
    from pipeline.classify import label_texts
    from pipeline.config import ClassifyConfig

    table, _ = label_texts(vectors, texts, classifier, ClassifyConfig())
    ids = table["category_id"]
    return np.array([isinstance(c, str) and classifier.taxonomy.branch_of(c) == "safety" for c in ids])


def score_check_set(classifier: Any, vectors: np.ndarray, texts: list[str], gold: np.ndarray) -> dict[str, Any]:
    flags = safety_flags(classifier, vectors, texts)
    out: dict[str, Any] = {}
    for split, idx in zip(("dev", "test", "all"), (*halves(len(gold)), np.arange(len(gold))), strict=True):
        benign = idx[gold[idx] == "non_safety"]
        harm = idx[gold[idx] == "safety"]
        out[split] = {
            "rows": len(benign),
            "false_flag_rate": float(flags[benign].mean()) if len(benign) else float("nan"),
            "safety_rows": len(harm),
            "safety_flagged": int(flags[harm].sum()),
        }
    return out


def classify_cost(classifier: Any, vectors: np.ndarray, texts: list[str], fit_s: float, out_dir: Path) -> dict:
    """Seconds to label 10,000 rows (embeddings given, as in a run), and an ESTIMATE of classify's share
    of end-to-end time at 100k rows: 10x that cost plus the fit, against the latest 100k local scale run's
    stage times in RESULTS.json (its own classify seconds swapped for the estimate)."""
    from benchmarks.report import load_records
    from pipeline.classify import label_texts
    from pipeline.config import ClassifyConfig

    n = min(10_000, len(texts))
    started = time.perf_counter()
    label_texts(vectors[:n], texts[:n], classifier, ClassifyConfig())
    seconds = time.perf_counter() - started
    out: dict[str, Any] = {"rows": n, "seconds": seconds, "per_row_ms": 1000 * seconds / n}
    stage = {
        r["stage"]: float(r["value"])
        for r in load_records(out_dir / "RESULTS.json")
        if r.get("section") == "scale"
        and r.get("rows") == 100_000
        and r.get("engine") == "local"
        and r.get("metric") == "stage_seconds"
        and r.get("stage") in ("classify", "end_to_end")
    }
    if {"classify", "end_to_end"} <= set(stage):
        estimate = seconds * 100_000 / n + fit_s
        total = stage["end_to_end"] - stage["classify"] + estimate
        out.update(estimate_100k_s=estimate, end_to_end_100k_s=total, share_100k=estimate / total)
    return out


def figure_notes(ail: dict[str, Any], dav: dict[str, Any], check: dict[str, Any], cost: dict[str, Any]) -> list[str]:
    """The issue-17 figures in words (the report prints notes; the records hold the same values)."""
    test = check["test"]
    notes = [
        f"Issue 17 targets, test halves: AILuminate macro-F1 {ail['test']['macro_f1']:.3f} (>= 0.75) with "
        f"{ail['test']['unmapped_or_uncoded_share']:.1%} Unmapped in the issue's sense, unmapped or uncoded (no label, "
        f"or a primary leaf without an MLCommons code; < 25%), of which {ail['test']['no_label_share']:.1%} with no "
        f"label at all; Davidson macro-F1 {dav['test']['macro_f1']:.3f} (>= 0.60), hate F1 "
        f"{dav['test']['f1']['hate']:.3f} (>= 0.35); {CHECK_SET} false-safety-flag rate {test['false_flag_rate']:.1%} "
        f"of {test['rows']} non_safety sentences (<= 5%; dev half {check['dev']['false_flag_rate']:.1%}); "
        f"{test['safety_flagged']} of its {test['safety_rows']} safety sentences flagged.",
        f"Classify cost: {cost['seconds']:.2f} s for {cost['rows']:,} rows ({cost['per_row_ms']:.3f} ms/row).",
    ]
    if "share_100k" in cost:
        notes[-1] += (
            f" ESTIMATED share of end-to-end time at 100k rows: {cost['share_100k']:.1%} "
            f"({cost['estimate_100k_s']:.1f} s of {cost['end_to_end_100k_s']:.0f} s; <= 10%)."
        )
    return notes


def records_of(
    ail: dict[str, Any],
    dav: dict[str, Any],
    fit: dict[str, Any],
    common: dict[str, Any],
    check: dict[str, Any],
    cost: dict[str, Any],
    config: str = TAXONOMY_DEFAULT_CONFIG,
) -> list[dict]:
    records: list[dict[str, Any]] = []

    def add(dataset: str, split: str, rows: int, metric: str, value: float, **extra: Any) -> None:
        records.append(
            {
                "section": SECTION,
                "dataset": dataset,
                "system": "ours",
                "rows": rows,
                "metric": metric,
                "value": round(float(value), 4),
                "split": split,
                "config": config,
                **extra,
                **common,
            }
        )

    for split in ("test", "all"):
        got = ail[split]
        add("ailuminate_demo", split, got["rows"], "macro_f1", got["macro_f1"])
        add("ailuminate_demo", split, got["rows"], "macro_f1_strict", got["macro_f1_strict"])
        add("ailuminate_demo", split, got["rows"], "unmapped_or_uncoded_share", got["unmapped_or_uncoded_share"])
        add("ailuminate_demo", split, got["rows"], "no_label_share", got["no_label_share"])
        for category, value in got["recall"].items():
            add("ailuminate_demo", split, got["rows"], "recall", value, category=category)
        got = dav[split]
        add("davidson_hate_offensive", split, got["rows"], "macro_f1", got["macro_f1"])
        for category, value in got["f1"].items():
            add("davidson_hate_offensive", split, got["rows"], "f1", value, category=category)
        got = check[split]
        add(CHECK_SET, split, got["rows"], "false_safety_flag_rate", got["false_flag_rate"])
    add("davidson_hate_offensive", "all", dav["all"]["rows"], "rows_per_s", dav["rows_per_s"], stage="classify")
    add("davidson_hate_offensive", "-", cost["rows"], "classify_s_10k", cost["seconds"], stage="classify")
    if "share_100k" in cost:
        add("scale 100k (estimate)", "-", 100_000, "classify_share_estimate", cost["share_100k"], stage="classify")
    add("taxonomy prototypes", "-", fit["examples"], "fit_s", fit["seconds"], stage="classify")
    return records


def config_label(settings: Sequence[str]) -> str:
    """The records' ``config``: the default's label, or the ``--set`` overrides a run was measured with."""
    return TAXONOMY_DEFAULT_CONFIG if not settings else "embedding prototypes, " + "; ".join(settings)


def merge(path: Path, new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Existing records without the taxonomy records of the new ones' config, plus the new ones."""
    from benchmarks.report import load_records

    configs = {r.get("config") for r in new}
    return [r for r in load_records(path) if r.get("section") != SECTION or r.get("config") not in configs] + new


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.taxonomy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, help="the shared datasets folder")
    parser.add_argument("--out", type=Path, default=HERE, help="folder of RESULTS.json / RESULTS.md")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config overrides")
    args = parser.parse_args(argv)
    start_benchmark()
    for name in ("ailuminate_demo", "davidson_hate_offensive", "dabrowski_is22_app_reviews"):
        if not (args.data_dir / name).is_dir():
            print(f"error: {args.data_dir / name} not found; pass --data-dir <shared/datasets>.", file=sys.stderr)
            return 2

    from benchmarks.quality import machine_label, versions
    from benchmarks.report import write_results
    from models.embedding import make_embedder
    from pipeline.classify import PrototypeClassifier
    from pipeline.config import load_config, parse_overrides
    from pipeline.embed import CachedEmbedder
    from pipeline.store import EmbeddingCache, default_cache_dir
    from pipeline.taxonomy import load_taxonomy

    config = load_config(None, parse_overrides(args.set))
    embedder = make_embedder(config.embed.model, batch_size=config.embed.batch_size, backend=config.embed.backend)
    cached = CachedEmbedder(embedder, EmbeddingCache(default_cache_dir(config.embed.cache_dir), embedder.identity))
    taxonomy = load_taxonomy(config.classify.taxonomy)
    started = time.perf_counter()
    classifier = PrototypeClassifier(
        taxonomy,
        cached,
        lexicon_boost=config.classify.lexicon_boost,
        recall_weight=config.classify.recall_weight,
        branch_min_confidence=config.classify.branch_min_confidence,
        branch_c=config.classify.branch_c,
    ).fit()
    fit = {"seconds": time.perf_counter() - started, "examples": classifier.calibration_["examples"]}

    ail_texts, ail_gold = load_ailuminate(args.data_dir)
    dav_texts, dav_gold = load_davidson(args.data_dir)
    ail_texts, dav_texts = prepare(ail_texts), prepare(dav_texts)
    log.info("embedding %d + %d texts (cached after the first run)", len(ail_texts), len(dav_texts))
    ail = score_ailuminate(classifier, cached.encode(ail_texts), ail_texts, ail_gold)
    dav_vectors = cached.encode(dav_texts)
    dav = score_davidson(classifier, dav_vectors, dav_texts, dav_gold)
    check_texts, check_gold = load_check_set(args.data_dir)
    check_texts = prepare(check_texts)
    check = score_check_set(classifier, cached.encode(check_texts), check_texts, check_gold)
    cost = classify_cost(classifier, dav_vectors, dav_texts, fit["seconds"], args.out)

    common = {
        "date": datetime.now(timezone.utc).date().isoformat(),
        "machine": machine_label(),
        "versions": versions(),
        "notes": [
            "Split halves (seed 0): design choices on dev, figures on test and all; thresholds calibrated on the "
            "taxonomy's own examples, never on these rows.",
            f"References: AILuminate floor {REFERENCE['ailuminate'][1]} ({REFERENCE['ailuminate'][0]}); Davidson "
            f"{REFERENCE['davidson'][1]} ({REFERENCE['davidson'][0]}) and floor {REFERENCE['davidson-floor'][1]}.",
            "Davidson: the profanity lexicon is better-profanity's hand-made word list; the hate node's group-slur "
            "list (taxonomies/lexicons/group_slurs.txt) was written for this project; neither is trained on Davidson.",
            "Branch first, then leaf: a logistic-regression head on the taxonomy examples' embeddings; a text whose "
            f"branch probability reaches {classifier.branch_min_confidence} (chosen on the dev halves) gets that "
            "branch's best leaf as a label, and that branch's labels rank first.",
            "unmapped_or_uncoded_share is issue 17's Unmapped measure (the one behind its 67.5%): AILuminate rows with "
            "no label OR whose primary label is a leaf without an MLCommons code; no_label_share counts only rows "
            "with no label at all.",
            f"{CHECK_SET}: 400 IS-2023 app-review sentences hand-labeled safety / non_safety "
            "(benchmarks/data/README.md); "
            "false_safety_flag_rate = share of non_safety sentences whose primary label is on the safety branch.",
            "classify_share_estimate: an ESTIMATE, 10x the measured 10k-row classify time plus the fit, against the "
            "latest 100k local scale run's end-to-end seconds in RESULTS.json (its classify time swapped out).",
        ],
    }
    common["notes"] += figure_notes(ail, dav, check, cost)
    records = records_of(ail, dav, fit, common, check, cost, config_label(args.set))
    json_path, md_path = write_results(args.out, merge(args.out / "RESULTS.json", records))
    print(
        f"AILuminate macro-F1 (test half): {ail['test']['macro_f1']:.3f} (all rows {ail['all']['macro_f1']:.3f}); "
        f"strict {ail['test']['macro_f1_strict']:.3f}"
    )
    print(
        f"Davidson macro-F1 (test half): {dav['test']['macro_f1']:.3f} (all rows {dav['all']['macro_f1']:.3f}); "
        f"per class {', '.join(f'{k} {v:.3f}' for k, v in dav['test']['f1'].items())}"
    )
    print(
        f"AILuminate Unmapped, issue 17's measure (unmapped or uncoded; test half): "
        f"{ail['test']['unmapped_or_uncoded_share']:.1%} (no label at all: {ail['test']['no_label_share']:.1%}); "
        f"IS-2023 check set false-safety-flag rate: test {check['test']['false_flag_rate']:.1%}, "
        f"dev {check['dev']['false_flag_rate']:.1%}"
    )
    if "share_100k" in cost:
        print(
            f"classify: {cost['per_row_ms']:.3f} ms/row at 10k rows; ESTIMATED share of end-to-end at 100k rows: "
            f"{cost['share_100k']:.1%} ({cost['estimate_100k_s']:.1f} s of {cost['end_to_end_100k_s']:.0f} s)"
        )
    print(f"classify throughput: {dav['rows_per_s']:,.0f} rows/s; prototypes fit in {fit['seconds']:.1f} s")
    print(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
