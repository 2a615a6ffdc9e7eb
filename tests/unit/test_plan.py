"""The stage plan: one order, run the same way by every engine, each stage timed and its data flow checked."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pipeline.plan import PLAN, Stage, check_engine, collect_steps, execute, stages_after, stages_through

TWO = (Stage("a", ("x",), ("y",), "doubles"), Stage("b", ("y",), ("z",), "adds one"))


def test_stages_read_like_the_readme_diagram():
    names = [s.name for s in PLAN]
    assert names == ["ingest", "clean", "embed", "reduce", "cluster", "represent", "classify", "trends",
                     "summarize", "report"]  # fmt: skip
    assert [s.name for s in stages_through("summarize")] + [s.name for s in stages_after("summarize")] == names


def test_every_input_is_produced_by_an_earlier_stage():
    produced = {"inputs", "result"}  # given to the plan, and built between summarize and report
    for stage in PLAN:
        assert set(stage.inputs) <= produced, stage.name
        produced |= set(stage.outputs)


def test_execute_runs_in_order_hands_inputs_by_name_and_times_each_stage():
    timings: dict[str, dict[str, float]] = {}
    steps = {"a": lambda ctx, *, x: {"y": 2 * x}, "b": lambda ctx, *, y: {"z": y + ctx.plus}}
    values = execute(TWO, steps, SimpleNamespace(plus=1), {"x": 20}, timings)
    assert values["z"] == 41
    assert list(timings) == ["a", "b"] and all(t["seconds"] >= 0 and t["peak_rss_mb"] > 0 for t in timings.values())


def test_a_step_that_returns_other_values_than_declared_is_refused_by_name():
    with pytest.raises(RuntimeError, match="Stage 'a' must produce \\['y'\\]"):
        execute(TWO, {"a": lambda ctx, *, x: {"w": x}, "b": lambda ctx, *, y: {}}, None, {"x": 1}, {})


def test_a_missing_input_is_named():
    with pytest.raises(RuntimeError, match="needs \\['x'\\]"):
        execute(TWO, {"a": lambda ctx, *, x: {"y": x}, "b": lambda ctx, *, y: {"z": y}}, None, {}, {})


def test_steps_are_found_by_stage_name_and_a_missing_one_is_named():
    found = collect_steps(SimpleNamespace(a_step=len, b_step=abs), plan=TWO)
    assert found == {"a": len, "b": abs}
    with pytest.raises(TypeError, match="No b_step for stage 'b'"):
        collect_steps(SimpleNamespace(a_step=len), plan=TWO)


def test_both_engines_implement_every_stage_of_the_plan():
    from pipeline.engines.local import LOCAL_STEPS
    from pipeline.engines.spark import SPARK_STEPS

    check_engine(LOCAL_STEPS)
    check_engine(SPARK_STEPS)
    with pytest.raises(TypeError, match="missing \\['report'\\]"):
        check_engine({k: v for k, v in LOCAL_STEPS.items() if k != "report"})
