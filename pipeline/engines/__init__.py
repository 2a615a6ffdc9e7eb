"""Engines: the steps that execute the stage plan (:data:`pipeline.plan.PLAN`), one per stage.

* :mod:`.local`: in this process, on pandas and NumPy (with :mod:`.local_context`, :mod:`.local_tables`);
  :mod:`.spark`: per partition on a Spark cluster, fitting on the driver;
* shared by both: :mod:`.base` (the run context, :func:`~pipeline.engines.base.run_plan`), :mod:`.sampled`
  (fit themes on a sample, assign the rest), :mod:`.labeling` (the taxonomy classifier, keyword vectors,
  the query column) and :mod:`.continuity` (a run that continues a ``--baseline`` run).

May import: the stages' public functions, :mod:`pipeline.plan`, :mod:`pipeline.manifest`,
:mod:`pipeline.rundir`, :mod:`pipeline.result` and :mod:`models`; never :mod:`pipeline.runner` or the CLI
(the runner picks an engine, not the other way round). Stages never import an engine.
"""
