"""What ``insights review`` does, as plain functions: draw and store a review set, or measure one."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from pipeline.errors import InputError
from pipeline.review.guide import rater_guide_html
from pipeline.review.labels import LabelStore
from pipeline.review.measures import Measures, compute_measures, write_measures
from pipeline.review.sampling import ReviewSet, draw_review_set, load_review_set, review_dir, write_review_set
from pipeline.review.web import run_taxonomy
from pipeline.store import write_text

__all__ = ["GUIDE_FILE", "create_review", "measure_review"]

log = logging.getLogger(__name__)

GUIDE_FILE = "rater_guide.html"


def _check_run(run_dir: Path) -> None:
    if not (run_dir / "feedback.parquet").is_file() or not (run_dir / "themes.parquet").is_file():
        raise InputError(f"{run_dir}: not a run folder (no feedback.parquet / themes.parquet); pass outputs/<run-id>.")


def create_review(
    run_dir: str | Path,
    *,
    size: int = 50,
    seed: int = 0,
    query_col: str | None = None,
    result_col: str | None = None,
    force: bool = False,
) -> ReviewSet:
    """Draw a review set and store it in the run, with the rater guide beside it.

    A run that already has answers keeps its set unless ``force``: redrawing would orphan them.
    """
    run_dir = Path(run_dir)
    _check_run(run_dir)
    answers = LabelStore(run_dir).records()
    if (review_dir(run_dir) / "items.parquet").is_file() and answers and not force:
        raise InputError(
            f"{run_dir}: its review set already has {len(answers)} answers; pass --force to draw a new set "
            "(the old answers are moved to review/labels.jsonl.old)."
        )
    taxonomy = run_taxonomy(run_dir)
    import pyarrow.parquet as pq

    columns = [c for c in pq.read_schema(run_dir / "feedback.parquet").names if c != "text"]
    feedback = pd.read_parquet(run_dir / "feedback.parquet", columns=columns)  # the raw text is never read
    themes = pd.read_parquet(run_dir / "themes.parquet")
    review_set = draw_review_set(feedback, themes, size=size, seed=seed, query_col=query_col, result_col=result_col)
    manifest = run_dir / "manifest.json"
    review_set.info["run_id"] = (
        json.loads(manifest.read_text(encoding="utf-8")).get("run_id", run_dir.name) if manifest.is_file() else None
    )
    if answers:
        LabelStore(run_dir).path.rename(LabelStore(run_dir).path.with_suffix(".jsonl.old"))
    write_review_set(review_set, run_dir)
    write_text(rater_guide_html(taxonomy), run_dir / GUIDE_FILE)
    log.info("review set of %d items written to %s", len(review_set.items), review_dir(run_dir))
    return review_set


def measure_review(run_dir: str | Path) -> Measures:
    """Recompute the measures of a run's review and write them to ``review_measures/``."""
    review_set = load_review_set(run_dir)
    measures = compute_measures(review_set.items, LabelStore(run_dir).latest())
    write_measures(measures, run_dir)
    return measures
