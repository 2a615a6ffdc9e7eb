"""Store: atomic writes, spreadsheet-safe CSV, and run folders published only when complete."""

from __future__ import annotations

import contextlib
import json
import platform
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline._profile import current_rss_mb
from pipeline.errors import ConfigError
from pipeline.store import (
    FORMULA_PREFIXES,
    RunStore,
    atomic_path,
    default_cache_dir,
    file_sha256,
    neutralize_formulas,
    package_versions,
    release_freed_memory,
    write_csv,
    write_json,
    write_parquet,
    write_text,
)

# --- atomic writes ---------------------------------------------------------------------------


def test_atomic_path_leaves_no_file_when_the_write_fails(tmp_path):
    target = tmp_path / "table.parquet"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half a table")
        raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_keeps_the_old_file_when_the_write_fails(tmp_path):
    target = tmp_path / "insights.md"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("new but broken")
        raise RuntimeError
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["insights.md"]


def test_a_failing_parquet_write_leaves_nothing_behind(tmp_path):
    target = tmp_path / "t.parquet"
    unserializable = pd.DataFrame({"x": [object()]})
    with pytest.raises(Exception):  # noqa: B017 - pyarrow raises one of several types
        write_parquet(unserializable, target)
    assert list(tmp_path.iterdir()) == []


def test_writers_round_trip(tmp_path):
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    write_parquet(frame, tmp_path / "t.parquet")
    write_json({"k": [1, "é"]}, tmp_path / "m.json")
    write_text("héllo\n", tmp_path / "r.md")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "t.parquet"), frame, check_dtype=False)
    assert json.loads((tmp_path / "m.json").read_text(encoding="utf-8")) == {"k": [1, "é"]}
    assert (tmp_path / "r.md").read_text(encoding="utf-8") == "héllo\n"


# --- formula neutralization ------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_cells_a_spreadsheet_would_run_are_quoted(prefix):
    cell = f'{prefix}HYPERLINK("http://evil")'
    out = neutralize_formulas(pd.DataFrame({"text": [cell, "plain"]}))
    assert out["text"].tolist() == ["'" + cell, "plain"]


def test_every_documented_prefix_is_covered():
    assert set(FORMULA_PREFIXES) == {"=", "+", "-", "@", "\t", "\r"}


def test_neutralize_joins_lists_quotes_headers_and_keeps_numbers():
    frame = pd.DataFrame({"=cmd": [1, -2], "keywords": [["=a", "b"], ["c"]], "share": [0.5, -0.25]})
    out = neutralize_formulas(frame)
    assert list(out.columns) == ["'=cmd", "keywords", "share"]
    assert out["keywords"].tolist() == ["'=a | b", "c"]
    assert out["share"].tolist() == [0.5, -0.25]  # numbers are not formulas
    assert out["'=cmd"].tolist() == [1, -2]
    assert frame["keywords"].tolist() == [["=a", "b"], ["c"]]  # the input is untouched


def test_write_csv_neutralizes_cells(tmp_path):
    target = tmp_path / "themes.csv"
    write_csv(pd.DataFrame({"label": ["=1+1", "@SUM(A1)", "ok"]}), target)
    lines = target.read_text(encoding="utf-8").splitlines()
    assert lines == ["label", "'=1+1", "'@SUM(A1)", "ok"]


# --- run folders -----------------------------------------------------------------------------


def test_run_is_assembled_aside_and_published_on_commit(tmp_path):
    store = RunStore(tmp_path, "r1")
    write_text("x", store.path("insights.md"))
    assert not (tmp_path / "r1").exists()
    final = store.commit()
    assert final == tmp_path / "r1"
    assert (final / "insights.md").read_text() == "x"
    assert [p.name for p in tmp_path.iterdir()] == ["r1"]


def test_abandon_leaves_nothing(tmp_path):
    store = RunStore(tmp_path, "r1")
    write_text("half", store.path("feedback.parquet"))
    store.abandon()
    assert list(tmp_path.iterdir()) == []


def test_existing_run_needs_force(tmp_path):
    RunStore(tmp_path, "r1").commit()
    with pytest.raises(ConfigError, match=r"already exists.*--force"):
        RunStore(tmp_path, "r1")


def test_forced_run_replaces_the_old_one_only_on_commit(tmp_path):
    first = RunStore(tmp_path, "r1")
    write_text("old", first.path("insights.md"))
    first.commit()
    second = RunStore(tmp_path, "r1", force=True)
    write_text("new", second.path("insights.md"))
    assert (tmp_path / "r1" / "insights.md").read_text() == "old"  # until the commit
    second.commit()
    assert (tmp_path / "r1" / "insights.md").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["r1"]


def test_abandoned_forced_run_keeps_the_old_one(tmp_path):
    first = RunStore(tmp_path, "r1")
    write_text("old", first.path("insights.md"))
    first.commit()
    second = RunStore(tmp_path, "r1", force=True)
    write_text("new", second.path("insights.md"))
    second.abandon()
    assert (tmp_path / "r1" / "insights.md").read_text() == "old"


# --- small helpers ---------------------------------------------------------------------------


def test_file_sha256(tmp_path):
    import hashlib

    path = tmp_path / "f.csv"
    path.write_bytes(b"id,text\n1,a\n")
    assert file_sha256(path) == hashlib.sha256(b"id,text\n1,a\n").hexdigest()


def test_default_cache_dir_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FEEDBACK_INSIGHTS_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("FEEDBACK_INSIGHTS_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "feedback-insights"


def test_package_versions_lists_the_core_packages():
    versions = package_versions()
    for name in ("numpy", "pandas", "scikit-learn", "spacy", "hdbscan", "umap-learn"):
        assert versions[name]


def test_a_run_id_cannot_reach_outside_the_output_folder(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    with contextlib.suppress(ConfigError):  # refusing the id is the fix
        RunStore(tmp_path / "out", "../victim", force=True).commit()
    assert (victim / "keep.txt").read_text() == "precious"


def test_released_pages_of_a_memory_mapped_array_keep_their_data(tmp_path: Path) -> None:
    from pipeline.embed import _disk_array
    from pipeline.store import release_pages

    vectors = _disk_array(tmp_path, (1000, 8))
    vectors[:] = np.arange(8000, dtype=np.float32).reshape(1000, 8)
    release_pages(vectors)  # the OS may drop the pages from RAM; the file still holds them
    assert float(vectors[999, 7]) == 7999.0
    release_pages(np.zeros(3))  # a plain array: nothing to release, no error


def test_a_configured_cache_dir_wins_over_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FEEDBACK_INSIGHTS_CACHE", str(tmp_path / "env"))
    assert default_cache_dir(str(tmp_path / "mine")) == tmp_path / "mine"
    assert default_cache_dir(None) == tmp_path / "env"


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc's heap")
def test_memory_a_stage_freed_leaves_the_process():
    blocks = [np.ones(8192) for _ in range(4000)]  # 250 MB in 64 KiB blocks: on glibc's heap, not mmapped
    kept = blocks[::100]  # a few live blocks scattered through it, as a stage's surviving outputs are
    del blocks
    before = current_rss_mb()
    release_freed_memory()
    assert before - current_rss_mb() > 150
    assert all(float(block.sum()) == 8192 for block in kept)  # what is still referenced is untouched
