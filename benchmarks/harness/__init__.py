"""The benchmarks' shared harness, written once: timed child processes, records, the machine, inputs,
our pipeline's runs and the BERTopic baseline.

* :mod:`.processes`: a child process timed from outside (wall, CPU, peak RSS via ``wait4``), its env;
* :mod:`.records`: RESULTS.json records (key order, medians, merging into the file);
* :mod:`.machine`: what the figures were measured on;
* :mod:`.inputs`: benchmark inputs built from the shared datasets (real reviews, resampled above 10k);
* :mod:`.pipeline_runs`: ``python -m pipeline run`` as a timed process, and the untimed model builds;
* :mod:`.bertopic`: BERTopic end to end as a timed process, and its figures.

May import: the standard library, NumPy/pandas and :mod:`benchmarks.report`; never a benchmark module.
"""
