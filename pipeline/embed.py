"""Embed: one vector per distinct clean text, from the on-disk cache where possible.

Rows that are near-duplicates (same ``dup_key``) share one vector: the text of the group's first
row is embedded once and the vector is reused for all its rows, which still count in volumes.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from models.embedding import Embedder
from pipeline.schemas import CLEANED, require
from pipeline.store import EmbeddingCache, release_pages, text_key

__all__ = ["CachedEmbedder", "Embedded", "embed"]

log = logging.getLogger(__name__)


class CachedEmbedder:
    """Wraps an embedder with the on-disk cache: only texts never seen with this model are encoded.

    Also used for keyword embeddings, so a re-run of the same export does not load the model.
    """

    def __init__(self, embedder: Embedder, cache: EmbeddingCache | None) -> None:
        self.embedder = embedder
        self.cache = cache
        self.hits = 0
        self.misses = 0

    @property
    def identity(self) -> str:
        return self.embedder.identity

    def encode(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        if self.cache is None:
            self.misses += len(texts)
            return self.embedder.encode(texts, show_progress=show_progress)
        hashes = [text_key(t) for t in texts]
        vectors, missing = self.cache.get_many(hashes)
        if missing:
            todo = list(dict.fromkeys(texts[i] for i in missing))  # each distinct text once
            fresh = dict(zip(todo, self.embedder.encode(todo, show_progress=show_progress), strict=True))
            if vectors is None:
                vectors = np.zeros((len(texts), len(next(iter(fresh.values())))), dtype=np.float32)
            for i in missing:
                vectors[i] = fresh[texts[i]]
            self.cache.put_many([text_key(t) for t in todo], np.stack([fresh[t] for t in todo]))
        assert vectors is not None
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        return vectors


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


def _disk_array(directory: Path, shape: tuple[int, int]) -> np.ndarray:
    """A float32 array backed by an anonymous file in ``directory``: the OS pages it, RAM stays flat.

    The file is unlinked at once (where the OS allows it), so it vanishes with the array.
    """
    directory.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix="vectors-", suffix=".f32", dir=directory)
    os.close(handle)
    array = np.memmap(name, dtype=np.float32, mode="w+", shape=shape)
    try:
        os.unlink(name)
    except OSError:  # pragma: no cover - Windows keeps mapped files; they stay in the work dir
        log.debug("Could not unlink %s while mapped", name)
    return array


def embed(
    rows: pd.DataFrame,
    embedder: Embedder,
    *,
    show_progress: bool = False,
    batch_size: int = 50_000,
    memmap_dir: Path | None = None,
) -> Embedded:
    """Embed each duplicate group once (pass a :class:`CachedEmbedder` to use the cache).

    Texts go to the model in batches of ``batch_size`` (each batch lands in the cache as it is done,
    so an interrupted run resumes where it stopped); with ``memmap_dir`` the vectors are written to a
    memory-mapped file there instead of one array in RAM.
    """
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
    first = np.array(first_rows, dtype=np.int64)
    if not texts:
        return Embedded(np.zeros((0, 0), np.float32), row_group, first, {"groups": 0})
    vectors: np.ndarray | None = None
    for start in range(0, len(texts), batch_size):
        batch = np.asarray(embedder.encode(texts[start : start + batch_size], show_progress=show_progress), np.float32)
        if vectors is None:
            shape = (len(texts), batch.shape[1])
            vectors = _disk_array(memmap_dir, shape) if memmap_dir is not None else np.empty(shape, np.float32)
        vectors[start : start + len(batch)] = batch
        release_pages(vectors)
        if len(texts) > batch_size:
            log.info("Embedded %d of %d distinct texts", start + len(batch), len(texts))
    assert vectors is not None
    log.info("Embedded %d distinct texts for %d rows", len(texts), int((row_group >= 0).sum()))
    return Embedded(vectors, row_group, first, {"groups": len(texts)})
