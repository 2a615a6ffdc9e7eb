"""The taxonomies shipped with Feedback Insights, as YAML files (package data).

``trust_safety_search.yaml`` is the default; ``pipeline.taxonomy.load_taxonomy`` reads and validates
it or any file of the same shape.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DEFAULT_TAXONOMY", "TAXONOMY_DIR"]

TAXONOMY_DIR = Path(__file__).resolve().parent
DEFAULT_TAXONOMY = TAXONOMY_DIR / "trust_safety_search.yaml"
