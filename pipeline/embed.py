"""Embed: one vector per distinct clean text, from the on-disk cache where possible.

Rows that are near-duplicates (same ``dup_key``) share one vector: the text of the group's first
row is embedded once and the vector is reused for all its rows, which still count in volumes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.embedding import Embedder
from pipeline.schemas import CLEANED, require
from pipeline.store import EmbeddingCache, text_key

__all__ = ["Embedded", "embed"]

log = logging.getLogger(__name__)


@dataclass
class Embedded:
    """Vectors per duplicate group, and which group each row belongs to."""

    vectors: np.ndarray  # (n_groups, dim), float32, L2-normalized
    row_group: np.ndarray  # (n_rows,), int; -1 for excluded rows
    group_first_row: np.ndarray  # (n_groups,), positional index of each group's first row
    stats: dict[str, int] = field(default_factory=dict)

    def row_vectors(self) -> np.ndarray:
        """Vectors for the non-excluded rows, in row order (duplicates repeated)."""
        return self.vectors[self.row_group[self.row_group >= 0]]


def embed(
    rows: pd.DataFrame, embedder: Embedder, *, cache: EmbeddingCache | None = None, show_progress: bool = False
) -> Embedded:
    """Embed each duplicate group once, reading and filling the cache."""
    require(rows, CLEANED, stage="embed")
    keys = rows["dup_key"].tolist()
    excluded = rows["excluded"].to_numpy()
    row_group = np.full(len(rows), -1, dtype=np.int64)
    group_of: dict[str, int] = {}
    first_rows: list[int] = []
    for i, key in enumerate(keys):
        if excluded[i] or key is None:
            continue
        g = group_of.get(key)
        if g is None:
            g = group_of[key] = len(first_rows)
            first_rows.append(i)
        row_group[i] = g
    clean_texts = rows["clean_text"].tolist()
    texts = [clean_texts[i] for i in first_rows]
    if not texts:
        return Embedded(np.zeros((0, 0), np.float32), row_group, np.array(first_rows, dtype=np.int64))

    hashes = [text_key(t) for t in texts]
    vectors, missing = cache.get_many(hashes) if cache is not None else (None, list(range(len(texts))))
    if missing:
        fresh = embedder.encode([texts[i] for i in missing], show_progress=show_progress)
        if vectors is None:
            vectors = np.zeros((len(texts), fresh.shape[1]), dtype=np.float32)
        vectors[missing] = fresh
        if cache is not None:
            cache.put_many([hashes[i] for i in missing], fresh)
    assert vectors is not None
    stats = {"groups": len(texts), "computed": len(missing), "from_cache": len(texts) - len(missing)}
    log.info("Embedded %d distinct texts (%d from cache)", len(texts), stats["from_cache"])
    return Embedded(vectors, row_group, np.array(first_rows, dtype=np.int64), stats)
