"""Benchmarks of Feedback Insights: ``python -m benchmarks`` (``make bench``; see benchmarks/README.md).

One module per benchmark, each a ``python -m benchmarks.<name>`` command: ``run`` (speed, with
:mod:`.speed` and :mod:`.speed_notes`), ``quality`` (theme quality, with ``quality_systems``,
``quality_scores``, ``quality_page``), ``scale`` (with ``scale_sizes``, ``scale_fits``, ``scale_assign``),
``taxonomy``, ``review_loop``, ``triage``, ``report_size``; ``bertopic_e2e`` is the BERTopic process the
speed part times. Shared, written once: :mod:`.harness` (timed processes, records, machine, inputs, our
pipeline's runs, the BERTopic baseline) and :mod:`.report` (RESULTS.md from RESULTS.json).

May import: :mod:`pipeline` through its public functions and CLI; a benchmark may import the harness and
the report, and the harness imports no benchmark.
"""
