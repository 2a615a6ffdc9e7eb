"""What every engine shares: its run context and the one way a run goes through the plan.

:func:`run_plan` executes :data:`pipeline.plan.PLAN` with an engine's steps through ``summarize``,
asks the engine for the :class:`~pipeline.result.RunResult` (tables + manifest), then, when writing,
runs the ``report`` stage and publishes the run folder.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.config import RunConfig
from pipeline.plan import PLAN, Step, check_engine, execute, stages_after, stages_through
from pipeline.result import RunResult
from pipeline.rundir import publish

__all__ = ["RunContext", "run_plan"]


@dataclass(kw_only=True)
class RunContext:
    """What every step may read besides its inputs: the config, and the run's notes and stage times."""

    config: RunConfig
    notes: list[str] = field(default_factory=list)
    timings: dict[str, dict[str, Any]] = field(default_factory=dict)
    run_id: str = ""
    feedback_file: Path | None = None  # a finished feedback.parquet the report stage moves in


def run_plan(
    steps: Mapping[str, Step],
    ctx: RunContext,
    values: MutableMapping[str, Any],
    *,
    result_of: Callable[[Any, MutableMapping[str, Any]], RunResult],
    write: bool,
) -> RunResult:
    """Run the plan with ``steps``; ``result_of(ctx, values)`` builds the result and sets ``ctx.run_id``."""
    check_engine(steps)
    execute(stages_through("summarize"), steps, ctx, values, ctx.timings)
    result = result_of(ctx, values)
    if write:
        values["result"] = result
        execute(stages_after("summarize", PLAN), steps, ctx, values, ctx.timings)
        result.run_dir = publish(result, values["store"], ctx.run_id)
    return result
