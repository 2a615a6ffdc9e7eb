"""Data flows one way: stages never import the runner, the CLI, the engines or each other's internals.

Read with ``ast`` (every import, also those inside functions), so the rule holds for lazy imports too.

    models ← stages (pipeline.<stage>) ← plan / engines / manifest / rundir ← runner ← cli
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import REPO

#: The boxes of the README's diagram: a module ``pipeline/<stage>.py`` or a package ``pipeline/<stage>/``.
STAGES = ("ingest", "clean", "embed", "reduce", "cluster", "represent", "classify", "trends", "summarize", "report")
#: What composes the stages; a stage (or a model loader) importing any of it would turn the flow around.
ORCHESTRATION = ("runner", "cli", "engines", "plan", "rundir", "manifest", "result")
#: Who may import the runner (``pipeline/__init__`` lazily, for ``from pipeline import run``) and the CLI.
IMPORTED_BY = {"runner": ("pipeline", "pipeline.cli"), "cli": ("pipeline.__main__",)}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(source: str, module: str, *, is_package: bool = False) -> list[tuple[str, str | None]]:
    """(module imported, name imported from it or None) for every absolute or relative import."""
    found: list[tuple[str, str | None]] = []
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found += [(base, alias.name) for alias in node.names]
    return found


def stage_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "pipeline" and parts[1] in STAGES else None


def violations(module: str, source: str, *, is_package: bool = False) -> list[str]:
    """Why ``module``'s imports break the direction of the data flow (empty when they do not)."""
    problems = []
    own_stage = stage_of(module)
    for target, name in imports(source, module, is_package=is_package):
        parts = target.split(".")
        if parts[0] != "pipeline" or len(parts) < 2:
            if parts[0] == "pipeline" and name in (*ORCHESTRATION, *STAGES):  # from pipeline import runner
                parts = ["pipeline", name]
            else:
                continue
        top = parts[1]
        where = f"{module} imports {target}" + (f".{name}" if name else "")
        if (own_stage is not None or module.startswith("models")) and top in ORCHESTRATION:
            problems.append(f"{where}: a stage or model loader never imports the {top} layer")
        if top in IMPORTED_BY and module not in (*IMPORTED_BY[top], f"pipeline.{top}"):
            problems.append(f"{where}: only {' and '.join(IMPORTED_BY[top])} may import pipeline.{top}")
        other = stage_of(target)
        if other is not None and other != own_stage:
            if len(parts) > 2 and (REPO / "pipeline" / other).is_dir():
                problems.append(f"{where}: another stage's internals (import from pipeline.{other})")
            if name is not None and name.startswith("_"):
                problems.append(f"{where}: a private name of another stage")
        if module.startswith("models") and other is not None:
            problems.append(f"{where}: model loaders are below the stages")
    return problems


def tree_modules() -> list[tuple[str, Path]]:
    paths = [*(REPO / "pipeline").rglob("*.py"), *(REPO / "models").rglob("*.py")]
    return sorted((module_name(p), p) for p in paths)


def test_the_checker_catches_each_kind_of_wrong_import():
    assert violations("pipeline.cluster", "from pipeline.runner import run")
    assert violations("pipeline.trends.detectors", "def f():\n    from pipeline.engines.local import Rows")
    assert violations("pipeline.summarize", "from pipeline.trends.detectors import score_counts")
    assert violations("pipeline.summarize", "from pipeline.classify import _internal")
    assert violations("models.embedding", "import pipeline.embed")
    assert violations("pipeline.engines.local", "from pipeline import runner")
    assert violations("pipeline.trends.alerts", "from .tables import ALERTS") == []
    assert violations("pipeline.summarize", "from .trends.detectors import score_counts")
    assert violations("pipeline.summarize", "from pipeline.classify import unclassified") == []
    assert violations("pipeline.engines.local", "from pipeline.trends import detect") == []


@pytest.mark.parametrize(("module", "path"), tree_modules(), ids=lambda v: v if isinstance(v, str) else "")
def test_imports_follow_the_data_flow(module: str, path: Path):
    assert violations(module, path.read_text(encoding="utf-8"), is_package=path.name == "__init__.py") == []


def test_every_stage_of_the_plan_is_a_stage_module():
    from pipeline.plan import PLAN

    assert [s.name for s in PLAN] == list(STAGES)
    for name in STAGES:
        assert (REPO / "pipeline" / f"{name}.py").is_file() or (REPO / "pipeline" / name).is_dir(), name
