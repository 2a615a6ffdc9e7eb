"""Clean: normalize text, redact PII, identify language, mark duplicates, extract terms.

Input is the ingest table (``schemas.INGESTED``); output adds the ``schemas.CLEANED`` columns.
The text is not lowercased and stopwords are kept: the embedder needs context. Lemmas and noun
phrases are extracted here for keyword extraction only. spaCy runs once per distinct text,
streamed with ``nlp.pipe(..., as_tuples=True)`` so positions travel with the texts.

What lives where (other stages and the engines import only the names below, from ``pipeline.clean``):

- :mod:`~pipeline.clean.text`: per-row normalization, regex PII redaction, the duplicate key.
- :mod:`~pipeline.clean.analysis`: the spaCy work per distinct text (lemmas, phrases, PERSON spans).
- :mod:`~pipeline.clean.names`: the fast mode's NER windows, public names, [PERSON] splicing.
- :mod:`~pipeline.clean.language`: language identification.
- here: the stage :func:`clean`, which composes them with the on-disk cache (:mod:`pipeline.clean_cache`).

The modules here import the config, the schemas, the errors and the clean cache; never another stage.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.clean.analysis import _analyse_in_processes, _workers, analyse_texts
from pipeline.clean.language import detect_languages
from pipeline.clean.names import (
    Spans,
    capitalized_words,
    common_capitalized,
    common_words,
    finish_text,
    person_names,
    public_names,
    uses_common_words,
)

# The fast mode's window helpers stay importable here for the tests that pin them.
from pipeline.clean.names import _has_name_hint as _has_name_hint
from pipeline.clean.names import _name_windows as _name_windows
from pipeline.clean.text import PLACEHOLDERS, canonical_key, late_exclusion, normalize_text, prepare_text, redact_pii
from pipeline.clean_cache import AnalysisCache, LanguageCache, analysis_identity, analysis_key, language_identity
from pipeline.config import CleanConfig
from pipeline.errors import where
from pipeline.schemas import INGESTED, require

__all__ = [
    "PLACEHOLDERS",
    "analyse_texts",
    "canonical_key",
    "capitalized_words",
    "clean",
    "common_capitalized",
    "common_words",
    "detect_languages",
    "finish_text",
    "late_exclusion",
    "normalize_text",
    "person_names",
    "prepare_text",
    "public_names",
    "redact_pii",
    "uses_common_words",
]
log = logging.getLogger(__name__)


def clean(
    rows: pd.DataFrame,
    config: CleanConfig | None = None,
    *,
    nlp: Any = None,
    cache_dir: Path | None = None,
    show_progress: bool = False,
) -> pd.DataFrame:
    """Add the CLEANED columns to the ingest table; rows left without words are excluded.

    ``nlp`` is a loaded spaCy pipeline; by default ``config.spacy_model`` is loaded lazily. With
    ``cache_dir`` (and ``config.use_cache``), the spaCy work per distinct text is read from and written
    to the on-disk cache there (:mod:`pipeline.clean_cache`); a caller's own ``nlp`` is never cached, as
    its version cannot be told. ``show_progress``: a progress bar (texts/s) over the spaCy work.
    """
    config = config or CleanConfig()
    require(rows, INGESTED, stage="clean")
    out = rows.copy(deep=False)  # columns are replaced, never written into: the ingest table is not copied
    n = len(out)
    truncated = np.zeros(n, dtype=bool)
    excluded = out["excluded"].to_numpy(copy=True)
    reasons = out["exclusion_reason"].tolist()

    # 1. Cheap per-row normalization and regex redaction, a chunk of rows at a time. Each row keeps the
    # index of its distinct text, not a string of its own: a million rows hold a million small ints.
    text_of = np.full(n, -1, dtype=np.int64)
    distinct: dict[str, int] = {}
    todo = np.flatnonzero(~excluded)
    for lo in range(0, len(todo), _ROW_CHUNK):
        part = todo[lo : lo + _ROW_CHUNK]
        for i, text in zip(part.tolist(), out["text"].iloc[part].tolist(), strict=True):
            prepared, truncated[i] = prepare_text(text, config)
            if truncated[i]:
                log.warning(
                    "%s: text of %d characters truncated to clean.max_chars=%d.",
                    where(out.at[i, "source_file"], int(out.at[i, "source_row"]), "text"),
                    len(text),
                    config.max_chars,
                )
            text_of[i] = distinct.setdefault(prepared, len(distinct))

    # 2. spaCy once per distinct text: names redacted, lemmas and phrases for keywords.
    unique_texts = list(distinct)
    del distinct
    cache_dir = cache_dir if config.use_cache and nlp is None else None
    analysed, as_is = _analyse(unique_texts, config, nlp, _cache(config, cache_dir), show_progress=show_progress)
    finished = [a[0] for a in analysed]
    if not config.detect_language:
        languages: list[str | None] = [None] * len(analysed)
    elif as_is is not None:
        languages = _redetect_changed(unique_texts, finished, as_is)
    else:
        languages = _languages(finished, cache_dir)
    del unique_texts

    # 3. Rows with no words left, and languages not asked for, are excluded (the same for every row of a text).
    late = [late_exclusion(text, lang, config) for text, lang in zip(finished, languages, strict=True)]
    cleaned = np.flatnonzero(text_of >= 0)
    late_text = np.array([reason is not None for reason in late], dtype=bool)
    for i in cleaned[late_text[text_of[cleaned]]].tolist():
        excluded[i], reasons[i] = True, late[text_of[i]]

    # 4. Near-duplicates share a canonical key; the first row of each key is embedded for all.
    keys = [canonical_key(text or "") for text in finished]
    kept = np.flatnonzero(~excluded)
    key_codes = pd.factorize(pd.Series(keys, dtype=object))[0]
    row_key = key_codes[text_of[kept]]
    first_row_of_key = np.full(len(keys), -1, dtype=np.int64)
    unique_keys, first_at = np.unique(row_key, return_index=True)
    first_row_of_key[unique_keys] = kept[first_at]
    first_row = first_row_of_key[row_key]
    later = kept[first_row != kept]
    duplicate_of = np.full(n, None, dtype=object)
    duplicate_of[later] = out["row_id"].iloc[first_row[first_row != kept]].tolist()

    out["excluded"] = excluded
    out["exclusion_reason"] = pd.Series(reasons, index=out.index, dtype=object)
    out["clean_text"] = pd.Series(_per_row(finished, text_of, cleaned, n), index=out.index, dtype=object)
    out["language"] = pd.Series(_per_row(languages, text_of, cleaned, n), index=out.index, dtype=object)
    out["truncated"] = truncated
    out["dup_key"] = pd.Series(_per_row(keys, text_of, kept, n), index=out.index, dtype=object)
    out["duplicate_of"] = pd.Series(duplicate_of, index=out.index, dtype=object)
    out["lemmas"] = _per_row([a[1] for a in analysed], text_of, cleaned, n, empty="").tolist()
    phrases = _per_row([a[2] for a in analysed], text_of, cleaned, n)
    for i in np.flatnonzero(text_of < 0).tolist():
        phrases[i] = []
    out["phrases"] = pd.Series(phrases, index=out.index, dtype=object)
    return out


#: Rows normalized per chunk in :func:`clean`: only one chunk's raw texts are Python strings at a time.
_ROW_CHUNK = 100_000


def _per_row(values: list[Any], text_of: np.ndarray, rows: np.ndarray, n: int, *, empty: Any = None) -> np.ndarray:
    """An object column of ``n`` rows: ``values[text_of[i]]`` at each of ``rows`` (shared, not copied),
    ``empty`` elsewhere."""
    per_text = np.empty(len(values), dtype=object)
    for k, value in enumerate(values):  # item by item: a list value must stay one object, not become an axis
        per_text[k] = value
    column = np.full(n, empty, dtype=object)
    column[rows] = per_text[text_of[rows]]
    return column


def _cache(config: CleanConfig, cache_dir: Path | None) -> AnalysisCache | None:
    if cache_dir is None:
        return None
    identity = analysis_identity(config)
    if identity is None:
        log.info("No clean cache: the version of spaCy pipeline %s cannot be told.", config.spacy_model)
        return None
    return AnalysisCache(cache_dir, identity)


def _analyse(
    texts: list[str], config: CleanConfig, nlp: Any, cache: AnalysisCache | None = None, *, show_progress: bool = False
) -> tuple[list[tuple[str, str, list[str]]], list[str | None] | None]:
    """(clean text with names redacted, lemmas, phrases) for each distinct text, and the texts' languages
    before redaction when worker processes told them (else None)."""
    if not texts:
        return [], None
    common = common_capitalized(texts) if uses_common_words(config, nlp) else frozenset()
    as_is = None
    if cache is None:
        terms, persons, as_is = _analyse_fresh(
            texts, config, nlp, common, languages=config.detect_language, show_progress=show_progress
        )
    else:
        terms, persons = _analyse_cached(texts, config, common, cache, show_progress=show_progress)
    counts = Counter(name for spans in persons for name in person_names(spans))
    public = public_names(counts, len(texts), common)
    return [(finish_text(text, persons[i], public), *terms[i]) for i, text in enumerate(texts)], as_is


def _analyse_fresh(
    texts: list[str],
    config: CleanConfig,
    nlp: Any,
    common: frozenset[str],
    *,
    languages: bool = False,
    show_progress: bool = False,
) -> tuple[list[tuple[str, list[str]]], list[Spans], list[str | None] | None]:
    """The spaCy work, in worker processes on large inputs; there the workers also tell the languages
    (with ``languages``), which would otherwise take this process a fifth of the clean time."""
    workers = _workers(config, nlp, len(texts))
    if workers > 1:
        return _analyse_in_processes(texts, config, common, workers, languages=languages, show_progress=show_progress)
    return (*analyse_texts(texts, config, nlp, common, show_progress=show_progress), None)


def _redetect_changed(texts: list[str], finished: list[str], as_is: list[str | None]) -> list[str | None]:
    """The finished texts' languages: as told for a text redaction left as it was, detected again for the
    few it changed (language is a function of the text alone, so both give what detecting all would)."""
    changed = [i for i, (text, done) in enumerate(zip(texts, finished, strict=True)) if text != done]
    languages = list(as_is)
    for i, language in zip(changed, detect_languages([finished[i] for i in changed]), strict=True):
        languages[i] = language
    return languages


def _analyse_cached(
    texts: list[str], config: CleanConfig, common: frozenset[str], cache: AnalysisCache, *, show_progress: bool = False
) -> tuple[list[tuple[str, list[str]]], list[Spans]]:
    """:func:`_analyse_fresh` for the texts not in ``cache``, the cache's entries for the others.

    A text's key holds its capitalized words that are in ``common``: in the fast mode they decide where
    NER reads (see :func:`_name_windows`), so the same text in another corpus can get other spans.
    """
    keys = [analysis_key(t, capitalized_words(t) & common if common else ()) for t in texts]
    found: dict[str, tuple[tuple[str, list[str]], Spans]] = {}
    stored = cache.get_many(keys)
    for text, key in zip(texts, keys, strict=True):
        if key in stored and all(end <= len(text) for _, end in stored[key][1]):
            found[key] = (stored[key][0], [(start, end, text[start:end]) for start, end in stored[key][1]])
    todo = [i for i, key in enumerate(keys) if key not in found]
    log.info("Clean cache: %d of %d distinct texts found, %d to analyse", len(texts) - len(todo), len(texts), len(todo))
    todo_texts = [texts[i] for i in todo]
    fresh_terms, fresh_persons, _ = _analyse_fresh(todo_texts, config, None, common, show_progress=show_progress)
    fresh = {keys[i]: (fresh_terms[j], fresh_persons[j]) for j, i in enumerate(todo)}
    cache.put_many({key: (terms, [(start, end) for start, end, _ in spans]) for key, (terms, spans) in fresh.items()})
    found.update(fresh)
    return [found[key][0] for key in keys], [list(found[key][1]) for key in keys]


def _languages(texts: list[str], cache_dir: Path | None) -> list[str | None]:
    """:func:`detect_languages`, with the labels of texts seen before read from the cache in ``cache_dir``."""
    if cache_dir is None:
        return detect_languages(texts)
    cache = LanguageCache(cache_dir, language_identity())
    keys = [analysis_key(t) for t in texts]
    found = cache.get_many(keys)
    todo = [i for i, key in enumerate(keys) if key not in found]
    fresh = {keys[i]: (lang,) for i, lang in zip(todo, detect_languages([texts[i] for i in todo]), strict=True)}
    cache.put_many(fresh)
    found.update(fresh)
    return [found[key][0] for key in keys]
