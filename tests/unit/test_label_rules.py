"""A label says what its theme is about: distinctive keywords held, no contradiction of the keywords."""

from __future__ import annotations

from collections import Counter

from pipeline.label_rules import brand_words, general_labels, judge, stem, stems_of, theme_keys

STOP = frozenset({"it", "is", "to", "the", "for", "me", "just", "any", "with", "this", "on", "very", "have"})


def _judge(label: str, keywords: list[str], brands: frozenset[str] = frozenset()) -> tuple[float, bool, float]:
    keys = theme_keys(keywords, set(brands))
    return judge(stems_of(label, stop=STOP), keys, every=stems_of(label))


def test_stems_fold_plural_past_and_ing_forms_but_keep_distinct_words_apart():
    assert stem("crashes") == stem("crashed") == stem("crashing") == stem("crash")
    assert stem("updates") == stem("updated") == stem("update")
    assert stem("notes") == stem("note") != stem("not")  # a note is not a negation


def test_distinctive_keywords_leave_out_sentiment_filler_and_brands():
    keys = theme_keys(["netflix", "good", "app", "movie", "love netflix", "watch"], {"netflix"})
    assert keys.distinctive[0] == frozenset({stem("movie")})
    assert frozenset({"watch"}) in keys.distinctive
    assert not any(stem("netflix") in d or "good" in d for d in keys.distinctive)


def test_a_label_holding_a_first_distinctive_keyword_hits_one_without_it_does_not():
    keywords = ["work", "great app", "crash", "problem", "desktop"]
    coverage, hits, penalty = _judge("App crashes after the latest update", keywords)
    assert hits and coverage > 0 and penalty == 0
    assert not _judge("Works fine on my laptop", keywords)[1]


def test_generic_words_only_are_a_contradiction():
    assert _judge("Ebay app", ["ebay", "paypal", "auction"], frozenset({"ebay"}))[2] >= 1
    assert _judge("It is good", ["good", "love", "song"])[2] >= 1
    assert _judge("Paypal checkout fails", ["ebay", "paypal", "auction"], frozenset({"ebay"}))[2] == 0


def test_an_opposite_of_a_keyword_is_a_contradiction():
    keywords = ["slow", "load", "slow app", "laggy"]
    assert _judge("Very fast loading", keywords)[2] >= 1
    assert _judge("Slow to load", keywords)[2] == 0


def test_praise_or_a_denied_problem_contradicts_a_complaint_theme():
    keywords = ["crash", "problem", "desktop"]
    assert _judge("It works just great for me", keywords)[2] >= 1
    assert _judge("Don't have any problems with this app", keywords)[2] >= 1
    assert _judge("Crashes on the desktop client", keywords)[2] == 0
    assert _judge("Works great on the desktop", ["desktop", "sync", "notebook"])[2] == 0  # not a complaint theme


def test_a_theme_of_sentiment_words_only_is_general_praise_or_complaints():
    assert theme_keys(["good", "love", "like", "superb", "cool", "shniggdy"], set()).sentiment_only()
    assert not theme_keys(["good", "song", "love"], set()).sentiment_only()
    assert not theme_keys([], set()).sentiment_only()
    assert general_labels(["good", "love", "like"])[0] == "General praise"
    assert general_labels(["worst", "hate", "bad"])[0] == "General complaints"


def test_brands_are_words_written_as_proper_nouns_or_keywords_of_many_themes():
    forms = {"netflix": Counter({"Netflix": 5, "netflix": 1}), "pin": Counter({"PIN": 4}), "song": Counter({"song": 9})}
    brands = brand_words(forms, [["song"], ["movie"], ["tv"]])
    assert stem("netflix") in brands and "pin" not in brands and "song" not in brands
    shared = brand_words({}, [["card", "arrive"], ["card", "decline"], ["card", "pin"], ["top up"]])
    assert "card" in shared and "arriv" not in shared


def test_a_word_named_as_a_product_in_two_keyword_phrases_is_a_brand():
    brands = brand_words({}, [["ebay app", "paypal"], ["love ebay", "auction"], ["music app", "song"]])
    assert stem("ebay") in brands and "music" not in brands  # "music app" alone does not make music a product
