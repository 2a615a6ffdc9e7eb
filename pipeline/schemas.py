"""The tables passed between stages: their columns, checked at each stage boundary.

A stage states what it needs (``require(frame, INGESTED, stage="clean")``) instead of trusting the
caller, so a custom stage plugged in through the Python API fails with a message naming the
missing column rather than a KeyError three stages later.
"""

from __future__ import annotations

import pandas as pd

__all__ = [
    "CLEANED",
    "EXCLUSION_REASONS",
    "FEEDBACK",
    "INGESTED",
    "STATUSES",
    "THEMES",
    "SchemaError",
    "require",
]

#: Output of ingest: one row per input record, in input order.
INGESTED: dict[str, str] = {
    "row_id": "str: the id column's value, or '<file>:<row>' when the export has none",
    "source_file": "str: file the row came from",
    "source_row": "int: 1-based line (CSV/JSONL), sheet row (XLSX) or record number (Parquet)",
    "text": "str | None: the original feedback text, untouched",
    "time": "datetime64[UTC] | NaT: parsed timestamp, when a time column exists",
    "excluded": "bool: the row cannot be used",
    "exclusion_reason": "str | None: why (see EXCLUSION_REASONS)",
}

#: Output of clean: INGESTED plus these.
CLEANED: dict[str, str] = {
    **INGESTED,
    "clean_text": "str | None: normalized, PII-redacted text; what is embedded and displayed",
    "language": "str | None: ISO 639-1 code from py3langid",
    "truncated": "bool: the text was longer than clean.max_chars and was cut",
    "dup_key": "str | None: canonical form; rows sharing it are near-duplicates",
    "duplicate_of": "str | None: row_id of the first row with the same dup_key",
    "lemmas": "str: lowercased lemmas, space-separated (stopwords kept), for keyword extraction only",
    "phrases": "list[str]: lemmatized noun phrases, for keyword extraction only",
}

#: The per-row table every run writes (feedback.parquet), in input order.
FEEDBACK: dict[str, str] = {
    "row_id": INGESTED["row_id"],
    "source_file": INGESTED["source_file"],
    "source_row": INGESTED["source_row"],
    "text": INGESTED["text"],
    "clean_text": CLEANED["clean_text"],
    "language": CLEANED["language"],
    "status": "str: 'themed' | 'outlier' | 'excluded'",
    "exclusion_reason": INGESTED["exclusion_reason"],
    "duplicate_of": CLEANED["duplicate_of"],
    "truncated": CLEANED["truncated"],
    "theme_id": "int: theme, -1 for outliers and excluded rows",
    "theme_id_reassigned": "int: theme after outlier reassignment (-1 if none was close enough)",
    "category_id": "str | None: the row's own primary taxonomy leaf (None: unmapped or excluded)",
    "category": "str: that node's name, 'Unmapped', or '' for excluded rows",
    "severity": "str: critical | high | medium | low | none ('' for excluded rows)",
    "category_confidence": "float: confidence in the primary label; unmapped rows: 1 - the best node's (NaN: excluded)",
    "categories": "list[str]: every leaf the row is labeled with (multi-label, most confident first)",
    "x": "float: 2-d map coordinate (NaN for excluded rows)",
    "y": "float: 2-d map coordinate (NaN for excluded rows)",
    "time": INGESTED["time"],
    "assigned": "bool: the theme came from assigning the text to themes fitted on a sample (scale.sample_size), "
    "not from the clustering itself",
}

#: The per-theme table (themes.parquet / themes.csv), ranked.
THEMES: dict[str, str] = {
    "rank": "int: 1 = look at this first",
    "theme_id": "int",
    "label": "str: a short sentence-case phrase from the theme's own text (pipeline.labels), distinct per theme",
    "keywords": "list[str]: c-TF-IDF keywords, diversified with MMR",
    "size": "int: rows in the theme (duplicates count)",
    "share": "float: size / rows that were clustered (themed + outliers)",
    "size_with_reassigned": "int: size plus outliers reassigned to it",
    "unique_texts": "int: distinct texts among its rows",
    "representatives": "list[str]: up to 5 PII-redacted verbatims near the centroid, not near-duplicates",
    "category_id": "str | None: primary taxonomy leaf (None: unmapped)",
    "category": "str: the node's name or 'Unmapped'",
    "branch": "str | None: safety | search_quality | product",
    "severity": "str: critical | high | medium | low | none",
    "category_confidence": "float: share of member rows with this primary label, blended with the keywords' confidence",
    "secondary_categories": "list[str]: other leaves with confidence >= classify.secondary_min_confidence",
    "flagged_rows": "int: member rows labeled critical/high with a node other than the theme's",
    "volume_score": "float: share of clustered rows (0..1)",
    "severity_weight": "float: from the theme's node severity (classify.severity_weights); 1.0 if unclassified",
    "trend_weight": "float: 1 + 2 x alert significance when the trends stage raised an alert, else 1",
    "priority": "float: volume_score * severity_weight * trend_weight",
    "first_seen": "datetime | NaT",
    "last_seen": "datetime | NaT",
    "daily_counts": "str: JSON {date: count}, empty when there is no time column",
    "top_queries": "list[str]: most frequent search queries of its rows (empty without a query column)",
    "centroid": "list[float]: mean normalized embedding of the theme's rows",
}

STATUSES = ("themed", "outlier", "excluded")

#: Every reason a row can be excluded, with what it means.
EXCLUSION_REASONS: dict[str, str] = {
    "empty": "the text cell is missing or empty",
    "whitespace_only": "the text is only whitespace",
    "not_text": "the cell holds a number, date or other non-text value",
    "no_letters": "after cleaning, fewer letters than clean.min_letters",
    "unparseable": "the line could not be parsed (malformed JSON, ragged CSV row)",
    "duplicate_id": "the id was already used by an earlier row",
    "bad_time": "the time cell holds a value that is not a timestamp",
    "future_time": "the timestamp is more than a day after the run's clock",
    "language": "the language is not in clean.languages",
}


class SchemaError(ValueError):
    """A table handed to a stage lacks columns the stage needs."""


def require(frame: pd.DataFrame, schema: dict[str, str], *, stage: str) -> None:
    """Raise SchemaError naming the stage and the missing columns, if any."""
    missing = [col for col in schema if col not in frame.columns]
    if missing:
        raise SchemaError(f"{stage}: input table lacks column(s) {missing}; it has {list(frame.columns)}.")
