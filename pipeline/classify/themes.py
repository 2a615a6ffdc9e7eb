"""Theme labels and the per-node roll-up, from per-(theme, label) row counts alone (any engine can count)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipeline.classify.nli import nli_themes
from pipeline.classify.prototypes import PrototypeClassifier
from pipeline.classify.tables import CATEGORIES, LABEL_COUNTS, UNMAPPED, Classified
from pipeline.config import ClassifyConfig
from pipeline.taxonomy import SEVERITIES, Taxonomy, TaxonomyNode

__all__ = ["label_counts", "label_themes"]


def _severity_weight(node: TaxonomyNode | None, weights: dict[str, float]) -> float:
    if node is None:
        return float(weights.get("none", 1.0))
    if node.rank_weight is not None:
        return node.rank_weight
    return float(weights.get(node.severity or "none", 1.0))


def label_counts(labels: np.ndarray, row_table: pd.DataFrame) -> pd.DataFrame:
    """Rows per (theme, label, severity): what :func:`label_themes` reads (a Spark engine sums the same)."""
    frame = pd.DataFrame(
        {
            "theme_id": np.asarray(labels, dtype=np.int64),
            "category_id": row_table["category_id"].fillna("").astype(str).to_numpy(),
            "severity": row_table["severity"].astype(str).to_numpy(),
            "confidence": row_table["category_confidence"].astype(float).to_numpy(),
        }
    )
    grouped = frame.groupby(["theme_id", "category_id", "severity"], sort=True)["confidence"]
    out = grouped.agg(rows="size", confidence_sum="sum").reset_index()
    return out[list(LABEL_COUNTS)]


def label_themes(
    themes: pd.DataFrame,
    counts: pd.DataFrame,
    classifier: PrototypeClassifier,
    config: ClassifyConfig,
    *,
    keyword_vectors: np.ndarray | None = None,
    nli: Any = None,
    nli_rows: int = 0,
) -> Classified:
    """Theme labels, the per-node roll-up and the stage's parameters, from :data:`LABEL_COUNTS` alone.

    A theme's confidence in a node is the share of its rows whose primary label is that node,
    blended with its keywords' score; the rows themselves are not needed (so any engine can count).
    The returned ``Classified.rows`` is empty: the caller holds the row labels.
    """
    taxonomy = classifier.taxonomy
    leaves = classifier.leaves
    out = themes.copy()
    n_themes = len(out)
    theme_conf = np.zeros((n_themes, len(leaves)))
    position = {int(t): i for i, t in enumerate(out["theme_id"])} if n_themes else {}
    members = counts["theme_id"].map(lambda t: position.get(int(t), -1)).to_numpy(dtype=np.int64)
    inside = members >= 0
    if n_themes:
        primary = counts["category_id"].map(lambda c: classifier.leaf_index.get(c, -1)).to_numpy(dtype=np.int64)
        voted = inside & (primary >= 0)
        rows = counts["rows"].to_numpy(dtype=np.float64)
        np.add.at(theme_conf, (members[voted], primary[voted]), rows[voted])
        totals = np.bincount(members[inside], weights=rows[inside], minlength=n_themes)
        theme_conf /= np.maximum(totals, 1)[:, None]
        if keyword_vectors is not None and len(keyword_vectors):
            kw_text = [", ".join(map(str, kw)) for kw in out["keywords"]]
            kw_conf = classifier.confidences(keyword_vectors, kw_text)
            theme_conf = (1 - config.keyword_weight) * theme_conf + config.keyword_weight * kw_conf
        if nli is not None:
            nli_themes(theme_conf, out["representatives"], classifier, nli, config)

    primary_ids: list[str | None] = []
    names, branches, sevs, confs, secondary, flagged, weights = [], [], [], [], [], [], []
    urgent_counts = counts[counts["severity"].isin(["critical", "high"])]
    for i in range(n_themes):
        order = np.argsort(-theme_conf[i])
        k0 = int(order[0])
        node = leaves[k0] if theme_conf[i, k0] >= config.theme_min_confidence else None
        primary_ids.append(node.id if node else None)
        names.append(node.name if node else UNMAPPED)
        branches.append(taxonomy.branch_of(node.id) if node else None)
        sevs.append(node.severity if node else "none")
        confs.append(float(theme_conf[i, k0]))
        secondary.append([leaves[int(k)].id for k in order[1:4] if theme_conf[i, k] >= config.secondary_min_confidence])
        mine = urgent_counts[urgent_counts["theme_id"] == int(out["theme_id"].iloc[i])]
        flagged.append(int(mine.loc[mine["category_id"] != (node.id if node else ""), "rows"].sum()))
        weights.append(_severity_weight(node, config.severity_weights))
    out["category_id"] = primary_ids
    out["category"] = names
    out["branch"] = branches
    out["severity"] = sevs
    out["category_confidence"] = confs
    out["secondary_categories"] = secondary
    out["flagged_rows"] = flagged
    out["severity_weight"] = weights

    categories = _rollup(counts, out, taxonomy)
    unmapped_rows = int(counts.loc[counts["category_id"] == "", "rows"].sum())
    params = {
        "taxonomy": {"id": taxonomy.id, "version": taxonomy.version, "source": taxonomy.source},
        "leaves": len(leaves),
        "calibration": classifier.calibration_,
        "nli": {"model": getattr(nli, "source", None), "rows_rescored": nli_rows, "themes_rescored": n_themes}
        if nli is not None
        else None,
        "unmapped_rows": unmapped_rows,
        "unmapped_themes": int(sum(p is None for p in primary_ids)),
    }
    return Classified(pd.DataFrame(), out, categories, params)


def _rollup(counts: pd.DataFrame, themes: pd.DataFrame, taxonomy: Taxonomy) -> pd.DataFrame:
    """One row per node that has rows or themes, plus 'Unmapped'; sorted by severity then volume."""
    total = max(int(counts["rows"].sum()), 1)
    by_rows = counts.groupby("category_id").agg(rows=("rows", "sum"), confidence_sum=("confidence_sum", "sum"))
    by_rows["mean_confidence"] = by_rows["confidence_sum"] / by_rows["rows"].clip(lower=1)
    theme_keys = themes["category_id"].fillna("") if len(themes) else pd.Series(dtype=str)
    by_themes = (
        themes.assign(_key=theme_keys).groupby("_key").agg(themes=("theme_id", "size"), theme_rows=("size", "sum"))
        if len(themes)
        else pd.DataFrame(columns=["themes", "theme_rows"])
    )
    records = []
    for key in sorted(set(by_rows.index) | set(by_themes.index)):
        node = taxonomy.node(key) if key else None
        records.append(
            {
                "category_id": key or None,
                "category": node.name if node else UNMAPPED,
                "path": " › ".join(taxonomy.path_of(key)) if node else UNMAPPED,
                "branch": taxonomy.branch_of(key) if node else None,
                "severity": (node.severity or "none") if node else "none",
                "themes": int(by_themes["themes"].get(key, 0)),
                "theme_rows": int(by_themes["theme_rows"].get(key, 0)),
                "rows": int(by_rows["rows"].get(key, 0)),
                "share": float(by_rows["rows"].get(key, 0)) / total,
                "mean_confidence": float(by_rows["mean_confidence"].get(key, np.nan)),
            }
        )
    table = pd.DataFrame(records, columns=list(CATEGORIES))
    rank = {s: i for i, s in enumerate((*SEVERITIES, "none"))}
    table["_sev"] = table["severity"].map(rank)
    table = table.sort_values(["_sev", "rows", "theme_rows"], ascending=[True, False, False], kind="stable")
    return table.drop(columns="_sev").reset_index(drop=True)
