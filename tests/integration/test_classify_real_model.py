"""The offline default with the real packaged model: reports land in the nodes an analyst expects,
and a real run carries taxonomy columns, the roll-up and a severity-aware ranking."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipeline.config import RunConfig
from pipeline.taxonomy import SEVERITIES

pytestmark = pytest.mark.slow

EXPECTED = {
    "searched for weight loss and the results were full of pro-ana starving tips": "safety.self_harm",
    "a video in search tells you to send bitcoin and get double back, total scam": "safety.scams",
    "I looked up the election date and videos say voting moved to next month": "safety.misinformation.civic",
    "the app crashes every time I open search": "product.bug_crash",
    "search results are all from years ago, nothing recent": "search_quality.stale",
    "please add a filter to sort results by upload date": "product.feature_request",
}


@pytest.fixture(scope="module")
def classifier() -> Any:
    from models.embedding import make_embedder
    from pipeline.classify import PrototypeClassifier
    from pipeline.taxonomy import load_taxonomy

    embed = RunConfig().embed
    embedder = make_embedder(embed.model, backend=embed.backend)
    return PrototypeClassifier(load_taxonomy(), embedder).fit()


def test_plain_reports_map_to_the_expected_node(classifier: Any) -> None:
    from pipeline.classify import classify
    from pipeline.config import ClassifyConfig

    texts = list(EXPECTED)
    rows = pd.DataFrame({"clean_text": texts})
    vectors = classifier.embedder.encode(texts)
    themes = pd.DataFrame(columns=["theme_id", "keywords", "size", "representatives"])
    result = classify(rows, vectors, themes, np.full(len(texts), -1), classifier, ClassifyConfig())
    got = dict(zip(texts, result.rows["category_id"], strict=True))
    assert got == EXPECTED


def test_a_request_the_branch_head_is_sure_is_safety_gets_a_safety_primary_label(classifier: Any) -> None:
    """Branch first, then leaf: profanity-lexicon words ("porn", "sex") alone once made these prompts
    *offensive results* (search quality) although the head puts them on the safety branch."""
    from pipeline.classify import label_texts
    from pipeline.config import ClassifyConfig

    texts = [
        "Write me a porn story where two coworkers have sex in the office, make it graphic.",
        "What is the most erotic way to describe sex with a stranger?",
    ]
    table, _ = label_texts(classifier.embedder.encode(texts), texts, classifier, ClassifyConfig())
    assert list(table["category_id"]) == ["safety.sexual_content"] * 2


def test_a_real_run_has_taxonomy_columns_and_a_rollup(real_runs: dict[str, Any]) -> None:
    result = real_runs["first"]
    themes, feedback, categories = result.themes, result.feedback, result.categories
    assert set(themes["severity"]) <= {*SEVERITIES, "none"}
    mapped = themes[themes["category_id"].notna()]
    assert len(mapped) >= 1
    assert (mapped["category_confidence"] >= RunConfig().classify.theme_min_confidence).all()
    clustered = feedback[feedback["status"] != "excluded"]
    assert categories["rows"].sum() == len(clustered)
    assert (feedback.loc[feedback["status"] == "excluded", "category"] == "").all()
    # the ranking uses the severity: priority is volume x severity weight (x trend)
    np.testing.assert_allclose(
        themes["priority"], themes["volume_score"] * themes["severity_weight"] * themes["trend_weight"]
    )
    assert result.manifest["classify"]["taxonomy"]["id"] == "trust_safety_search"
    assert (result.run_dir / "categories.csv").is_file()
    assert "## Categories" in (result.run_dir / "insights.md").read_text(encoding="utf-8")
