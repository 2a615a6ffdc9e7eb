"""Engines that run the pipeline somewhere other than this process (``scale.engine``).

The local engine is :func:`pipeline.runner.run`. ``spark`` runs the same stage functions per
partition on a Spark cluster (:mod:`pipeline.engines.spark`); only the fitting on a sample happens on
the driver.
"""
