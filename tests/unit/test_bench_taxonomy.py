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


def test_a_run_with_overrides_is_kept_beside_the_default_and_shown_on_its_own_line(tmp_path) -> None:
    import json

    from benchmarks.report.other_sections import TAXONOMY_DEFAULT_CONFIG
    from benchmarks.taxonomy import config_label, merge

    def run(config: str, f1: float) -> list[dict]:
        common = {"section": "taxonomy", "dataset": "ailuminate_demo", "split": "test", "rows": 600, "config": config}
        return [{**common, "metric": "macro_f1", "value": f1}, {**common, "metric": "no_label_share", "value": 0.1}]

    assert config_label([]) == TAXONOMY_DEFAULT_CONFIG
    static = config_label(["embed.backend=static"])
    path = tmp_path / "RESULTS.json"
    path.write_text(json.dumps([*run(TAXONOMY_DEFAULT_CONFIG, 0.749), {"section": "speed", "metric": "x"}]))
    records = merge(path, run(static, 0.458))
    assert len(records) == 5  # the default's records and the other section's stay
    path.write_text(json.dumps(records))
    assert len(merge(path, run(static, 0.460))) == 5  # a rerun of the same config replaces its own
    lines = taxonomy_section([r for r in records if r["section"] == "taxonomy"])
    assert "| ailuminate_demo | test | 600 | 0.749 |" in "\n".join(lines)  # the table is the default's
    (option,) = [line for line in lines if line.startswith("- With ")]
    assert option.startswith(f"- With `{static}`") and "AILuminate macro-F1 0.458" in option
