"""Prototype scoring: a text's similarity to each leaf's definition and examples, calibrated per node."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from models.embedding import Embedder
from pipeline.classify.calibration import calibrate
from pipeline.classify.head import DEFAULT_C, BranchHead, branch_first, lift
from pipeline.classify.lexicon import lexicon_hits
from pipeline.taxonomy import Taxonomy, TaxonomyNode

__all__ = ["PrototypeClassifier"]

log = logging.getLogger(__name__)
_BATCH = 8192
#: A node's similarity term: the mean of its TOP_K most similar prototypes (2 chosen on the dev halves).
TOP_K = 2
#: A text whose branch probability reaches this gets the branch's best leaf (chosen on the dev halves).
DEFAULT_BRANCH_MIN_CONFIDENCE = 0.8


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

    ``fit()`` embeds the prototypes, calibrates per-node thresholds on the examples and fits the
    branch head; ``confidences(vectors, texts)`` returns a (rows x leaves) matrix in [0, 1].
    ``branch_min_confidence``: a text whose branch probability reaches it gets that branch's best leaf
    as a label, and that branch's labels rank first (branch first, then leaf); ``None`` turns the branch
    head off. ``branch_c``: the head's inverse regularisation.
    """

    def __init__(
        self,
        taxonomy: Taxonomy,
        embedder: Embedder,
        *,
        extra_examples: pd.DataFrame | None = None,
        lexicon_boost: float = 0.4,
        recall_weight: float = 2.0,
        branch_min_confidence: float | None = DEFAULT_BRANCH_MIN_CONFIDENCE,
        branch_c: float = DEFAULT_C,
    ) -> None:
        self.taxonomy = taxonomy
        self.embedder = embedder
        self.leaves: list[TaxonomyNode] = taxonomy.leaves
        self.leaf_index = {n.id: i for i, n in enumerate(self.leaves)}
        self.extra_examples = extra_examples
        self.lexicon_boost = lexicon_boost
        self.recall_weight = recall_weight
        self.branch_min_confidence = branch_min_confidence
        self.branch_c = branch_c
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
        self.lexicon_mask_ = np.array([bool(n.lexicon) for n in self.leaves])
        branches = sorted({self.taxonomy.branch_of(n.id) for n in self.leaves})
        self.leaf_branch_ = np.array([branches.index(self.taxonomy.branch_of(n.id)) for n in self.leaves])
        self.branch_head_ = BranchHead(C=self.branch_c).fit(protos.vectors, self.leaf_branch_[protos.owner])
        self._calibrate()
        return self

    def _lexicon_hits(self, texts: list[str]) -> np.ndarray:
        """(rows x leaves) the node's lexicon boost where its lexicon matches the text, else 0."""
        hits = np.zeros((len(texts), len(self.leaves)), dtype=np.float32)
        for k, node in enumerate(self.leaves):
            if node.lexicon:
                boost = self.lexicon_boost if node.lexicon_boost is None else node.lexicon_boost
                hits[:, k] = boost * lexicon_hits(node.lexicon, texts)
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
            own = sims[:, protos.owner == k]
            if TOP_K > 1 and own.shape[1] > TOP_K:
                top = -np.partition(-own, TOP_K - 1, axis=1)[:, :TOP_K]
                best[:, k] = np.where(np.isfinite(top).all(axis=1), top.mean(axis=1), own.max(axis=1))
            else:
                best[:, k] = own.max(axis=1)
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
            scores += self._lexicon_hits(texts)
        return scores

    def _calibrate(self) -> None:
        protos = self.protos_
        idx = np.flatnonzero(protos.is_example)
        scores = self._raw_scores(protos.vectors[idx], [protos.texts[i] for i in idx], exclude=idx)
        self.thresholds_, self.platt_, self.calibration_ = calibrate(
            scores, protos.owner[idx], recall_weight=self.recall_weight
        )
        self.calibration_["branch_min_confidence"] = self.branch_min_confidence

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

    def branch_proba(self, vectors: np.ndarray) -> np.ndarray:
        """(rows x branches) probability of each top-level branch (sorted ids), from the branch head."""
        return self.branch_head_.proba(vectors)

    def confidence_of(self, scores: np.ndarray, branch_proba: np.ndarray | None = None) -> np.ndarray:
        """Scores to confidences in [0, 1]: 0.5 exactly at each node's threshold; with ``branch_proba``
        (and ``branch_min_confidence`` set), a sure branch's best leaf is raised to a label."""
        if self.thresholds_ is None:
            raise RuntimeError("PrototypeClassifier.fit() must run first.")
        conf = _logistic(self.platt_[0] * (scores - self.thresholds_[None, :])).astype(np.float32)
        if branch_proba is not None and self.branch_min_confidence is not None:
            conf = lift(conf, scores, branch_proba, self.leaf_branch_, self.branch_min_confidence)
        return conf

    def rank_of(self, scores: np.ndarray, branch_proba: np.ndarray | None = None) -> np.ndarray:
        """Ranking keys that order a row's labels: ``scores``, with the leaves of a branch the head is
        sure of (probability >= ``branch_min_confidence``) ahead of the others' (branch first, then leaf)."""
        if branch_proba is None or self.branch_min_confidence is None:
            return scores
        return branch_first(scores, branch_proba, self.leaf_branch_, self.branch_min_confidence)

    def confidences(self, vectors: np.ndarray, texts: list[str] | None = None) -> np.ndarray:
        """(rows x leaves) confidence that each row belongs to each leaf (branch head included)."""
        return self.confidence_of(self.scores(vectors, texts), self.branch_proba(vectors))
