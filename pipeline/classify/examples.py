"""User-supplied labeled examples (reviewed rows, a team's own phrasings) that extend a taxonomy's nodes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.errors import InputError
from pipeline.taxonomy import Taxonomy

__all__ = ["load_examples"]


def load_examples(path: str | Path, taxonomy: Taxonomy) -> pd.DataFrame:
    """Labeled examples (columns ``text`` and ``node_id``; CSV, JSONL or Parquet) that extend the taxonomy's own."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: examples file not found (classify.examples_file).")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif suffix in (".jsonl", ".ndjson"):
            frame = pd.read_json(path, lines=True)
        else:
            frame = pd.read_csv(path)
    except Exception as exc:
        raise InputError(f"{path}: cannot read the examples file: {' '.join(str(exc).split())[:200]}.") from None
    for col in ("text", "node_id"):
        if col not in frame.columns:
            raise InputError(f"{path}: examples file lacks column {col!r}; it has {list(frame.columns)}.")
    leaves = {n.id for n in taxonomy.leaves}
    for i, (text, node) in enumerate(zip(frame["text"], frame["node_id"], strict=True)):
        if node not in leaves:
            raise InputError(
                f"{path} row {i + 2} column 'node_id': {node!r} is not a leaf of taxonomy {taxonomy.id!r}."
            )
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"{path} row {i + 2} column 'text': empty.")
    return frame[["text", "node_id"]].reset_index(drop=True)
