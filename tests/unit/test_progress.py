"""Progress bars: one per long stage, in texts per second, only when the caller asks (the CLI: a TTY, no --quiet)."""

from __future__ import annotations

import pandas as pd

from pipeline import run
from pipeline.config import RunConfig


def _frame() -> pd.DataFrame:
    topics = ["the app crashes on start", "refund for my order", "search results are old", "login code never arrives"]
    return pd.DataFrame({"text": [f"{topics[i % 4]} case {i} {'x' * (i % 7)}" for i in range(600)]})


def test_long_stages_show_a_bar_with_texts_per_second_when_asked(fast_config: RunConfig, capsys) -> None:
    config = fast_config.with_overrides({"scale.sample_size": 200})  # the sampled path: the rest is assigned
    run(_frame(), config, write=False, show_progress=True)
    err = capsys.readouterr().err
    for stage in ("clean", "assign", "classify"):
        assert f"{stage}:" in err, stage
    assert "text/s" in err


def test_no_bar_unless_asked(fast_config: RunConfig, capsys) -> None:
    run(_frame(), fast_config.with_overrides({"scale.sample_size": 200}), write=False)
    assert "text/s" not in capsys.readouterr().err
