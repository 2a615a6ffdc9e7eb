"""The local engine's run context and the values its stages hand each other (see :data:`pipeline.plan.PLAN`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipeline.baseline import Baseline
from pipeline.cluster import Clustered
from pipeline.embed import CachedEmbedder
from pipeline.engines.base import RunContext
from pipeline.reduce import Reduced
from pipeline.review.curation import Carried
from pipeline.store import EmbeddingCache
from pipeline.taxonomy import Taxonomy

__all__ = ["Clustering", "LocalRun", "Reduction", "Rows", "Sample"]


@dataclass(kw_only=True)
class LocalRun(RunContext):
    """The models and swappable sub-models of one local run (loaded before the first stage)."""

    embedder: Any
    cached: CachedEmbedder  # the embedder behind the on-disk cache: every stage that embeds uses it
    cache: EmbeddingCache | None
    taxonomy: Taxonomy | None
    nli: Any
    baseline: Baseline | None
    carried: Carried | None
    reducer: Any = None
    clusterer: Any = None
    nlp: Any = None
    show_progress: bool = False
    embedding_cache: dict[str, Any] = field(default_factory=dict)


@dataclass
class Rows:
    """The rows that reach clustering (not excluded), and the distinct text each one is."""

    table: pd.DataFrame
    valid: np.ndarray  # per input row: reaches clustering
    group: np.ndarray  # per clustered row: its distinct text
    n_groups: int
    sampled: bool  # themes are fitted on a sample of the distinct texts (scale.sample_size)
    vectors: np.ndarray | None  # per clustered row; None when sampled (only the groups' vectors are kept)


@dataclass
class Sample:
    """The distinct texts the themes are fitted on."""

    groups: np.ndarray  # group indices, sorted
    local: np.ndarray  # per group: its position in the sample, -1 outside
    in_sample: np.ndarray  # per clustered row
    vectors: np.ndarray  # per sampled group


@dataclass
class Reduction:
    reduced: Reduced | None  # None when there are too few texts to cluster
    sample: Sample | None

    @property
    def params(self) -> dict[str, Any] | None:
        if self.reduced is None:
            return None
        if self.sample is None:
            return self.reduced.params
        return {**self.reduced.params, "fitted_on_sample": len(self.sample.groups)}


@dataclass
class Clustering:
    clustered: Clustered
    coords: np.ndarray  # per clustered row: its map position
    assigned: np.ndarray  # per clustered row: assigned to a theme fitted on others
    new_theme_ids: set[int] | None  # with a baseline: the themes it did not have
