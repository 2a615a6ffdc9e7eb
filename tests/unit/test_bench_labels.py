"""benchmarks.labels: names read as text, and the label scores (with a model-free judge)."""

from __future__ import annotations

import json

import pytest

from benchmarks.labels import bertopic_name, intent_name, merge, score_labels
from models.embedding import HashingEmbedder


def test_names_read_as_text():
    assert intent_name("card_arrival") == "card arrival"
    assert bertopic_name("12_card_arrived_yet_my") == "card arrived yet my"


def test_scores_count_duplicates_placeholders_and_the_nearest_intent():
    names = ["card_arrival", "declined_card_payment", "change_pin"]
    labels = ["Card arrival is late", "declined card payment", "Card arrival is late", "Ask [PERSON] to change pin"]
    intents = ["card_arrival", "declined_card_payment", "change_pin", "change_pin"]
    scores = score_labels(labels, intents, names, HashingEmbedder())
    assert scores["duplicate_labels"] == 2 and scores["placeholder_labels"] == 1 and scores["n_themes"] == 4
    assert scores["label_intent_top1"] == pytest.approx(0.75)  # the third label is nearer card_arrival
    exact = score_labels(["card arrival"], ["card_arrival"], names, HashingEmbedder())
    assert exact["label_intent_cosine"] == pytest.approx(1.0, abs=1e-5)


def test_merge_replaces_only_the_records_measured_again(tmp_path):
    path = tmp_path / "RESULTS.json"
    old = [
        {"section": "labels", "dataset": "d", "system": "phrase", "config": "judge=a", "value": 1},
        {"section": "labels", "dataset": "d", "system": "phrase", "config": "judge=b", "value": 2},
        {"section": "speed", "dataset": "d", "system": "phrase", "config": "judge=a", "value": 3},
    ]
    path.write_text(json.dumps(old), encoding="utf-8")
    new = [{"section": "labels", "dataset": "d", "system": "phrase", "config": "judge=a", "value": 9}]
    assert sorted(r["value"] for r in merge(path, new)) == [2, 3, 9]


def test_reading_scores_count_keyword_coverage_sentiment_and_brand_only_labels():
    from benchmarks.label_reading import reading_scores

    labels = ["It is good", "Ebay app", "Songs skip when offline", "Love Netflix"]
    keywords = [["good", "love"], ["ebay", "paypal", "auction"], ["song", "offline", "spotify"], ["netflix", "movie"]]
    scores = reading_scores(labels, keywords, brands=("ebay", "netflix", "spotify"))
    assert scores["keyword_coverage"] == 0.5  # "good" (a non-brand keyword) and "offline"; not paypal, not movie
    assert scores["sentiment_only"] == 1  # "It is good"; "Love Netflix" names a brand
    assert scores["brand_only"] == 1  # "Ebay app"
