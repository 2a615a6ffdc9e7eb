"""Branch first, then leaf: a light trained head that decides a text's branch (safety / search quality /
product) from its embedding, so that a text clearly on one branch is not left unmapped because no single
leaf's similarity reached that leaf's threshold.

The head is a logistic regression on the embeddings of the taxonomy's own prototypes (definitions and
examples), classes balanced. Long or oddly phrased texts (prompts, tweets) sit further from every short
example than the examples sit from each other, so per-leaf cosine thresholds leave many of them
unmapped; which side of the safety / product line a text falls on is an easier, better-posed question.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BranchHead", "branch_first", "lift"]

#: Inverse regularisation of the head (chosen on the dev halves of the taxonomy benchmark; see docs/taxonomy.md).
DEFAULT_C = 2.0
#: Added to the ranking key of a sure branch's leaves: more than any gap between scores (cosines plus a
#: lexicon boost of at most 1), so those leaves rank ahead of every other branch's.
_BRANCH_FIRST = 10.0


class BranchHead:
    """Logistic regression from an embedding to the probability of each top-level branch."""

    def __init__(self, *, C: float = DEFAULT_C) -> None:
        self.C = C

    def fit(self, vectors: np.ndarray, branch: np.ndarray) -> BranchHead:
        """``branch[i]``: the branch id of prototype ``i``."""
        from sklearn.linear_model import LogisticRegression

        self.branches_ = np.unique(branch)
        if len(self.branches_) < 2:
            self.model_ = None
            return self
        self.model_ = LogisticRegression(C=self.C, class_weight="balanced", max_iter=3000)
        self.model_.fit(vectors, branch)
        return self

    def proba(self, vectors: np.ndarray) -> np.ndarray:
        """(rows x branches) probabilities, columns in ``branches_`` order."""
        if self.model_ is None:
            return np.ones((len(vectors), 1), dtype=np.float32)
        return self.model_.predict_proba(np.asarray(vectors, dtype=np.float32)).astype(np.float32)


def lift(
    conf: np.ndarray, scores: np.ndarray, proba: np.ndarray, leaf_branch: np.ndarray, min_confidence: float
) -> np.ndarray:
    """Where a branch's probability ``p`` reaches ``min_confidence``, the branch's best-scoring leaf gets
    confidence at least ``0.5 + 0.5 * (p - min_confidence) / (1 - min_confidence)`` (a label)."""
    out = conf.copy()
    span = max(1.0 - min_confidence, 1e-6)
    rows = np.arange(len(conf))
    for b in range(proba.shape[1]):
        members = np.flatnonzero(leaf_branch == b)
        if not len(members):
            continue
        p = proba[:, b]
        sure = p >= min_confidence
        if not sure.any():
            continue
        best = members[scores[:, members].argmax(axis=1)]
        lifted = (0.5 + 0.5 * (p - min_confidence) / span).astype(np.float32)
        r, k = rows[sure], best[sure]
        out[r, k] = np.maximum(out[r, k], lifted[sure])
    return out


def branch_first(scores: np.ndarray, proba: np.ndarray, leaf_branch: np.ndarray, min_confidence: float) -> np.ndarray:
    """Ranking keys: ``scores``, with the leaves of a branch whose probability reaches ``min_confidence``
    ranked ahead of every other branch's leaves (branch first, then leaf), order within a branch kept.

    Without it a prompt the head is sure is a safety request could still get a search-quality primary
    label, e.g. *offensive results* when its profanity lexicon fires on "sex" or "porn"."""
    if proba.shape[1] < 2:
        return scores
    sure = (proba >= min_confidence)[:, leaf_branch]
    return (scores + _BRANCH_FIRST * sure).astype(scores.dtype, copy=False)
