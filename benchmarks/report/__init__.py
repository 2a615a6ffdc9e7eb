"""RESULTS.md, rendered from the merged records of RESULTS.json alone.

Every part of the benchmark (``benchmarks.run`` for speed, ``benchmarks.quality`` for theme quality)
merges its records into ``RESULTS.json`` and then calls :func:`write_results`, so the Markdown always
shows every part that has records, whichever part ran last. Sections:

* ``theme_quality``: one table per dataset (ours, config variants of ours, BERTopic, and the issue's
  reference figures for BERTopic), with the quality bar checked;
* ``speed``: ours vs BERTopic end to end over all sizes, process start, one table per size (ours per
  stage, cold and warm; BERTopic step by step beside the comparable stages of ours);
* ``taxonomy`` and ``triage``: rendered as generic tables once such records exist (hooks);
* any other section: a generic table.

Layout: :mod:`.figures` (lookup, formatting, section names), :mod:`.theme_quality`, :mod:`.speed`,
:mod:`.other_sections` and :mod:`.render` (RESULTS.md). This package imports
nothing heavy (no pandas, no pipeline) and no benchmark, so any part can render.
"""

from __future__ import annotations

from benchmarks.report.figures import (
    COMPARABLE_STEPS,
    EMBED,
    HOOK_SECTIONS,
    MEAN_OF,
    QUALITY,
    RATIO_STEPS,
    RUN_INFO,
    SPEED,
    Lookup,
    check_mark,
    config_label,
    fmt,
    is_mean,
    load_records,
    newest,
    value_range,
)
from benchmarks.report.other_sections import (
    TAXONOMY_BAR,
    TAXONOMY_REFERENCE,
    generic_section,
    review_loop_section,
    taxonomy_section,
)
from benchmarks.report.render import (
    render,
    write_atomic,
    write_results,
)
from benchmarks.report.speed import (
    ANCHOR_DATASET,
    ANCHOR_ROWS,
    TARGET_EMBED_SPEEDUP,
    TARGET_NON_EMBED_FRACTION,
    TARGET_SPEED_RATIO,
    measured_note,
    speed_info,
    speed_section,
    speed_tables,
)
from benchmarks.report.theme_quality import (
    MAX_OUTLIER_SHARE,
    QUALITY_BEAT,
    QUALITY_OPPONENT,
    QUALITY_REFERENCE,
    QUALITY_SYSTEMS,
    THEME_COUNT_RANGE,
    mean_group,
    quality_groups,
    quality_section,
    themes_cell,
)

__all__ = [
    "ANCHOR_DATASET",
    "ANCHOR_ROWS",
    "COMPARABLE_STEPS",
    "EMBED",
    "HOOK_SECTIONS",
    "MAX_OUTLIER_SHARE",
    "MEAN_OF",
    "QUALITY",
    "QUALITY_BEAT",
    "QUALITY_OPPONENT",
    "QUALITY_REFERENCE",
    "QUALITY_SYSTEMS",
    "RATIO_STEPS",
    "RUN_INFO",
    "SPEED",
    "TARGET_EMBED_SPEEDUP",
    "TARGET_NON_EMBED_FRACTION",
    "TARGET_SPEED_RATIO",
    "TAXONOMY_BAR",
    "TAXONOMY_REFERENCE",
    "THEME_COUNT_RANGE",
    "Lookup",
    "check_mark",
    "config_label",
    "fmt",
    "generic_section",
    "is_mean",
    "load_records",
    "mean_group",
    "measured_note",
    "newest",
    "quality_groups",
    "quality_section",
    "render",
    "review_loop_section",
    "speed_info",
    "speed_section",
    "speed_tables",
    "taxonomy_section",
    "themes_cell",
    "value_range",
    "write_atomic",
    "write_results",
]
