"""Review-loop benchmark: does the taxonomy mapping learn from reviewers' corrections?

``python -m benchmarks.review_loop`` (part of ``make bench``; about a minute once the AILuminate
embeddings are cached).

Simulated reviewers with gold labels, through the real loop code: AILuminate v1.0 demo (1,200
prompts) is cut into the same halves as ``benchmarks.taxonomy`` (seed 0): the **review** half plays
the rows people check, the **held-out** half is only scored. For each k in 0, 2, 5, 10 and each
seed, k review-half rows per gold node are answered with their gold node (a reviewer's correction)
through ``validate_answer`` and ``LabelStore`` into a scratch review set; ``reviewed_examples`` turns
the answers into labeled examples exactly as the next ``--baseline`` run does, and a fresh
``PrototypeClassifier`` (default embedder, int8 ONNX MiniLM) is fitted with them as extra
prototypes. Rows the k = 0 classifier gets wrong are taken first (those are the corrections), then
rows it got right. A gold hazard's node is the first leaf whose MLCommons crosswalk names it;
held-out macro-F1 is computed as in ``benchmarks.taxonomy`` (best leaf with a code, mapped through
the crosswalk, the four ``spc_*`` codes as one class).

It also checks the agreement code: Cohen's kappa of three simulated noisy raters against
scikit-learn's ``cohen_kappa_score``, and Fleiss' kappa and Krippendorff's alpha on their published
worked examples.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks._setup import start_benchmark

log = logging.getLogger("benchmarks.review_loop")

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE.parent.parent / "shared" / "datasets"
SECTION = "review_loop"
KS = (0, 2, 5, 10)
SEEDS = (0, 1, 2)
#: Published worked examples: (value, source).
FLEISS_EXAMPLE = (0.210, "Fleiss (1971) example as on Wikipedia: 10 subjects, 14 raters")
KRIPPENDORFF_EXAMPLE = (0.743, "Krippendorff (2011), nominal, 4 coders, 12 units with missing values")


def gold_nodes(taxonomy: Any, hazards: np.ndarray) -> np.ndarray:
    """Each row's gold leaf: the first leaf whose MLCommons crosswalk names its hazard."""
    first: dict[str, str] = {}
    for node in taxonomy.leaves:
        for code in node.crosswalk_codes("mlcommons"):
            first.setdefault(code, node.id)
    missing = sorted(set(hazards) - set(first))
    if missing:
        raise SystemExit(f"error: no taxonomy leaf has the MLCommons codes {missing} in its crosswalk.")
    return np.array([first[h] for h in hazards])


#: How the k rows per node are chosen: the classifier's mistakes first (corrections), or at random.
STRATEGIES = ("corrections first", "random rows")


def corrections(
    review_rows: np.ndarray,
    gold: np.ndarray,
    wrong: np.ndarray,
    k: int,
    rng: np.random.Generator,
    strategy: str = STRATEGIES[0],
) -> list[int]:
    """k review-half rows per gold node: the classifier's mistakes first (then rows it got right), or at random."""
    chosen: list[int] = []
    for node in sorted(set(gold[review_rows])):
        mine = review_rows[gold[review_rows] == node]
        mine = mine[rng.permutation(len(mine))]
        ordered = np.concatenate([mine[wrong[mine]], mine[~wrong[mine]]]) if strategy == STRATEGIES[0] else mine
        chosen.extend(int(i) for i in ordered[:k])
    return chosen


def simulate_review(texts: list[str], gold: np.ndarray, rows: list[int], leaves: set[str]) -> pd.DataFrame:
    """Answer ``rows`` with their gold node through the review code; the examples the next run would get."""
    from pipeline.review.curation import reviewed_examples
    from pipeline.review.labels import LabelStore, validate_answer
    from pipeline.review.sampling import ITEMS, ReviewSet, write_review_set

    items = pd.DataFrame(
        {
            "item_id": [f"i{n + 1:04d}" for n in range(len(rows))],
            "row_id": [str(i) for i in rows],
            "text": [texts[i] for i in rows],
            "theme_id": -1,
            "theme_label": "",
            "category_id": None,
            "category": "Unmapped",
            "severity": "none",
            "category_confidence": np.nan,
            "query": None,
            "result": None,
            "stratum": "weighted",
            "weight": 1.0,
        },
        columns=list(ITEMS),
    )
    review_set = ReviewSet(items, {"seed": None})
    with tempfile.TemporaryDirectory() as scratch:
        write_review_set(review_set, scratch)
        store = LabelStore(scratch)
        for item_id, row in zip(items["item_id"], rows, strict=True):
            payload = {"item_id": item_id, "reviewer": "gold", "node": str(gold[row])}
            store.save(validate_answer(payload, review_set, leaves))
        return reviewed_examples(scratch)


def agreement_checks(gold: np.ndarray, seed: int = 0) -> dict[str, float]:
    """Our agreement statistics against scikit-learn and the published worked examples."""
    from sklearn.metrics import cohen_kappa_score

    from pipeline.review.agreement import cohen_kappa, fleiss_kappa, krippendorff_alpha

    rng = np.random.default_rng(seed)
    labels = np.array(sorted(set(gold)))
    raters = [np.where(rng.random(len(gold)) < noise, rng.choice(labels, len(gold)), gold) for noise in (0.1, 0.2, 0.3)]
    diffs = [abs(cohen_kappa(list(a), list(b)) - cohen_kappa_score(a, b)) for a, b in itertools.combinations(raters, 2)]
    fleiss_counts = np.array(
        [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
         [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    )  # fmt: skip
    coders = [
        "1 2 3 3 2 1 4 1 2 . . .",
        "1 2 3 3 2 2 4 1 2 5 . 3",
        ". 3 3 3 2 3 4 2 2 5 1 .",
        "1 2 3 3 2 4 4 1 2 5 1 .",
    ]
    table = [c.split() for c in coders]
    units = [[row[i] for row in table if row[i] != "."] for i in range(12)]
    return {
        "cohen_kappa_pairs": float(np.mean([cohen_kappa_score(a, b) for a, b in itertools.combinations(raters, 2)])),
        "cohen_kappa_max_abs_diff_vs_sklearn": float(max(diffs)),
        "fleiss_kappa_published_example": float(fleiss_kappa(fleiss_counts)),
        "krippendorff_alpha_published_example": float(krippendorff_alpha(units)),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.review_loop", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, help="the shared datasets folder")
    parser.add_argument("--out", type=Path, default=HERE, help="folder of RESULTS.json / RESULTS.md")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS), help="seeds of the simulated reviews")
    args = parser.parse_args(argv)
    start_benchmark()
    csv = args.data_dir / "ailuminate_demo" / "airr_official_1.0_demo_en_us_prompt_set_release.csv"
    if not csv.is_file():
        print(f"error: {csv} not found; pass --data-dir <shared/datasets>.", file=sys.stderr)
        return 2

    from benchmarks.quality import machine_label, versions
    from benchmarks.report import load_records, write_results
    from benchmarks.taxonomy import halves, prepare, score_ailuminate
    from models.embedding import make_embedder
    from pipeline.config import load_config
    from pipeline.embed import CachedEmbedder
    from pipeline.runner import fit_classifier
    from pipeline.store import EmbeddingCache, default_cache_dir
    from pipeline.taxonomy import load_taxonomy

    started = time.perf_counter()
    config = load_config(None, {})
    embedder = make_embedder(config.embed.model, batch_size=config.embed.batch_size, backend=config.embed.backend)
    cached = CachedEmbedder(embedder, EmbeddingCache(default_cache_dir(config.embed.cache_dir), embedder.identity))
    taxonomy = load_taxonomy(config.classify.taxonomy)
    leaves = {n.id for n in taxonomy.leaves}
    frame = pd.read_csv(csv)
    texts = prepare(frame["prompt_text"].astype(str).tolist())
    hazards = frame["hazard"].to_numpy()
    scored_gold = frame["hazard"].str.replace(r"^spc_.*", "spc", regex=True).to_numpy()
    gold = gold_nodes(taxonomy, hazards)
    review_rows, held_out = halves(len(texts))
    vectors = cached.encode(texts)

    def fit(examples: pd.DataFrame | None) -> Any:
        return fit_classifier(taxonomy, cached, config, extra=examples)  # as the runner fits it

    def held_out_f1(classifier: Any) -> float:
        return float(score_ailuminate(classifier, vectors, texts, scored_gold)["test"]["macro_f1"])

    base = fit(None)
    scores = base.scores(vectors, texts)
    predicted = np.array([n.id for n in base.leaves])[scores.argmax(axis=1)]
    wrong = predicted != gold
    base_f1 = held_out_f1(base)
    log.info("k=0: held-out macro-F1 %.4f", base_f1)
    results: dict[tuple[str, int], list[tuple[int, float, int, int]]] = {}
    for strategy in STRATEGIES:
        results[(strategy, 0)] = [(s, base_f1, 0, 0) for s in args.seeds]
        for k in KS[1:]:
            results[(strategy, k)] = []
            for seed in args.seeds:
                rows = corrections(review_rows, gold, wrong, k, np.random.default_rng(seed), strategy)
                examples = simulate_review(texts, gold, rows, leaves)
                f1 = held_out_f1(fit(examples))
                results[(strategy, k)].append((seed, f1, len(examples), int(wrong[rows].sum())))
                log.info("%s, k=%d seed %d: %d examples (%d corrections): held-out macro-F1 %.4f", strategy, k, seed,
                         len(examples), int(wrong[rows].sum()), f1)  # fmt: skip
    checks = agreement_checks(gold[review_rows])
    seconds = time.perf_counter() - started

    common = {
        "section": SECTION,
        "dataset": "ailuminate_demo",
        "system": "ours",
        "rows": len(held_out),
        "split": "held-out half (test)",
        "config": "embedding prototypes + reviewed examples",
        "date": datetime.now(timezone.utc).date().isoformat(),
        "machine": machine_label(),
        "versions": versions(),
        "notes": [
            f"Review half {len(review_rows)} prompts, held-out half {len(held_out)} (benchmarks.taxonomy's halves, "
            f"seed 0); simulated reviewers answer with the gold node through validate_answer, LabelStore and "
            f"reviewed_examples; seeds {list(args.seeds)}. 'corrections first': rows the k = 0 classifier gets "
            "wrong are taken first; 'random rows': any rows of the node.",
            f"Agreement checks: Fleiss' kappa on {FLEISS_EXAMPLE[1]} (published {FLEISS_EXAMPLE[0]}); "
            f"Krippendorff's alpha on {KRIPPENDORFF_EXAMPLE[1]} (published {KRIPPENDORFF_EXAMPLE[0]}); Cohen's "
            "kappa of 3 simulated raters (10/20/30% label noise) against scikit-learn's cohen_kappa_score.",
            f"Whole benchmark: {seconds:.0f} s.",
        ],
    }
    records: list[dict[str, Any]] = []
    for (strategy, k), runs in results.items():
        for seed, f1, n_examples, n_corrections in runs:
            records.append({**common, "metric": "macro_f1", "value": round(f1, 4), "k": k, "seed": seed,
                            "examples": n_examples, "corrections": n_corrections, "choice": strategy})  # fmt: skip
        values = [f1 for _, f1, _, _ in runs]
        records.append({**common, "metric": "macro_f1_mean", "value": round(float(np.mean(values)), 4), "k": k,
                        "seed": "mean", "std": round(float(np.std(values)), 4), "choice": strategy,
                        "examples": int(np.mean([r[2] for r in runs])),
                        "corrections": int(np.mean([r[3] for r in runs]))})  # fmt: skip
    for metric, value in checks.items():
        records.append({**common, "rows": len(review_rows), "split": "review half", "metric": metric,
                        "value": round(value, 6), "k": None, "config": "agreement check"})  # fmt: skip
    merged = [r for r in load_records(args.out / "RESULTS.json") if r.get("section") != SECTION] + records
    json_path, md_path = write_results(args.out, merged)
    for (strategy, k), runs in results.items():
        values = [f1 for _, f1, _, _ in runs]
        print(f"{strategy}, k={k:>2}: held-out macro-F1 {np.mean(values):.3f} "
              f"(seeds: {', '.join(f'{v:.3f}' for v in values)})")  # fmt: skip
    print(", ".join(f"{m} {v:.4f}" for m, v in checks.items()))
    print(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
