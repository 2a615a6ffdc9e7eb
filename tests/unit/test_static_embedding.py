"""The static embedder: selection by config, the distilled table, averaging, the cached build, a real run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO

from models.embedding import SentenceTransformerEmbedder, make_embedder
from models.static_embedding import (
    META_FILE,
    PCA_DIMS,
    TOKENIZER_FILE,
    VECTORS_FILE,
    StaticEmbedder,
    distil,
)
from pipeline.config import EmbedConfig
from pipeline.errors import ModelError

# --- selection and identity (no model loaded) ---------------------------------------------------------


def test_config_and_make_embedder_select_the_static_backend(tmp_path):
    assert EmbedConfig(backend="static").backend == "static"
    embedder = make_embedder("default", backend="static", cache_dir=tmp_path)
    assert isinstance(embedder, StaticEmbedder)
    assert embedder.build_dir.parent == tmp_path / "static"
    assert not (tmp_path / "static").exists()  # nothing is built before the first text


def test_identity_names_the_source_model_and_the_recipe(tmp_path):
    identity = StaticEmbedder("default", cache_dir=tmp_path).identity
    assert identity.startswith(SentenceTransformerEmbedder("default").identity)
    assert f"[static-pca{PCA_DIMS}-sif1e-05-r1]" in identity
    onnx = make_embedder("default", backend="onnx-int8", cache_dir=tmp_path).identity
    assert identity != onnx  # the embedding cache keeps the two backends' vectors apart


def test_empty_input_builds_nothing(tmp_path):
    embedder = StaticEmbedder("default", cache_dir=tmp_path)
    assert embedder.encode([]).shape == (0, 0)
    assert not (tmp_path / "static").exists()


def test_sif_weights_shrink_the_frequent_tokens_most():
    from sklearn.decomposition import PCA

    raw = np.random.default_rng(0).normal(size=(500, 24)).astype(np.float32)
    table = distil(raw, dims=8, sif=1e-3)
    reduced = PCA(n_components=8, svd_solver="full").fit_transform(raw.astype(np.float64))
    weight = np.linalg.norm(table, axis=1) / np.linalg.norm(reduced, axis=1)
    assert table.shape == (500, 8) and table.dtype == np.float32
    assert np.all(np.diff(weight) > 0)  # a later (rarer) vocabulary entry always weighs more
    assert 0 < weight[0] < weight[-1] < 1


def test_a_failed_distillation_is_a_one_line_model_error(tmp_path):
    embedder = StaticEmbedder(str(tmp_path / "no-such-model"), cache_dir=tmp_path)
    with pytest.raises(ModelError, match="Distilling the static embedder") as caught:
        embedder.encode(["hello"])
    assert "\n" not in str(caught.value)
    assert not any((tmp_path / "static").glob("*/" + VECTORS_FILE))


# --- a tiny random BERT, distilled for real (a second or two) ------------------------------------------


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A one-layer random BERT with MiniLM's tokenizer, saved as a sentence-transformers model."""
    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel

    from models.embedding import _default_model_path

    root = tmp_path_factory.mktemp("tiny-st")
    bert_dir, st_dir = root / "bert", root / "st"
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64)  # fmt: skip
    BertModel(config).save_pretrained(bert_dir)
    source = _default_model_path()
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(source / name, bert_dir / name)
    transformer = models.Transformer(str(bert_dir))
    SentenceTransformer(modules=[transformer, models.Pooling(32, "mean")], device="cpu").save(str(st_dir))
    return st_dir


@pytest.fixture(scope="module")
def built(tiny_model, tmp_path_factory) -> StaticEmbedder:
    embedder = StaticEmbedder(str(tiny_model), cache_dir=tmp_path_factory.mktemp("static-cache"))
    embedder.encode(["warm up"])
    return embedder


def test_the_build_publishes_a_table_per_vocabulary_token(built):
    folder = built.build_dir
    table = np.load(folder / VECTORS_FILE)
    meta = json.loads((folder / META_FILE).read_text())
    assert table.shape == (30522, 32)  # PCA keeps at most the model's own 32 dimensions
    assert meta["identity"] == built.identity and meta["tokens"] == 30522
    assert (folder / TOKENIZER_FILE).is_file()
    assert built.build_seconds is not None
    assert not list(folder.parent.glob(".build-*"))  # the work folder is gone


def test_a_texts_vector_is_the_normalized_mean_of_its_token_rows(built):
    from tokenizers import Tokenizer

    folder = built.build_dir
    table = np.load(folder / VECTORS_FILE)
    ids = Tokenizer.from_file(str(folder / TOKENIZER_FILE)).encode("Refund never arrived", add_special_tokens=False).ids
    expected = table[ids].mean(axis=0)
    got = built.encode(["Refund never arrived"])[0]
    np.testing.assert_allclose(got, expected / np.linalg.norm(expected), atol=1e-6)
    np.testing.assert_allclose(built.encode(["Refund never arrived refund never arrived"])[0], got, atol=1e-6)


def test_vectors_have_unit_length_and_do_not_depend_on_the_batch(built):
    texts = ["The app crashes on start.", "ok", "😀", "Refund still not received after two weeks."] * 3
    together = built.encode(texts)
    assert together.shape == (12, 32)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)  # the emoji gets [UNK]'s row
    alone = np.vstack([built.encode([t]) for t in texts[:4]])
    np.testing.assert_array_equal(alone, together[:4])


def test_second_construction_loads_the_cached_build(built, tiny_model):
    again = StaticEmbedder(str(tiny_model), cache_dir=built.build_dir.parents[1])
    np.testing.assert_array_equal(again.encode(["card declined"]), built.encode(["card declined"]))
    assert again.build_seconds is None


def test_cached_build_runs_without_torch(built, tiny_model):
    script = (
        "import sys; from models.static_embedding import StaticEmbedder\n"
        f"e = StaticEmbedder({str(tiny_model)!r}, cache_dir={str(built.build_dir.parents[1])!r})\n"
        "assert e.encode(['hello there']).shape == (1, 32)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=REPO, check=True)


def test_a_pipeline_run_embeds_with_the_static_backend(built, tiny_model, fast_config):
    from pipeline import run

    config = fast_config.with_overrides(
        {"embed.model": str(tiny_model), "embed.backend": "static", "embed.cache_dir": str(built.build_dir.parents[1])}
    )
    texts = [f"my card payment was declined at shop {i}" for i in range(30)] + [
        f"the app crashes when I open settings {i}" for i in range(30)
    ]
    result = run(pd.DataFrame({"text": texts}), config, write=False)
    assert result.manifest["models"]["embedding"] == built.identity
    assert result.embeddings.shape[1] == 32
    assert len(result.feedback) == 60
    assert any("do not triage safety" in note for note in result.manifest["notes"])  # what it costs is said


def test_only_a_backend_measured_as_coarse_gets_the_taxonomy_caveat():
    from pipeline.config import RunConfig
    from pipeline.engines.labeling import taxonomy_caveat

    assert taxonomy_caveat(RunConfig()) is None
    caveat = taxonomy_caveat(RunConfig().with_overrides({"embed.backend": "static"}))
    assert caveat is not None and "0.458 against 0.749" in caveat


# --- the real MiniLM (slow: distilling its 30,522 tokens takes about 35-50 s on 2 cores) -------------------


@pytest.mark.slow
def test_the_distilled_minilm_keeps_paraphrases_closer_than_other_topics(tmp_path):
    embedder = StaticEmbedder("default", cache_dir=tmp_path)
    card, arrived, top_up, crash = embedder.encode(
        [
            "I still have not received my new card.",
            "My card has not arrived yet.",
            "How do I top up with Apple Pay?",
            "The app crashes every time I open the settings page.",
        ]
    )
    assert embedder.encode(["x"]).shape == (1, PCA_DIMS)
    assert card @ arrived > card @ top_up and card @ arrived > card @ crash
