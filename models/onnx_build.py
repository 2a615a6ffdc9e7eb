"""Building the ONNX copies of a sentence-transformers model, and the cache folder they are published in.

The model is loaded with torch, its transformer, pooling and L2 normalisation are exported as one fp32
ONNX graph (``torch.onnx.export``), and a copy's weights are quantized to int8
(``onnxruntime.quantization.quantize_dynamic``, per channel). Both are checked against the torch vectors
and both are published, under ``<cache_dir>/onnx/<key>/`` with the tokenizer and a small ``meta.json``:
the embedder runs the one ``embed.backend`` asks for (int8 by default).
:func:`build_key` hashes the model's identity, the torch / onnx / onnxruntime versions and the recipe.
:class:`models.onnx_embedding.OnnxEmbedder` runs this once, in a child process (``python -m
models.onnx_build``), so torch never stays in the run's memory.
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
import warnings
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.errors import ModelError

if TYPE_CHECKING:
    from models.onnx_embedding import OnnxEmbedder

__all__ = [
    "FP32_FILE",
    "META_FILE",
    "MODEL_FILE",
    "OPSET",
    "QUANTIZATION",
    "RECIPE_VERSION",
    "TOKENIZER_FILE",
    "build_in_child",
    "build_key",
    "build_onnx",
]

#: Bump when the export or quantization recipe changes, so old cached builds are not reused.
RECIPE_VERSION = 1
OPSET = 17
QUANTIZATION = "dynamic-qint8-per-channel"
MODEL_FILE = "model.int8.onnx"
FP32_FILE = "model.fp32.onnx"
TOKENIZER_FILE = "tokenizer.json"
META_FILE = "meta.json"
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


def build_key(source_identity: str) -> str:
    """What the cached build depends on: the model, the exporter and quantizer versions, the recipe."""
    parts = {
        "source": source_identity,
        "torch": _version("torch"),
        "onnx": _version("onnx"),
        "onnxruntime": _version("onnxruntime"),
        "quantization": QUANTIZATION,
        "opset": OPSET,
        "recipe": RECIPE_VERSION,
    }
    blob = json.dumps(parts, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:24]


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


def build_in_child(model: str, cache_dir: Path | None, final_dir: Path) -> None:
    """Run ``python -m models.onnx_build`` to build the model; its errors come back as ModelError."""
    package_root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "models.onnx_build", model, str(final_dir)]
    if cache_dir is not None:
        command += ["--cache-dir", str(cache_dir)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise ModelError(lines[-1] if lines else f"exit code {done.returncode}")


def build_onnx(embedder: OnnxEmbedder, final_dir: Path) -> None:
    """Export, quantize, check and publish the fp32 and int8 models of ``embedder`` into ``final_dir`` (needs
    torch)."""
    import torch

    st = embedder._source._load()
    modules = list(st)
    kinds = [type(m).__name__ for m in modules]
    if len(modules) < 2 or kinds[0] != "Transformer" or kinds[1] != "Pooling" or set(kinds[2:]) - {"Normalize"}:
        raise ModelError(
            f"Embedding model {embedder.model!r} ({' → '.join(kinds)}) cannot be exported to ONNX here; "
            "only Transformer → Pooling (→ Normalize) models are supported. Use embed.backend = 'torch'."
        )
    pooling = getattr(modules[1], "pooling_mode", None)  # sentence-transformers 6
    if pooling is None:  # sentence-transformers 5
        pooling = modules[1].get_pooling_mode_str()
    pooling = pooling if isinstance(pooling, str) else "+".join(pooling)
    if pooling not in ("mean", "cls"):
        raise ModelError(
            f"Embedding model {embedder.model!r} uses {pooling!r} pooling, which the ONNX export does not "
            "support (mean or cls only). Use embed.backend = 'torch'."
        )
    hf_tokenizer = st.tokenizer
    if not getattr(hf_tokenizer, "is_fast", False):
        raise ModelError(
            f"Embedding model {embedder.model!r} has no fast (Rust) tokenizer, which the ONNX backend needs. "
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
        "source": embedder._source.identity,
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
        embedder._tokenizer, embedder._meta = embedder._load_tokenizer(tokenizer_path, meta), meta
        # Padded on purpose: a trace of unpadded inputs could drop the attention mask from the graph.
        probe = embedder._batch(embedder._tokenize(_PROBES), input_names, meta["pad_id"])
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
        _check(embedder, fp32_path, probe, reference, minimum=0.9999, what="fp32 export")

        from onnxruntime.quantization import QuantType, quantize_dynamic

        int8_path = work / MODEL_FILE
        with _quiet_quantizer():
            quantize_dynamic(fp32_path, int8_path, weight_type=QuantType.QInt8, per_channel=True)
        _check(embedder, int8_path, probe, reference, minimum=0.95, what="int8 quantization")

        # Publish: tokenizer and meta first, the models last, each atomically, so a model file in the
        # final directory always has its companions and is never half written.
        final_dir.mkdir(parents=True, exist_ok=True)
        _write_atomic(final_dir / TOKENIZER_FILE, tokenizer_path.read_bytes())
        _write_atomic(final_dir / META_FILE, json.dumps(meta, indent=2).encode())
        for built, name in ((fp32_path, FP32_FILE), (int8_path, MODEL_FILE)):
            with open(built, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(built, final_dir / name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        embedder._source._model = None  # the torch model is not needed any more
    embedder._tokenizer = None  # reloaded from the published files


def _check(
    embedder: OnnxEmbedder,
    path: Path,
    probe: dict[str, np.ndarray],
    reference: np.ndarray,
    *,
    minimum: float,
    what: str,
) -> None:
    """Fail the build when ``path`` does not give the torch vectors within ``minimum`` cosine."""
    session = embedder._new_session(path)
    got = session.run(None, probe)[0]
    cosine = float((got * reference).sum(axis=1).min())
    if not cosine >= minimum:
        raise ModelError(
            f"The {what} of {embedder.model!r} does not reproduce the torch vectors (min cosine {cosine:.4f} "
            f"< {minimum}); use embed.backend = 'torch'."
        )


if __name__ == "__main__":  # the build step of OnnxEmbedder.ensure_built, run in its own process
    import argparse

    parser = argparse.ArgumentParser(description="Build the int8 ONNX copy of a sentence-transformers model.")
    parser.add_argument("model")
    parser.add_argument("final_dir", type=Path)
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args()
    try:
        from models.onnx_embedding import OnnxEmbedder

        build_onnx(OnnxEmbedder(args.model, cache_dir=args.cache_dir), args.final_dir)
    except ModelError as exc:
        sys.exit(" ".join(str(exc).split()))
    except Exception as exc:  # reported to the parent as one line
        first = str(exc).splitlines()[0][:200] if str(exc) else ""
        sys.exit(f"{type(exc).__name__}: {first}")
