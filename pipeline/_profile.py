"""Wall time and peak resident memory per stage, for the manifest and the logs."""

from __future__ import annotations

import logging
import os
import resource
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["current_rss_mb", "peak_rss_mb", "stage"]

log = logging.getLogger("pipeline.runner")
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def current_rss_mb() -> float:
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * _PAGE / 2**20
    except OSError:
        return peak_rss_mb()


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


@contextmanager
def stage(
    name: str, timings: dict[str, dict[str, Any]], *, interval: float = 0.05, progress: str = ""
) -> Iterator[None]:
    """Time a stage and sample its peak RSS from a background thread; ``progress`` (e.g. ``"3/10 "``) prefixes
    its log lines. The RSS at the start is kept too: peak minus start is what the stage itself added."""
    start_rss = current_rss_mb()
    peak = [start_rss]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(interval):
            peak[0] = max(peak[0], current_rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    log.info("%s%s: started", progress, name)
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
        peak[0] = max(peak[0], current_rss_mb())
        timings[name] = {
            "seconds": round(seconds, 3),
            "peak_rss_mb": round(peak[0], 1),
            "start_rss_mb": round(start_rss, 1),
        }
        log.info("%s%s: done in %.2f s (peak RSS %.0f MB)", progress, name, seconds, peak[0])
