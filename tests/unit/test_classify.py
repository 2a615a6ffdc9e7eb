"""The classify stage: calibrated prototype scores, row labels, theme decisions and the roll-up.

A lexical embedder (HashingEmbedder) stands in for the sentence model, so texts that share words
with a node's examples score high for it; the real model is exercised in tests/integration.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.embedding import HashingEmbedder
from pipeline.classify import PrototypeClassifier, classify, load_examples
from pipeline.config import ClassifyConfig
from pipeline.errors import InputError
from pipeline.taxonomy import load_taxonomy


@pytest.fixture(scope="module")
def taxonomy():  # type: ignore[no-untyped-def]
    return load_taxonomy()


@pytest.fixture(scope="module")
def classifier(taxonomy):  # type: ignore[no-untyped-def]
    return PrototypeClassifier(taxonomy, HashingEmbedder()).fit()


def vectors(texts: list[str]) -> np.ndarray:
    return HashingEmbedder().encode(texts)


def test_confidence_is_one_half_exactly_at_each_nodes_threshold(classifier: PrototypeClassifier) -> None:
    assert classifier.thresholds_ is not None
    at_threshold = classifier.confidence_of(classifier.thresholds_[None, :])
    np.testing.assert_allclose(at_threshold, 0.5, atol=1e-6)
    above = classifier.confidence_of(classifier.thresholds_[None, :] + 0.05)
    assert (above > 0.5).all()


def test_calibration_is_recorded_and_better_than_chance(classifier: PrototypeClassifier) -> None:
    info = classifier.calibration_
    assert info["examples"] == sum(len(n.examples) for n in classifier.leaves)
    assert info["loo_top1_accuracy"] > 3 / len(classifier.leaves)


def rows_of(texts: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"clean_text": texts})


def run_classify(classifier: PrototypeClassifier, texts: list[str], labels: list[int], themes: pd.DataFrame, **cfg):  # type: ignore[no-untyped-def]
    return classify(rows_of(texts), vectors(texts), themes, np.array(labels), classifier, ClassifyConfig(**cfg))


def themes_of(ids: list[int]) -> pd.DataFrame:
    return pd.DataFrame(
        {"theme_id": ids, "keywords": [[] for _ in ids], "size": [0] * len(ids), "representatives": [[] for _ in ids]}
    )


def test_a_node_example_is_labeled_with_its_node_and_gibberish_is_unmapped(classifier: PrototypeClassifier) -> None:
    self_harm = next(e for e in classifier.taxonomy.node("safety.self_harm").examples if "kill themselves" in e)
    result = run_classify(classifier, [self_harm, "zzqx vvbn kkjh"], [-1, -1], themes_of([]))
    first, second = result.rows.iloc[0], result.rows.iloc[1]
    assert first["category_id"] == "safety.self_harm"
    assert first["severity"] == "critical" and first["category_confidence"] > 0.5
    assert "safety.self_harm" in first["categories"]
    assert pd.isna(second["category_id"]) and second["category"] == "Unmapped" and second["categories"] == []


def test_rows_carry_at_most_max_labels(classifier: PrototypeClassifier) -> None:
    texts = list(classifier.taxonomy.node("search_quality.irrelevant").examples)
    result = run_classify(classifier, texts, [-1] * len(texts), themes_of([]), max_labels=1)
    assert all(len(cats) <= 1 for cats in result.rows["categories"])


def test_a_lexicon_hit_raises_its_nodes_score(classifier: PrototypeClassifier) -> None:
    node = classifier.leaf_index["search_quality.offensive_results"]
    plain, rude = "this video is about cooking", "this video is about cooking shit"
    scores = classifier.scores(vectors([plain, rude]), [plain, rude])
    without_lexicon = classifier.scores(vectors([plain, rude]), None)
    assert scores[1, node] - without_lexicon[1, node] == pytest.approx(classifier.lexicon_boost, abs=1e-6)
    assert scores[0, node] == pytest.approx(without_lexicon[0, node], abs=1e-6)


def test_a_theme_takes_its_members_node_and_flags_urgent_rows_of_another_node(
    classifier: PrototypeClassifier,
) -> None:
    praise = list(classifier.taxonomy.node("product.praise").examples)
    harm = list(classifier.taxonomy.node("safety.self_harm").examples)
    texts = [*praise, harm[0], *harm[1:]]
    labels = [0] * (len(praise) + 1) + [1] * (len(harm) - 1)
    result = run_classify(classifier, texts, labels, themes_of([0, 1]))
    themes = result.themes.set_index("theme_id")
    assert themes.loc[1, "category_id"] == "safety.self_harm"
    assert themes.loc[1, "severity"] == "critical" and themes.loc[1, "branch"] == "safety"
    assert themes.loc[1, "severity_weight"] == ClassifyConfig().severity_weights["critical"]
    assert themes.loc[0, "category_id"] == "product.praise"
    assert themes.loc[0, "severity_weight"] == classifier.taxonomy.node("product.praise").rank_weight
    assert themes.loc[0, "flagged_rows"] == 1  # the self-harm report inside the praise theme is not lost


def test_a_theme_below_the_minimum_confidence_is_unmapped(classifier: PrototypeClassifier) -> None:
    texts = ["zzqx vvbn", "kkjh ppqo", "wwer ttyu"]
    result = run_classify(classifier, texts, [0, 0, 0], themes_of([0]))
    assert pd.isna(result.themes.loc[0, "category_id"])
    assert result.themes.loc[0, "severity"] == "none" and result.themes.loc[0, "severity_weight"] == 1.0


def test_the_rollup_accounts_for_every_classified_row(classifier: PrototypeClassifier) -> None:
    texts = [*classifier.taxonomy.node("safety.scams").examples, "zzqx vvbn", "hello"]
    result = run_classify(classifier, texts, [0] * len(texts), themes_of([0]))
    table = result.categories
    assert table["rows"].sum() == len(texts)
    assert table["share"].sum() == pytest.approx(1.0)
    assert table["themes"].sum() == 1
    severities = list(table["severity"])
    order = ["critical", "high", "medium", "low", "none"]
    assert severities == sorted(severities, key=order.index)


def test_duplicate_rows_are_scored_once_and_each_counted(classifier: PrototypeClassifier) -> None:
    texts = ["scam ads in results promising free iphones", "love this app"]
    rows = rows_of([texts[0], texts[1], texts[0], texts[0]])
    row_group = np.array([0, 1, 0, 0])
    result = classify(
        rows, vectors(texts), themes_of([]), np.full(4, -1), classifier, ClassifyConfig(), row_group=row_group
    )
    assert len(result.rows) == 4
    assert result.rows["category_id"].tolist()[0::2] == ["safety.scams", "safety.scams"]
    assert int(result.categories.set_index("category")["rows"]["Scams and fraud"]) == 3


def test_user_examples_extend_a_node(tmp_path: Path, taxonomy) -> None:  # type: ignore[no-untyped-def]
    phrase = "the quokka widget wobbles sideways"
    examples = tmp_path / "examples.csv"
    pd.DataFrame({"text": [phrase, phrase + " again"], "node_id": ["product.bug_crash"] * 2}).to_csv(examples)
    extended = PrototypeClassifier(taxonomy, HashingEmbedder(), extra_examples=load_examples(examples, taxonomy)).fit()
    result = run_classify(extended, [phrase], [-1], themes_of([]))
    assert result.rows.loc[0, "category_id"] == "product.bug_crash"


def test_an_examples_file_with_an_unknown_node_names_the_row(tmp_path: Path, taxonomy) -> None:  # type: ignore[no-untyped-def]
    examples = tmp_path / "examples.csv"
    pd.DataFrame({"text": ["x", "y"], "node_id": ["product.bug_crash", "product.nope"]}).to_csv(examples, index=False)
    with pytest.raises(InputError, match=r"examples.csv row 3 column 'node_id': 'product.nope'"):
        load_examples(examples, taxonomy)


def test_a_sure_branch_gives_its_best_leaf_a_label_and_none_turns_it_off(taxonomy) -> None:  # type: ignore[no-untyped-def]
    from pipeline.classify.head import lift

    leaf_branch = np.array([0, 0, 1])
    conf = np.array([[0.2, 0.1, 0.3], [0.2, 0.1, 0.3]], dtype=np.float32)
    scores = np.array([[0.4, 0.6, 0.5], [0.4, 0.6, 0.5]], dtype=np.float32)
    proba = np.array([[0.9, 0.1], [0.7, 0.3]], dtype=np.float32)
    lifted = lift(conf, scores, proba, leaf_branch, 0.8)
    assert lifted[0, 1] == pytest.approx(0.75)  # branch 0 sure (0.9): its best-scoring leaf becomes a label
    assert lifted[0, 0] == conf[0, 0] and lifted[0, 2] == conf[0, 2]
    np.testing.assert_array_equal(lifted[1], conf[1])  # 0.7 < 0.8: nothing changes
    plain = PrototypeClassifier(taxonomy, HashingEmbedder(), branch_min_confidence=None).fit()
    raw = plain.scores(vectors(["zzqx"]))
    np.testing.assert_array_equal(
        plain.confidence_of(raw, plain.branch_proba(vectors(["zzqx"]))), plain.confidence_of(raw)
    )


def test_the_branch_head_knows_the_taxonomys_own_branches(classifier: PrototypeClassifier) -> None:
    texts = [*classifier.taxonomy.node("product.praise").examples, *classifier.taxonomy.node("safety.scams").examples]
    proba = classifier.branch_proba(vectors(texts))
    branches = sorted({classifier.taxonomy.branch_of(n.id) for n in classifier.leaves})
    predicted = [branches[i] for i in proba.argmax(axis=1)]
    assert (
        predicted.count("product") >= 5
        and predicted[-len(classifier.taxonomy.node("safety.scams").examples) :].count("safety") >= 5
    )


def test_a_nodes_own_lexicon_boost_replaces_the_configured_one(classifier: PrototypeClassifier) -> None:
    hate = classifier.taxonomy.node("safety.hate")
    assert hate.lexicon_boost is not None and hate.lexicon_boost != classifier.lexicon_boost
    k = classifier.leaf_index["safety.hate"]
    plain, slur = "they posted about the match", "they posted faggot about the match"
    with_lexicon = classifier.scores(vectors([plain, slur]), [plain, slur])
    without = classifier.scores(vectors([plain, slur]), None)
    assert with_lexicon[1, k] - without[1, k] == pytest.approx(hate.lexicon_boost, abs=1e-6)
    assert with_lexicon[0, k] == pytest.approx(without[0, k], abs=1e-6)


def test_a_sure_branchs_leaves_rank_ahead_of_other_branches() -> None:
    from pipeline.classify.head import branch_first

    leaf_branch = np.array([0, 0, 1])
    scores = np.array([[0.4, 0.3, 0.9], [0.4, 0.3, 0.9]], dtype=np.float32)
    proba = np.array([[0.85, 0.15], [0.7, 0.3]], dtype=np.float32)
    rank = branch_first(scores, proba, leaf_branch, 0.8)
    assert list(np.argsort(-rank[0])) == [0, 1, 2]  # branch 0 sure: its leaves first, their own order kept
    np.testing.assert_array_equal(rank[1], scores[1])  # 0.7 < 0.8: ranked by score alone


def test_a_sure_branch_gives_the_primary_label_even_over_a_higher_scoring_leaf(
    classifier: PrototypeClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.classify import label_texts

    texts = ["a video in search tells you to send bitcoin and get double back, total scam", "go kill yourself loser"]
    branches = sorted({classifier.taxonomy.branch_of(n.id) for n in classifier.leaves})
    sure_product = np.zeros((len(texts), len(branches)), dtype=np.float32)
    sure_product[:, branches.index("product")] = 1.0
    scores = classifier.scores(vectors(texts), texts)
    assert classifier.taxonomy.branch_of(classifier.leaves[int(scores[0].argmax())].id) == "safety"
    monkeypatch.setattr(classifier, "branch_proba", lambda v: sure_product[: len(v)])
    table, _ = label_texts(vectors(texts), texts, classifier, ClassifyConfig())
    assert [classifier.taxonomy.branch_of(c) for c in table["category_id"]] == ["product", "product"]
    assert all(any(classifier.taxonomy.branch_of(c) == "safety" for c in cs) for cs in table["categories"])
    no_head = PrototypeClassifier(classifier.taxonomy, HashingEmbedder(), branch_min_confidence=None).fit()
    np.testing.assert_array_equal(no_head.rank_of(scores, sure_product), scores)


def test_the_branch_head_settings_come_from_the_config(taxonomy) -> None:  # type: ignore[no-untyped-def]
    from pipeline.config import RunConfig
    from pipeline.runner import fit_classifier

    config = RunConfig(classify=ClassifyConfig(branch_min_confidence=0.9, branch_c=0.5))
    fitted = fit_classifier(taxonomy, HashingEmbedder(), config)
    assert fitted.branch_min_confidence == 0.9 and fitted.branch_head_.C == 0.5
    with pytest.raises(ValueError, match="branch_min_confidence"):
        ClassifyConfig(branch_min_confidence=0.4)  # at or below 0.5 two branches could both be "sure"
