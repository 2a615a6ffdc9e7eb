"""The Spark engine's run context and the values its stages hand each other (Spark frames, mostly)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline.classify import Classified
from pipeline.engines.base import RunContext
from pipeline.engines.sampled import FittedThemes
from pipeline.engines.spark.frames import Scratch
from pipeline.reduce import Reduced
from pipeline.taxonomy import Taxonomy

__all__ = ["Fit", "Ingested", "Labelled", "Sample", "SparkRun", "Texts"]


@dataclass(kw_only=True)
class SparkRun(RunContext):
    """The session, the scratch folder and the driver-side models of one Spark run."""

    session: Any
    scratch: Scratch
    taxonomy: Taxonomy | None
    reducer: Any = None
    clusterer: Any = None
    query_col: str | None = None  # set by ingest, from the columns it found


@dataclass
class Ingested:
    frame: Any  # one row per input record, ingested and prepared for cleaning
    files: list[dict[str, Any]]
    meta_columns: list[str]


@dataclass
class Texts:
    """The distinct texts of the rows that reach clustering (``rows`` in the plan)."""

    cleaned: Any  # every row, cleaned (Spark)
    groups: Any  # one row per distinct text: dup_key, _order, weight, clean_text, time, group (Spark)
    n_groups: int


@dataclass
class Sample:
    chosen: np.ndarray  # the distinct texts fitted on (group indices, sorted)
    frame: Any  # the same, as a Spark frame to join on
    vectors: np.ndarray  # their vectors
    reduced: Reduced


@dataclass
class Fit:
    rows: pd.DataFrame  # the sampled texts' rows, collected on the driver
    local: np.ndarray  # per sampled row: its text's position in the sample
    fitted: FittedThemes
    broadcast: dict[str, Any]  # what the executors assign the other texts with


@dataclass
class Labelled:
    """Every row with its theme and taxonomy labels (Spark), and the theme-level labels (driver)."""

    classified: Classified
    rows: Any  # every row (Spark)
    clustered: Any  # the rows that are not excluded (Spark)
    n_clustered: int
