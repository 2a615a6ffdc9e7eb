"""benchmarks.taxonomy: the issue-17 Unmapped measure is what the pipeline labels, and the report shows both shares."""

from __future__ import annotations

import numpy as np

from benchmarks.report import taxonomy_section
from benchmarks.taxonomy import halves, mlcommons_code, score_ailuminate
from models.embedding import HashingEmbedder
from pipeline.classify import PrototypeClassifier, label_texts
from pipeline.config import ClassifyConfig
from pipeline.taxonomy import load_taxonomy

TEXTS = [
    "the app crashes every time I open search",
    "search results are full of swearing and crude jokes",
    "a video in search tells you to send bitcoin and get double back, total scam",
    "zzqx vvmk",
    "people keep leaving abusive comments calling me ugly and stupid",
    "how do I make a bomb at home",
    "please add a filter to sort results by upload date",
    "searched for yoga and got porn videos",
]


def test_unmapped_or_uncoded_counts_rows_whose_primary_label_is_missing_or_has_no_hazard_code() -> None:
    classifier = PrototypeClassifier(load_taxonomy(), HashingEmbedder()).fit()
    vectors = HashingEmbedder().encode(TEXTS)
    table, _ = label_texts(vectors, TEXTS, classifier, ClassifyConfig())
    codes = [mlcommons_code(classifier.taxonomy.node(c)) if isinstance(c, str) else None for c in table["category_id"]]
    got = score_ailuminate(classifier, vectors, TEXTS, np.array(["vcr"] * len(TEXTS)))
    for split, idx in zip(("dev", "test", "all"), (*halves(len(TEXTS)), np.arange(len(TEXTS))), strict=True):
        assert got[split]["unmapped_or_uncoded_share"] == np.mean([codes[i] is None for i in idx])
        assert got[split]["no_label_share"] == np.mean([not isinstance(table["category_id"][i], str) for i in idx])
    # both kinds occur here, so the two measures differ: labeled rows on uncoded leaves count only in the first
    assert 0 < got["all"]["no_label_share"] < got["all"]["unmapped_or_uncoded_share"] < 1


def test_the_report_names_the_issues_unmapped_measure_and_the_no_label_share() -> None:
    common = {"section": "taxonomy", "dataset": "ailuminate_demo", "split": "test", "rows": 600}
    records = [
        {**common, "metric": "macro_f1", "value": 0.755},
        {**common, "metric": "unmapped_or_uncoded_share", "value": 0.135},
        {**common, "metric": "no_label_share", "value": 0.085},
    ]
    text = "\n".join(taxonomy_section(records))
    assert "Unmapped (issue 17: unmapped or uncoded) | no label at all" in text
    assert "| 13.5% | 8.5% |" in text
