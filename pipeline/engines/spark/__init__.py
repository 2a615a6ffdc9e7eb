"""Run the pipeline on Apache Spark (``insights run --engine spark``, or ``scale.engine = "spark"``).

The same stage plan (:data:`pipeline.plan.PLAN`) and stage functions as the local engine, arranged for a
cluster (steps in :mod:`.text_steps` and :mod:`.theme_steps`, run by :func:`.engine.run_spark`):

1. **read** with Spark's readers (CSV, JSON lines, Parquet, or a table name); every record gets its
   global position (``_order``) and its row in its file;
2. **ingest** per partition (:func:`pipeline.ingest.ingest_frame`, :func:`pipeline.clean.prepare_text`);
   repeated ids are resolved over all rows with a window (the first keeps the id);
3. **clean** per distinct text: spaCy per partition (:func:`pipeline.clean.analyse_texts`); the two
   corpus-level rules of name redaction (words capitalized in many texts, names found in many texts)
   are counted with Spark aggregations and broadcast; near-duplicates resolved with a window;
4. **embed** each distinct text once, per partition (each Python worker loads the model once and
   shares the on-disk embedding cache);
5. **fit** on the driver: the stratified sample of distinct texts is collected, reduced, clustered and
   described by the local engine's own code (:func:`pipeline.engines.sampled.fit_themes`, ``represent``);
6. **assign and classify** per partition with the broadcast :class:`~pipeline.assign.ThemeModel` and
   the fitted taxonomy classifier;
7. **aggregate** with Spark: label counts, theme statistics, query counts and per-bin counts, which the
   driver turns into the tables with the local engine's functions (``label_themes``, ``rank_themes``,
   ``rollup_queries``, ``score_counts``);
8. **write** ``feedback.parquet`` from Spark's part files (streamed into one file) and every other table
   and the manifest exactly as the local engine does.

Intermediate tables go to Parquet under a scratch folder beside the embedding cache, so no stage is
computed twice. Not supported here (the run stops with a message naming the option): ``--baseline``,
NLI re-scoring and ``cluster.points = "rows"``. The novelty test of the ``new`` detector is skipped
(it reads every in-window row's vector on one machine); the run's notes say so.

May import: the stage modules' public functions, :mod:`pipeline.engines.base`, ``.sampled``, ``.labeling``,
the manifest and run-folder modules; never the runner or the CLI. pyspark is imported inside functions.
"""

from pipeline.engines.spark.engine import SPARK_STEPS, run_spark
from pipeline.engines.spark.session import start_session

__all__ = ["SPARK_STEPS", "run_spark", "start_session"]
