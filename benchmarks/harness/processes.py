"""A child process timed from outside: wall and CPU seconds and peak RSS from ``wait4``; its environment."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CHILD_ENV",
    "HEAVY_IMPORTS",
    "REPORTED_ENV",
    "REPO_ROOT",
    "BenchError",
    "Measured",
    "child_env",
    "elapsed",
    "last_line",
    "measure",
]


REPO_ROOT = Path(__file__).resolve().parents[2]

#: Environment that the child processes get (as the Makefile sets it), and variables worth reporting.
CHILD_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


REPORTED_ENV = (
    "HF_HUB_OFFLINE",
    "TOKENIZERS_PARALLELISM",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
    "NUMBA_CACHE_DIR",
    "FEEDBACK_INSIGHTS_CACHE",
)


HEAVY_IMPORTS = "import torch, sentence_transformers, spacy, umap, hdbscan, sklearn, pyarrow"


class BenchError(Exception):
    """A benchmark that cannot go on; main() prints it as one line and exits 1."""


@dataclass
class Measured:
    """One child process, timed from outside."""

    wall_s: float
    cpu_s: float  # user + system seconds of the child (its threads included)
    max_rss_mb: float
    returncode: int
    stderr: Path


def measure(cmd: Sequence[str], *, env: dict[str, str], log_stem: Path, timeout: float) -> Measured:
    """Run ``cmd`` in a fresh process; wall time and the child's own rusage (``wait4``)."""
    log_stem.parent.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log_stem.with_suffix(".stdout"), log_stem.with_suffix(".stderr")
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=err, env=env, cwd=REPO_ROOT)
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if timed_out.is_set():
        raise BenchError(f"{' '.join(cmd[1:5])} ran past --timeout {timeout:.0f} s; log: {err_path}")
    rss = usage.ru_maxrss / 2**20 if sys.platform == "darwin" else usage.ru_maxrss / 1024
    return Measured(wall, usage.ru_utime + usage.ru_stime, rss, proc.returncode, err_path)


def last_line(path: Path) -> str:
    lines = [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(no output)"


def child_env(numba_cache: Path | None = None) -> dict[str, str]:
    env = {**os.environ, **CHILD_ENV}
    if numba_cache is not None:
        env["NUMBA_CACHE_DIR"] = str(numba_cache)
    return env


def elapsed(start: float) -> str:
    minutes, seconds = divmod(int(time.perf_counter() - start), 60)
    return f"{minutes}:{seconds:02d}"
