"""The fast clean mode: lookup lemmas, word-pair phrases, NER only where a name can be."""

import os
import sys

import pandas as pd
import pytest

import pipeline.clean as clean_module
from pipeline.clean import _has_name_hint, _name_windows, clean, common_capitalized, detect_languages
from pipeline.config import CleanConfig
from pipeline.ingest import ingest_frame


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("my friend John keeps sending me spam", True),
        ("Search is broken. Results are old", False),  # sentence-initial capitals only
        ("i hate this app so much", False),
        ("I think The results are bad", False),  # "I" and stopwords are not names
        ("videos from Mary Jones show up", True),
    ],
)
def test_name_hint_flags_only_capitalized_words_inside_a_sentence(text, hint):
    assert _has_name_hint(text) is hint


def test_name_windows_cover_each_capitalized_word_with_context_and_merge_overlaps():
    filler = "and then it stopped working again " * 5
    text = f"my friend John Smith said {filler}so I asked Mary about it"
    windows = _name_windows(text)
    assert len(windows) == 2
    (a1, b1), (a2, b2) = windows
    assert a1 == 0 and "John Smith said" in text[a1:b1]  # both names in one window
    assert "asked Mary about it" in text[a2:b2] and b2 == len(text)
    assert b1 < a2 and text[a2 - 1] == " "  # cut between words, never inside one
    assert _name_windows("no capitals here at all") == []
    assert _name_windows("The app and I") == []  # stopwords are no names


def testcommon_capitalized_words_are_no_anchors_for_name_windows():
    texts = [f"my Kindle crashed {i} times" for i in range(3)] + ["a kindle note from Anna"]
    common = common_capitalized(texts)
    assert common == {"kindle"}  # in 3 of 4 texts (at least 3, and 0.1%)
    assert _name_windows(texts[0], common) == []
    assert _name_windows("my Kindle from Anna", common) == [(0, len("my Kindle from Anna"))]


def _clean_fast(texts):
    return clean(ingest_frame(pd.DataFrame({"text": texts})).rows, CleanConfig(mode="fast"))


@pytest.mark.slow
def test_fast_mode_lemmatizes_with_the_lookup_table_and_pairs_content_words():
    out = _clean_fast(["searched for diet tips and got videos showing results"])
    assert out.loc[0, "lemmas"].split()[:3] == ["search", "for", "diet"]
    assert "diet tip" in out.loc[0, "phrases"]
    assert out.loc[0, "clean_text"] == "searched for diet tips and got videos showing results"  # not lowercased


@pytest.mark.slow
def test_the_lemma_lookup_gives_exactly_the_lookup_lemmatizers_lemmas():
    from models.nlp import lemma_lookup, load_lemmatizer

    nlp = load_lemmatizer()
    lemma_of = lemma_lookup(nlp)
    text = "The videos were loading slowly, ads kept popping up and I couldn't find the children's settings"
    doc = nlp(text)
    assert [lemma_of(t.text) for t in doc] == [t.lemma_ for t in doc]
    assert lemma_of("videos") == "video" and lemma_of("were") == "be"
    assert lemma_lookup(load_lemmatizer("xx"))("videos") == ""  # no table: the caller keeps the word as it is


def test_fast_mode_redacts_a_name_inside_a_sentence():
    out = _clean_fast(["My friend John Smith keeps sending me scam links every day on this app"])
    assert "[PERSON]" in out.loc[0, "clean_text"]
    assert "John" not in out.loc[0, "clean_text"]


@pytest.mark.slow
def test_fast_mode_redacts_names_far_apart_in_a_long_text():
    filler = "the app keeps crashing when I open the settings page " * 8
    out = _clean_fast([f"my friend John Smith told me {filler}and later my sister Mary Johnson agreed with him"])
    text = out.loc[0, "clean_text"]
    assert "John" not in text and "Mary Johnson" not in text
    assert text.count("[PERSON]") == 2
    assert filler.strip() in text


@pytest.mark.slow
def test_spacy_work_split_over_processes_gives_the_same_table_as_one_process(monkeypatch):
    texts = [
        "My friend John Smith keeps sending me scam links every day on this app",
        "searched for diet tips and got videos showing results",
        "Netflix stopped working after the update, Netflix support did not answer",
        "the app crashes when I open the settings page",
        "Mary Johnson said the refund never arrived",
    ]
    texts += [f"{t} {i}" for i, t in enumerate(texts * 2)]  # each name in 3 texts: kept as a public name
    texts.append("My neighbour Carlos Ortega borrowed my phone")
    rows = ingest_frame(pd.DataFrame({"text": texts})).rows
    one = clean(rows, CleanConfig(mode="fast", n_process=1))
    detected_here: list[str] = []

    def recording(batch: list[str]) -> list[str | None]:
        detected_here.extend(batch)
        return detect_languages(batch)

    monkeypatch.setattr(clean_module, "detect_languages", recording)
    split = clean(rows, CleanConfig(mode="fast", n_process=2, n_process_min_texts=2))
    for column in ("clean_text", "lemmas", "phrases", "language", "dup_key", "excluded"):
        assert split[column].tolist() == one[column].tolist(), column
    # The workers told the languages; this process detected only the text redaction changed.
    assert detected_here == ["My neighbour [PERSON] borrowed my phone"]
    assert "John Smith" in split.loc[0, "clean_text"]
    assert split["clean_text"].tolist()[-1] == "My neighbour [PERSON] borrowed my phone"


@pytest.mark.parametrize(
    ("source", "split"),
    [
        ('from pipeline import run\nrun("export.csv")\n', False),  # would run again in every worker
        ('from pipeline import run\n\nif __name__ == "__main__":\n    run("export.csv")\n', True),
        ("import sys\nif '__main__' == __name__:\n    sys.exit(0)\n", True),
        (None, True),  # a REPL, a notebook or python -c: no main file
    ],
)
def test_workers_are_spawned_only_when_the_main_script_cannot_run_again(tmp_path, monkeypatch, source, split):
    from types import ModuleType

    from pipeline.clean.analysis import _workers

    main = ModuleType("__main__")
    if source is not None:
        script = tmp_path / "script.py"
        script.write_text(source, encoding="utf-8")
        main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", main)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    config = CleanConfig(n_process=2, n_process_min_texts=10)
    assert _workers(config, None, 100) == (2 if split else 1)
    assert _workers(config, None, 9) == 1  # too few texts to pay for starting workers
