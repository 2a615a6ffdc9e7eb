"""The run's manifest (config, versions, model ids, row counts, time per stage) and its run id.

Both engines build it here, so a manifest reads the same whichever engine wrote it.
"""

from __future__ import annotations

import hashlib
import sys
from collections import Counter
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from pipeline import __version__
from pipeline.config import RunConfig
from pipeline.store import package_versions
from pipeline.summarize import RANKING_FORMULA

__all__ = ["check_accounting", "manifest", "model_ids", "new_run_id", "row_accounting", "sample_note"]


def new_run_id(files: list[dict[str, Any]], config: RunConfig) -> str:
    """``YYYYmmdd-HHMMSS-<hash of the config and inputs>``: sortable and distinct per input."""
    digest = hashlib.sha256(config.model_dump_json().encode())
    for f in files:
        digest.update(str(f.get("sha256", f["path"])).encode())
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + digest.hexdigest()[:6]


def row_accounting(feedback: pd.DataFrame) -> dict[str, Any]:
    """Where every input row went (themed, outlier, excluded by reason), from the feedback table."""
    status = feedback["status"].value_counts()
    acc: dict[str, Any] = {
        "rows_in": len(feedback),
        "themed": int(status.get("themed", 0)),
        "outliers": int(status.get("outlier", 0)),
        "excluded": int(status.get("excluded", 0)),
        "excluded_by_reason": dict(
            Counter(feedback.loc[feedback["status"] == "excluded", "exclusion_reason"].astype(str)).most_common()
        ),
        "outliers_reassigned": int(((feedback["status"] == "outlier") & (feedback["theme_id_reassigned"] >= 0)).sum()),
        "duplicates": int(feedback["duplicate_of"].notna().sum()),
        "truncated": int(feedback["truncated"].sum()),
    }
    return check_accounting(acc)


def check_accounting(acc: dict[str, Any]) -> dict[str, Any]:
    """Every row in is themed, an outlier or excluded: anything else is an internal error, never the user's."""
    if acc["rows_in"] != acc["themed"] + acc["outliers"] + acc["excluded"]:
        raise RuntimeError(f"Row accounting broken: {acc}")
    return acc


def sample_note(n_groups: int, n_fitted: int) -> str:
    """The note of a run whose themes were fitted on a sample of its distinct texts."""
    return (
        f"{n_groups:,} distinct texts: themes were fitted on a stratified sample of {n_fitted:,} "
        f"(scale.sample_size) and the other texts assigned to the nearest theme (feedback column 'assigned')"
    )


def model_ids(config: RunConfig, embedding: str, nli: str | None) -> dict[str, Any]:
    """The manifest's ``models`` entry: what embedded, tokenized, identified languages and re-scored."""
    return {
        "embedding": embedding,
        "spacy": config.clean.spacy_model,
        "language_id": "py3langid" if config.clean.detect_language else None,
        "nli": nli,
    }


def manifest(
    config: RunConfig,
    *,
    engine: dict[str, Any] | None = None,
    extra_packages: tuple[str, ...] = (),
    models: dict[str, Any],
    classify: dict[str, Any],
    trends: dict[str, Any],
    inputs: list[dict[str, Any]],
    accounting: dict[str, Any],
    embedding_cache: dict[str, Any],
    reduce: dict[str, Any] | None,
    cluster: dict[str, Any],
    notes: list[str],
    warnings: list[str],
    stages: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """The manifest, in its documented key order; ``notes`` and ``stages`` are kept by reference, so what
    the report stage adds later is in the written file."""
    out: dict[str, Any] = {"tool": "feedback-insights", "version": __version__}
    if engine is not None:
        out["engine"] = engine
    out.update(
        {
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "python": sys.version.split()[0],
            "config": config.model_dump(mode="json"),
            "packages": package_versions(extra=extra_packages) if extra_packages else package_versions(),
            "models": models,
            "classify": classify,
            "trends": trends,
            "inputs": inputs,
            "accounting": accounting,
            "ranking_formula": RANKING_FORMULA,
            "embedding_cache": embedding_cache,
            "reduce": reduce,
            "cluster": cluster,
            "notes": notes,
            "warnings": {"count": len(warnings), "first": warnings[:50]},
            "stages": stages,
        }
    )
    return out
