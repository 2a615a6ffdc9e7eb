"""An int8 ONNX Runtime sentence embedder: the same vectors as sentence-transformers, about 2-3x faster on CPU.

On first use the sentence-transformers model is loaded with torch, its transformer, pooling and L2
normalisation are exported as one ONNX graph (``torch.onnx.export``), and the weights are quantized to
int8 (``onnxruntime.quantization.quantize_dynamic``, per channel). The result is cached under
``<cache_dir>/onnx/<key>/`` with the tokenizer and a small ``meta.json``; the key hashes the model's
identity, the torch / onnx / onnxruntime versions and the recipe. Later processes load the cached files
directly and need only ``onnxruntime`` and ``tokenizers``: torch is not imported.

Int8 activations are quantized per batch (dynamic quantization), so a text's vector varies slightly
with the other texts in its batch: compare vectors with a tolerance, never for equality.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from models.embedding import SentenceTransformerEmbedder
from pipeline.errors import ModelError

__all__ = ["BACKEND", "OnnxEmbedder"]

log = logging.getLogger(__name__)

#: The backend name in ``EmbedConfig.backend``; also the suffix of the identity.
BACKEND = "onnx-int8"
#: Bump when the export or quantization recipe changes, so old cached builds are not reused.
RECIPE_VERSION = 1
OPSET = 17
QUANTIZATION = "dynamic-qint8-per-channel"
MODEL_FILE = "model.int8.onnx"
TOKENIZER_FILE = "tokenizer.json"
META_FILE = "meta.json"
#: Most padded tokens in one batch (texts x longest text), whatever ``batch_size`` allows.
TOKENS_PER_BATCH = 4096
#: Texts tokenized, sorted and encoded at a time: bounds memory on very large inputs.
_CHUNK = 16384
#: Sentences of different lengths: the export must see padding, and the checks use them too.
_PROBES = [
    "ok",
    "The app crashes every time I open the settings page.",
    "Refund still not received after two weeks, support keeps closing my ticket without an answer, "
    "and the card was charged twice for the same order.",
    "Great update!",
]


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "none"


def _default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the model file beside it is world-readable
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _quiet_quantizer() -> Iterator[None]:
    """onnxruntime's quantizer logs a 'consider pre-processing' warning on the root logger every time."""

    def drop(record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()

    root = logging.getLogger()
    root.addFilter(drop)
    try:
        yield
    finally:
        root.removeFilter(drop)


def _build_in_child(model: str, cache_dir: Path | None, final_dir: Path) -> None:
    """Run ``python -m models.onnx_embedding`` to build the model; its errors come back as ModelError."""
    package_root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "models.onnx_embedding", model, str(final_dir)]
    if cache_dir is not None:
        command += ["--cache-dir", str(cache_dir)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise ModelError(lines[-1] if lines else f"exit code {done.returncode}")


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
    """A sentence-transformers model run as an int8 ONNX graph on ONNX Runtime (CPU).

    ``model`` is what :class:`SentenceTransformerEmbedder` takes: 'default', a Hugging Face id or a local
    directory. Supported models are a Transformer followed by mean or CLS pooling (and optionally
    Normalize), which covers the usual sentence-transformers checkpoints; others fail with a
    :class:`ModelError` naming the torch backend.
    """

    def __init__(
        self,
        model: str = "default",
        *,
        batch_size: int = 64,
        cache_dir: str | Path | None = None,
        threads: int | None = None,
    ) -> None:
        self.model = model
        self.batch_size = batch_size
        self.threads = threads
        self._cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._source = SentenceTransformerEmbedder(model, device="cpu")
        self._session: Any = None
        self._tokenizer: Any = None
        self._meta: dict[str, Any] = {}
        #: Seconds spent building the int8 model in this process; None when it came from the cache.
        self.build_seconds: float | None = None

    # -- identity and cache location ---------------------------------------------------------------------

    @property
    def identity(self) -> str:
        return f"{self._source.identity} [{BACKEND}]"

    def build_key(self) -> str:
        """What the cached build depends on: the model, the exporter and quantizer versions, the recipe."""
        parts = {
            "source": self._source.identity,
            "torch": _version("torch"),
            "onnx": _version("onnx"),
            "onnxruntime": _version("onnxruntime"),
            "quantization": QUANTIZATION,
            "opset": OPSET,
            "recipe": RECIPE_VERSION,
        }
        blob = json.dumps(parts, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:24]

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
        return self.build_dir / MODEL_FILE

    def ensure_built(self) -> Path:
        """Build and cache the int8 model unless a cached build exists; return the model's path."""
        path = self.model_path
        if not (path.is_file() and (path.parent / META_FILE).is_file() and (path.parent / TOKENIZER_FILE).is_file()):
            started = time.perf_counter()
            try:
                # In a child process: torch and the fp32 model (about 1.5 GB) leave with it, so the run
                # itself stays at ONNX Runtime's footprint even on the first, building run.
                _build_in_child(self.model, self._cache_dir, path.parent)
            except ModelError:
                raise
            except Exception as exc:
                first = str(exc).splitlines()[0][:160] if str(exc) else ""
                raise ModelError(
                    f"Building the int8 ONNX model for {self.model!r} failed ({type(exc).__name__}: {first}); "
                    "use embed.backend = 'torch'."
                ) from exc
            self.build_seconds = time.perf_counter() - started
            log.info("Built the int8 ONNX model for %s in %.1f s: %s", self.model, self.build_seconds, path)
        return path

    # -- build (torch needed only here) ------------------------------------------------------------------

    def _build(self, final_dir: Path) -> None:
        import torch

        st = self._source._load()
        modules = list(st)
        kinds = [type(m).__name__ for m in modules]
        if len(modules) < 2 or kinds[0] != "Transformer" or kinds[1] != "Pooling" or set(kinds[2:]) - {"Normalize"}:
            raise ModelError(
                f"Embedding model {self.model!r} ({' → '.join(kinds)}) cannot be exported to ONNX here; "
                "only Transformer → Pooling (→ Normalize) models are supported. Use embed.backend = 'torch'."
            )
        pooling = getattr(modules[1], "pooling_mode", None)  # sentence-transformers 6
        if pooling is None:  # sentence-transformers 5
            pooling = modules[1].get_pooling_mode_str()
        pooling = pooling if isinstance(pooling, str) else "+".join(pooling)
        if pooling not in ("mean", "cls"):
            raise ModelError(
                f"Embedding model {self.model!r} uses {pooling!r} pooling, which the ONNX export does not "
                "support (mean or cls only). Use embed.backend = 'torch'."
            )
        hf_tokenizer = st.tokenizer
        if not getattr(hf_tokenizer, "is_fast", False):
            raise ModelError(
                f"Embedding model {self.model!r} has no fast (Rust) tokenizer, which the ONNX backend needs. "
                "Use embed.backend = 'torch'."
            )
        auto_model = modules[0].auto_model.eval()
        forward_params = inspect.signature(auto_model.forward).parameters
        input_names = ["input_ids", "attention_mask"]
        if "token_type_ids" in hf_tokenizer.model_input_names and "token_type_ids" in forward_params:
            input_names.append("token_type_ids")

        class Pooled(torch.nn.Module):
            def __init__(self, transformer: Any) -> None:
                super().__init__()
                self.transformer = transformer

            def forward(self, *inputs: Any) -> Any:
                features = dict(zip(input_names, inputs, strict=True))
                hidden = self.transformer(**features).last_hidden_state
                if pooling == "cls":
                    pooled = hidden[:, 0]
                else:
                    mask = features["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                    pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                return torch.nn.functional.normalize(pooled, p=2, dim=1)

        wrapper = Pooled(auto_model).eval()
        dimension = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
        max_len = st.max_seq_length or min(
            hf_tokenizer.model_max_length, getattr(auto_model.config, "max_position_embeddings", 512)
        )
        do_lower_case = bool(getattr(modules[0], "do_lower_case", False))
        backend_tokenizer = hf_tokenizer.backend_tokenizer
        backend_tokenizer.no_padding()
        backend_tokenizer.no_truncation()
        meta: dict[str, Any] = {
            "source": self._source.identity,
            "input_names": input_names,
            "output_name": "sentence_embedding",
            "max_seq_length": int(max_len),
            "pad_id": int(hf_tokenizer.pad_token_id or 0),
            "do_lower_case": do_lower_case,
            "dimension": int(dimension()),
            "pooling": pooling,
            "quantization": QUANTIZATION,
            "opset": OPSET,
            "recipe": RECIPE_VERSION,
            "torch": _version("torch"),
            "onnx": _version("onnx"),
            "onnxruntime": _version("onnxruntime"),
        }

        final_dir.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(dir=final_dir.parent, prefix=f".build-{final_dir.name}-"))
        try:
            tokenizer_path = work / TOKENIZER_FILE
            backend_tokenizer.save(str(tokenizer_path))
            self._tokenizer, self._meta = self._load_tokenizer(tokenizer_path, meta), meta
            # Padded on purpose: a trace of unpadded inputs could drop the attention mask from the graph.
            probe = self._batch(self._tokenize(_PROBES), input_names, meta["pad_id"])
            args = tuple(torch.from_numpy(probe[name]) for name in input_names)
            fp32_path = work / "model.fp32.onnx"
            dynamic_axes = {name: {0: "batch", 1: "sequence"} for name in input_names}
            dynamic_axes[meta["output_name"]] = {0: "batch"}
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tracer warnings about data-dependent branches
                reference = wrapper(*args).numpy()
                torch.onnx.export(
                    wrapper,
                    args,
                    str(fp32_path),
                    input_names=input_names,
                    output_names=[meta["output_name"]],
                    dynamic_axes=dynamic_axes,
                    opset_version=OPSET,
                    do_constant_folding=True,
                    dynamo=False,
                )
            self._check(fp32_path, probe, reference, minimum=0.9999, what="fp32 export")

            from onnxruntime.quantization import QuantType, quantize_dynamic

            int8_path = work / MODEL_FILE
            with _quiet_quantizer():
                quantize_dynamic(fp32_path, int8_path, weight_type=QuantType.QInt8, per_channel=True)
            self._check(int8_path, probe, reference, minimum=0.95, what="int8 quantization")

            # Publish: tokenizer and meta first, the model last, each atomically, so a model file in the
            # final directory always has its companions and is never half written.
            final_dir.mkdir(parents=True, exist_ok=True)
            _write_atomic(final_dir / TOKENIZER_FILE, tokenizer_path.read_bytes())
            _write_atomic(final_dir / META_FILE, json.dumps(meta, indent=2).encode())
            with open(int8_path, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(int8_path, final_dir / MODEL_FILE)
        finally:
            shutil.rmtree(work, ignore_errors=True)
            self._source._model = None  # the torch model is not needed any more
        self._tokenizer = None  # reloaded from the published files

    def _check(
        self, path: Path, probe: dict[str, np.ndarray], reference: np.ndarray, *, minimum: float, what: str
    ) -> None:
        session = self._new_session(path)
        got = session.run(None, probe)[0]
        cosine = float((got * reference).sum(axis=1).min())
        if not cosine >= minimum:
            raise ModelError(
                f"The {what} of {self.model!r} does not reproduce the torch vectors (min cosine {cosine:.4f} "
                f"< {minimum}); use embed.backend = 'torch'."
            )

    # -- inference (no torch) ----------------------------------------------------------------------------

    def _new_session(self, path: Path) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads or _default_threads()
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
        if self._session is not None:
            return
        path = self.ensure_built()
        try:
            meta = json.loads((path.parent / META_FILE).read_text(encoding="utf-8"))
            self._tokenizer = self._load_tokenizer(path.parent / TOKENIZER_FILE, meta)
            self._session = self._new_session(path)
        except Exception as exc:
            raise ModelError(
                f"The cached int8 ONNX model in {path.parent} cannot be loaded ({type(exc).__name__}: "
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

        names = list(self._meta["input_names"])
        pad_id = int(self._meta["pad_id"])
        out = np.empty((len(texts), int(self._meta["dimension"])), dtype=np.float32)
        with tqdm(total=len(texts), unit="text", desc="Embedding", disable=not show_progress) as bar:
            for start in range(0, len(texts), _CHUNK):
                chunk = [str(t) for t in texts[start : start + _CHUNK]]
                encodings = self._tokenize(chunk)
                # Longest first, like sentence-transformers: little padding per batch, order restored below.
                order = np.argsort([-len(e.ids) for e in encodings], kind="stable")
                for rows in _token_batches([len(encodings[i].ids) for i in order], order, self.batch_size):
                    feeds = self._batch([encodings[i] for i in rows], names, pad_id)
                    out[start + rows] = self._session.run(None, feeds)[0]
                    bar.update(len(rows))
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms


if __name__ == "__main__":  # the build step of OnnxEmbedder.ensure_built, run in its own process
    import argparse

    parser = argparse.ArgumentParser(description="Build the int8 ONNX copy of a sentence-transformers model.")
    parser.add_argument("model")
    parser.add_argument("final_dir", type=Path)
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args()
    try:
        OnnxEmbedder(args.model, cache_dir=args.cache_dir)._build(args.final_dir)
    except ModelError as exc:
        sys.exit(" ".join(str(exc).split()))
    except Exception as exc:  # reported to the parent as one line
        first = str(exc).splitlines()[0][:200] if str(exc) else ""
        sys.exit(f"{type(exc).__name__}: {first}")
