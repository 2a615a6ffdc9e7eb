"""Classify: map every feedback row and every theme to taxonomy nodes, with a severity and a confidence.

How a row is scored (the offline default, no extra model pass over the data):

1. Each leaf node has prototypes: ``"<name>: <description>"`` and its example phrasings (plus any
   user-supplied labeled examples), embedded once with the run's embedder (and cached).
   (:mod:`~pipeline.classify.prototypes`)
2. ``score(text, node) = ½·mean of the node's 2 most similar prototypes + ½·cos(text, centroid)``,
   plus the node's lexicon boost when its lexicon (built-in list or term file) hits the text.
   The row vectors are the ones the embed stage already computed.
3. **Calibration on the taxonomy's own examples** (leave-one-out, :mod:`~pipeline.classify.calibration`):
   every example is scored against every node with itself removed from its node's prototypes. A node's
   threshold is the score that maximizes F-beta (``recall_weight``, default 2: recall first) of "its
   examples vs. all other examples", shrunk halfway to the median over nodes; a logistic curve of
   ``score - threshold`` turns a score into a confidence: exactly 0.5 at the node's threshold.
4. **Branch first, then leaf** (:mod:`~pipeline.classify.head`): a logistic regression on the
   prototypes' embeddings gives each text's branch probability; where it reaches
   ``branch_min_confidence`` (0.8) the branch's best-scoring leaf becomes a label.
5. A row's labels are the nodes with confidence ≥ 0.5 (at most ``max_labels``), ordered by score
   (one scale for all nodes); its primary label is the first, or **unmapped** when none passes.
   (:mod:`~pipeline.classify.rows`)

Optional **NLI re-scoring** (``classify.nli_model``, :mod:`~pipeline.classify.nli`): only a shortlist
is re-scored with the transformers zero-shot pipeline: each theme's representatives against the
theme's top-k nodes, and rows whose best safety confidence is within reach of a safety label, against
their own top-k nodes. Never rows × all nodes. The entailment probability replaces the confidence of
the shortlisted nodes.

A theme's confidence in a node is the share of its member rows whose primary label it is (duplicates
count), blended with its keywords' confidence (``keyword_weight``); with NLI, its representatives'
mean entailment probability replaces it for the theme's top-k nodes. Its primary node needs
``theme_min_confidence``; secondary nodes need ``secondary_min_confidence``. Row labels are kept too:
a critical report inside a benign theme is counted in ``flagged_rows``. (:mod:`~pipeline.classify.themes`)
"""

from __future__ import annotations

from pipeline.classify.examples import load_examples
from pipeline.classify.prototypes import PrototypeClassifier
from pipeline.classify.rows import label_texts
from pipeline.classify.stage import classify, unclassified
from pipeline.classify.tables import CATEGORIES, LABEL_COUNTS, UNMAPPED, Classified
from pipeline.classify.themes import label_counts, label_themes

__all__ = [
    "CATEGORIES",
    "LABEL_COUNTS",
    "UNMAPPED",
    "Classified",
    "PrototypeClassifier",
    "classify",
    "label_counts",
    "label_texts",
    "label_themes",
    "load_examples",
    "unclassified",
]
