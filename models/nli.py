"""Lazy loader for an NLI (zero-shot) model through transformers' ``zero-shot-classification`` pipeline.

No NLI model ships on PyPI, so none is a default: a user configures one (a Hugging Face id such as
``MoritzLaurer/deberta-v3-base-zeroshot-v2.0`` already in the local Hugging Face cache, or a local
directory). Loading fails loudly, naming what was tried and how to fix it; it never falls back.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from pipeline.errors import ModelError

__all__ = ["NliScorer", "load_nli"]

log = logging.getLogger(__name__)


class NliScorer:
    """Scores (text, hypothesis) pairs: P(entailment) against contradiction, each label independently."""

    def __init__(self, pipe: Any, source: str, *, batch_size: int = 16) -> None:
        self.pipe = pipe
        self.source = source
        self.batch_size = batch_size

    @property
    def identity(self) -> str:
        return f"nli:{self.source}"

    def score(self, texts: list[str], labels: list[str], *, template: str) -> list[dict[str, float]]:
        """For each text, ``{label: P(entailment)}`` over the given candidate labels (multi-label)."""
        if not texts or not labels:
            return [{} for _ in texts]
        outputs = self.pipe(
            texts,
            candidate_labels=labels,
            hypothesis_template=template,
            multi_label=True,
            batch_size=self.batch_size,
        )
        if isinstance(outputs, dict):
            outputs = [outputs]
        return [dict(zip(out["labels"], map(float, out["scores"]), strict=True)) for out in outputs]


def load_nli(model: str, *, batch_size: int = 16, device: str | None = None) -> NliScorer:
    """Load ``model`` (a local directory or a Hugging Face id) as a zero-shot NLI scorer.

    Raises :class:`ModelError` when it cannot be loaded or is not an NLI model (no label whose name
    starts with "entail" in its ``label2id``).
    """
    try:
        from transformers import pipeline
    except ImportError as exc:  # pragma: no cover - transformers is a dependency
        raise ModelError(f"NLI re-scoring needs transformers: {exc}.") from None

    is_dir = Path(model).expanduser().is_dir()
    source = str(Path(model).expanduser().resolve()) if is_dir else model
    looks_like_path = model.startswith((".", "/", "~")) or model.count("/") > 1
    if not is_dir and looks_like_path:
        raise ModelError(
            f"classify.nli_model {model!r}: no such directory. Point it at a directory with config.json, "
            "the weights and the tokenizer, or give a Hugging Face id."
        )
    offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
    try:
        pipe = pipeline("zero-shot-classification", model=source, tokenizer=source, device=device or -1)
    except Exception as exc:
        tried = f"local directory {source}" if is_dir else f"Hugging Face id {model!r} (HF_HUB_OFFLINE={int(offline)})"
        hint = (
            "check that the directory holds a sequence-classification model and its tokenizer"
            if is_dir
            else "download it once on a connected machine (huggingface-cli download "
            f"{model}) and set classify.nli_model to that directory, or unset HF_HUB_OFFLINE"
        )
        first = " ".join(str(exc).split())[:300]
        raise ModelError(
            f"Could not load the NLI model: tried {tried}: {type(exc).__name__}: {first}; {hint}."
        ) from None
    label2id = {str(k).lower(): v for k, v in (pipe.model.config.label2id or {}).items()}
    if not any(k.startswith("entail") for k in label2id):
        raise ModelError(
            f"{source} is not an NLI model: its label2id {sorted(label2id)} has no 'entailment' label; "
            "use a model fine-tuned for NLI / zero-shot classification."
        )
    tokenizer: Any = pipe.tokenizer
    max_positions = getattr(pipe.model.config, "max_position_embeddings", None)
    if tokenizer is not None and max_positions and (tokenizer.model_max_length or 0) > max_positions:
        # A tokenizer saved without its limit would let long feedback overflow the model.
        tokenizer.model_max_length = max_positions
    log.info("Loaded NLI model %s", source)
    return NliScorer(pipe, source, batch_size=batch_size)
