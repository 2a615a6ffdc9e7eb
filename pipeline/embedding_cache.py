"""The on-disk embedding cache: vectors keyed by (model identity, text hash), in append-only shards.

Safe under faults: every file is written to a temporary name and renamed (``atomic_path``), a shard is
visible only once its keys file exists (written last), shard names are unique so concurrent runs never
write the same file, a shard whose keys do not fit its vectors is skipped, and what a writer killed
mid-``put`` leaves is swept an hour later. A full or read-only cache disk costs only the caching.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
import uuid
from pathlib import Path

import numpy as np

from pipeline.errors import StorageError
from pipeline.store import atomic_path, storage_errors, write_json

__all__ = ["GARBAGE_AGE_S", "EmbeddingCache", "text_key"]

log = logging.getLogger(__name__)

#: Age after which a cache file without its pair is garbage of a killed writer.
GARBAGE_AGE_S = 3600


def text_key(text: str) -> bytes:
    """The cache key of a text: 16 bytes of its SHA-256."""
    return hashlib.sha256(text.encode("utf-8")).digest()[:16]


class EmbeddingCache:
    """Vectors on disk keyed by (model identity, text hash), in append-only shards.

    Each ``put`` writes one shard (vectors first, then keys, both atomically); a shard without its
    keys file is ignored, so a crash mid-write cannot corrupt the cache, and shard names are unique,
    so runs sharing the cache never write the same file. Vectors are memory-mapped.
    """

    def __init__(self, root: Path, model_identity: str) -> None:
        digest = hashlib.sha256(model_identity.encode("utf-8")).hexdigest()[:16]
        self.dir = Path(root) / "embeddings" / digest
        self.model_identity = model_identity
        self._index: dict[bytes, tuple[int, int]] | None = None
        self._shards: list[np.ndarray] = []
        self._swept = False
        self._unwritable = False

    def _load(self) -> dict[bytes, tuple[int, int]]:
        if self._index is not None:
            return self._index
        index: dict[bytes, tuple[int, int]] = {}
        self._shards = []
        if self.dir.is_dir():
            for keys_file in sorted(self.dir.glob("shard-*.keys.npy")):
                vec_file = keys_file.with_name(keys_file.name.replace(".keys.npy", ".vecs.npy"))
                try:
                    keys = np.load(keys_file)
                    vecs = np.load(vec_file, mmap_mode="r")
                except (OSError, ValueError) as exc:
                    log.warning("Skipping unreadable embedding cache shard %s: %s", keys_file, exc)
                    continue
                dim = self._shards[0].shape[1] if self._shards else None
                if keys.ndim != 2 or vecs.ndim != 2 or len(keys) != len(vecs) or dim not in (None, vecs.shape[1]):
                    log.warning(
                        "Skipping embedding cache shard %s: %s keys for vectors of shape %s", keys_file, keys.shape,
                        vecs.shape,
                    )  # fmt: skip
                    continue
                shard_no = len(self._shards)
                self._shards.append(vecs)
                for i, key in enumerate(keys):
                    index[key.tobytes()] = (shard_no, i)
        self._index = index
        return index

    def __len__(self) -> int:
        return len(self._load())

    def get_many(self, keys: list[bytes]) -> tuple[np.ndarray | None, list[int]]:
        """Return (vectors for found keys or None, positions of the missing keys)."""
        index = self._load()
        missing = [i for i, key in enumerate(keys) if key not in index]
        if len(missing) == len(keys):
            return None, missing
        dim = self._shards[0].shape[1]
        out = np.zeros((len(keys), dim), dtype=np.float32)
        for i, key in enumerate(keys):
            hit = index.get(key)
            if hit is not None:
                out[i] = self._shards[hit[0]][hit[1]]
        return out, missing

    def _sweep(self) -> None:
        """Delete what writers killed mid-``put`` left: temporary files and vectors without keys, once
        they are an hour old (a live writer finishes a shard in far less)."""
        cutoff = time.time() - GARBAGE_AGE_S
        for path in [*self.dir.glob(".shard-*.tmp"), *self.dir.glob("shard-*.vecs.npy")]:
            keys = path.with_name(path.name.replace(".vecs.npy", ".keys.npy"))
            orphan = path.name.endswith(".tmp") or not keys.exists()
            with contextlib.suppress(OSError):
                if orphan and path.stat().st_mtime < cutoff:
                    path.unlink()
                    log.info("Removed %s, left by an interrupted cache write", path)

    def put_many(self, keys: list[bytes], vectors: np.ndarray) -> None:
        """Store vectors as one new shard. The cache only saves work: when its disk is full or read-only,
        the run goes on without storing them (one warning)."""
        if not keys or self._unwritable:
            return
        stem = f"shard-{uuid.uuid4().hex}"
        try:
            with storage_errors(self.dir):
                self.dir.mkdir(parents=True, exist_ok=True)
            if not self._swept:
                self._sweep()
                self._swept = True
            meta = self.dir / "model.json"
            if not meta.exists():
                write_json({"model_identity": self.model_identity}, meta)
            with atomic_path(self.dir / f"{stem}.vecs.npy") as tmp, tmp.open("wb") as handle:
                np.save(handle, np.asarray(vectors, dtype=np.float32))
            # (n, 16) uint8, not numpy's "S16": that type drops trailing NUL bytes of a digest.
            key_array = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), 16)
            with atomic_path(self.dir / f"{stem}.keys.npy") as tmp, tmp.open("wb") as handle:
                np.save(handle, key_array)
        except StorageError as exc:
            (self.dir / f"{stem}.vecs.npy").unlink(missing_ok=True)
            self._unwritable = True
            log.warning("Embedding cache not written, the run goes on without it: %s", exc)
            return
        self._index = None  # reload lazily, including the new shard
