"""An ONNX Runtime sentence embedder: the same vectors as sentence-transformers without torch, int8 by default.

On first use the sentence-transformers model is loaded with torch, its transformer, pooling and L2
normalisation are exported as one fp32 ONNX graph (``torch.onnx.export``), and a copy is quantized to int8
(``onnxruntime.quantization.quantize_dynamic``, per channel); that build and its cache folder
``<cache_dir>/onnx/<key>/`` are :mod:`models.onnx_build`. This module is the runtime: it loads the
cached files and needs only ``onnxruntime`` and ``tokenizers``: torch is not imported.

``precision`` picks the copy. 'int8' (the default) was 2-3x faster than torch where first measured; on an
AVX2-only CPU (AMD EPYC family 23) it was no faster than 'fp32' (2,000 app reviews: 37.8 s against 39.2 s)
and further from torch (min cosine 0.972), yet mapped the taxonomy benchmark better (AILuminate test
macro-F1 0.749 against 0.737), so it stays the default everywhere. 'fp32' gives torch's vectors, the same
on every CPU.

Int8 activations are quantized per batch (dynamic quantization), so a text's vector varies slightly
with the other texts in its batch, and with the CPU's int8 kernels: compare int8 vectors with a
tolerance, never for equality.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from models.embedding import SentenceTransformerEmbedder
from models.onnx_build import FP32_FILE, META_FILE, MODEL_FILE, TOKENIZER_FILE, build_in_child, build_key, build_onnx
from models.onnx_build import OPSET as OPSET  # the recipe lives in models.onnx_build; importable from here too
from models.onnx_build import QUANTIZATION as QUANTIZATION
from models.onnx_build import RECIPE_VERSION as RECIPE_VERSION
from pipeline.errors import ModelError

__all__ = ["PRECISIONS", "TOKENS_PER_BATCH", "OnnxEmbedder"]

log = logging.getLogger(__name__)

#: The copies a build publishes, by ``precision``; ``'onnx-<precision>'`` ends the embedder's identity.
PRECISIONS = {"int8": MODEL_FILE, "fp32": FP32_FILE}
#: Most padded tokens in one batch (texts x longest text), whatever ``batch_size`` allows.
TOKENS_PER_BATCH = 4096
#: Texts tokenized, sorted and encoded at a time: bounds memory on very large inputs.
_CHUNK = 16384


def _default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _token_batches(lengths: list[int], order: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """Consecutive slices of ``order`` (longest text first) of at most ``batch_size`` texts and
    ``TOKENS_PER_BATCH`` padded tokens: long texts go in small batches, short ones in full ones.

    Activations grow with texts x tokens, so a full batch of 256-token texts held 1.1 GB above the model
    (4,000 app reviews: peak RSS 1,359 MB at 64 texts a batch, 739 MB at 16) and ran no faster.
    """
    b = 0
    while b < len(order):
        width = max(1, lengths[b])  # the longest in the batch: lengths are sorted descending
        size = max(1, min(batch_size, TOKENS_PER_BATCH // width))
        yield order[b : b + size]
        b += size


class OnnxEmbedder:
    """A sentence-transformers model run as an ONNX graph on ONNX Runtime (CPU), int8 or fp32.

    ``model`` is what :class:`SentenceTransformerEmbedder` takes: 'default', a Hugging Face id or a local
    directory. Supported models are a Transformer followed by mean or CLS pooling (and optionally
    Normalize), which covers the usual sentence-transformers checkpoints; others fail with a
    :class:`ModelError` naming the torch backend. ``threads``: ONNX Runtime sessions run side by side,
    one core each (default: the usable cores). ``precision``: 'int8' or 'fp32' (module docstring).
    """

    def __init__(
        self,
        model: str = "default",
        *,
        batch_size: int = 64,
        cache_dir: str | Path | None = None,
        threads: int | None = None,
        precision: str = "int8",
    ) -> None:
        if precision not in PRECISIONS:
            raise ModelError(f"Unknown ONNX precision {precision!r}; use one of {list(PRECISIONS)}.")
        self.precision = precision
        self.model = model
        self.batch_size = batch_size
        self.threads = threads
        self._cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._source = SentenceTransformerEmbedder(model, device="cpu")
        self._sessions: list[Any] = []
        self._tokenizer: Any = None
        self._meta: dict[str, Any] = {}
        #: Seconds spent building the ONNX models in this process; None when they came from the cache.
        self.build_seconds: float | None = None

    # -- identity and cache location ---------------------------------------------------------------------

    @property
    def identity(self) -> str:
        return f"{self._source.identity} [onnx-{self.precision}]"

    def build_key(self) -> str:
        """What the cached build depends on: the model, the exporter and quantizer versions, the recipe."""
        return build_key(self._source.identity)

    @property
    def build_dir(self) -> Path:
        if self._cache_dir is not None:
            base = self._cache_dir
        else:
            from pipeline.store import default_cache_dir

            base = default_cache_dir()
        return base / "onnx" / self.build_key()

    @property
    def model_path(self) -> Path:
        return self.build_dir / PRECISIONS[self.precision]

    def ensure_built(self) -> Path:
        """Build and cache the ONNX models unless a cached build has this precision's; return its path."""
        path = self.model_path
        if not (path.is_file() and (path.parent / META_FILE).is_file() and (path.parent / TOKENIZER_FILE).is_file()):
            started = time.perf_counter()
            try:
                # In a child process: torch and the fp32 model (about 1.5 GB) leave with it, so the run
                # itself stays at ONNX Runtime's footprint even on the first, building run.
                build_in_child(self.model, self._cache_dir, path.parent)
            except ModelError:
                raise
            except Exception as exc:
                first = str(exc).splitlines()[0][:160] if str(exc) else ""
                raise ModelError(
                    f"Building the ONNX models for {self.model!r} failed ({type(exc).__name__}: {first}); "
                    "use embed.backend = 'torch'."
                ) from exc
            self.build_seconds = time.perf_counter() - started
            log.info("Built the ONNX models for %s in %.1f s: %s", self.model, self.build_seconds, path.parent)
        return path

    # -- build (torch needed only here) ------------------------------------------------------------------

    def _build(self, final_dir: Path) -> None:
        """The build step (needs torch); see :func:`models.onnx_build.build_onnx`."""
        build_onnx(self, final_dir)

    # -- inference (no torch) ----------------------------------------------------------------------------

    def _new_session(self, path: Path) -> Any:
        """One single-threaded session: :meth:`encode` runs one per core side by side (see there)."""
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only
        # Busy-waiting worker threads collapse throughput when the cores are shared (measured on 2 busy
        # cores: 230-260 texts/s spinning vs 385-430 not), and burn CPU the next stages could use.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])

    @staticmethod
    def _load_tokenizer(path: Path, meta: dict[str, Any]) -> Any:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(path))
        tokenizer.no_padding()  # padded per batch below, to the batch's longest text
        tokenizer.enable_truncation(max_length=int(meta["max_seq_length"]))
        return tokenizer

    def _load(self) -> None:
        if self._sessions:
            return
        path = self.ensure_built()
        try:
            meta = json.loads((path.parent / META_FILE).read_text(encoding="utf-8"))
            self._tokenizer = self._load_tokenizer(path.parent / TOKENIZER_FILE, meta)
            self._sessions = [self._new_session(path) for _ in range(self.threads or _default_threads())]
        except Exception as exc:
            raise ModelError(
                f"The cached {self.precision} ONNX model in {path.parent} cannot be loaded ({type(exc).__name__}: "
                f"{str(exc)[:160]}); delete that folder to rebuild it."
            ) from None
        self._meta = meta
        log.info("Loaded embedding model %s from %s", self.identity, path)

    def _tokenize(self, texts: list[str]) -> list[Any]:
        if self._meta.get("do_lower_case"):
            texts = [t.lower() for t in texts]
        return list(self._tokenizer.encode_batch(texts, add_special_tokens=True))

    @staticmethod
    def _batch(encodings: list[Any], input_names: list[str], pad_id: int) -> dict[str, np.ndarray]:
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), width), pad_id, dtype=np.int64)
        types = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            ids[row, :n] = enc.ids
            types[row, :n] = enc.type_ids
            mask[row, :n] = 1
        arrays = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        return {name: arrays[name] for name in input_names}

    def encode(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        self._load()
        from tqdm.auto import tqdm

        out = np.empty((len(texts), int(self._meta["dimension"])), dtype=np.float32)
        with tqdm(total=len(texts), unit="text", desc="Embedding", disable=not show_progress) as bar:
            for start in range(0, len(texts), _CHUNK):
                chunk = [str(t) for t in texts[start : start + _CHUNK]]
                encodings = self._tokenize(chunk)
                # Longest first, like sentence-transformers: little padding per batch, order restored below.
                order = np.argsort([-len(e.ids) for e in encodings], kind="stable")
                batches = list(_token_batches([len(encodings[i].ids) for i in order], order, self.batch_size))
                self._run_batches(encodings, batches, out[start : start + len(chunk)], bar)
        self._shrink_arenas()
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms

    def _shrink_arenas(self) -> None:
        """Hand the sessions' activation memory back: ONNX Runtime keeps the arena of a session's largest batch
        (about 250 MB on long texts) for the session's life, and the run goes on long after embedding.

        A tiny run with arena shrinkage on frees it (measured on 6,000 texts: 862 -> 400 MB after encoding).
        Shrinking after every batch instead cost 8% of the time.
        """
        import onnxruntime as ort

        options = ort.RunOptions()
        options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        feeds = self._batch(self._tokenize(["."]), list(self._meta["input_names"]), int(self._meta["pad_id"]))
        for session in self._sessions:
            session.run(None, feeds, options)

    def _run_batches(self, encodings: list[Any], batches: list[np.ndarray], out: np.ndarray, bar: Any) -> None:
        """Encode ``batches`` (row positions into ``encodings`` and ``out``), one session per core side by side.

        A session runs on one thread and ONNX Runtime releases the GIL while it runs, so each Python
        thread here keeps one core busy on its own batches. Measured on 4,000 app reviews, 2 cores:
        12.7 s, against 15.9 s for one session with two intra-op threads, which wait for each other at
        every parallel step. A batch's vectors do not depend on which session runs it: the output is
        the same as one session's, bit for bit.
        """
        names = list(self._meta["input_names"])
        pad_id = int(self._meta["pad_id"])
        pending = iter(batches)
        lock = threading.Lock()

        def work(session: Any) -> None:
            while True:
                with lock:
                    rows = next(pending, None)
                if rows is None:
                    return
                vectors = session.run(None, self._batch([encodings[i] for i in rows], names, pad_id))[0]
                with lock:  # batches hold distinct rows; the lock is for the progress bar
                    out[rows] = vectors
                    bar.update(len(rows))

        if len(self._sessions) == 1 or len(batches) == 1:
            work(self._sessions[0])
            return
        with ThreadPoolExecutor(max_workers=len(self._sessions), thread_name_prefix="onnx") as pool:
            for future in [pool.submit(work, session) for session in self._sessions]:
                future.result()  # raises a session's error here
