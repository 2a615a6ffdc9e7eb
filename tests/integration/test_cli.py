"""The ``insights`` command: help, a successful run, options, and the exit codes of failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from cli_helpers import RUN_ID, assert_input_error, assert_success, fast_args, invoke, stderr_lines
from conftest import FEEDBACK_FILES, REPO
from typer.testing import CliRunner

import pipeline
from pipeline.cli import app
from pipeline.config import parse_overrides
from pipeline.errors import ConfigError

TEXTS = [f"{topic} {detail}" for topic in ("Login fails", "Search is slow") for detail in "abcdefghijkl"]


@pytest.fixture
def export(write_csv):
    return write_csv([["id", "text", "platform"], *[[f"r{i}", t, "ios"] for i, t in enumerate(TEXTS)]])


# --- help ------------------------------------------------------------------------------------


def test_insights_help_lists_the_run_command():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "run" in result.stdout and "Feedback Insights" in result.stdout


def test_insights_run_help_documents_the_options():
    result = CliRunner().invoke(app, ["run", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for option in ("--text-col", "--id-col", "--time-col", "--meta-cols", "--config", "--out", "--set"):
        assert option in result.stdout


def test_python_dash_m_pipeline_help_works():
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "--help"], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "run" in proc.stdout


def test_insights_console_script_help_works():
    script = Path(sys.executable).with_name("insights")
    if not script.exists():
        pytest.skip("the insights console script is not installed in this environment")
    proc = subprocess.run([str(script), "run", "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "--text-col" in proc.stdout


def test_python_dash_m_pipeline_reports_bad_input_in_one_line(tmp_path):
    missing = tmp_path / "missing.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", str(missing), "-q"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        env={**os.environ, "FEEDBACK_INSIGHTS_CACHE": str(tmp_path / "cache")},
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: {missing}: file not found."]
    assert "Traceback" not in proc.stderr


def test_version():
    result = CliRunner().invoke(app, ["version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == pipeline.__version__


def test_usage_errors_exit_2():
    assert CliRunner().invoke(app, ["run"]).exit_code == 2  # no file
    assert CliRunner().invoke(app, ["run", "x.csv", "--no-such-flag"]).exit_code == 2


# --- a successful run ------------------------------------------------------------------------


def test_run_writes_every_table_and_prints_a_summary(export, tmp_path):
    result = invoke(tmp_path, export, "--meta-cols", "platform")
    manifest = assert_success(result, tmp_path)
    run_dir = tmp_path / "out" / RUN_ID
    assert sorted(p.name for p in run_dir.iterdir()) == sorted(FEEDBACK_FILES)
    assert result.stdout.startswith(f"rows in {len(TEXTS)}:")
    assert f"written to {run_dir}" in result.stdout
    feedback = pd.read_parquet(run_dir / "feedback.parquet")
    assert feedback["row_id"].tolist() == [f"r{i}" for i in range(len(TEXTS))]
    assert feedback["platform"].tolist() == ["ios"] * len(TEXTS)
    assert manifest["config"]["embed"]["model"] == "hashing"
    assert manifest["config"]["clean"]["spacy_model"] == "blank:en"
    assert manifest["config"]["ingest"]["meta_cols"] == ["platform"]


def test_quiet_run_prints_no_progress_logs(export, tmp_path):
    result = invoke(tmp_path, export)
    assert_success(result, tmp_path)
    assert not [line for line in stderr_lines(result) if " INFO " in line]


def test_verbose_run_logs_each_stage(export, tmp_path):
    args = [a for a in fast_args(tmp_path) if a != "-q"]
    result = CliRunner().invoke(app, ["run", str(export), *args])
    assert result.exit_code == 0, result.output
    for name in ("ingest", "clean", "embed", "reduce", "cluster", "represent", "summarize"):
        assert any(f"{name}: done" in line for line in stderr_lines(result)), name


def test_existing_run_folder_needs_force(export, tmp_path):
    assert_success(invoke(tmp_path, export), tmp_path)
    assert_input_error(invoke(tmp_path, export), "already exists", "--force")
    assert_success(invoke(tmp_path, export, "--force"), tmp_path)


def test_config_file_and_set_override_it(export, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text("seed = 3\n[cluster]\nmin_cluster_size = 4\n[represent]\nlabel_terms = 2\n")
    result = invoke(tmp_path, export, "--config", config, "--set", "represent.label_terms=1")
    manifest = assert_success(result, tmp_path)
    assert manifest["config"]["seed"] == 3
    assert manifest["config"]["cluster"]["min_cluster_size"] == 4
    assert manifest["config"]["represent"]["label_terms"] == 1


def test_unknown_config_key_is_a_usage_error(export, tmp_path):
    assert_input_error(invoke(tmp_path, export, "--set", "cluster.min_size=3"), "cluster.min_size", "valid keys")


def test_invalid_config_value_is_a_usage_error(export, tmp_path):
    assert_input_error(invoke(tmp_path, export, "--set", "cluster.reassign_threshold=7"), "reassign_threshold")


def test_missing_config_file(export, tmp_path):
    assert_input_error(invoke(tmp_path, export, "--config", tmp_path / "nope.toml"), "nope.toml", "not found")


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("cluster.min_cluster_size=20", {"cluster.min_cluster_size": 20}),
        ("cluster.reassign_threshold=0.6", {"cluster.reassign_threshold": 0.6}),
        ('clean.spacy_model="blank:en"', {"clean.spacy_model": "blank:en"}),
        ("clean.spacy_model=blank:en", {"clean.spacy_model": "blank:en"}),  # not TOML: kept as text
        ("clean.languages=['en', 'de']", {"clean.languages": ["en", "de"]}),
        ("clean.redact_pii=false", {"clean.redact_pii": False}),
    ],
)
def test_set_values_are_parsed_as_toml(item, expected):
    assert parse_overrides([item]) == expected


def test_set_without_equals_sign_is_refused():
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_overrides(["cluster.min_cluster_size"])


# --- internal errors -------------------------------------------------------------------------


def _explode(*args, **kwargs):
    raise RuntimeError("boom\n  at line two")


def test_internal_error_exits_1_with_one_line(export, tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "run", _explode)
    result = invoke(tmp_path, export)
    assert result.exit_code == 1
    lines = stderr_lines(result)
    assert lines == ["internal error: RuntimeError: boom at line two (rerun with --debug for the traceback)"]


def test_debug_shows_the_traceback(export, tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "run", _explode)
    result = invoke(tmp_path, export, "--debug")
    assert result.exit_code == 1
    assert isinstance(result.exception, RuntimeError)


def test_interrupt_exits_130_without_a_run_folder(export, tmp_path, monkeypatch):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "run", interrupt)
    result = invoke(tmp_path, export)
    assert result.exit_code == 130
    assert stderr_lines(result) == ["interrupted: no run folder was written."]
    assert not (tmp_path / "out" / RUN_ID).exists()


def test_manifest_is_valid_json_with_accounting(export, tmp_path):
    assert_success(invoke(tmp_path, export), tmp_path)
    manifest = json.loads((tmp_path / "out" / RUN_ID / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["accounting"]["rows_in"] == len(TEXTS)
    assert manifest["run_id"] == RUN_ID


def test_column_flags_and_sheet_select_what_is_read(tmp_path):
    path = tmp_path / "export.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"about": ["this sheet is a cover page"]}).to_excel(writer, sheet_name="Cover", index=False)
        pd.DataFrame(
            {
                "Ref": [f"T{i}" for i in range(len(TEXTS))],
                "What they said": TEXTS,
                "When": pd.date_range("2024-04-01", periods=len(TEXTS), freq="h"),
                "Query": ["maps"] * len(TEXTS),
                "Ignored": ["x"] * len(TEXTS),
            }
        ).to_excel(writer, sheet_name="Raw", index=False)
    result = invoke(
        tmp_path, path, "--sheet", "Raw", "--text-col", "What they said", "--id-col", "Ref", "--time-col", "When",
        "--meta-cols", "Query",
    )  # fmt: skip
    assert_success(result, tmp_path)
    feedback = pd.read_parquet(tmp_path / "out" / RUN_ID / "feedback.parquet")
    assert feedback["row_id"].tolist()[:2] == ["T0", "T1"]
    assert feedback["text"].tolist() == TEXTS
    assert feedback["time"].notna().all()
    assert "Query" in feedback.columns and "Ignored" not in feedback.columns
    assert feedback["source_row"].tolist()[0] == 2


def test_no_cache_neither_reads_nor_writes_the_cache(export, tmp_path):
    manifest = assert_success(invoke(tmp_path, export, "--no-cache"), tmp_path)
    assert manifest["embedding_cache"]["dir"] is None
    assert manifest["embedding_cache"]["from_cache"] == 0
    assert not (tmp_path / "cache").exists()


def test_min_cluster_size_and_seed_flags_reach_the_config(export, tmp_path):
    manifest = assert_success(invoke(tmp_path, export, "--min-cluster-size", "6", "--seed", "11"), tmp_path)
    assert manifest["config"]["cluster"]["min_cluster_size"] == 6
    assert manifest["config"]["seed"] == 11
    assert manifest["cluster"]["min_cluster_size"] == 6
