"""Per-node thresholds and a score-to-confidence curve, fitted on the taxonomy's own examples.

Every example is scored against every node with itself held out (leave-one-out), so the calibration
set is held out from the prototypes it is scored against. A node's threshold is the score that
maximizes F-beta of "its examples vs. all other examples", shrunk halfway to the median over nodes
(a handful of examples makes a noisy optimum); a logistic curve of ``score - threshold`` fitted on the
same pairs (classes balanced) turns a score into a confidence that is 0.5 at the threshold.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["calibrate"]


def calibrate(
    scores: np.ndarray, truth: np.ndarray, *, recall_weight: float
) -> tuple[np.ndarray, tuple[float, float], dict[str, Any]]:
    """(thresholds per node, (slope, intercept), a summary) from held-out ``scores`` (examples x nodes)."""
    from sklearn.linear_model import LogisticRegression

    n_leaves = scores.shape[1]
    best_t = np.zeros(n_leaves)
    fbetas = np.zeros(n_leaves)
    beta2 = recall_weight**2
    for k in range(n_leaves):
        pos = truth == k
        col = scores[:, k]
        best = (-1.0, float(np.median(col[pos])))
        for t in np.unique(col[pos]):
            pred = col >= t
            tp = float((pred & pos).sum())
            fbeta = (1 + beta2) * tp / (pred.sum() + beta2 * pos.sum())
            if fbeta > best[0]:
                best = (fbeta, float(t))
        fbetas[k], best_t[k] = best
    thresholds = 0.5 * best_t + 0.5 * float(np.median(best_t))
    margins = (scores - thresholds[None, :]).ravel()
    labels = (truth[:, None] == np.arange(n_leaves)[None, :]).ravel()
    model = LogisticRegression(class_weight="balanced", C=10.0).fit(margins[:, None], labels)
    platt = (float(model.coef_[0, 0]), float(model.intercept_[0]))
    top1 = (scores.argmax(axis=1) == truth).mean()
    info = {
        "method": "leave-one-out on the taxonomy's examples; per-node threshold maximizing F-beta "
        f"(beta={recall_weight:g}) shrunk halfway to the median; confidence = logistic fit of "
        "score - threshold (balanced classes), recentred so that 0.5 is the threshold; then branch first: "
        "a logistic-regression head on the prototypes' embeddings gives each text's branch, and a sure "
        "branch's best leaf is a label",
        "examples": len(truth),
        "loo_top1_accuracy": round(float(top1), 4),
        "loo_mean_fbeta": round(float(fbetas.mean()), 4),
        "slope": round(platt[0], 4),
    }
    return thresholds, platt, info
