"""Prototype scoring: a text's similarity to each leaf's definition and examples, calibrated per node."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from models.embedding import Embedder
from models.lexicons import load_lexicon
from pipeline.taxonomy import Taxonomy, TaxonomyNode

__all__ = ["PrototypeClassifier"]

log = logging.getLogger(__name__)
_BATCH = 8192


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))


@dataclass
class _Prototypes:
    vectors: np.ndarray  # (m, d)
    owner: np.ndarray  # (m,) leaf index of each prototype
    is_example: np.ndarray  # (m,) False for the definition prototype
    texts: list[str]


class PrototypeClassifier:
    """Scores texts against a taxonomy's leaves by embedding similarity to their prototypes.

    ``fit()`` embeds the prototypes and calibrates per-node thresholds on the examples;
    ``confidences(vectors, texts)`` returns a (rows x leaves) matrix in [0, 1].
    """

    def __init__(
        self,
        taxonomy: Taxonomy,
        embedder: Embedder,
        *,
        extra_examples: pd.DataFrame | None = None,
        lexicon_boost: float = 0.4,
        recall_weight: float = 2.0,
    ) -> None:
        self.taxonomy = taxonomy
        self.embedder = embedder
        self.leaves: list[TaxonomyNode] = taxonomy.leaves
        self.leaf_index = {n.id: i for i, n in enumerate(self.leaves)}
        self.extra_examples = extra_examples
        self.lexicon_boost = lexicon_boost
        self.recall_weight = recall_weight
        self.thresholds_: np.ndarray | None = None
        self.platt_: tuple[float, float] = (1.0, 0.0)
        self.calibration_: dict[str, Any] = {}

    # ------------------------------------------------------------------ fitting
    def __getstate__(self) -> dict[str, Any]:
        """Picklable once fitted (a Spark broadcast): scoring needs the prototypes, not the embedder."""
        state = dict(self.__dict__)
        state["embedder"] = None
        return state

    def _prototypes(self) -> _Prototypes:
        texts: list[str] = []
        owner: list[int] = []
        is_example: list[bool] = []
        for k, node in enumerate(self.leaves):
            for j, text in enumerate(node.prototype_texts):
                texts.append(text)
                owner.append(k)
                is_example.append(j > 0)
        if self.extra_examples is not None:
            for text, node_id in zip(self.extra_examples["text"], self.extra_examples["node_id"], strict=True):
                texts.append(" ".join(str(text).split()))
                owner.append(self.leaf_index[node_id])
                is_example.append(True)
        vectors = np.asarray(self.embedder.encode(texts), dtype=np.float32)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return _Prototypes(vectors, np.array(owner), np.array(is_example), texts)

    def fit(self) -> PrototypeClassifier:
        self.protos_ = protos = self._prototypes()
        n_leaves = len(self.leaves)
        self.sums_ = np.zeros((n_leaves, protos.vectors.shape[1]), dtype=np.float64)
        np.add.at(self.sums_, protos.owner, protos.vectors)
        self.centroids_ = self.sums_ / np.linalg.norm(self.sums_, axis=1, keepdims=True)
        self.lexicon_mask_ = np.array([n.lexicon is not None for n in self.leaves])
        self._calibrate()
        return self

    def _lexicon_hits(self, texts: list[str]) -> np.ndarray:
        """(rows x leaves) 1.0 where the node's lexicon matches the text."""
        hits = np.zeros((len(texts), len(self.leaves)), dtype=np.float32)
        for k, node in enumerate(self.leaves):
            if node.lexicon:
                hits[:, k] = load_lexicon(node.lexicon).hits(texts)
        return hits

    def _raw_scores(
        self, vectors: np.ndarray, texts: list[str] | None, *, exclude: np.ndarray | None = None
    ) -> np.ndarray:
        """Scores before calibration; ``exclude[i]`` = prototype index to leave out for row i (leave-one-out)."""
        protos = self.protos_
        sims = vectors @ protos.vectors.T
        if exclude is not None:
            sims[np.arange(len(vectors)), exclude] = -np.inf
        n_leaves = len(self.leaves)
        best = np.full((len(vectors), n_leaves), -1.0, dtype=np.float32)
        for k in range(n_leaves):
            best[:, k] = sims[:, protos.owner == k].max(axis=1)
        if exclude is None:
            cent = vectors @ self.centroids_.T
        else:
            cent = np.empty((len(vectors), n_leaves), dtype=np.float64)
            for i, j in enumerate(exclude):
                sums = self.sums_.copy()
                sums[protos.owner[j]] -= protos.vectors[j]
                cent[i] = (sums / np.linalg.norm(sums, axis=1, keepdims=True)) @ vectors[i]
        scores = 0.5 * best + 0.5 * cent.astype(np.float32)
        if texts is not None and self.lexicon_mask_.any():
            scores += self.lexicon_boost * self._lexicon_hits(texts)
        return scores

    def _calibrate(self) -> None:
        protos = self.protos_
        idx = np.flatnonzero(protos.is_example)
        scores = self._raw_scores(protos.vectors[idx], [protos.texts[i] for i in idx], exclude=idx)
        truth = protos.owner[idx]
        n_leaves = len(self.leaves)
        best_t = np.zeros(n_leaves)
        fbetas = np.zeros(n_leaves)
        beta2 = self.recall_weight**2
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
        # Platt scaling of the margin, classes balanced, on the same leave-one-out pairs.
        from sklearn.linear_model import LogisticRegression

        margins = (scores - thresholds[None, :]).ravel()
        labels = (truth[:, None] == np.arange(n_leaves)[None, :]).ravel()
        model = LogisticRegression(class_weight="balanced", C=10.0).fit(margins[:, None], labels)
        self.thresholds_ = thresholds
        self.platt_ = (float(model.coef_[0, 0]), float(model.intercept_[0]))
        top1 = (scores.argmax(axis=1) == truth).mean()
        self.calibration_ = {
            "method": "leave-one-out on the taxonomy's examples; per-node threshold maximizing F-beta "
            f"(beta={self.recall_weight:g}) shrunk halfway to the median; confidence = logistic fit of "
            "score - threshold (balanced classes), recentred so that 0.5 is the threshold",
            "examples": len(idx),
            "loo_top1_accuracy": round(float(top1), 4),
            "loo_mean_fbeta": round(float(fbetas.mean()), 4),
            "slope": round(self.platt_[0], 4),
        }

    # ------------------------------------------------------------------ scoring
    def scores(self, vectors: np.ndarray, texts: list[str] | None = None) -> np.ndarray:
        """(rows x leaves) similarity scores, on one scale for all nodes: what ranks nodes for a row."""
        if self.thresholds_ is None:
            raise RuntimeError("PrototypeClassifier.fit() must run first.")
        vectors = np.asarray(vectors, dtype=np.float32)
        out = np.empty((len(vectors), len(self.leaves)), dtype=np.float32)
        for start in range(0, len(vectors), _BATCH):
            stop = start + _BATCH
            out[start:stop] = self._raw_scores(vectors[start:stop], texts[start:stop] if texts is not None else None)
        return out

    def confidence_of(self, scores: np.ndarray) -> np.ndarray:
        """Scores to confidences in [0, 1]: 0.5 exactly at each node's threshold."""
        assert self.thresholds_ is not None
        return _logistic(self.platt_[0] * (scores - self.thresholds_[None, :])).astype(np.float32)

    def confidences(self, vectors: np.ndarray, texts: list[str] | None = None) -> np.ndarray:
        """(rows x leaves) confidence that each row belongs to each leaf; 0.5 at the node's threshold."""
        return self.confidence_of(self.scores(vectors, texts))
