"""Memory between runs (--baseline) and the triage outputs, on model-free runs of the timestamped replay."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO
from typer.testing import CliRunner

from pipeline import run
from pipeline.baseline import BaselineError
from pipeline.cli import app
from pipeline.config import RunConfig

REPLAY = REPO / "data" / "sample" / "app_reviews_replay.csv"


WAVE = [
    f"the app crashes every time I open the {thing} after the update"
    for thing in ("camera", "feed", "search", "inbox", "profile", "settings", "player", "store", "map", "chat",
                  "gallery", "editor", "timeline", "library", "downloads", "playlist", "cart", "wallet")
]  # fmt: skip


@pytest.fixture(scope="module")
def replay() -> pd.DataFrame:
    """The demo replay plus a wave of near-identical crash reports on its last day (a model-free
    embedder cannot see the demo's own wave of differently worded crash reviews)."""
    frame = pd.read_csv(REPLAY)
    frame = frame.rename(columns={"Content": "text", "Review id": "id", "Date": "time"})[["id", "text", "time", "App"]]
    wave = pd.DataFrame(
        {"id": [f"wave-{i}" for i in range(len(WAVE))], "text": WAVE, "time": "2026-11-25T12:00:00Z", "App": "x"}
    )
    return pd.concat([frame, wave], ignore_index=True)


def run_on(frame: pd.DataFrame, config: RunConfig, run_id: str, **overrides: object):  # type: ignore[no-untyped-def]
    return run(frame, config.with_overrides({"output.run_id": run_id, "output.force": True, **overrides}))


def test_the_next_run_keeps_theme_ids_and_continues_alerts(replay: pd.DataFrame, fast_config: RunConfig) -> None:
    first = run_on(replay, fast_config, "day1")
    second = run_on(replay, fast_config, "day2", **{"trends.baseline": str(first.run_dir)})

    # an id keeps its meaning: a known id's theme is nearest to the first run's theme of that id
    before = first.themes.set_index("theme_id")["centroid"]
    known_now = second.themes[second.themes["theme_id"].isin(before.index)]
    old = np.array(before.tolist())
    nearest = [before.index[int(np.argmax(old @ np.array(c)))] for c in known_now["centroid"]]
    assert (known_now["theme_id"].to_numpy() == np.array(nearest)).mean() >= 0.9
    # the wave keeps its id
    wave_ids = [second.feedback.loc[second.feedback["row_id"] == f"wave-{i}", "theme_id"].item() for i in range(3)]
    first_ids = [first.feedback.loc[first.feedback["row_id"] == f"wave-{i}", "theme_id"].item() for i in range(3)]
    assert wave_ids == first_ids and first_ids[0] >= 0
    # every theme id is one the first run knew, or a fresh one above all of them
    known = set(first.theme_model["theme_id"])
    fresh = set(second.themes["theme_id"]) - known
    assert all(t > max(known) for t in fresh)
    assert set(second.theme_model["theme_id"]) >= known
    # an alert raised again continues (first seen, run count); the others open as new
    again = second.alerts["alert_id"].isin(set(first.alerts["alert_id"]))
    wave_alert = second.alerts[second.alerts["theme_id"] == wave_ids[0]]
    assert len(wave_alert) == 1 and bool(again[wave_alert.index[0]])
    assert (second.alerts.loc[again, "status"] == "continuing").all() and (second.alerts.loc[again, "runs"] == 2).all()
    assert (second.alerts.loc[~again, "status"] == "new").all()
    assert second.manifest["baseline"]["run_id"] == "day1"


def test_the_demo_replay_raises_the_injected_wave(replay: pd.DataFrame, fast_config: RunConfig) -> None:
    result = run_on(replay, fast_config, "wave")
    assert result.manifest["trends"]["window"]["current"][0].startswith("2026-11-25")
    run_dir = result.run_dir
    records = json.loads((run_dir / "alerts.json").read_text(encoding="utf-8"))
    assert len(records) == len(result.alerts) >= 1
    assert "## Alerts" in (run_dir / "insights.md").read_text(encoding="utf-8")
    out = CliRunner().invoke(app, ["triage", str(run_dir)])
    assert out.exit_code == 0 and "most urgent first" in out.stdout and ">" in out.stdout


def test_a_baseline_from_another_embedding_model_is_refused(replay: pd.DataFrame, fast_config: RunConfig) -> None:
    first = run_on(replay.head(200), fast_config, "hashing")
    manifest = json.loads((first.run_dir / "manifest.json").read_text(encoding="utf-8"))
    manifest["models"]["embedding"] = "sentence-transformers/other-model"
    (first.run_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(BaselineError, match="embedded with 'sentence-transformers/other-model'"):
        run_on(replay.head(200), fast_config, "next", **{"trends.baseline": str(first.run_dir)})


def test_a_baseline_without_a_theme_model_is_refused_on_one_line(
    replay: pd.DataFrame, fast_config: RunConfig, tmp_path: Path
) -> None:
    old = tmp_path / "old-run"
    old.mkdir()
    (old / "manifest.json").write_text(json.dumps({"tool": "feedback-insights", "version": "0.1.0"}), encoding="utf-8")
    csv = tmp_path / "export.csv"
    replay.head(50).to_csv(csv, index=False)
    out = CliRunner().invoke(
        app, ["run", str(csv), "--baseline", str(old), "--out", str(tmp_path / "out"), "--embedding-model", "hashing"]
    )
    assert out.exit_code == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "keeps no theme model" in lines[0] and "0.1.0" in lines[0]
