"""Classify: map every feedback row and every theme to taxonomy nodes, with a severity and a confidence.

How a row is scored (the offline default, no extra model pass over the data):

1. Each leaf node has prototypes: ``"<name>: <description>"`` and its example phrasings (plus any
   user-supplied labeled examples), embedded once with the run's embedder (and cached).
2. ``score(text, node) = ½·max cos(text, prototype) + ½·cos(text, centroid of the prototypes)``,
   plus ``lexicon_boost`` when the node names a lexicon (e.g. profanity) and the text hits it.
   The row vectors are the ones the embed stage already computed.
3. **Calibration on the taxonomy's own examples** (leave-one-out): every example is scored against
   every node with itself removed from its node's prototypes. A node's threshold is the score that
   maximizes F-beta (``recall_weight``, default 2: recall first) of "its examples vs. all other
   examples", shrunk halfway to the median over nodes (six examples make a noisy optimum). A
   logistic curve of ``score - threshold`` fitted on the same pairs (classes balanced, no intercept)
   turns a score into a confidence: exactly 0.5 at the node's threshold.
4. A row's labels are the nodes with confidence ≥ 0.5 (at most ``max_labels``), ordered by score
   (one scale for all nodes); its primary label is the first, or **unmapped** when none passes.

Optional **NLI re-scoring** (``classify.nli_model``): only a shortlist is re-scored with the
transformers zero-shot pipeline: each theme's representatives against the theme's top-k nodes, and
rows whose best safety confidence is within reach of a safety label, against their own top-k nodes.
Never rows × all nodes. The entailment probability replaces the confidence of the shortlisted nodes.

A theme's confidence in a node is the share of its member rows whose primary label it is (duplicates count),
blended with its keywords' confidence (``keyword_weight``); with NLI, its representatives' mean
entailment probability replaces it for the theme's top-k nodes.
Its primary node needs ``theme_min_confidence``; secondary nodes need ``secondary_min_confidence``.
Row labels are kept too: a critical report inside a benign theme is counted in ``flagged_rows``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.embedding import Embedder
from models.lexicons import load_lexicon
from pipeline.config import ClassifyConfig
from pipeline.errors import InputError
from pipeline.store import release_pages
from pipeline.taxonomy import SEVERITIES, Taxonomy, TaxonomyNode

__all__ = [
    "CATEGORIES",
    "LABEL_COUNTS",
    "Classified",
    "PrototypeClassifier",
    "classify",
    "label_counts",
    "label_texts",
    "label_themes",
    "load_examples",
    "unclassified",
]

log = logging.getLogger(__name__)

UNMAPPED = "Unmapped"
_BATCH = 8192

#: The category roll-up table (categories.parquet / categories.csv).
CATEGORIES: dict[str, str] = {
    "category_id": "str | None: taxonomy leaf id (None: the 'Unmapped' row)",
    "category": "str: node name",
    "path": "str: branch › ... › node",
    "branch": "str | None: safety | search_quality | product (top-level ancestor)",
    "severity": "str: critical | high | medium | low | none",
    "themes": "int: themes whose primary node this is",
    "theme_rows": "int: rows in those themes",
    "rows": "int: rows whose own primary label is this node (themed and outliers)",
    "share": "float: rows / rows classified",
    "mean_confidence": "float: mean confidence of those rows",
}


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))


@dataclass
class _Prototypes:
    vectors: np.ndarray  # (m, d)
    owner: np.ndarray  # (m,) leaf index of each prototype
    is_example: np.ndarray  # (m,) False for the definition prototype
    texts: list[str]


def load_examples(path: str | Path, taxonomy: Taxonomy) -> pd.DataFrame:
    """Labeled examples (columns ``text`` and ``node_id``; CSV, JSONL or Parquet) that extend the taxonomy's own."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: examples file not found (classify.examples_file).")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif suffix in (".jsonl", ".ndjson"):
            frame = pd.read_json(path, lines=True)
        else:
            frame = pd.read_csv(path)
    except Exception as exc:
        raise InputError(f"{path}: cannot read the examples file: {' '.join(str(exc).split())[:200]}.") from None
    for col in ("text", "node_id"):
        if col not in frame.columns:
            raise InputError(f"{path}: examples file lacks column {col!r}; it has {list(frame.columns)}.")
    leaves = {n.id for n in taxonomy.leaves}
    for i, (text, node) in enumerate(zip(frame["text"], frame["node_id"], strict=True)):
        if node not in leaves:
            raise InputError(
                f"{path} row {i + 2} column 'node_id': {node!r} is not a leaf of taxonomy {taxonomy.id!r}."
            )
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"{path} row {i + 2} column 'text': empty.")
    return frame[["text", "node_id"]].reset_index(drop=True)


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


@dataclass
class Classified:
    """Row labels (aligned with the classified rows), themes with taxonomy columns, and the roll-up."""

    rows: pd.DataFrame
    themes: pd.DataFrame
    categories: pd.DataFrame
    params: dict[str, Any] = field(default_factory=dict)


def _severity_weight(node: TaxonomyNode | None, weights: dict[str, float]) -> float:
    if node is None:
        return float(weights.get("none", 1.0))
    if node.rank_weight is not None:
        return node.rank_weight
    return float(weights.get(node.severity or "none", 1.0))


def _row_labels(rank: np.ndarray, conf: np.ndarray, leaves: list[TaxonomyNode], max_labels: int) -> pd.DataFrame:
    """Labels = nodes with confidence >= 0.5, ordered by ``rank`` (scores share one scale across nodes,
    while confidences carry each node's own threshold); the first is the primary label."""
    passing = np.where(conf >= 0.5, rank, -np.inf)
    order = np.argsort(-passing, axis=1)[:, :max_labels]
    ids, names, sevs, confs, lists = [], [], [], [], []
    for i in range(len(conf)):
        chosen = [leaves[k] for k in order[i] if np.isfinite(passing[i, k])]
        lists.append([n.id for n in chosen])
        if chosen:
            ids.append(chosen[0].id)
            names.append(chosen[0].name)
            sevs.append(chosen[0].severity)
            confs.append(float(conf[i, order[i, 0]]))
        else:
            ids.append(None)
            names.append(UNMAPPED)
            sevs.append("none")
            confs.append(float(1.0 - conf[i].max()) if conf.shape[1] else 1.0)
    return pd.DataFrame(
        {"category_id": ids, "category": names, "severity": sevs, "category_confidence": confs, "categories": lists}
    )


def _nli_rows(
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


def label_texts(
    vectors: np.ndarray,
    texts: list[str],
    classifier: PrototypeClassifier,
    config: ClassifyConfig,
    *,
    nli: Any = None,
    batch_size: int = 50_000,
) -> tuple[pd.DataFrame, int]:
    """Label distinct texts (one row each, aligned with ``vectors``): the row-level half of classify.

    Scored in batches, so a memory-mapped ``vectors`` never has to fit in RAM at once. Returns the
    label table (``category_id, category, severity, category_confidence, categories``) and how many
    texts NLI re-scored.
    """
    leaves = classifier.leaves
    tables, nli_rows = [], 0
    if nli is not None:  # NLI's shortlist (the nli_max_rows most safety-like texts) is chosen over all texts
        batch_size = max(len(vectors), 1)
    for start in range(0, len(vectors), batch_size):
        batch = np.asarray(vectors[start : start + batch_size])
        batch_texts = texts[start : start + batch_size]
        rank = classifier.scores(batch, batch_texts)
        conf = classifier.confidence_of(rank)
        if nli is not None and len(conf):
            nli_rows += _nli_rows(conf, rank, batch_texts, classifier, nli, config)
        tables.append(_row_labels(rank, conf, leaves, config.max_labels))
        release_pages(vectors)
    if not tables:
        return _row_labels(np.zeros((0, len(leaves))), np.zeros((0, len(leaves))), leaves, config.max_labels), 0
    return pd.concat(tables, ignore_index=True), nli_rows


#: The aggregate the theme-level half of classify needs: rows per (theme, row label, severity).
LABEL_COUNTS: dict[str, str] = {
    "theme_id": "int: theme (-1: outliers)",
    "category_id": "str: the rows' primary leaf ('' for unmapped)",
    "severity": "str: the rows' severity",
    "rows": "int: how many rows",
    "confidence_sum": "float: sum of those rows' category_confidence",
}


def label_counts(labels: np.ndarray, row_table: pd.DataFrame) -> pd.DataFrame:
    """Rows per (theme, label, severity): what :func:`label_themes` reads (a Spark engine sums the same)."""
    frame = pd.DataFrame(
        {
            "theme_id": np.asarray(labels, dtype=np.int64),
            "category_id": row_table["category_id"].fillna("").astype(str).to_numpy(),
            "severity": row_table["severity"].astype(str).to_numpy(),
            "confidence": row_table["category_confidence"].astype(float).to_numpy(),
        }
    )
    grouped = frame.groupby(["theme_id", "category_id", "severity"], sort=True)["confidence"]
    out = grouped.agg(rows="size", confidence_sum="sum").reset_index()
    return out[list(LABEL_COUNTS)]


def label_themes(
    themes: pd.DataFrame,
    counts: pd.DataFrame,
    classifier: PrototypeClassifier,
    config: ClassifyConfig,
    *,
    keyword_vectors: np.ndarray | None = None,
    nli: Any = None,
    nli_rows: int = 0,
) -> Classified:
    """Theme labels, the per-node roll-up and the stage's parameters, from :data:`LABEL_COUNTS` alone.

    A theme's confidence in a node is the share of its rows whose primary label is that node,
    blended with its keywords' score; the rows themselves are not needed (so any engine can count).
    The returned ``Classified.rows`` is empty: the caller holds the row labels.
    """
    taxonomy = classifier.taxonomy
    leaves = classifier.leaves
    out = themes.copy()
    n_themes = len(out)
    theme_conf = np.zeros((n_themes, len(leaves)))
    position = {int(t): i for i, t in enumerate(out["theme_id"])} if n_themes else {}
    members = counts["theme_id"].map(lambda t: position.get(int(t), -1)).to_numpy(dtype=np.int64)
    inside = members >= 0
    if n_themes:
        primary = counts["category_id"].map(lambda c: classifier.leaf_index.get(c, -1)).to_numpy(dtype=np.int64)
        voted = inside & (primary >= 0)
        rows = counts["rows"].to_numpy(dtype=np.float64)
        np.add.at(theme_conf, (members[voted], primary[voted]), rows[voted])
        totals = np.bincount(members[inside], weights=rows[inside], minlength=n_themes)
        theme_conf /= np.maximum(totals, 1)[:, None]
        if keyword_vectors is not None and len(keyword_vectors):
            kw_text = [", ".join(map(str, kw)) for kw in out["keywords"]]
            kw_conf = classifier.confidences(keyword_vectors, kw_text)
            theme_conf = (1 - config.keyword_weight) * theme_conf + config.keyword_weight * kw_conf
        if nli is not None:
            for i, reps in enumerate(out["representatives"]):
                reps = [str(r) for r in reps][: config.nli_representatives]
                if not reps:
                    continue
                ks = np.argsort(-theme_conf[i])[: config.nli_top_k]
                hyps = [leaves[k].hypothesis or leaves[k].name.lower() for k in ks]
                results = nli.score(reps, hyps, template=taxonomy.hypothesis_template)
                for k, h in zip(ks, hyps, strict=True):
                    theme_conf[i, k] = float(np.mean([r[h] for r in results]))

    primary_ids: list[str | None] = []
    names, branches, sevs, confs, secondary, flagged, weights = [], [], [], [], [], [], []
    urgent_counts = counts[counts["severity"].isin(["critical", "high"])]
    for i in range(n_themes):
        order = np.argsort(-theme_conf[i])
        k0 = int(order[0])
        node = leaves[k0] if theme_conf[i, k0] >= config.theme_min_confidence else None
        primary_ids.append(node.id if node else None)
        names.append(node.name if node else UNMAPPED)
        branches.append(taxonomy.branch_of(node.id) if node else None)
        sevs.append(node.severity if node else "none")
        confs.append(float(theme_conf[i, k0]))
        secondary.append([leaves[int(k)].id for k in order[1:4] if theme_conf[i, k] >= config.secondary_min_confidence])
        mine = urgent_counts[urgent_counts["theme_id"] == int(out["theme_id"].iloc[i])]
        flagged.append(int(mine.loc[mine["category_id"] != (node.id if node else ""), "rows"].sum()))
        weights.append(_severity_weight(node, config.severity_weights))
    out["category_id"] = primary_ids
    out["category"] = names
    out["branch"] = branches
    out["severity"] = sevs
    out["category_confidence"] = confs
    out["secondary_categories"] = secondary
    out["flagged_rows"] = flagged
    out["severity_weight"] = weights

    categories = _rollup(counts, out, taxonomy)
    unmapped_rows = int(counts.loc[counts["category_id"] == "", "rows"].sum())
    params = {
        "taxonomy": {"id": taxonomy.id, "version": taxonomy.version, "source": taxonomy.source},
        "leaves": len(leaves),
        "calibration": classifier.calibration_,
        "nli": {"model": getattr(nli, "source", None), "rows_rescored": nli_rows, "themes_rescored": n_themes}
        if nli is not None
        else None,
        "unmapped_rows": unmapped_rows,
        "unmapped_themes": int(sum(p is None for p in primary_ids)),
    }
    return Classified(pd.DataFrame(), out, categories, params)


def classify(
    rows: pd.DataFrame,
    row_vectors: np.ndarray,
    themes: pd.DataFrame,
    labels: np.ndarray,
    classifier: PrototypeClassifier,
    config: ClassifyConfig,
    *,
    keyword_vectors: np.ndarray | None = None,
    nli: Any = None,
    row_group: np.ndarray | None = None,
) -> Classified:
    """Label the clustered rows and their themes.

    ``rows`` (with ``clean_text``), ``row_vectors`` and ``labels`` are aligned over the clustered rows.
    With ``row_group`` (each row's distinct-text group) and ``row_vectors`` per group, each distinct
    text is scored once. ``keyword_vectors`` holds one embedding of each theme's keywords, in
    ``themes`` order.
    """
    texts = rows["clean_text"].fillna("").astype(str).tolist()
    if row_group is None:
        row_group = np.arange(len(rows))
        group_texts = texts
    else:
        first: dict[int, int] = {}
        for i, g in enumerate(row_group):
            first.setdefault(int(g), i)
        group_texts = [texts[first[g]] if g in first else "" for g in range(len(row_vectors))]
    group_table, nli_rows = label_texts(row_vectors, group_texts, classifier, config, nli=nli)
    row_table = group_table.iloc[row_group].reset_index(drop=True)
    counts = label_counts(labels, row_table)
    result = label_themes(
        themes, counts, classifier, config, keyword_vectors=keyword_vectors, nli=nli, nli_rows=nli_rows
    )
    result.rows = row_table
    return result


def _rollup(counts: pd.DataFrame, themes: pd.DataFrame, taxonomy: Taxonomy) -> pd.DataFrame:
    """One row per node that has rows or themes, plus 'Unmapped'; sorted by severity then volume."""
    total = max(int(counts["rows"].sum()), 1)
    by_rows = counts.groupby("category_id").agg(rows=("rows", "sum"), confidence_sum=("confidence_sum", "sum"))
    by_rows["mean_confidence"] = by_rows["confidence_sum"] / by_rows["rows"].clip(lower=1)
    theme_keys = themes["category_id"].fillna("") if len(themes) else pd.Series(dtype=str)
    by_themes = (
        themes.assign(_key=theme_keys).groupby("_key").agg(themes=("theme_id", "size"), theme_rows=("size", "sum"))
        if len(themes)
        else pd.DataFrame(columns=["themes", "theme_rows"])
    )
    records = []
    for key in sorted(set(by_rows.index) | set(by_themes.index)):
        node = taxonomy.node(key) if key else None
        records.append(
            {
                "category_id": key or None,
                "category": node.name if node else UNMAPPED,
                "path": " › ".join(taxonomy.path_of(key)) if node else UNMAPPED,
                "branch": taxonomy.branch_of(key) if node else None,
                "severity": (node.severity or "none") if node else "none",
                "themes": int(by_themes["themes"].get(key, 0)),
                "theme_rows": int(by_themes["theme_rows"].get(key, 0)),
                "rows": int(by_rows["rows"].get(key, 0)),
                "share": float(by_rows["rows"].get(key, 0)) / total,
                "mean_confidence": float(by_rows["mean_confidence"].get(key, np.nan)),
            }
        )
    table = pd.DataFrame(records, columns=list(CATEGORIES))
    rank = {s: i for i, s in enumerate((*SEVERITIES, "none"))}
    table["_sev"] = table["severity"].map(rank)
    table = table.sort_values(["_sev", "rows", "theme_rows"], ascending=[True, False, False], kind="stable")
    return table.drop(columns="_sev").reset_index(drop=True)


def unclassified(n_rows: int, themes: pd.DataFrame) -> Classified:
    """The same columns when ``classify.enabled`` is false: everything unmapped, severity weight 1."""
    rows = pd.DataFrame(
        {
            "category_id": [None] * n_rows,
            "category": [UNMAPPED] * n_rows,
            "severity": ["none"] * n_rows,
            "category_confidence": [np.nan] * n_rows,
            "categories": [[] for _ in range(n_rows)],
        }
    )
    out = themes.copy()
    out["category_id"] = None
    out["category"] = UNMAPPED
    out["branch"] = None
    out["severity"] = "none"
    out["category_confidence"] = np.nan
    out["secondary_categories"] = [[] for _ in range(len(out))]
    out["flagged_rows"] = 0
    out["severity_weight"] = 1.0
    return Classified(rows, out, pd.DataFrame(columns=list(CATEGORIES)), {"enabled": False})
