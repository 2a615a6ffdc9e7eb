"""What both engines fit before labeling: the taxonomy classifier, theme keyword vectors, the query column."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from pipeline.classify import PrototypeClassifier, load_examples
from pipeline.config import RunConfig
from pipeline.errors import ConfigError
from pipeline.taxonomy import Taxonomy

__all__ = ["QUERY_NAMES", "fit_classifier", "query_column", "taxonomy_caveat", "theme_keyword_vectors"]

log = logging.getLogger(__name__)

#: Embedding backends whose taxonomy labels measured far below the default's (``python -m benchmarks.taxonomy
#: --set embed.backend=...``, test halves), and what was measured: a run with one says so in its notes.
COARSE_TAXONOMY_BACKENDS = {
    "static": "AILuminate macro-F1 0.458 against 0.749 with the default onnx-int8, false safety flags on "
    "app-review sentences 26.1% against 3.0%",
}


QUERY_NAMES = ("query", "searchquery", "searchterm", "searchterms", "search", "keyword", "keywords", "q")


def query_column(config: RunConfig, meta_columns: list[str]) -> str | None:
    """The search-query column: the configured one, or a metadata column with a common name."""
    if config.ingest.query_col:
        if config.ingest.query_col not in meta_columns:
            raise ConfigError(
                f"ingest.query_col {config.ingest.query_col!r} is not among the kept columns {meta_columns}."
            )
        return config.ingest.query_col
    normalized = {"".join(ch for ch in c.lower() if ch.isalnum()): c for c in meta_columns}
    return next((normalized[n] for n in QUERY_NAMES if n in normalized), None)


def fit_classifier(
    taxonomy: Taxonomy, embedder: Any, config: RunConfig, *, extra: pd.DataFrame | None = None
) -> PrototypeClassifier:
    """The taxonomy's prototype classifier, with the configured extra examples, fitted with the run's embedder.

    ``extra``: more labeled examples (text, node_id), e.g. the rows people corrected in the baseline's review.
    """
    examples = load_examples(config.classify.examples_file, taxonomy) if config.classify.examples_file else None
    if extra is not None and len(extra):
        examples = pd.concat([examples, extra], ignore_index=True) if examples is not None else extra
    return PrototypeClassifier(
        taxonomy,
        embedder,
        extra_examples=examples,
        lexicon_boost=config.classify.lexicon_boost,
        recall_weight=config.classify.recall_weight,
        branch_min_confidence=config.classify.branch_min_confidence,
        branch_c=config.classify.branch_c,
    ).fit()


def taxonomy_caveat(config: RunConfig) -> str | None:
    """The run note (also logged as a warning) when the embedder's taxonomy labels are known to be coarse."""
    measured = COARSE_TAXONOMY_BACKENDS.get(config.embed.backend)
    if measured is None:
        return None
    note = (
        f"Taxonomy labels come from embed.backend={config.embed.backend!r} vectors, which map the taxonomy far "
        f"less reliably ({measured}): do not triage safety from them; rerun with the default backend."
    )
    log.warning(note)
    return note


def theme_keyword_vectors(themes: pd.DataFrame, embedder: Any, config: RunConfig) -> np.ndarray | None:
    """One embedding of each theme's keywords (for the keywords' share of the theme's label)."""
    if not len(themes) or config.classify.keyword_weight <= 0:
        return None
    return np.asarray(embedder.encode([", ".join(map(str, kw)) for kw in themes["keywords"]]))
