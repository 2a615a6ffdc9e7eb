"""Represent: per theme, c-TF-IDF keywords diversified with MMR, a label a person would write
(:mod:`pipeline.labels`), representative verbatims and the centroid.

Keywords come from the lemmas and noun phrases the clean stage extracted; spaCy's stopwords are
removed here (and only here). c-TF-IDF treats all rows of a theme as one document:
``score(t, c) = tf(t, c) / |c| * log(1 + A / f(t))`` with ``A`` the mean words per theme and
``f(t)`` the term's frequency over all themes (BERTopic's formulation), outliers included as one
more class so their vocabulary does not look distinctive.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from models.embedding import Embedder
from pipeline.config import DEFAULT_SPACY_MODEL, RepresentConfig
from pipeline.labels import LabelGenerator, ThemeText, keyword_label, theme_labels

__all__ = ["ctfidf", "keyword_label", "mmr", "represent", "terms_of"]

log = logging.getLogger(__name__)


def _stopwords() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS) | {"app", "apps", "s", "nt", "ca", "wo", "na", "lol", "pls", "please"}


def terms_of(lemmas: str, phrases: list[str], stop: frozenset[str]) -> list[str]:
    """Candidate keywords of one row: non-stopword lemmas (2+ letters) and its noun phrases."""
    words = [w for w in lemmas.split() if len(w) > 1 and w not in stop]
    return words + [p for p in phrases if not all(part in stop for part in p.split())]


def ctfidf(counts: sparse.csr_matrix) -> sparse.csr_matrix:
    """c-TF-IDF of a (classes x terms) count matrix."""
    tf = sparse.diags(1.0 / np.maximum(np.asarray(counts.sum(axis=1)).ravel(), 1)) @ counts
    freq = np.asarray(counts.sum(axis=0)).ravel()
    avg = counts.sum() / max(counts.shape[0], 1)
    idf = np.log1p(avg / np.maximum(freq, 1))
    return sparse.csr_matrix(tf @ sparse.diags(idf))


def mmr(target: np.ndarray, candidates: np.ndarray, relevance: np.ndarray, k: int, diversity: float) -> list[int]:
    """Maximal marginal relevance: indices of ``k`` candidates, relevant but unlike each other."""
    if len(candidates) == 0:
        return []
    chosen = [int(np.argmax(relevance))]
    pairwise = candidates @ candidates.T
    while len(chosen) < min(k, len(candidates)):
        rest = [i for i in range(len(candidates)) if i not in chosen]
        redundancy = pairwise[np.ix_(rest, chosen)].max(axis=1)
        score = (1 - diversity) * relevance[rest] - diversity * redundancy
        chosen.append(rest[int(np.argmax(score))])
    return chosen


def _label(keywords: list[str], n_terms: int) -> str:
    """The keyword label (kept for callers of the old name)."""
    return keyword_label(keywords, n_terms)


def _nearest_distinct(
    members: np.ndarray, vectors: np.ndarray, centroid: np.ndarray, keys: list[Any], k: int
) -> list[int]:
    """Up to ``k`` member rows nearest the centroid, one per distinct text."""
    order = members[np.argsort(-(vectors[members] @ centroid), kind="stable")]
    seen: set[Any] = set()
    out: list[int] = []
    for row in order:
        if keys[row] in seen:
            continue
        seen.add(keys[row])
        out.append(int(row))
        if len(out) == k:
            break
    return out


def _label_nlp(config: RepresentConfig, spacy_model: str | None) -> Any:
    """The spaCy pipeline that finds noun and verb phrases (None for a blank one: n-grams and verbatims only)."""
    name = config.label_spacy_model or spacy_model or DEFAULT_SPACY_MODEL
    if name.startswith("blank:"):
        return None
    from models.nlp import load_spacy

    return load_spacy(name, ner=False, parser=True)


def _representatives(
    members: np.ndarray, vectors: np.ndarray, centroid: np.ndarray, texts: list[Any], keys: list[Any], k: int
) -> list[str]:
    """Up to ``k`` member texts nearest the centroid, skipping near-duplicates of those picked."""
    sims = vectors[members] @ centroid
    picked: list[int] = []
    seen_keys: set[Any] = set()
    for pos in np.argsort(-sims, kind="stable"):
        row = int(members[pos])
        if keys[row] in seen_keys:
            continue
        if picked and float((vectors[picked] @ vectors[row]).max()) > 0.95:
            continue
        picked.append(row)
        seen_keys.add(keys[row])
        if len(picked) == k:
            break
    return [str(texts[i]) for i in picked]


def represent(
    rows: pd.DataFrame,
    labels: np.ndarray,
    vectors: np.ndarray,
    config: RepresentConfig,
    *,
    embedder: Embedder | None = None,
    spacy_model: str | None = None,
    generator: LabelGenerator | None = None,
    nlp: Any = None,
    reserved_labels: Collection[str] = (),
) -> pd.DataFrame:
    """One row per theme: ``theme_id, label, keywords, size, unique_texts, representatives, centroid``.

    ``rows`` are the clustered rows (columns ``lemmas, phrases, clean_text, dup_key``), ``labels``
    their theme ids and ``vectors`` their embeddings, all aligned. ``embedder`` embeds candidate
    keywords for MMR and label candidates; without it keywords are ranked by c-TF-IDF alone and
    labels by support. ``spacy_model`` is the clean stage's pipeline, used for phrases unless
    ``config.label_spacy_model`` names another; ``nlp`` (a loaded pipeline) overrides both.
    ``generator`` proposes labels (default: a :class:`pipeline.label_models.TransformersLabeler`
    when ``config.label_model`` is set, else none). No generated label is one of ``reserved_labels``
    (the curated names of ``curation.yaml``, which win over generated ones).
    """
    columns = ["theme_id", "label", "keywords", "size", "unique_texts", "representatives", "centroid"]
    themes = np.unique(labels[labels >= 0])
    if len(themes) == 0:
        return pd.DataFrame(columns=columns)
    stop = _stopwords()
    docs = [terms_of(lem, list(ph), stop) for lem, ph in zip(rows["lemmas"], rows["phrases"], strict=True)]
    vocab: dict[str, int] = {}
    indptr, indices = [0], []
    for doc in docs:
        for term in doc:
            indices.append(vocab.setdefault(term, len(vocab)))
        indptr.append(len(indices))
    doc_term = sparse.csr_matrix(
        (np.ones(len(indices)), np.array(indices, dtype=np.int64), np.array(indptr)), shape=(len(docs), len(vocab))
    )
    classes = np.where(labels >= 0, labels, themes.max() + 1)  # outliers: one extra class
    membership = sparse.csr_matrix((np.ones(len(labels)), (classes, np.arange(len(labels)))))
    scores = ctfidf(sparse.csr_matrix(membership @ doc_term))
    terms = np.array(list(vocab), dtype=object)
    texts = rows["clean_text"].tolist()
    keys = rows["dup_key"].tolist()

    per_theme: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, list[str]]] = []
    for theme in themes:
        members = np.flatnonzero(labels == theme)
        centroid = vectors[members].mean(axis=0)
        centroid = centroid / (np.linalg.norm(centroid) or 1.0)
        row = scores.getrow(int(theme)).toarray().ravel()
        top = np.argsort(-row, kind="stable")[: config.n_candidates]
        top = top[row[top] > 0]
        per_theme.append((int(theme), members, centroid, row[top], [str(t) for t in terms[top]]))
    # Every theme's candidate keywords embedded in one batch.
    vocab_vecs: dict[str, np.ndarray] = {}
    if embedder is not None:
        distinct = sorted({c for *_, cands in per_theme for c in cands})
        if distinct:
            vocab_vecs = dict(zip(distinct, embedder.encode(distinct), strict=True))

    records = []
    label_input = []
    for theme, members, centroid, cand_scores, candidates in per_theme:
        if vocab_vecs and len(candidates) > 1:
            cand_vecs = np.stack([vocab_vecs[c] for c in candidates])
            relevance = 0.5 * (cand_scores / cand_scores.max()) + 0.5 * (cand_vecs @ centroid)
            order = mmr(centroid, cand_vecs, relevance, config.n_keywords, config.mmr_diversity)
            keywords = [candidates[i] for i in order]
        else:
            keywords = candidates[: config.n_keywords]
        nearest = _nearest_distinct(members, vectors, centroid, keys, config.label_pool)
        label_input.append(ThemeText(theme, [str(texts[i]) for i in nearest], keywords, centroid, len(members)))
        records.append(
            {
                "theme_id": int(theme),
                "label": keyword_label(keywords, config.label_terms),
                "keywords": keywords,
                "size": len(members),
                "unique_texts": len({keys[i] for i in members}),
                "representatives": _representatives(members, vectors, centroid, texts, keys, config.n_representatives),
                "centroid": centroid.astype(np.float32).tolist(),
            }
        )
    if config.label_style == "phrase":
        if generator is None and config.label_model:
            from pipeline.label_models import TransformersLabeler

            generator = TransformersLabeler.from_config(config)
        if nlp is None:
            nlp = _label_nlp(config, spacy_model)
        phrases = theme_labels(
            label_input, config, embedder=embedder, generator=generator, nlp=nlp, reserved=reserved_labels
        )
        for record, label in zip(records, phrases, strict=True):
            record["label"] = label
    return pd.DataFrame.from_records(records, columns=columns)
