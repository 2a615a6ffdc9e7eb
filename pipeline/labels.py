"""Theme labels a person would write: a short sentence-case phrase per theme, picked from its own text.

Per theme (never per row), candidates come from the member texts nearest the centroid (clean,
PII-redacted):

* **phrases**: spaCy noun chunks and verb phrases (the verb with its objects, particles,
  negation and auxiliaries, and a noun subject: "app crashes after the update"), on the
  ``label_texts`` texts nearest the centroid;
* **n-grams**: word 2- to 5-grams that recur in at least ``label_min_share`` of the theme's texts;
* **verbatims**: short texts and clauses (at most ``label_max_words`` words).

Candidates with a redaction placeholder, a profanity, more than ``label_max_words`` words or no
content word are dropped. The rest are embedded in one batch with the run's embedder and scored::

    score = cos(c, own centroid) + label_separation * (cos(c, own) - max cos(c, other centroids))
            + label_support * support + label_keywords * keyword coverage + label_predicate * has a verb
            - label_contradiction * contradictions - length penalty

where keyword coverage and contradictions (generic words only, a keyword's opposite, praise of a
complaint theme) come from :mod:`pipeline.label_rules`. With ``label_keyword_filter``, a theme
picks among the candidates that hold one of its first three distinctive keywords and contradict
nothing, when it has any; a theme of general praise or blame gets "General praise" (or complaints).
Themes pick in order of size, MMR-like: ``(1 - label_diversity) * score - label_diversity * max
cos(c, labels already picked)``; a label already taken, or ``reserved`` (curated names), is never
picked again. A :class:`LabelGenerator` (e.g. a local text2text model, :mod:`pipeline.label_models`)
adds one candidate per theme that wins whenever it passes the same checks.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from models.embedding import Embedder
from pipeline import label_rules as rules
from pipeline.config import RepresentConfig
from pipeline.label_text import clean_phrase, sentence_case, true_case
from pipeline.label_text import word_forms as _word_forms

__all__ = [
    "Candidate",
    "LabelGenerator",
    "ThemeText",
    "candidates_of",
    "clean_phrase",
    "has_placeholder",
    "keyword_label",
    "sentence_case",
    "theme_labels",
    "true_case",
]

log = logging.getLogger(__name__)

_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")
_PLACEHOLDER = re.compile(r"\[\s*[A-Z_]+\s*\]|\b(?:URL|EMAIL|CARD|PHONE|HANDLE|PERSON)\b")
_CLAUSE_SPLIT = re.compile(r"(?<=[.!?;])\s+|\s*[.!?;:()\n]+\s*|,\s+|\s+-+\s+|\s+(?:but|and then|because)\s+", re.I)
#: Words an n-gram may end with although they are stopwords ("log in", "top up", "sign out").
_PARTICLES = {"in", "up", "out", "on", "off", "back", "down", "over", "away"}
#: Extra label-time stopwords on top of spaCy's.
_EXTRA_STOP = {"app", "apps", "lol", "pls", "please", "im", "dont", "cant", "u"}


@dataclass
class ThemeText:
    """What a labeler reads of one theme: its texts (nearest the centroid first), keywords, centroid."""

    theme_id: int
    texts: list[str]
    keywords: list[str]
    centroid: np.ndarray
    size: int = 0


@dataclass
class Candidate:
    """One possible label of a theme, with where it came from and the share of texts that back it."""

    text: str
    source: str  # "phrase" | "ngram" | "verbatim" | "model" | "keywords"
    support: float = 0.0
    score: float = 0.0
    words: frozenset[str] = field(default_factory=frozenset)
    coverage: float = 0.0  # of the theme's distinctive keywords (pipeline.label_rules.judge)
    hits: bool = False  # holds one of the first three
    penalty: float = 0.0  # generic words only, a keyword's opposite, praise of a complaint
    verb: bool = False  # says what happens ("Songs skip offline"), not only what it is about ("Music app")


@runtime_checkable
class LabelGenerator(Protocol):
    """Proposes one label per theme (None: no proposal), like BERTopic's representation models."""

    def generate(self, themes: Sequence[ThemeText]) -> list[str | None]: ...


def _stopwords() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS) | _EXTRA_STOP


def _profanity() -> Any:
    from models.lexicons import load_lexicon

    return load_lexicon("profanity")


def has_placeholder(text: str) -> bool:
    """Whether ``text`` holds a redaction placeholder ("[PERSON]", "[URL]", ...) or its bare word."""
    return bool(_PLACEHOLDER.search(text)) or "[" in text or "]" in text  # "PERSON] ka": a cut placeholder


def keyword_label(keywords: Sequence[str], n_terms: int) -> str:
    """The first keyphrases joined by commas, skipping words already inside a chosen phrase (the old label)."""
    picked: list[str] = []
    for word in keywords:
        parts = word.split()
        if len(set(parts)) < len(parts) or any(set(parts) & set(p.split()) for p in picked):
            continue
        picked.append(word)
        if len(picked) == n_terms:
            break
    label = ", ".join(picked)
    return label[:1].upper() + label[1:] if label else "(no keywords)"


def _content(text: str, stop: frozenset[str]) -> frozenset[str]:
    return frozenset(w for w in (m.lower() for m in _WORD.findall(text)) if w not in stop and len(w) > 1)


def _ngrams(texts: list[str], stop: frozenset[str], min_share: float) -> list[str]:
    """Word 2-5-grams in at least ``min_share`` of the texts (2 at least), maximal ones first."""
    df: dict[tuple[str, ...], int] = {}
    for text in texts:
        words = [w.lower() for w in _WORD.findall(text)]
        seen = {
            tuple(words[i : i + n])
            for n in range(2, 6)
            for i in range(len(words) - n + 1)
            if words[i] not in stop and (words[i + n - 1] not in stop or words[i + n - 1] in _PARTICLES)
        }
        for gram in seen:
            df[gram] = df.get(gram, 0) + 1
    floor = max(2, int(np.ceil(min_share * len(texts))))
    frequent = {g: c for g, c in df.items() if c >= floor}
    # An n-gram inside a longer one that is almost as frequent adds nothing.
    kept = [
        g
        for g, c in frequent.items()
        if not any(len(h) > len(g) and c2 >= 0.8 * c and _inside(g, h) for h, c2 in frequent.items())
    ]
    kept.sort(key=lambda g: (-frequent[g], -len(g)))
    return [" ".join(g) for g in kept[:15]]


def _inside(small: tuple[str, ...], big: tuple[str, ...]) -> bool:
    n = len(small)
    return any(big[i : i + n] == small for i in range(len(big) - n + 1))


def _surface(gram: str, texts: list[str]) -> str:
    """The n-gram as first written in the texts (keeps "Spotify", "PIN"), else as given."""
    pattern = re.compile(r"\b" + r"\W+".join(re.escape(w) for w in gram.split()) + r"\b", re.I)
    for text in texts:
        match = pattern.search(text)
        if match:
            return match.group(0)
    return gram


def _spacy_phrases(docs: list[Any]) -> list[str]:
    """Noun chunks and verb phrases of parsed docs, as their original text."""
    out: list[str] = []
    skip = {"nsubj", "nsubjpass", "punct", "cc", "conj", "mark", "parataxis", "intj", "advcl", "ccomp"}
    for doc in docs:
        if doc.has_annotation("DEP"):
            for chunk in doc.noun_chunks:
                kept = [t for t in chunk if t.pos_ not in {"DET", "PRON"} and not t.is_punct]
                if len(kept) >= 2:
                    out.append(doc[kept[0].i : kept[-1].i + 1].text)
        for verb in (t for t in doc if t.pos_ == "VERB"):
            parts = [verb]
            for child in verb.children:
                if child.i < verb.i and child.dep_ in {"prep", "npadvmod", "dep"}:
                    continue  # "Since yesterday the app crashes": the time or place before the clause goes
                if (child.dep_ in {"nsubj", "nsubjpass"} and child.pos_ in {"NOUN", "PROPN"}) or child.dep_ not in skip:
                    parts.extend(child.subtree)
            lo, hi = min(t.i for t in parts), max(t.i for t in parts)
            if 2 <= hi - lo + 1 <= 10:
                out.append(doc[lo : hi + 1].text)
    return out


def candidates_of(
    theme: ThemeText, config: RepresentConfig, stop: frozenset[str], docs: list[Any] | None = None
) -> list[Candidate]:
    """The label candidates of one theme that pass the checks, each with its support."""
    profanity = _profanity()
    near = theme.texts[: config.label_texts]
    raw: list[tuple[str, str]] = [(p, "phrase") for p in _spacy_phrases(docs or [])]
    raw += [(_surface(g, near), "ngram") for g in _ngrams(theme.texts, stop, config.label_min_share)]
    for text in near:
        raw += [(part, "verbatim") for part in [text, *_CLAUSE_SPLIT.split(text)] if part]
    word_sets = [_content(t, stop) for t in theme.texts]
    forms = _word_forms(theme.texts)
    out: dict[str, Candidate] = {}
    for text, source in raw:
        label = clean_phrase(text, max_words=config.label_max_words)
        if label is None or has_placeholder(text) or has_placeholder(label) or profanity.matches(label):
            continue
        label = true_case(label, forms)
        words = _content(label, stop)
        key = label.lower()
        if not words or key in out:
            continue
        support = sum(words <= s for s in word_sets) / max(len(word_sets), 1)
        out[key] = Candidate(label, source, support, words=words)
    return list(out.values())


def _length_penalty(text: str, config: RepresentConfig) -> float:
    n = len(text.split())
    return config.label_length_penalty * (max(0, n - 6) + (2 if n == 1 else 0))


def _fallback(theme: ThemeText, config: RepresentConfig, taken: set[str]) -> str:
    """Keywords as a phrase when no candidate is left; made unique with the theme id if need be."""
    profanity = _profanity()
    words = [k for k in theme.keywords if not has_placeholder(k) and not profanity.matches(k)]
    label = keyword_label(words, config.label_terms).replace(", ", " · ") if words else "Other feedback"
    if label.lower() in taken:
        label = f"{label} (theme {theme.theme_id})"
    return label


def theme_labels(
    themes: Sequence[ThemeText],
    config: RepresentConfig,
    *,
    embedder: Embedder | None = None,
    generator: LabelGenerator | None = None,
    nlp: Any = None,
    reserved: Collection[str] = (),
) -> list[str]:
    """One distinct label per theme, in the order of ``themes``, none of them ``reserved`` (module docstring)."""
    if not themes:
        return []
    stop = _stopwords()
    docs: list[list[Any]] = [[] for _ in themes]
    if nlp is not None:
        jobs = ((text, i) for i, t in enumerate(themes) for text in t.texts[: config.label_texts])
        for doc, i in nlp.pipe(jobs, as_tuples=True, batch_size=256):
            docs[i].append(doc)
    pools = [candidates_of(t, config, stop, docs[i]) for i, t in enumerate(themes)]
    brands = rules.brand_words(_word_forms([x for t in themes for x in t.texts]), [t.keywords for t in themes])
    for theme, pool, theme_docs in zip(themes, pools, docs, strict=True):
        keys = rules.theme_keys(theme.keywords, brands)
        if keys.sentiment_only():
            pool += [
                Candidate(x, "general", 1.0, words=_content(x, stop)) for x in rules.general_labels(theme.keywords)
            ]
        lemmas = {t.lower_: t.lemma_.lower() for doc in theme_docs for t in doc}
        verbs = {t.lower_ for doc in theme_docs for t in doc if t.pos_ == "VERB"}
        for cand in pool:
            cand.verb = any(w.lower() in verbs for w in _WORD.findall(cand.text))
            words, every = rules.stems_of(cand.text, lemmas, stop), rules.stems_of(cand.text, lemmas)
            cand.coverage, cand.hits, cand.penalty = rules.judge(words, keys, every=every)
    if generator is not None:
        proposals = generator.generate(list(themes))
        for pool, proposal, theme in zip(pools, proposals, themes, strict=True):
            label = clean_phrase(proposal, max_words=config.label_max_words) if proposal else None
            if label is None or has_placeholder(label) or _profanity().matches(label):
                log.debug("theme %d: generated label %r rejected", theme.theme_id, proposal)
                continue
            pool.insert(0, Candidate(label, "model", 1.0, words=_content(label, stop)))
    for pool in pools:
        pool.sort(key=lambda c: (c.source != "model", c.penalty > 0, not c.hits, -c.support, len(c.text)))
        del pool[config.label_candidates :]
    distinct = sorted({c.text for pool in pools for c in pool})
    vecs: dict[str, np.ndarray] = {}
    if embedder is not None and distinct:
        vecs = dict(zip(distinct, embedder.encode(distinct), strict=True))
    centroids = np.stack([np.asarray(t.centroid, dtype=np.float32) for t in themes])
    for i, pool in enumerate(pools):
        for cand in pool:
            cand.score = config.label_support * cand.support - _length_penalty(cand.text, config)
            cand.score += config.label_keywords * cand.coverage - config.label_contradiction * cand.penalty
            cand.score += config.label_predicate * cand.verb
            if cand.source in {"model", "general"}:
                cand.score += 10.0  # a valid generated label (or "General praise" of a theme without a topic) wins
            if vecs:
                sims = centroids @ vecs[cand.text]
                own = float(sims[i])
                others = float(np.delete(sims, i).max()) if len(themes) > 1 else 0.0
                cand.score += own + config.label_separation * (own - others)
    labels: list[str] = [""] * len(themes)
    taken: set[str] = {r.lower() for r in reserved}
    picked_vecs: list[np.ndarray] = []
    for i in sorted(range(len(themes)), key=lambda j: (-themes[j].size, themes[j].theme_id)):
        best, best_score = None, -np.inf
        free = [c for c in pools[i] if c.text.lower() not in taken]
        if config.label_keyword_filter and any(c.hits and not c.penalty for c in free):
            free = [c for c in free if c.hits and not c.penalty]  # a label says what the theme is about
        for cand in free:
            score = cand.score
            if vecs and picked_vecs:
                redundancy = float(np.max(np.stack(picked_vecs) @ vecs[cand.text]))
                score = (1 - config.label_diversity) * score - config.label_diversity * redundancy
            if score > best_score:
                best, best_score = cand, score
        label = best.text if best is not None else _fallback(themes[i], config, taken)
        labels[i] = label
        taken.add(label.lower())
        if best is not None and vecs:
            picked_vecs.append(vecs[best.text])
    log.info("Labelled %d themes from %d candidates", len(themes), len(distinct))
    return labels
