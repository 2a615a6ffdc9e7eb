"""Embed: one vector per duplicate group, and the on-disk cache that makes re-runs cheap."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.embedding import HashingEmbedder, make_embedder
from pipeline.clean import clean
from pipeline.config import CleanConfig
from pipeline.embed import CachedEmbedder, embed
from pipeline.ingest import ingest_frame
from pipeline.store import EmbeddingCache, text_key


class CountingEmbedder:
    """HashingEmbedder that records every text it is asked to encode."""

    def __init__(self, identity: str = "counting-test") -> None:
        self.inner = HashingEmbedder(dim=32)
        self._identity = identity
        self.seen: list[str] = []

    @property
    def identity(self) -> str:
        return self._identity

    def encode(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        self.seen.extend(texts)
        return self.inner.encode(texts)


def _cleaned(texts: list[str], blank_nlp) -> pd.DataFrame:
    rows = ingest_frame(pd.DataFrame({"text": texts})).rows
    return clean(rows, CleanConfig(spacy_model="blank:en"), nlp=blank_nlp)


# --- HashingEmbedder -------------------------------------------------------------------------


def test_hashing_embedder_is_deterministic_and_normalized():
    texts = ["search is broken", "dark mode please", ""]
    a, b = HashingEmbedder().encode(texts), HashingEmbedder().encode(texts)
    assert a.dtype == np.float32 and a.shape == (3, 256)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.linalg.norm(a[:2], axis=1), 1.0, rtol=1e-5)
    assert not a[2].any()  # no features, no direction


def test_hashing_embedder_puts_similar_texts_closer():
    v = HashingEmbedder().encode(["search results are wrong", "wrong search results", "I love the colours"])
    assert v[0] @ v[1] > v[0] @ v[2]


def test_make_embedder_hashing_is_model_free():
    assert isinstance(make_embedder("hashing"), HashingEmbedder)


# --- embed() ---------------------------------------------------------------------------------


def test_each_duplicate_group_is_embedded_once(blank_nlp):
    rows = _cleaned(["Login fails!", "login fails", "", "Search is slow", "LOGIN FAILS"], blank_nlp)
    fake = CountingEmbedder()
    out = embed(rows, fake)
    assert fake.seen == ["Login fails!", "Search is slow"]  # the first text of each group
    assert out.row_group.tolist() == [0, 0, -1, 1, 0]
    assert out.group_first_row.tolist() == [0, 3]
    assert out.vectors.shape == (2, 32)


def test_row_vectors_repeat_group_vectors_for_duplicates(blank_nlp):
    rows = _cleaned(["Login fails!", "login fails", "", "Search is slow"], blank_nlp)
    out = embed(rows, CountingEmbedder())
    vectors = out.row_vectors()
    assert vectors.shape == (3, 32)  # excluded row left out, duplicates repeated
    np.testing.assert_array_equal(vectors[0], vectors[1])
    np.testing.assert_array_equal(vectors[2], out.vectors[1])


def test_no_usable_rows_embeds_nothing(blank_nlp):
    rows = _cleaned(["", "   "], blank_nlp)
    fake = CountingEmbedder()
    out = embed(rows, fake)
    assert fake.seen == []
    assert out.vectors.shape[0] == 0
    assert (out.row_group == -1).all()


# --- cache -----------------------------------------------------------------------------------


def test_second_call_computes_nothing(tmp_path):
    texts = ["one text", "two text", "three text"]
    fake = CountingEmbedder()
    first = CachedEmbedder(fake, EmbeddingCache(tmp_path, fake.identity)).encode(texts)
    fake.seen.clear()
    again = CachedEmbedder(fake, EmbeddingCache(tmp_path, fake.identity))
    second = again.encode(texts)
    assert fake.seen == []
    assert (again.hits, again.misses) == (3, 0)
    np.testing.assert_array_equal(first, second)


def test_grown_input_computes_only_the_new_texts(tmp_path):
    fake = CountingEmbedder()
    CachedEmbedder(fake, EmbeddingCache(tmp_path, fake.identity)).encode(["old a", "old b"])
    fake.seen.clear()
    cached = CachedEmbedder(fake, EmbeddingCache(tmp_path, fake.identity))
    vectors = cached.encode(["new c", "old a", "new d", "old b", "new c"])
    assert fake.seen == ["new c", "new d"]  # each new text once, even if repeated
    assert (cached.hits, cached.misses) == (2, 3)
    np.testing.assert_allclose(vectors, fake.inner.encode(["new c", "old a", "new d", "old b", "new c"]), atol=1e-6)


def test_cache_is_keyed_by_model_identity(tmp_path):
    a, b = CountingEmbedder("model-a"), CountingEmbedder("model-b")
    CachedEmbedder(a, EmbeddingCache(tmp_path, a.identity)).encode(["same text"])
    CachedEmbedder(b, EmbeddingCache(tmp_path, b.identity)).encode(["same text"])
    assert b.seen == ["same text"]


def test_embed_through_the_cache_reuses_vectors_across_runs(tmp_path, blank_nlp):
    rows = _cleaned(["Login fails!", "Search is slow", "login fails"], blank_nlp)
    fake = CountingEmbedder()
    embed(rows, CachedEmbedder(fake, EmbeddingCache(tmp_path, fake.identity)))
    fake.seen.clear()
    grown = _cleaned(["Login fails!", "Search is slow", "login fails", "New complaint about maps"], blank_nlp)
    embed(grown, CachedEmbedder(fake, EmbeddingCache(tmp_path, fake.identity)))
    assert fake.seen == ["New complaint about maps"]


def test_cache_keys_ending_in_nul_bytes_survive_a_round_trip(tmp_path):
    cache = EmbeddingCache(tmp_path, "nul-test")
    keys = [b"\x01" * 15 + b"\x00", b"\x00" * 16, text_key("plain")]
    vectors = np.eye(3, 4, dtype=np.float32)
    cache.put_many(keys, vectors)
    found, missing = EmbeddingCache(tmp_path, "nul-test").get_many(keys)
    assert missing == []
    np.testing.assert_array_equal(found, vectors)


def test_a_shard_without_its_keys_file_is_ignored(tmp_path):
    cache = EmbeddingCache(tmp_path, "crash-test")
    cache.put_many([text_key("a")], np.ones((1, 4), np.float32))
    for keys_file in cache.dir.glob("*.keys.npy"):
        keys_file.unlink()  # as if the process died between the two writes
    assert len(EmbeddingCache(tmp_path, "crash-test")) == 0


def test_without_a_cache_everything_is_computed():
    fake = CountingEmbedder()
    cached = CachedEmbedder(fake, None)
    cached.encode(["a b c", "d e f"])
    cached.encode(["a b c"])
    assert fake.seen == ["a b c", "d e f", "a b c"]
    assert cached.misses == 3


def test_encoding_no_texts_through_the_cache_returns_an_empty_array(tmp_path):
    fake = CountingEmbedder()
    out = CachedEmbedder(fake, EmbeddingCache(tmp_path, fake.identity)).encode([])
    assert len(out) == 0
