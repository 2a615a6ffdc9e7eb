"""The analyst loop: review samples of a run against the taxonomy's standard, measure, and teach the next run.

* :mod:`~pipeline.review.sampling`: stratified, seeded review sets (``insights review``);
* :mod:`~pipeline.review.labels`: validated answers in an append-only, locked, fsync-ed log;
* :mod:`~pipeline.review.measures` and :mod:`~pipeline.review.agreement`: precision, accuracy,
  confusion, agreement and calibration;
* :mod:`~pipeline.review.curation`: ``curation.yaml`` and what the next ``--baseline`` run takes over;
* :mod:`~pipeline.review.guide`: the rater guide generated from the taxonomy;
* :mod:`~pipeline.review.web`: the review page's routes for ``insights serve``.
"""

from __future__ import annotations

from pipeline.review.curation import Carried, Curation, apply_curation, carry_forward, load_curation, merge_labels
from pipeline.review.guide import rater_guide_html
from pipeline.review.labels import LabelStore, ReviewInputError, validate_answer
from pipeline.review.measures import Measures, compute_measures, write_measures
from pipeline.review.sampling import ReviewSet, draw_review_set, load_review_set, write_review_set

__all__ = [
    "Carried",
    "Curation",
    "LabelStore",
    "Measures",
    "ReviewInputError",
    "ReviewSet",
    "apply_curation",
    "carry_forward",
    "compute_measures",
    "draw_review_set",
    "load_curation",
    "load_review_set",
    "merge_labels",
    "rater_guide_html",
    "validate_answer",
    "write_measures",
    "write_review_set",
]
