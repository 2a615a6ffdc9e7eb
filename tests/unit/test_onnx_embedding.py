"""The ONNX Runtime embedder: selection by config, int8 and fp32 identities, cached build, agreement with torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

from models.embedding import HashingEmbedder, SentenceTransformerEmbedder, make_embedder
from models.onnx_embedding import FP32_FILE, MODEL_FILE, TOKENS_PER_BATCH, OnnxEmbedder, _token_batches
from pipeline.config import EmbedConfig, RunConfig
from pipeline.errors import ConfigError, ModelError

SENTENCES = [
    "I still have not received my new card.",
    "How do I top up with Apple Pay?",
    "ok",
    "The exchange rate applied to my transfer was wrong and I was charged an extra fee on top of it, "
    "which nobody told me about when I signed up for the account last year.",
    "Why was my card payment declined?",
    "Can I change my PIN at an ATM?",
]


# --- selection, identity, config (no model loaded) ----------------------------------------------------


def test_batches_hold_at_most_the_token_budget_and_every_text_once():
    lengths = [256] * 40 + [100] * 50 + [12] * 300  # longest first, as encode sorts them
    order = np.arange(len(lengths))[::-1].copy()  # any permutation: batches are slices of it
    batches = list(_token_batches(lengths, order, 64))
    assert np.concatenate(batches).tolist() == order.tolist()
    start = 0
    for batch in batches:
        assert len(batch) <= 64 and len(batch) * lengths[start] <= TOKENS_PER_BATCH
        start += len(batch)
    assert len(batches[0]) == TOKENS_PER_BATCH // 256 and len(batches[-1]) <= 64
    assert max(len(b) for b in batches) == 64  # short texts still fill whole batches


def test_make_embedder_picks_the_backend(tmp_path):
    onnx = make_embedder("default", backend="onnx-int8", cache_dir=tmp_path, batch_size=8)
    assert isinstance(onnx, OnnxEmbedder)
    assert onnx.batch_size == 8
    assert onnx.build_dir.parent == tmp_path / "onnx"
    assert isinstance(make_embedder("default"), SentenceTransformerEmbedder)
    assert isinstance(make_embedder("hashing", backend="onnx-int8"), HashingEmbedder)
    assert make_embedder("default", backend="onnx-fp32", cache_dir=tmp_path).precision == "fp32"
    assert make_embedder("default", backend="onnx-int8", cache_dir=tmp_path).precision == "int8"
    with pytest.raises(ModelError, match="backend"):
        make_embedder("default", backend="tensorrt")
    with pytest.raises(ModelError, match="precision"):
        OnnxEmbedder("default", precision="fp16")


def test_identity_names_the_backend_and_precision_and_both_precisions_share_one_build(tmp_path):
    torch_identity = SentenceTransformerEmbedder("default").identity
    int8 = OnnxEmbedder("default", cache_dir=tmp_path, precision="int8")
    fp32 = OnnxEmbedder("default", cache_dir=tmp_path, precision="fp32")
    assert int8.identity == f"{torch_identity} [onnx-int8]"  # vectors are cached apart: they differ
    assert fp32.identity == f"{torch_identity} [onnx-fp32]"
    assert int8.build_dir == fp32.build_dir and int8.model_path != fp32.model_path
    assert OnnxEmbedder("some/other-model", cache_dir=tmp_path).build_key() != int8.build_key()


def test_config_backend_defaults_to_int8_and_is_validated():
    assert EmbedConfig().backend == "onnx-int8"
    assert RunConfig().with_overrides({"embed.backend": "torch"}).embed.backend == "torch"
    assert RunConfig().with_overrides({"embed.backend": "onnx-fp32"}).embed.backend == "onnx-fp32"
    with pytest.raises(ConfigError, match=r"embed\.backend"):
        RunConfig().with_overrides({"embed.backend": "onnx-fp16"})


def test_empty_input_builds_nothing(tmp_path):
    out = OnnxEmbedder("default", cache_dir=tmp_path).encode([])
    assert out.shape == (0, 0)
    assert not (tmp_path / "onnx").exists()


def test_default_cache_dir_is_used_when_none_is_given(monkeypatch, tmp_path):
    monkeypatch.setenv("FEEDBACK_INSIGHTS_CACHE", str(tmp_path))
    assert OnnxEmbedder("default").build_dir.parent == tmp_path / "onnx"


# --- the real packaged model, built once ----------------------------------------------------------------


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def built(cache_dir) -> OnnxEmbedder:
    embedder = OnnxEmbedder("default", cache_dir=cache_dir, batch_size=4, precision="int8")  # several batches
    embedder.ensure_built()
    assert embedder.build_seconds is not None
    return embedder


@pytest.fixture(scope="module")
def torch_vectors() -> np.ndarray:
    return SentenceTransformerEmbedder("default").encode(SENTENCES)


@pytest.mark.slow
def test_vectors_are_normalized_and_close_to_torch(built, torch_vectors):
    vectors = built.encode(SENTENCES, show_progress=True)
    assert vectors.shape == (len(SENTENCES), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosine = (vectors * torch_vectors).sum(axis=1)
    # int8 activations are quantized per batch, so vectors vary a little with the batch: a tolerance.
    assert cosine.min() >= 0.95, cosine
    assert cosine.mean() >= 0.98, cosine


@pytest.mark.slow
def test_the_fp32_copy_gives_the_torch_vectors_from_the_same_build(built, cache_dir, torch_vectors):
    fp32 = OnnxEmbedder("default", cache_dir=cache_dir, batch_size=4, precision="fp32")
    vectors = fp32.encode(SENTENCES)
    assert fp32.build_seconds is None  # the int8 build published it too
    np.testing.assert_allclose(vectors, torch_vectors, atol=1e-4)


@pytest.mark.slow
def test_order_is_restored_after_length_sorting(built, torch_vectors):
    vectors = built.encode(SENTENCES)
    # Each row is closest to its own torch vector, not to whichever text was sorted into its place.
    assert (np.argmax(vectors @ torch_vectors.T, axis=1) == np.arange(len(SENTENCES))).all()
    backwards = built.encode(SENTENCES[::-1])[::-1]
    assert ((vectors * backwards).sum(axis=1) >= 0.98).all()


@pytest.mark.slow
def test_sessions_side_by_side_give_one_sessions_vectors_bit_for_bit(built, cache_dir):
    texts = SENTENCES * 5  # many batches of 4, so both sessions take some
    one = OnnxEmbedder("default", cache_dir=cache_dir, batch_size=4, threads=1, precision="int8")
    three = OnnxEmbedder("default", cache_dir=cache_dir, batch_size=4, threads=3, precision="int8")
    assert len(three.encode(["warm up"])) == 1 and len(three._sessions) == 3
    np.testing.assert_array_equal(three.encode(texts), one.encode(texts))


@pytest.mark.slow
def test_truncates_at_max_seq_length_and_pads_per_batch(built):
    built.encode(["warm up"])
    long_ids, short_ids = (e.ids for e in built._tokenize(["refund " * 1000, "ok"]))
    assert len(long_ids) == 256  # MiniLM's max_seq_length, not the tokenizer file's own 128
    assert len(short_ids) == 3  # [CLS] ok [SEP], no padding to a fixed length
    vectors = built.encode(["refund " * 1000, "ok"])
    assert np.isfinite(vectors).all()


@pytest.mark.slow
def test_second_construction_loads_the_cached_build(built, cache_dir):
    model_path = built.model_path
    stamp = model_path.stat().st_mtime_ns
    again = OnnxEmbedder("default", cache_dir=cache_dir, precision="int8")
    assert again.model_path == model_path
    again.encode(SENTENCES[:2])
    assert again.build_seconds is None
    assert model_path.stat().st_mtime_ns == stamp
    files = sorted(p.name for p in model_path.parent.iterdir())
    assert files == sorted(["meta.json", FP32_FILE, MODEL_FILE, "tokenizer.json"])
    assert not list(model_path.parent.parent.glob(".build-*"))  # the build's scratch folder is gone


@pytest.mark.slow
def test_cached_build_runs_without_torch(built, cache_dir):
    code = (
        "import sys, pipeline\n"
        "from models.onnx_embedding import OnnxEmbedder\n"
        f"e = OnnxEmbedder('default', cache_dir={str(cache_dir)!r})\n"
        "v = e.encode(['my card was declined'])\n"
        "print(v.shape, e.build_seconds, 'torch' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "(1, 384) None False"


@pytest.mark.slow
def test_a_failed_build_leaves_no_model(built, tmp_path, monkeypatch):
    import torch

    def broken_export(model, args, f, **kwargs):
        Path(f).write_bytes(b"half a model")
        raise RuntimeError("exporter crashed")

    monkeypatch.setattr(torch.onnx, "export", broken_export)
    embedder = OnnxEmbedder("default", cache_dir=tmp_path)
    with pytest.raises(RuntimeError, match="exporter crashed"):
        embedder._build(embedder.model_path.parent)  # the step ensure_built runs in a child process
    assert not embedder.model_path.exists()
    assert not list((tmp_path / "onnx").glob(".build-*"))


def test_a_build_failing_in_the_child_process_is_a_one_line_model_error(tmp_path):
    embedder = OnnxEmbedder(str(tmp_path / "no-such-model"), cache_dir=tmp_path)
    with pytest.raises(ModelError, match="no-such-model") as info:
        embedder.ensure_built()
    assert "\n" not in str(info.value)
    assert not embedder.model_path.exists()
