"""Running ``insights`` in-process with the model-free settings, and checking what it printed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import Result
from typer.testing import CliRunner

from pipeline.cli import app

RUN_ID = "t"


def fast_args(tmp_path: Path) -> list[str]:
    """Options that keep a CLI run model-free: hashing embedder, PCA, a tokenizer-only spaCy."""
    return [
        "--embedding-model",
        "hashing",
        "--reducer",
        "pca",
        "--set",
        'clean.spacy_model="blank:en"',
        "--cache-dir",
        str(tmp_path / "cache"),
        "--out",
        str(tmp_path / "out"),
        "--run-id",
        RUN_ID,
        "-q",
    ]


def invoke(tmp_path: Path, *args: Any) -> Result:
    """``insights run ARGS...`` with the fast options."""
    return CliRunner().invoke(app, ["run", *map(str, args), *fast_args(tmp_path)])


def stderr_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def assert_input_error(result: Result, *fragments: str) -> str:
    """Exit 2, one line on stderr starting with 'error:' and holding every fragment, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    lines = stderr_lines(result)
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: "), lines
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert result.stdout == ""
    return lines[0]


def assert_success(result: Result, tmp_path: Path) -> dict[str, Any]:
    """Exit 0, the run folder written; returns its manifest."""
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert not any(line.startswith(("error:", "internal error:")) for line in stderr_lines(result))
    manifest = json.loads((tmp_path / "out" / RUN_ID / "manifest.json").read_text(encoding="utf-8"))
    acc = manifest["accounting"]
    assert acc["rows_in"] == acc["themed"] + acc["outliers"] + acc["excluded"]
    return manifest


def warnings_naming(result: Result, *fragments: str) -> list[str]:
    """The stderr lines that contain every fragment."""
    return [line for line in stderr_lines(result) if all(f in line for f in fragments)]
