"""Our pipeline as a timed child process (``python -m pipeline run``), and the untimed run that builds its models."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import report
from benchmarks.harness.inputs import TEXT_COL, BenchInput, build_input
from benchmarks.harness.processes import BenchError, Measured, child_env, last_line, measure

__all__ = ["EMBEDDINGS_SUBDIR", "PipelineRun", "prepare_builds", "run_pipeline", "seed_cache"]

log = logging.getLogger("benchmarks.run")

EMBED = report.EMBED


@dataclass
class PipelineRun:
    """One ``python -m pipeline run`` process and its manifest."""

    process: Measured
    manifest: dict[str, Any]

    @property
    def stages(self) -> dict[str, float]:
        return {name: float(info["seconds"]) for name, info in self.manifest["stages"].items()}

    @property
    def stage_rss(self) -> dict[str, float]:
        return {name: float(info["peak_rss_mb"]) for name, info in self.manifest["stages"].items()}


def run_pipeline(
    python: str,
    bench: BenchInput,
    *,
    run_id: str,
    cache_dir: Path,
    work_dir: Path,
    env: dict[str, str],
    settings: Sequence[str],
    timeout: float,
) -> PipelineRun:
    runs_dir = work_dir / "runs"
    cmd = [
        python, "-m", "pipeline", "run", str(bench.path), "--text-col", TEXT_COL,
        "--cache-dir", str(cache_dir), "--out", str(runs_dir), "--run-id", run_id, "--force", "-q",
        *(arg for item in settings for arg in ("--set", item)),
    ]  # fmt: skip
    log.info("%s: running %s", run_id, " ".join(cmd[1:5]))
    measured = measure(cmd, env=env, log_stem=work_dir / "logs" / run_id, timeout=timeout)
    if measured.returncode != 0:
        raise BenchError(
            f"{run_id} failed (exit {measured.returncode}): {last_line(measured.stderr)} (log: {measured.stderr})"
        )
    manifest_path = runs_dir / run_id / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BenchError(f"{manifest_path}: cannot read the run's manifest ({exc}).") from None
    missing = [key for key in ("stages", "peak_rss_mb", "embedding_cache") if key not in manifest]
    if missing or EMBED not in manifest.get("stages", {}):
        raise BenchError(f"{manifest_path}: manifest lacks {missing or ['stages.embed']}; cannot benchmark.")
    log.info(
        "%s: %.1f s wall, stages %.1f s (embed %.1f s), peak RSS %.0f MB",
        run_id, measured.wall_s, sum(PipelineRun(measured, manifest).stages.values()),
        manifest["stages"][EMBED]["seconds"], manifest["peak_rss_mb"],
    )  # fmt: skip
    return PipelineRun(measured, manifest)


#: The part of a cache directory that holds embeddings; everything else in it (e.g. ``onnx/``, the int8
#: model built on first use) is a model build that a cold run gets from the preparatory run.
EMBEDDINGS_SUBDIR = "embeddings"
#: The parts that hold results of a run (embeddings, clean's spaCy work, reduce fits): a cold run starts without them.
RESULT_SUBDIRS = (EMBEDDINGS_SUBDIR, "clean", "reduce")


def prepare_builds(args: argparse.Namespace, data_dir: Path) -> Path:
    """One untimed pipeline run on 100 real reviews with a kept cache directory, so that whatever the
    pipeline builds on first use (the int8 ONNX model) exists before timing; it also checks ``--set``."""
    prepared = args.work_dir / "cache" / "prepared"
    shutil.rmtree(prepared, ignore_errors=True)  # no stale builds of other versions or configs
    small = build_input(100, data_dir=data_dir, work_dir=args.work_dir, seed=args.seed)
    log.info("preparatory run (untimed): model builds into %s", prepared)
    run_pipeline(
        args.python, small, run_id="prepare", cache_dir=prepared, work_dir=args.work_dir, env=child_env(),
        settings=args.set, timeout=args.timeout,
    )  # fmt: skip
    return prepared


def seed_cache(cache_dir: Path, prepared: Path | None) -> list[str]:
    """Copy the model builds (everything but RESULT_SUBDIRS) of the prepared cache into an empty cache dir."""
    if prepared is None or not prepared.is_dir():
        return []
    seeded = []
    for child in sorted(prepared.iterdir()):
        if child.name in RESULT_SUBDIRS:
            continue
        if child.is_dir():
            shutil.copytree(child, cache_dir / child.name, symlinks=True)
        else:
            shutil.copy2(child, cache_dir / child.name)
        seeded.append(child.name)
    return seeded
