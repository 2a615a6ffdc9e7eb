"""Clean: normalize text, redact PII, identify language, mark duplicates, extract terms.

Input is the ingest table (``schemas.INGESTED``); output adds the ``schemas.CLEANED`` columns.
The text is not lowercased and stopwords are kept: the embedder needs context. Lemmas and noun
phrases are extracted here for keyword extraction only. spaCy runs once per distinct text,
streamed with ``nlp.pipe(..., as_tuples=True)`` so positions travel with the texts.
"""

from __future__ import annotations

import functools
import html
import logging
import os
import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

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

#: Typed placeholders that replace PII; the words inside the brackets are never keywords.
PLACEHOLDERS = ("[URL]", "[EMAIL]", "[CARD]", "[PHONE]", "[HANDLE]", "[PERSON]")
_PLACEHOLDER_WORDS = {p.strip("[]") for p in PLACEHOLDERS}

_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(\s[^<>]*)?/?>|<!--.*?-->", re.S)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")
_SPACE = re.compile(r"\s+")
_URL = re.compile(
    r"\b(?:https?://|ftp://|www\.)[^\s<>\"']+"
    r"|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|io|co|ly|gl|me|app|tv)/[^\s<>\"']*",
    re.I,
)
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_PHONE = re.compile(
    r"(?<![\w+-])(?:\+?\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)[\s.-]?)?\d{2,4}[\s.-]?\d{3,4}(?:[\s.-]?\d{3,4})?(?![\w-])"
)
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_][A-Za-z0-9_.]{1,29}\b")
_NOT_ALNUM = re.compile(r"[^\w]+|_")
_LETTER = re.compile(r"[^\W\d_]")
#: A capitalized word, possibly a name; sentence-initial ones are skipped in _has_name_hint.
_NAME_HINT = re.compile(r"(?<![.!?]\s)(?<![.!?])\b[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?\b")
#: Any capitalized word, and how many characters either side of one the fast mode's NER reads.
_CAPITALIZED = re.compile(r"\b[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?\b")
_NER_WINDOW = 40
_DUPLICATE_PLACEHOLDER = re.compile(r"(\[(?:URL|EMAIL|CARD|PHONE|HANDLE|PERSON)\])(?:\s*\1)+")


def normalize_text(text: str) -> str:
    """NFKC, HTML entities and tags, control characters and runs of whitespace."""
    text = unicodedata.normalize("NFKC", text)
    text = html.unescape(text)
    text = _TAG.sub(" ", text)
    text = _CONTROL.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return "[CARD]" if 13 <= len(digits) <= 19 and _luhn_ok(digits) else match.group()


def _phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return "[PHONE]" if 7 <= len(digits) <= 15 else match.group()


def redact_pii(text: str) -> str:
    """Replace URLs, emails, card numbers (Luhn-checked), phone numbers and @handles."""
    text = _URL.sub("[URL]", text)
    text = _EMAIL.sub("[EMAIL]", text)
    text = _CARD.sub(_card, text)
    text = _PHONE.sub(_phone, text)
    return _HANDLE.sub("[HANDLE]", text)


def canonical_key(text: str) -> str:
    """The form two near-duplicates share: casefolded, punctuation and spacing removed."""
    return _SPACE.sub(" ", _NOT_ALNUM.sub(" ", text.casefold())).strip()


def _placeholder_flags(texts: list[str]) -> list[bool]:
    """Which tokens are the word inside a placeholder ("[", "PERSON", "]" → the middle one)."""
    return [i > 0 and text in _PLACEHOLDER_WORDS and texts[i - 1] == "[" for i, text in enumerate(texts)]


def _terms(doc: Any, *, use_parser: bool) -> tuple[str, list[str]]:
    """Lowercased lemmas (stopwords kept, placeholders dropped) and noun phrases of a doc."""
    # Token attributes are read once into lists: indexing a Doc creates a Token object each time.
    tokens = list(doc)
    texts = [t.text for t in tokens]
    placeholder = _placeholder_flags(texts)
    alpha = [t.is_alpha for t in tokens]
    lowered = [(t.lemma_ or text).lower() for t, text in zip(tokens, texts, strict=True)]
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


def _person_spans(doc: Any) -> list[Any]:
    return [ent for ent in doc.ents if ent.label_ == "PERSON" and not ent.text.startswith("[")]


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
    out = rows.copy()
    n = len(out)
    clean_text: list[str | None] = [None] * n
    truncated = np.zeros(n, dtype=bool)
    excluded = out["excluded"].to_numpy(copy=True)
    reasons = out["exclusion_reason"].tolist()

    # 1. Cheap per-row normalization and regex redaction.
    texts = out["text"].tolist()
    for i in np.flatnonzero(~excluded):
        clean_text[i], truncated[i] = prepare_text(texts[i], config)
        if truncated[i]:
            log.warning(
                "%s: text of %d characters truncated to clean.max_chars=%d.",
                where(out.at[i, "source_file"], int(out.at[i, "source_row"]), "text"),
                len(texts[i]),
                config.max_chars,
            )

    # 2. spaCy once per distinct text: names redacted, lemmas and phrases for keywords.
    distinct: dict[str, int] = {}
    for i in np.flatnonzero(~excluded):
        distinct.setdefault(clean_text[i], len(distinct))  # type: ignore[arg-type]
    unique_texts = list(distinct)
    cache_dir = cache_dir if config.use_cache and nlp is None else None
    analysed = _analyse(unique_texts, config, nlp, _cache(config, cache_dir), show_progress=show_progress)
    lemmas = [""] * n
    phrases: list[list[str]] = [[] for _ in range(n)]
    language: list[str | None] = [None] * n
    finished = [a[0] for a in analysed]
    languages = _languages(finished, cache_dir) if config.detect_language else [None] * len(analysed)
    for i in np.flatnonzero(~excluded):
        k = distinct[clean_text[i]]  # type: ignore[index]
        clean_text[i], lemmas[i], phrases[i] = analysed[k]
        language[i] = languages[k]

    # 3. Rows with no words left, and languages not asked for, are excluded.
    for i in np.flatnonzero(~excluded):
        reason = late_exclusion(clean_text[i], language[i], config)
        if reason is not None:
            excluded[i], reasons[i] = True, reason

    # 4. Near-duplicates share a canonical key; the first row of each key is embedded for all.
    dup_key: list[str | None] = [None] * n
    duplicate_of: list[str | None] = [None] * n
    first_of: dict[str, str] = {}
    row_ids = out["row_id"].tolist()
    for i in np.flatnonzero(~excluded):
        key = canonical_key(clean_text[i] or "")
        dup_key[i] = key
        if key in first_of:
            duplicate_of[i] = first_of[key]
        else:
            first_of[key] = row_ids[i]

    out["excluded"] = excluded
    out["exclusion_reason"] = pd.Series(reasons, index=out.index, dtype=object)
    out["clean_text"] = pd.Series(clean_text, index=out.index, dtype=object)
    out["language"] = pd.Series(language, index=out.index, dtype=object)
    out["truncated"] = truncated
    out["dup_key"] = pd.Series(dup_key, index=out.index, dtype=object)
    out["duplicate_of"] = pd.Series(duplicate_of, index=out.index, dtype=object)
    out["lemmas"] = lemmas
    out["phrases"] = pd.Series(phrases, index=out.index, dtype=object)
    return out


def prepare_text(text: str, config: CleanConfig) -> tuple[str, bool]:
    """Per-row normalization before spaCy: truncation, Unicode/whitespace clean-up, regex PII redaction.

    Returns the text and whether it was truncated."""
    truncated = len(text) > config.max_chars
    text = normalize_text(text[: config.max_chars])
    return (redact_pii(text) if config.redact_pii else text), truncated


def late_exclusion(clean_text: str | None, language: str | None, config: CleanConfig) -> str | None:
    """Why a row is excluded after cleaning (no letters left, a language not asked for), or None."""
    if _letters(clean_text or "") < config.min_letters:
        return "no_letters"
    if config.languages and language not in set(config.languages):
        return "language"
    return None


def _letters(text: str) -> int:
    return len(_LETTER.findall(_strip_placeholders(text)))


def _strip_placeholders(text: str) -> str:
    for placeholder in PLACEHOLDERS:
        text = text.replace(placeholder, " ")
    return text


Spans: TypeAlias = "list[tuple[int, int, str]]"


def uses_common_words(config: CleanConfig, nlp: Any) -> bool:
    """Whether name redaction reads the corpus's common capitalized words (the fast mode's NER windows)."""
    return nlp is None and config.mode == "fast" and config.redact_pii and config.redact_names


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
        from models.nlp import load_lemmatizer, load_ner

        stream = load_lemmatizer().pipe(texts, batch_size=config.batch_size)
        for i, doc in enumerate(
            tqdm(stream, total=len(texts), desc="clean", unit="text", disable=not show, leave=False)
        ):
            terms[i] = _terms(doc, use_parser=False)
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


def person_names(spans: Spans) -> set[str]:
    """The casefolded names in one text's spans (each counted once per text)."""
    return {name.casefold() for _, _, name in set(spans)}


def public_names(name_counts: Counter[str] | dict[str, int], n_texts: int, common: frozenset[str]) -> set[str]:
    """Names public enough to keep: found in many distinct texts, or made only of common words.

    A "name" the small NER model finds in many distinct reports is a product, brand or public figure
    ("Evernote", "Netflix"), not a private individual: it stays, as it carries the theme.
    ``name_counts``: in how many distinct texts each casefolded name was found.
    """
    public = {name for name, c in name_counts.items() if c >= _public_count(n_texts)}
    public |= {name for name in name_counts if common and set(name.split()) <= common}
    return public


def finish_text(text: str, spans: Spans, public: set[str]) -> str:
    """The text with its private names replaced by [PERSON]."""
    redacted = _splice_persons(text, spans, public) if spans else text
    # The small model tags some short commands as names ("Cancel Transaction"); a text that
    # would lose most of its letters to [PERSON] is far likelier one of those than a name.
    if redacted is not text and _letters(redacted) < 0.5 * _letters(text):
        return text
    return redacted


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
) -> list[tuple[str, str, list[str]]]:
    """(clean text with names redacted, lemmas, phrases) for each distinct text."""
    if not texts:
        return []
    common = common_capitalized(texts) if uses_common_words(config, nlp) else frozenset()
    if cache is None:
        terms, persons = _analyse_fresh(texts, config, nlp, common, show_progress=show_progress)
    else:
        terms, persons = _analyse_cached(texts, config, common, cache, show_progress=show_progress)
    counts = Counter(name for spans in persons for name in person_names(spans))
    public = public_names(counts, len(texts), common)
    return [(finish_text(text, persons[i], public), *terms[i]) for i, text in enumerate(texts)]


def _analyse_fresh(
    texts: list[str], config: CleanConfig, nlp: Any, common: frozenset[str], *, show_progress: bool = False
) -> tuple[list[tuple[str, list[str]]], list[Spans]]:
    workers = _workers(config, nlp, len(texts))
    if workers > 1:
        return _analyse_in_processes(texts, config, common, workers, show_progress=show_progress)
    return analyse_texts(texts, config, nlp, common, show_progress=show_progress)


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
    fresh_terms, fresh_persons = _analyse_fresh(todo_texts, config, None, common, show_progress=show_progress)
    fresh = {keys[i]: (fresh_terms[j], fresh_persons[j]) for j, i in enumerate(todo)}
    cache.put_many({key: (terms, [(start, end) for start, end, _ in spans]) for key, (terms, spans) in fresh.items()})
    found.update(fresh)
    return [found[key][0] for key in keys], [list(found[key][1]) for key in keys]


def _workers(config: CleanConfig, nlp: Any, n_texts: int) -> int:
    """Worker processes for the spaCy work: ``config.n_process`` (at most the usable cores) on large inputs.

    A worker costs about 3 s to start (it imports spaCy and loads the pipelines), so small inputs and a
    caller's own ``nlp`` object (which cannot be sent to another process) stay in this one.
    """
    if nlp is not None or config.n_process <= 1 or n_texts < config.n_process_min_texts:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(config.n_process, cores))


_Job: TypeAlias = "tuple[list[str], CleanConfig, frozenset[str]]"


def _analyse_chunk(job: _Job) -> tuple[list[tuple[str, list[str]]], list[Spans]]:
    """One worker's share of :func:`analyse_texts` (a module-level function, so it pickles)."""
    texts, config, common = job
    return analyse_texts(texts, config, None, common)


def _analyse_in_processes(
    texts: list[str], config: CleanConfig, common: frozenset[str], workers: int, *, show_progress: bool = False
) -> tuple[list[tuple[str, list[str]]], list[Spans]]:
    """:func:`analyse_texts` split over ``workers`` spawned processes, results in input order.

    Each text's result depends only on the text and ``common``, so the split changes nothing in the
    output. Spawned, not forked: the parent runs threads (the stage's memory sampler), and a fork can
    copy a lock one of them holds.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pieces = 4 * workers  # a few pieces per worker: even loads and a progress bar that moves
    step = -(-len(texts) // pieces)
    jobs = [(texts[i : i + step], config, common) for i in range(0, len(texts), step)]
    terms: list[tuple[str, list[str]]] = []
    persons: list[Spans] = []
    show = show_progress
    log.info("Cleaning %d distinct texts in %d processes", len(texts), workers)
    context = multiprocessing.get_context("spawn")
    with (
        ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool,
        tqdm(total=len(texts), desc="clean", unit="text", disable=not show, leave=False) as bar,
    ):
        for job, (piece_terms, piece_persons) in zip(jobs, pool.map(_analyse_chunk, jobs), strict=True):
            terms.extend(piece_terms)
            persons.extend(piece_persons)
            bar.update(len(job[0]))
    return terms, persons


def _has_name_hint(text: str) -> bool:
    """A capitalized word that does not start a sentence and is not a stopword ("I", "The")."""
    return any(m.start() and m.group().lower() not in _stop_words() for m in _NAME_HINT.finditer(text))


def _public_count(n_texts: int) -> int:
    """In how many distinct texts a name must appear to count as public (a product, brand or public figure)."""
    return max(3, n_texts // 1000)


def capitalized_words(text: str) -> set[str]:
    """The casefolded words written capitalized in ``text`` (each once)."""
    return {m.group().casefold() for m in _CAPITALIZED.finditer(text)}


def common_words(word_counts: Counter[str] | dict[str, int], n_texts: int) -> frozenset[str]:
    """Words capitalized in at least ``_public_count(n_texts)`` distinct texts (counts from any engine)."""
    least = _public_count(n_texts)
    return frozenset(word for word, c in word_counts.items() if c >= least)


def common_capitalized(texts: list[str]) -> frozenset[str]:
    """Casefolded words written capitalized in at least ``_public_count`` of the distinct texts.

    They are what the public-name rule would keep anyway ("Netflix", "Kindle", "App"): on the 10,000 app
    reviews, 250 such words, and skipping them leaves NER a third of the characters to read.
    """
    return common_words(Counter(word for text in texts for word in capitalized_words(text)), len(texts))


def _name_windows(text: str, common: frozenset[str] = frozenset()) -> list[tuple[int, int]]:
    """Character spans of ``text`` around its capitalized words, overlapping ones merged; stopwords and
    ``common`` words are no anchors.

    The small NER model decides from a few tokens either side of a word, so a name is found the same in
    the window as in the whole text. Measured on the 10,000 app reviews: NER reads 60% of the characters
    and takes half the time; 2,545 of the 2,572 texts it reads get the same PERSON spans as from the
    whole text, and the other 27 differ by tags such as "WiFi" or "bummer" that are no names. Skipping
    the common words too (``_common_capitalized``), NER reads 35% of the characters (7.6 s → 2.5 s);
    85 texts end up different from whole-text NER, each because a device, a brand or a word such as
    "App" or "Great" is no longer redacted as a [PERSON]; 5 of BANKING77's 13,071 distinct texts, the
    same way ("Mastercard ATM", "Card").
    """
    spans: list[tuple[int, int]] = []
    for match in _CAPITALIZED.finditer(text):
        if match.group().lower() in _stop_words() or match.group().casefold() in common:
            continue
        start, end = max(0, match.start() - _NER_WINDOW), min(len(text), match.end() + _NER_WINDOW)
        while start > 0 and not text[start - 1].isspace():
            start -= 1
        while end < len(text) and not text[end].isspace():
            end += 1
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
        else:
            spans.append((start, end))
    return spans


@functools.lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


def _splice_persons(text: str, spans: list[tuple[int, int, str]], public: set[str]) -> str:
    parts: list[str] = []
    last = 0
    for start, end, name in spans:
        if name.casefold() in public:
            continue
        parts.append(text[last:start])
        parts.append("[PERSON]")
        last = end
    parts.append(text[last:])
    return _DUPLICATE_PLACEHOLDER.sub(r"\1", "".join(parts))


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


def detect_languages(texts: list[str]) -> list[str | None]:
    import py3langid

    out: list[str | None] = []
    for text in texts:
        stripped = _strip_placeholders(text).strip()
        # The first 1,000 characters decide: the same label for every one of the 10,000 app reviews, in
        # half the time on the long ones.
        out.append(py3langid.classify(stripped[:1000])[0] if stripped else None)
    return out
