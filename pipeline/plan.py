"""The stage plan: the pipeline's order, written once, that every engine executes.

    ingest → clean → embed → reduce → cluster → represent → classify → trends → summarize → report

Each :class:`Stage` names what it reads and what it writes. An engine (:mod:`pipeline.engines.local`,
:mod:`pipeline.engines.spark`) supplies one step function per stage name; :func:`execute` runs them in
the plan's order, hands each step exactly the values it declared as inputs, checks it returned exactly
the values it declared as outputs, and times it (wall time, peak RSS and a progress line, from
:func:`pipeline._profile.stage`); the memory a step freed goes back to the OS before the next one
starts. An engine's steps are found by name (:func:`collect_steps`: stage ``embed`` runs
``embed_step``), so adding a stage means one entry here and one step per engine.

A step is ``step(ctx, **inputs) -> {output: value}``: ``ctx`` is the engine's run context (config,
models, notes), the keyword arguments are the stage's inputs, by name (like Hamilton's functions).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from pipeline._profile import stage as profiled
from pipeline.store import release_freed_memory

__all__ = ["PLAN", "Stage", "Step", "check_engine", "collect_steps", "execute", "stages_after", "stages_through"]

log = logging.getLogger(__name__)

Step = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class Stage:
    """One box of the diagram: its name, the values it reads and the values it writes."""

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    does: str


PLAN: tuple[Stage, ...] = (
    Stage("ingest", ("inputs",), ("ingested",), "read the export, map its columns, validate every row"),
    Stage("clean", ("ingested",), ("cleaned",), "normalize, redact, exclude empty/duplicate/other-language rows"),
    Stage("embed", ("cleaned",), ("embedded", "rows"), "one vector per distinct text (cached on disk)"),
    Stage("reduce", ("embedded", "rows"), ("reduced",), "UMAP to a clustering space and a 2-d map"),
    Stage("cluster", ("embedded", "rows", "reduced"), ("clustered",), "HDBSCAN themes (or assign to a baseline)"),
    Stage("represent", ("rows", "reduced", "clustered"), ("themes",), "label, keywords, representatives per theme"),
    Stage("classify", ("embedded", "rows", "clustered", "themes"), ("classified", "themes"), "taxonomy labels"),
    Stage(
        "trends",
        ("ingested", "embedded", "rows", "clustered", "classified", "themes"),
        ("trends", "themes"),
        "what changed in the current window, and the alerts it raises",
    ),
    Stage(
        "summarize",
        ("ingested", "cleaned", "rows", "clustered", "classified", "themes"),
        ("themes", "feedback", "accounting", "queries"),
        "rank themes, the per-row feedback table, row accounting",
    ),
    Stage("report", ("result",), ("store",), "write every table and the HTML report into the run folder"),
)


def stages_through(name: str, plan: tuple[Stage, ...] = PLAN) -> tuple[Stage, ...]:
    """The plan up to and including stage ``name``."""
    return plan[: _index(name, plan) + 1]


def stages_after(name: str, plan: tuple[Stage, ...] = PLAN) -> tuple[Stage, ...]:
    """The plan after stage ``name``."""
    return plan[_index(name, plan) + 1 :]


def _index(name: str, plan: tuple[Stage, ...]) -> int:
    names = [s.name for s in plan]
    if name not in names:
        raise KeyError(f"No stage {name!r} in the plan; the stages are {names}.")
    return names.index(name)


def collect_steps(*namespaces: Any, plan: Iterable[Stage] = PLAN) -> dict[str, Step]:
    """An engine's steps by the naming rule: stage ``name`` runs the first ``<name>_step`` in ``namespaces``."""
    steps: dict[str, Step] = {}
    for entry in plan:
        found = [getattr(ns, f"{entry.name}_step") for ns in namespaces if hasattr(ns, f"{entry.name}_step")]
        if not found:
            raise TypeError(
                f"No {entry.name}_step for stage {entry.name!r} in {[getattr(n, '__name__', n) for n in namespaces]}."
            )
        steps[entry.name] = found[0]
    return steps


def check_engine(steps: Mapping[str, Step], plan: Iterable[Stage] = PLAN) -> None:
    """An engine implements every stage of the plan and nothing else."""
    wanted = [s.name for s in plan]
    missing = [n for n in wanted if n not in steps]
    extra = sorted(set(steps) - set(wanted))
    if missing or extra:
        raise TypeError(f"The engine's steps do not match the plan: missing {missing}, not in the plan {extra}.")


def execute(
    stages: Iterable[Stage],
    steps: Mapping[str, Step],
    ctx: Any,
    values: MutableMapping[str, Any],
    timings: dict[str, dict[str, Any]],
) -> MutableMapping[str, Any]:
    """Run ``stages`` in order with the engine's ``steps``; ``values`` holds every stage's outputs by name."""
    todo = list(stages)
    for number, entry in enumerate(todo, start=1):
        absent = [name for name in entry.inputs if name not in values]
        if absent:
            raise RuntimeError(f"Stage {entry.name!r} needs {absent}, which no earlier stage produced.")
        log.debug("%s: %s", entry.name, entry.does)
        place, total = (PLAN.index(entry) + 1, len(PLAN)) if entry in PLAN else (number, len(todo))
        with profiled(entry.name, timings, progress=f"[{place}/{total}] "):
            produced = steps[entry.name](ctx, **{name: values[name] for name in entry.inputs})
            release_freed_memory()  # what the step let go leaves the process before the next stage starts
        if set(produced) != set(entry.outputs):
            raise RuntimeError(
                f"Stage {entry.name!r} must produce {list(entry.outputs)}; its step returned {sorted(produced)}."
            )
        values.update(produced)
    return values
