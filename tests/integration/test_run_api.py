"""``pipeline.run``: the Python API over the whole flow, with the model-free stand-ins."""

from __future__ import annotations

import csv
import importlib

import numpy as np
import pandas as pd
import pytest
from conftest import FEEDBACK_FILES

from models.embedding import HashingEmbedder
from pipeline import RunResult, run
from pipeline.schemas import FEEDBACK, THEMES
from pipeline.store import FORMULA_PREFIXES

LOGIN = [f"Login fails with my password on device {i}" for i in range(15)]
SEARCH = [f"Search results are wrong for query number {i}" for i in range(15)]


def _export(write_csv, texts, **extra_cols):
    header = ["id", "text", *extra_cols]
    rows = [[f"r{i}", t, *(col[i] for col in extra_cols.values())] for i, t in enumerate(texts)]
    return write_csv([header, *rows])


def test_run_returns_dataframes_without_writing(write_csv, fast_config, tmp_path):
    path = _export(write_csv, LOGIN + SEARCH)
    result = run(path, fast_config, write=False)
    assert isinstance(result, RunResult)
    assert result.run_dir is None
    assert not (tmp_path / "out").exists()
    assert list(result.feedback.columns) == list(FEEDBACK)
    assert list(result.themes.columns) == list(THEMES)
    assert len(result.feedback) == 30
    assert result.embeddings is not None and result.embeddings.shape[0] == 30


def test_run_accepts_a_dataframe(fast_config, blank_nlp):
    frame = pd.DataFrame({"comment": LOGIN + SEARCH, "locale": ["en"] * 30})
    result = run(frame, fast_config, write=False, nlp=blank_nlp)
    assert result.feedback["text"].tolist() == LOGIN + SEARCH
    assert result.feedback["locale"].tolist() == ["en"] * 30


def test_overrides_apply_over_the_config(write_csv, fast_config):
    path = _export(write_csv, LOGIN + SEARCH)
    overrides = {"represent.label_style": "keywords", "represent.label_terms": 1}
    result = run(path, fast_config, overrides=overrides, write=False)
    assert result.config.represent.label_terms == 1
    assert all("," not in label for label in result.themes["label"])


def test_row_accounting_in_manifest_matches_the_feedback_table(write_csv, fast_config):
    texts = [*LOGIN, "", "   ", "42", *SEARCH, "!!!"]
    result = run(_export(write_csv, texts), fast_config, write=False)
    acc = result.accounting
    status = result.feedback["status"].value_counts()
    assert acc["rows_in"] == len(texts)
    assert acc["themed"] == status.get("themed", 0)
    assert acc["outliers"] == status.get("outlier", 0)
    assert acc["excluded"] == status.get("excluded", 0) == 4
    assert acc["excluded_by_reason"] == {"empty": 1, "whitespace_only": 1, "not_text": 1, "no_letters": 1}
    assert acc["rows_in"] == acc["themed"] + acc["outliers"] + acc["excluded"]


def test_excluded_rows_have_no_theme_and_no_coordinates(write_csv, fast_config):
    result = run(_export(write_csv, [*LOGIN, "", *SEARCH]), fast_config, write=False)
    excluded = result.feedback[result.feedback["status"] == "excluded"]
    assert len(excluded) == 1
    assert (excluded["theme_id"] == -1).all() and (excluded["theme_id_reassigned"] == -1).all()
    assert excluded["x"].isna().all() and excluded["y"].isna().all()
    kept = result.feedback[result.feedback["status"] != "excluded"]
    assert kept["x"].notna().all()


def test_duplicates_are_embedded_once_but_count_in_theme_sizes(write_csv, fast_config):
    campaign = ["Refund never arrived!!"] * 12 + ["refund never arrived"] * 6
    result = run(_export(write_csv, LOGIN + SEARCH + campaign), fast_config, write=False)
    fb = result.feedback
    assert result.embeddings.shape[0] == 30 + 1  # one vector for the whole campaign
    assert result.accounting["duplicates"] == 17
    campaign_rows = fb.iloc[30:]
    assert (campaign_rows["duplicate_of"].iloc[1:] == "r30").all()
    theme = campaign_rows["theme_id"].iloc[0]
    assert theme >= 0 and (campaign_rows["theme_id"] == theme).all()
    sizes = result.themes.set_index("theme_id")["size"]
    assert sizes[theme] >= 18
    assert result.themes.set_index("theme_id").loc[theme, "unique_texts"] < sizes[theme]


def test_theme_sizes_match_the_feedback_table(write_csv, fast_config):
    result = run(_export(write_csv, LOGIN + SEARCH), fast_config, write=False)
    counts = result.feedback.loc[result.feedback["theme_id"] >= 0, "theme_id"].value_counts()
    sizes = result.themes.set_index("theme_id")["size"]
    assert counts.sort_index().to_dict() == sizes.sort_index().to_dict()
    assert result.themes["rank"].tolist() == list(range(1, len(result.themes) + 1))


def test_same_seed_gives_the_same_assignments(write_csv, fast_config):
    path = _export(write_csv, LOGIN + SEARCH)
    a = run(path, fast_config, write=False)
    b = run(path, fast_config, write=False)
    assert a.feedback["theme_id"].tolist() == b.feedback["theme_id"].tolist()
    np.testing.assert_array_equal(a.feedback[["x", "y"]].to_numpy(), b.feedback[["x", "y"]].to_numpy())


def test_second_run_reads_every_embedding_from_the_cache(write_csv, fast_config):
    path = _export(write_csv, LOGIN + SEARCH)
    first = run(path, fast_config, write=False)
    second = run(path, fast_config, write=False)
    assert first.manifest["embedding_cache"]["computed"] > 0
    assert second.manifest["embedding_cache"]["computed"] == 0
    assert second.manifest["embedding_cache"]["from_cache"] >= 30


def test_a_grown_export_embeds_only_the_new_texts(write_csv, fast_config):
    run(_export(write_csv, LOGIN + SEARCH), fast_config, write=False)
    extra = [f"Dark mode please on screen {i}" for i in range(5)]
    grown = run(_export(write_csv, LOGIN + SEARCH + extra), fast_config, write=False)
    assert grown.manifest["embedding_cache"]["groups"] == 35
    computed = grown.manifest["embedding_cache"]["computed"]
    assert 5 <= computed < 35  # the new texts, and at most some new keyword candidates


def test_written_run_has_all_files_and_a_complete_manifest(write_csv, fast_config, tmp_path):
    path = _export(write_csv, LOGIN + SEARCH)
    result = run(path, fast_config)
    assert result.run_dir is not None and result.run_dir.parent == tmp_path / "out"
    assert sorted(p.name for p in result.run_dir.iterdir()) == sorted(FEEDBACK_FILES)
    m = result.manifest
    assert m["inputs"][0]["path"] == str(path) and len(m["inputs"][0]["sha256"]) == 64
    assert m["models"]["embedding"] == HashingEmbedder().identity
    for name in ("ingest", "clean", "embed", "reduce", "cluster", "represent", "summarize", "report"):
        assert m["stages"][name]["seconds"] >= 0 and m["stages"][name]["peak_rss_mb"] > 0
    assert m["packages"]["pandas"] == pd.__version__
    stored = pd.read_parquet(result.run_dir / "feedback.parquet")
    assert stored["row_id"].tolist() == result.feedback["row_id"].tolist()


def test_csv_output_neutralizes_formula_cells(write_csv, fast_config):
    texts = [f"=HYPERLINK(evil) login fails {i}" for i in range(15)] + [f"@cmd search broken {i}" for i in range(15)]
    result = run(_export(write_csv, texts), fast_config)
    with (result.run_dir / "themes.csv").open(encoding="utf-8", newline="") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert any(cell.startswith("'=HYPERLINK") or cell.startswith("'@cmd") for cell in cells)
    assert not [cell for cell in cells if cell.startswith(FORMULA_PREFIXES)]


def test_failed_write_leaves_no_run_folder(write_csv, fast_config, tmp_path, monkeypatch):
    def broken_report(*args, **kwargs):
        raise RuntimeError("killed mid-write")

    monkeypatch.setattr(importlib.import_module("pipeline.rundir"), "report_html", broken_report)
    with pytest.raises(RuntimeError, match="killed mid-write"):
        run(_export(write_csv, LOGIN + SEARCH), fast_config)
    assert list((tmp_path / "out").iterdir()) == []  # neither the run nor its .partial folder


def test_time_column_feeds_first_last_seen(write_csv, fast_config):
    days = [f"2024-05-{1 + i % 3:02d}T08:00:00Z" for i in range(30)]
    result = run(_export(write_csv, LOGIN + SEARCH, created_at=days), fast_config, write=False)
    themed = result.themes
    assert themed["first_seen"].notna().all()
    assert (themed["first_seen"] >= pd.Timestamp("2024-05-01", tz="UTC")).all()
    assert (themed["last_seen"] <= pd.Timestamp("2024-05-04", tz="UTC")).all()
    assert all(row.startswith("{") for row in themed["daily_counts"])
