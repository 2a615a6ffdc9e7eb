"""Shared by the ingest tests: sample texts and the ingested rows of one file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.config import IngestConfig
from pipeline.ingest import ingest

REVIEWS = ["The app crashes on start", "Love the new dark mode", "Search never finds my files"]


def rows_of(path: Path, **config: object) -> pd.DataFrame:
    """The ingested rows of one file under an IngestConfig built from ``config``."""
    return ingest([path], IngestConfig(**config)).rows
