"""The clean stage's on-disk cache of the spaCy work: same table with or without it, never trusted blindly."""

import json

import pandas as pd
import pytest

import pipeline.clean as clean_module
from pipeline.clean import clean
from pipeline.clean_cache import AnalysisCache, analysis_identity, analysis_key
from pipeline.config import CleanConfig
from pipeline.ingest import ingest_frame

_TEXTS = [
    "My friend John Smith keeps sending me scam links every day on this app",
    "searched for diet tips and got videos showing results",
    "Netflix stopped working after the update, Netflix support did not answer",
    "the app crashes when I open the settings page",
    "Mary Johnson said the refund never arrived",
]


def _rows(texts=None):
    texts = texts or [*_TEXTS, *(f"{t} {i}" for i, t in enumerate(_TEXTS * 2)), "My neighbour Carlos Ortega left"]
    return ingest_frame(pd.DataFrame({"text": texts})).rows


def _shards(root):
    return sorted(root.glob("clean/*/shard-*.json"))


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["fast", "full"])
def test_cold_and_warm_cached_runs_give_the_table_of_an_uncached_run(tmp_path, mode):
    rows = _rows()
    config = CleanConfig(mode=mode, use_cache=True)
    plain = clean(rows, config)
    cold = clean(rows, config, cache_dir=tmp_path)
    assert len(_shards(tmp_path)) == 2  # the spaCy work and the language labels
    warm = clean(rows, config, cache_dir=tmp_path)
    assert len(_shards(tmp_path)) == 2  # nothing new to write
    pd.testing.assert_frame_equal(cold, plain)
    pd.testing.assert_frame_equal(warm, plain)
    assert "[PERSON]" in plain["clean_text"].iloc[-1]  # the names really went through the cached spans
    assert not any("Carlos" in shard.read_text(encoding="ascii") for shard in _shards(tmp_path))  # offsets only


@pytest.mark.slow
def test_a_warm_run_does_no_spacy_work(tmp_path, monkeypatch):
    rows = _rows()
    clean(rows, CleanConfig(use_cache=True), cache_dir=tmp_path)
    calls = []
    real = clean_module.analyse_texts

    def counting(texts, *args, **kwargs):
        calls.append(len(texts))
        return real(texts, *args, **kwargs)

    def no_language_work(texts):
        assert not texts, "a cached text's language was identified again"
        return []

    monkeypatch.setattr(clean_module, "analyse_texts", counting)
    monkeypatch.setattr(clean_module, "detect_languages", no_language_work)
    clean(rows, CleanConfig(use_cache=True), cache_dir=tmp_path)
    assert calls == [0]
    monkeypatch.undo()
    monkeypatch.setattr(clean_module, "analyse_texts", counting)
    clean(_rows([*_TEXTS, "a brand new text about refunds"]), CleanConfig(use_cache=True), cache_dir=tmp_path)
    assert calls[-1] >= 1  # only the texts not seen (or seen with other common words) are analysed


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["torn", "wrong_shape", "other_identity"])
def test_a_damaged_shard_is_skipped_and_its_texts_analysed_again(tmp_path, damage):
    rows = _rows()
    plain = clean(rows, CleanConfig(use_cache=True))
    clean(rows, CleanConfig(use_cache=True), cache_dir=tmp_path)
    (shard,) = AnalysisCache(tmp_path, analysis_identity(CleanConfig(use_cache=True))).dir.glob("shard-*.json")
    raw = shard.read_text(encoding="ascii")
    if damage == "torn":
        shard.write_text(raw[: len(raw) // 2], encoding="ascii")
    else:
        data = json.loads(raw)
        if damage == "wrong_shape":
            key = next(iter(data["entries"]))
            data["entries"][key] = ["lemmas", "not a list", []]
        else:
            data["identity"] = "something else"
        shard.write_text(json.dumps(data), encoding="ascii")
    again = clean(rows, CleanConfig(use_cache=True), cache_dir=tmp_path)
    pd.testing.assert_frame_equal(again, plain)
    assert len(_shards(tmp_path)) == 3  # the texts were analysed again and written to a new shard


def test_use_cache_false_reads_and_writes_nothing(tmp_path):
    rows = _rows(["the app crashes on start", "refund never arrived"])
    config = CleanConfig(spacy_model="blank:en", use_cache=False)
    clean(rows, config, cache_dir=tmp_path)
    assert not (tmp_path / "clean").exists()
    clean(rows, config.model_copy(update={"use_cache": True}), cache_dir=tmp_path)
    assert len(_shards(tmp_path)) == 2


def test_a_callers_own_nlp_is_never_cached(tmp_path):
    from models.nlp import load_spacy

    clean(
        _rows(["the app crashes on start"]), CleanConfig(use_cache=True), nlp=load_spacy("blank:en"), cache_dir=tmp_path
    )
    assert not (tmp_path / "clean").exists()


def test_the_key_holds_the_common_words_that_steer_ner_and_the_identity_the_settings():
    assert analysis_key("my Kindle from Anna") == analysis_key("my Kindle from Anna", ())
    assert analysis_key("my Kindle from Anna", {"kindle"}) != analysis_key("my Kindle from Anna")
    fast, full = (
        analysis_identity(CleanConfig(mode="fast", use_cache=True)),
        analysis_identity(CleanConfig(mode="full", use_cache=True)),
    )
    assert fast is not None and full is not None and fast != full
    assert analysis_identity(CleanConfig(redact_names=False, use_cache=True)) != fast
    assert analysis_identity(CleanConfig(spacy_model="/no/such/model", use_cache=True)) is None


def test_shards_from_two_writers_are_both_read(tmp_path):
    cache = AnalysisCache(tmp_path, "identity")
    cache.put_many({"a" * 32: (("x", ["p q"]), [(0, 4)])})
    AnalysisCache(tmp_path, "identity").put_many({"b" * 32: (("y", []), [])})
    found = AnalysisCache(tmp_path, "identity").get_many(["a" * 32, "b" * 32, "c" * 32])
    assert found == {"a" * 32: (("x", ["p q"]), [(0, 4)]), "b" * 32: (("y", []), [])}
    assert not list(tmp_path.glob("clean/*/.*"))  # no temporary file left behind


def test_the_cache_is_off_unless_asked_for(tmp_path):
    """Its entries hold the lowercased words of texts before names are redacted: opt-in only."""
    clean(_rows(), CleanConfig(), cache_dir=tmp_path)
    assert CleanConfig().use_cache is False
    assert _shards(tmp_path) == []
