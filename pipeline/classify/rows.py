"""Row labels: each distinct text's calibrated labels, in batches (the row-level half of classify)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipeline.classify import nli as _nli
from pipeline.classify.prototypes import PrototypeClassifier
from pipeline.classify.tables import UNMAPPED
from pipeline.config import ClassifyConfig
from pipeline.store import release_pages
from pipeline.taxonomy import TaxonomyNode

__all__ = ["label_texts", "row_labels"]


def row_labels(rank: np.ndarray, conf: np.ndarray, leaves: list[TaxonomyNode], max_labels: int) -> pd.DataFrame:
    """Labels = nodes with confidence >= 0.5, ordered by ``rank`` (``PrototypeClassifier.rank_of``: scores
    share one scale across nodes, while confidences carry each node's own threshold; a sure branch's leaves
    come first); the first is the primary label."""
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


def label_texts(
    vectors: np.ndarray,
    texts: list[str],
    classifier: PrototypeClassifier,
    config: ClassifyConfig,
    *,
    nli: Any = None,
    batch_size: int = 50_000,
    show_progress: bool = False,
) -> tuple[pd.DataFrame, int]:
    """Label distinct texts (one row each, aligned with ``vectors``): the row-level half of classify.

    Scored in batches, so a memory-mapped ``vectors`` never has to fit in RAM at once. Returns the
    label table (``category_id, category, severity, category_confidence, categories``) and how many
    texts NLI re-scored. ``show_progress``: a bar in texts/s.
    """
    from tqdm.auto import tqdm

    leaves = classifier.leaves
    tables, nli_rows = [], 0
    if nli is not None:  # NLI's shortlist (the nli_max_rows most safety-like texts) is chosen over all texts
        batch_size = max(len(vectors), 1)
    bar = tqdm(total=len(vectors), desc="classify", unit="text", disable=not show_progress, leave=False)
    for start in range(0, len(vectors), batch_size):
        batch = np.asarray(vectors[start : start + batch_size])
        batch_texts = texts[start : start + batch_size]
        scores = classifier.scores(batch, batch_texts)
        proba = classifier.branch_proba(batch)
        conf = classifier.confidence_of(scores, proba)
        rank = classifier.rank_of(scores, proba)
        if nli is not None and len(conf):
            nli_rows += _nli.nli_rows(conf, rank, batch_texts, classifier, nli, config)
        tables.append(row_labels(rank, conf, leaves, config.max_labels))
        release_pages(vectors)
        bar.update(len(batch))
    bar.close()
    if not tables:
        return row_labels(np.zeros((0, len(leaves))), np.zeros((0, len(leaves))), leaves, config.max_labels), 0
    return pd.concat(tables, ignore_index=True), nli_rows
