"""Term lists a node names in its ``lexicon`` field: built-in ones, or term files kept beside the taxonomy.

Sentence embeddings see what a text is about, not how it is said; a lexicon hit adds the second
signal (``classify.lexicon_boost``). A node with several lexicons is hit when any of them matches.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np

from models.lexicons import AllOf, Lexicon, load_lexicon

__all__ = ["lexicon_hits", "load_term_file"]


@cache
def load_term_file(path: str) -> Lexicon:
    """A ``.txt`` term file: one term or phrase a line; ``#`` starts a comment line."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return Lexicon(Path(path).stem, [t for t in (line.strip() for line in lines) if t and not t.startswith("#")])


def _lexicon(name: str) -> Lexicon | AllOf:
    return load_term_file(name) if name.endswith(".txt") else load_lexicon(name)


def lexicon_hits(names: Sequence[str], texts: list[str]) -> np.ndarray:
    """1.0 where any of the named lexicons matches the text, else 0.0."""
    out = np.zeros(len(texts), dtype=np.float32)
    for name in names:
        out = np.maximum(out, _lexicon(name).hits(texts))
    return out
