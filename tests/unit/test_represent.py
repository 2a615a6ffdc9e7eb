"""Represent: c-TF-IDF keywords, MMR, readable labels and diverse representative verbatims.

The label itself is specified in test_labels.py; here, that represent() writes one per theme and that
the keyword labels (``label_style="keywords"``) are unchanged. spaCy is ``blank:en`` (no model).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from models.embedding import HashingEmbedder
from pipeline.clean import canonical_key
from pipeline.config import RepresentConfig
from pipeline.represent import ctfidf, mmr, represent, terms_of

LOGIN = [
    "Login fails with the right password",
    "Cannot login, password reset never arrives",
    "Password reset email never comes so no login",
    "login fails after update, password rejected",
    "Login fails with the right password!",  # near-duplicate of the first
    "LOGIN FAILS WITH THE RIGHT PASSWORD",  # and another
    "Two factor login code fails every time",
]
SEARCH = [
    "Search results are irrelevant",
    "search results show old items",
    "Search results ignore my filter",
    "The search results page is empty",
    "search results are sorted wrong",
]
OUTLIERS = ["Nice colours", "Why so expensive"]
FAST = RepresentConfig(label_spacy_model="blank:en")
KEYWORD_LABELS = {"label_style": "keywords", "label_spacy_model": "blank:en"}


def _rows(texts: list[str], phrases: list[list[str]] | None = None) -> pd.DataFrame:
    """Clustered rows as the clean stage hands them on (lemmas = lowercased words here)."""
    return pd.DataFrame(
        {
            "clean_text": texts,
            "dup_key": [canonical_key(t) for t in texts],
            "lemmas": [" ".join(w for w in canonical_key(t).split() if w.isalpha()) for t in texts],
            "phrases": phrases or [[] for _ in texts],
        }
    )


def _fixture(config: RepresentConfig | None = None, embedder=None):
    texts = LOGIN + SEARCH + OUTLIERS
    labels = np.array([0] * len(LOGIN) + [1] * len(SEARCH) + [-1] * len(OUTLIERS))
    vectors = HashingEmbedder().encode([canonical_key(t) for t in texts])
    themes = represent(_rows(texts), labels, vectors, config or FAST, embedder=embedder)
    return texts, labels, vectors, themes.set_index("theme_id")


# --- building blocks -------------------------------------------------------------------------


def test_ctfidf_follows_the_documented_formula():
    counts = np.array([[3, 0, 1, 0], [0, 2, 1, 1], [1, 1, 1, 1]], dtype=float)
    got = ctfidf(sparse.csr_matrix(counts)).toarray()
    tf = counts / counts.sum(axis=1, keepdims=True)
    average_words = counts.sum() / counts.shape[0]
    expected = tf * np.log(1 + average_words / counts.sum(axis=0))
    np.testing.assert_allclose(got, expected)


def test_ctfidf_ranks_a_class_specific_term_above_a_shared_one():
    counts = sparse.csr_matrix(np.array([[5, 5], [0, 5]], dtype=float))  # term 0 only in class 0
    scores = ctfidf(counts).toarray()
    assert scores[0, 0] > scores[0, 1]


def test_mmr_without_diversity_is_ordered_by_relevance():
    cands = np.eye(4)
    relevance = np.array([0.2, 0.9, 0.5, 0.7])
    assert mmr(np.zeros(4), cands, relevance, 4, 0.0) == [1, 3, 2, 0]


def test_mmr_with_diversity_skips_a_redundant_candidate():
    a = np.array([1.0, 0.0])
    near_a = np.array([0.99, 0.141])
    b = np.array([0.0, 1.0])
    cands = np.stack([a, near_a, b])
    relevance = np.array([1.0, 0.95, 0.6])
    assert mmr(np.zeros(2), cands, relevance, 2, 0.0) == [0, 1]
    assert mmr(np.zeros(2), cands, relevance, 2, 0.7) == [0, 2]


def test_mmr_returns_at_most_the_candidates():
    assert mmr(np.zeros(2), np.eye(2), np.array([1.0, 0.5]), 10, 0.3) == [0, 1]
    assert mmr(np.zeros(2), np.zeros((0, 2)), np.zeros(0), 3, 0.3) == []


def test_terms_of_removes_stopwords_and_single_letters():
    stop = frozenset({"the", "is", "of"})
    assert terms_of("the app is x slow", ["the app", "speed of light"], stop) == [
        "app",
        "slow",
        "the app",
        "speed of light",
    ]
    assert terms_of("the", ["of the"], stop) == []


# --- represent() -----------------------------------------------------------------------------


def test_one_row_per_theme_with_size_and_unique_texts():
    _, _, _, themes = _fixture()
    assert sorted(themes.index) == [0, 1]
    assert themes.loc[0, "size"] == len(LOGIN)
    assert themes.loc[0, "unique_texts"] == len(LOGIN) - 2  # two near-duplicates
    assert themes.loc[1, "size"] == len(SEARCH)


def test_keywords_are_distinctive_for_their_theme():
    _, _, _, themes = _fixture()
    login, search = themes.loc[0, "keywords"], themes.loc[1, "keywords"]
    assert {"login", "password"} <= set(login[:4])
    assert {"search", "results"} <= set(search[:4])
    assert not {"search", "results"} & set(login)
    assert len(login) <= RepresentConfig().n_keywords


def test_keyword_embeddings_diversify_but_stay_among_the_candidates():
    _, _, _, ranked = _fixture(FAST.model_copy(update={"n_keywords": 30, "n_candidates": 30}))  # all, by c-TF-IDF
    _, _, _, diverse = _fixture(FAST.model_copy(update={"n_keywords": 6, "mmr_diversity": 0.9}), HashingEmbedder())
    for theme in (0, 1):
        keywords = diverse.loc[theme, "keywords"]
        assert set(keywords) <= set(ranked.loc[theme, "keywords"])
        assert len(keywords) == len(set(keywords)) == min(6, len(ranked.loc[theme, "keywords"]))


@pytest.mark.parametrize("label_terms", [1, 3])
def test_label_is_made_of_the_top_keywords(label_terms):
    _, _, _, themes = _fixture(RepresentConfig(label_terms=label_terms, **KEYWORD_LABELS))
    label = themes.loc[0, "label"]
    parts = [p.strip().lower() for p in label.split(",")]
    assert len(parts) == label_terms
    assert set(parts) <= set(themes.loc[0, "keywords"])
    assert label[0].isupper()


def test_label_does_not_repeat_a_word_across_keyphrases():
    texts = ["password reset broken"] * 3 + ["reset link expired"] * 3
    phrases = [["password reset"]] * 3 + [["reset link"]] * 3
    rows = _rows(texts, phrases)
    rows["dup_key"] = [f"k{i}" for i in range(len(texts))]
    labels = np.zeros(len(texts), dtype=int)
    themes = represent(rows, labels, HashingEmbedder().encode(texts), RepresentConfig(label_terms=3, **KEYWORD_LABELS))
    words = themes.loc[0, "label"].lower().replace(",", " ").split()
    assert len(words) == len(set(words))


def test_label_has_no_repeated_words_even_when_a_phrase_repeats_one():
    loves = ["Love love love this app"] * 6  # clean._terms: lemmas below, phrases ['love love']
    others = [f"I love the sync, love it, love {w}" for w in "abcdefghijklmnopqrstuvwxyz"]
    rows = _rows(loves + others, [["love love"]] * len(loves) + [["sync"]] * len(others))
    labels = np.array([0] * len(loves) + [1] * len(others))
    themes = represent(rows, labels, HashingEmbedder().encode(loves + others), RepresentConfig(**KEYWORD_LABELS))
    words = themes.loc[0, "label"].lower().replace(",", " ").split()
    assert len(words) == len(set(words)), themes.loc[0, "label"]


def test_theme_without_keywords_gets_a_stand_in_label():
    rows = _rows(["the and of", "it is the"])
    vectors = HashingEmbedder().encode(["a b", "c d"])
    assert represent(rows, np.array([0, 0]), vectors, RepresentConfig(**KEYWORD_LABELS)).loc[0, "label"] == (
        "(no keywords)"
    )
    themes = represent(rows, np.array([0, 0]), vectors, FAST)
    assert themes.loc[0, "label"] == "Other feedback"
    assert themes.loc[0, "keywords"] == []


def test_phrase_labels_are_short_distinct_sentence_case_phrases_of_the_theme():
    _, _, _, themes = _fixture(embedder=HashingEmbedder())
    login, search = themes.loc[0, "label"], themes.loc[1, "label"]
    assert login != search
    for label in (login, search):
        assert "," not in label and 1 <= len(label.split()) <= FAST.label_max_words
        assert label[0].isupper()
    assert {"login", "password"} & set(login.lower().split())
    assert "search" in search.lower()


def test_keywords_stay_a_column_beside_the_phrase_label():
    _, _, _, themes = _fixture(embedder=HashingEmbedder())
    _, _, _, old = _fixture(RepresentConfig(**KEYWORD_LABELS), embedder=HashingEmbedder())
    assert themes.loc[0, "keywords"] == old.loc[0, "keywords"]
    assert themes.loc[0, "label"] != old.loc[0, "label"]


def test_representatives_are_members_and_not_near_duplicates_of_each_other():
    texts, labels, vectors, themes = _fixture()
    for theme in (0, 1):
        reps = themes.loc[theme, "representatives"]
        members = [t for t, lab in zip(texts, labels, strict=True) if lab == theme]
        assert 1 <= len(reps) <= RepresentConfig().n_representatives
        assert set(reps) <= set(members)
        keys = [canonical_key(r) for r in reps]
        assert len(keys) == len(set(keys))
        rep_vecs = vectors[[texts.index(r) for r in reps]]
        sims = rep_vecs @ rep_vecs.T
        assert (sims[~np.eye(len(reps), dtype=bool)] <= 0.95 + 1e-6).all()


def test_the_first_representative_is_the_member_nearest_the_centroid():
    texts, labels, vectors, themes = _fixture()
    centroid = np.array(themes.loc[1, "centroid"])
    members = np.flatnonzero(labels == 1)
    nearest = texts[members[np.argmax(vectors[members] @ centroid)]]
    assert themes.loc[1, "representatives"][0] == nearest


def test_centroid_is_the_normalized_mean_of_the_members():
    _, labels, vectors, themes = _fixture()
    mean = vectors[labels == 0].mean(axis=0)
    np.testing.assert_allclose(themes.loc[0, "centroid"], mean / np.linalg.norm(mean), atol=1e-6)


def test_outliers_only_give_an_empty_table():
    rows = _rows(OUTLIERS)
    themes = represent(rows, np.array([-1, -1]), HashingEmbedder().encode(OUTLIERS), FAST)
    assert themes.empty
    assert "label" in themes.columns
