"""Clean, the spaCy work per distinct text: lemmas and noun phrases for keywords, PERSON spans for redaction.

The fast mode lemmatizes with lookup tables and runs NER only on windows around uncommon capitalized
words (:mod:`pipeline.clean.names`); the full mode runs one spaCy pipeline. Large inputs are split over
spawned worker processes, which changes nothing in the output.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeAlias

from tqdm.auto import tqdm

from pipeline.clean.language import detect_languages
from pipeline.clean.names import Spans, _has_name_hint, _name_windows, _person_spans
from pipeline.clean.text import _PLACEHOLDER_WORDS
from pipeline.config import CleanConfig

log = logging.getLogger(__name__)


def _placeholder_flags(texts: list[str]) -> list[bool]:
    """Which tokens are the word inside a placeholder ("[", "PERSON", "]" → the middle one)."""
    return [i > 0 and text in _PLACEHOLDER_WORDS and texts[i - 1] == "[" for i, text in enumerate(texts)]


def _terms(doc: Any, *, use_parser: bool, lemma_of: Callable[[str], str] | None = None) -> tuple[str, list[str]]:
    """Lowercased lemmas (stopwords kept, placeholders dropped) and noun phrases of a doc.

    ``lemma_of``: a token text's lemma (the fast mode's lookup table), in place of the Doc's own lemmas.
    """
    # Token attributes are read once into lists: indexing a Doc creates a Token object each time.
    tokens = list(doc)
    texts = [t.text for t in tokens]
    placeholder = _placeholder_flags(texts)
    alpha = [t.is_alpha for t in tokens]
    if lemma_of is None:
        lowered = [(t.lemma_ or text).lower() for t, text in zip(tokens, texts, strict=True)]
    else:
        lowered = [(lemma_of(text) or text).lower() for text in texts]
    lemmas = [lemma for lemma, a, p in zip(lowered, alpha, placeholder, strict=True) if a and not p]
    phrases: list[str] = []
    if use_parser and doc.has_annotation("DEP"):
        spans = [[t for t in chunk if not (t.is_stop or t.is_punct or t.pos_ == "DET")] for chunk in doc.noun_chunks]
    elif not doc.has_annotation("POS"):
        # No tagger: adjacent content-word pairs stand in for noun phrases.
        content = [a and not (t.is_stop or p) for t, a, p in zip(tokens, alpha, placeholder, strict=True)]
        lower = [t.lower for t in tokens]
        for i in range(len(tokens) - 1):
            if content[i] and content[i + 1] and lower[i] != lower[i + 1]:
                phrases.append(f"{lowered[i]} {lowered[i + 1]}")
        return " ".join(lemmas), phrases
    else:
        spans, run = [], []
        for i, token in enumerate(tokens):
            if token.pos_ in {"ADJ", "NOUN", "PROPN"} and alpha[i] and not placeholder[i]:
                run.append(token)
                continue
            spans.append(run)
            run = []
        spans.append(run)
    for span in spans:
        while span and span[-1].pos_ not in {"NOUN", "PROPN"}:
            span = span[:-1]
        while span and (span[0].is_stop or (span[0].pos_ == "ADJ" and len(span) > 3)):
            span = span[1:]
        if 2 <= len(span) <= 4 and len({t.lower for t in span}) == len(span):
            phrases.append(" ".join((t.lemma_ or t.text).lower() for t in span))
    return " ".join(lemmas), phrases


def analyse_texts(
    texts: list[str], config: CleanConfig, nlp: Any, common: frozenset[str], *, show_progress: bool = False
) -> tuple[list[tuple[str, list[str]]], list[Spans]]:
    """The spaCy work per distinct text: (lemmas, phrases) and the PERSON spans found.

    Depends on nothing but the texts and ``common`` (see :func:`common_capitalized`), so any engine
    can run it on any split of the distinct texts.
    """
    redact = config.redact_pii and config.redact_names
    show = show_progress
    terms: list[tuple[str, list[str]]] = [("", [])] * len(texts)
    persons: list[Spans] = [[] for _ in texts]
    if not texts:
        return terms, persons
    if nlp is None and config.mode == "fast":
        from models.nlp import lemma_lookup, load_lemmatizer, load_ner

        # Tokenized only: the lemmas are looked up per word (lemma_lookup), the same as the pipeline's own.
        lemmatizer = load_lemmatizer()
        lemma_of = lemma_lookup(lemmatizer)
        stream = lemmatizer.tokenizer.pipe(texts, batch_size=config.batch_size)
        for i, doc in enumerate(
            tqdm(stream, total=len(texts), desc="clean", unit="text", disable=not show, leave=False)
        ):
            terms[i] = _terms(doc, use_parser=False, lemma_of=lemma_of)
        ner = load_ner(config.spacy_model) if redact else None
        if ner is not None:
            # Only a text with a capitalized word inside a sentence can hold a name the small model
            # finds; in feedback that is about a quarter of the texts, so NER runs on those only.
            # Within those, it reads only the words around capitalized ones that are not common (see
            # _name_windows); a common one is a product or brand, kept like a public name below.
            jobs = (
                (texts[i][a:b], (i, a))
                for i, t in enumerate(texts)
                if _has_name_hint(t)
                for a, b in _name_windows(t, common)
            )
            for doc, (i, offset) in ner.pipe(jobs, as_tuples=True, batch_size=config.batch_size):
                persons[i] += [(e.start_char + offset, e.end_char + offset, e.text) for e in _person_spans(doc)]
    else:
        if nlp is None:
            from models.nlp import load_spacy

            nlp = load_spacy(config.spacy_model, ner=redact, parser=config.use_parser)
        redact = redact and "ner" in nlp.pipe_names
        stream = nlp.pipe(((t, i) for i, t in enumerate(texts)), as_tuples=True, batch_size=config.batch_size)
        for doc, i in tqdm(stream, total=len(texts), desc="clean", unit="text", disable=not show, leave=False):
            terms[i] = _terms(doc, use_parser=config.use_parser)
            if redact:
                persons[i] = [(e.start_char, e.end_char, e.text) for e in _person_spans(doc)]
    return terms, persons


def _workers(config: CleanConfig, nlp: Any, n_texts: int) -> int:
    """Worker processes for the spaCy work: ``config.n_process`` (at most the usable cores) on large inputs.

    A worker costs about 3 s to start (it imports spaCy and loads the pipelines), so small inputs and a
    caller's own ``nlp`` object (which cannot be sent to another process) stay in this one, and so does a
    main script that each worker would run again (:func:`_main_is_guarded`).
    """
    if nlp is not None or config.n_process <= 1 or n_texts < config.n_process_min_texts:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    workers = max(1, min(config.n_process, cores))
    if workers > 1 and not _main_is_guarded():
        log.info(
            'Cleaning in this process only: %s has no `if __name__ == "__main__":` guard, and each worker '
            "process would run it again.",
            getattr(sys.modules.get("__main__"), "__file__", "the main script"),
        )
        return 1
    return workers


_GUARD = re.compile(r"""__name__\s*==\s*["']__main__["']|["']__main__["']\s*==\s*__name__""")


def _main_is_guarded() -> bool:
    """Whether worker processes can be spawned without running the caller's program again.

    A spawned worker imports the main module (a script, or the module of ``python -m``) to rebuild its
    namespace; a script without an ``if __name__ == "__main__":`` guard would start its run again in
    every worker. A REPL, a notebook or ``python -c`` have no main file, and console scripts carry the guard.
    """
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    if path is None:
        return True
    try:
        return _GUARD.search(Path(path).read_text(encoding="utf-8", errors="replace")) is not None
    except OSError:
        return False


_Job: TypeAlias = "tuple[list[str], CleanConfig, frozenset[str], bool]"
Analysis: TypeAlias = "tuple[list[tuple[str, list[str]]], list[Spans], list[str | None] | None]"


def _analyse_chunk(job: _Job) -> Analysis:
    """One worker's share of :func:`analyse_texts`, and the texts' languages as they are when ``job[3]``
    (a module-level function, so it pickles)."""
    texts, config, common, languages = job
    terms, persons = analyse_texts(texts, config, None, common)
    return terms, persons, detect_languages(texts) if languages else None


def _analyse_in_processes(
    texts: list[str],
    config: CleanConfig,
    common: frozenset[str],
    workers: int,
    *,
    languages: bool = False,
    show_progress: bool = False,
) -> Analysis:
    """:func:`analyse_texts` split over ``workers`` spawned processes, results in input order.

    Each text's result depends only on the text and ``common``, so the split changes nothing in the
    output. With ``languages``, the workers also tell each text's language as it is (before names are
    redacted), so the parent only detects again the few texts redaction changes. Spawned, not forked:
    the parent runs threads (the stage's memory sampler), and a fork can copy a lock one of them holds.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pieces = 4 * workers  # a few pieces per worker: even loads and a progress bar that moves
    step = -(-len(texts) // pieces)
    jobs = [(texts[i : i + step], config, common, languages) for i in range(0, len(texts), step)]
    terms: list[tuple[str, list[str]]] = []
    persons: list[Spans] = []
    told: list[str | None] = []
    show = show_progress
    log.info("Cleaning %d distinct texts in %d processes", len(texts), workers)
    context = multiprocessing.get_context("spawn")
    with (
        ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool,
        tqdm(total=len(texts), desc="clean", unit="text", disable=not show, leave=False) as bar,
    ):
        for job, (piece_terms, piece_persons, piece_languages) in zip(
            jobs, pool.map(_analyse_chunk, jobs), strict=True
        ):
            terms.extend(piece_terms)
            persons.extend(piece_persons)
            told.extend(piece_languages or [])
            bar.update(len(job[0]))
    return terms, persons, told if languages else None
