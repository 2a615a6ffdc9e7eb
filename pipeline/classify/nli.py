"""Optional NLI re-scoring of a shortlist: rows within reach of a safety label, and themes' top nodes.

Never rows x all nodes: only each shortlisted text's top-k nodes are sent to the NLI model, and the
entailment probability replaces those nodes' confidence.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.classify.prototypes import PrototypeClassifier
from pipeline.config import ClassifyConfig

__all__ = ["nli_rows", "nli_themes"]


def nli_rows(
    conf: np.ndarray,
    rank: np.ndarray,
    texts: list[str],
    classifier: PrototypeClassifier,
    nli: Any,
    config: ClassifyConfig,
) -> int:
    """Re-score, in place, the rows within reach of a safety label against their own top-k nodes.

    For a re-scored row, the entailment probability becomes both the confidence and the ranking key
    of its shortlisted nodes (its other nodes rank below them)."""
    taxonomy = classifier.taxonomy
    leaves = classifier.leaves
    safety = np.array([taxonomy.branch_of(n.id) == "safety" for n in leaves])
    if not safety.any():
        return 0
    best_safety = conf[:, safety].max(axis=1)
    candidates = np.flatnonzero(best_safety >= config.nli_row_floor)
    if len(candidates) > config.nli_max_rows:
        candidates = candidates[np.argsort(-best_safety[candidates])[: config.nli_max_rows]]
    if not len(candidates):
        return 0
    top = np.argsort(-rank[candidates], axis=1)[:, : config.nli_top_k]
    groups: dict[tuple[int, ...], list[int]] = {}
    for row, ks in zip(candidates, top, strict=True):
        groups.setdefault(tuple(sorted(int(k) for k in ks)), []).append(int(row))
    for ks, rows in groups.items():
        hyps = [leaves[k].hypothesis or leaves[k].name.lower() for k in ks]
        results = nli.score([texts[r] for r in rows], hyps, template=taxonomy.hypothesis_template)
        for r, res in zip(rows, results, strict=True):
            rank[r] = -1.0
            for k, h in zip(ks, hyps, strict=True):
                conf[r, k] = rank[r, k] = res[h]
    return len(candidates)


def nli_themes(
    theme_conf: np.ndarray,
    representatives: Any,
    classifier: PrototypeClassifier,
    nli: Any,
    config: ClassifyConfig,
) -> None:
    """Re-score, in place, each theme's top-k nodes: its representatives' mean entailment probability."""
    taxonomy = classifier.taxonomy
    leaves = classifier.leaves
    for i, reps in enumerate(representatives):
        reps = [str(r) for r in reps][: config.nli_representatives]
        if not reps:
            continue
        ks = np.argsort(-theme_conf[i])[: config.nli_top_k]
        hyps = [leaves[k].hypothesis or leaves[k].name.lower() for k in ks]
        results = nli.score(reps, hyps, template=taxonomy.hypothesis_template)
        for k, h in zip(ks, hyps, strict=True):
            theme_conf[i, k] = float(np.mean([r[h] for r in results]))
