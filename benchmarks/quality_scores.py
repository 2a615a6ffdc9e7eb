"""Scores of a clustering against gold labels (NMI, ARI, Hungarian ACC, outliers), diagnostics, means."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "Scores",
    "diagnose",
    "hungarian_accuracy",
    "mean_records",
    "score",
]


@dataclass
class Scores:
    n_themes: int
    outlier_share: float
    nmi: float
    ari: float
    acc: float


def hungarian_accuracy(gold: np.ndarray, pred: np.ndarray) -> float:
    """Share of rows whose cluster is matched one-to-one to their gold class (unmatched clusters: wrong)."""
    from scipy.optimize import linear_sum_assignment
    from sklearn.metrics.cluster import contingency_matrix

    table = contingency_matrix(pred, gold)  # (clusters, classes), -1 is one cluster like the others
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / len(gold))


def score(gold: np.ndarray, pred: np.ndarray) -> Scores:
    """All metrics over every row; -1 (outliers, excluded rows) is scored as one extra cluster."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    pred = np.asarray(pred, dtype=np.int64)
    if len(pred) != len(gold):
        raise ValueError(f"{len(pred)} predictions for {len(gold)} gold labels")
    return Scores(
        n_themes=len(np.unique(pred[pred >= 0])),
        outlier_share=float((pred < 0).mean()),
        nmi=float(normalized_mutual_info_score(gold, pred)),
        ari=float(adjusted_rand_score(gold, pred)),
        acc=hungarian_accuracy(gold, pred),
    )


def diagnose(gold: np.ndarray, pred: np.ndarray) -> tuple[pd.DataFrame, dict[str, float]]:
    """Per theme: size, majority intent, purity; and summary counts of merged and shattered intents."""
    frame = pd.DataFrame({"theme": pred, "gold": gold})
    themed = frame[frame["theme"] >= 0]
    rows = []
    for theme, group in themed.groupby("theme"):
        counts = group["gold"].value_counts()
        rows.append(
            {
                "theme": int(theme),
                "size": len(group),
                "majority": counts.index[0],
                "purity": counts.iloc[0] / len(group),
                "second": counts.index[1] if len(counts) > 1 else "",
                "second_share": counts.iloc[1] / len(group) if len(counts) > 1 else 0.0,
            }
        )
    themes = pd.DataFrame(rows)
    # For each intent: the share of its rows in its largest theme, and how many themes hold >= 10% of it.
    per_gold = frame.groupby("gold")["theme"].agg(
        top_share=lambda s: s[s >= 0].value_counts().iloc[0] / len(s) if (s >= 0).any() else 0.0,
        n_big=lambda s: int((s[s >= 0].value_counts() / len(s) >= 0.10).sum()),
    )
    majority_of = set(themes["majority"]) if len(themes) else set()
    summary = {
        "themes_purity_below_0.5": int((themes["purity"] < 0.5).sum()) if len(themes) else 0,
        "weighted_purity": float((themes["purity"] * themes["size"]).sum() / themes["size"].sum())
        if len(themes)
        else 0.0,
        "intents_top_theme_below_0.5": int((per_gold["top_share"] < 0.5).sum()),
        "intents_split_3plus": int((per_gold["n_big"] >= 3).sum()),
        "intents_majority_of_no_theme": int(len(set(gold)) - len(majority_of)),
    }
    return themes, summary


def mean_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (system, metric), the mean over ``records`` of that system's runs, as records of their own whose
    config ends in ``mean of N runs`` (a system measured once gets none)."""
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in records:
        by_key.setdefault((r["system"], r["metric"]), []).append(r)
    out: list[dict[str, Any]] = []
    for (_system, metric), group in by_key.items():
        if len(group) < 2:
            continue
        first = group[0]
        base = (first.get("config") or "").split(";")
        config = ";".join(x for x in base if x and not x.startswith("seed=") and not x.startswith("run="))
        values = [float(r["value"]) for r in group]
        out.append(
            {
                **{k: v for k, v in first.items() if k != "embeddings_computed"},
                "config": ";".join(filter(None, [config, f"mean of {len(group)} runs"])),
                "value": round(float(np.mean(values)), 4 if metric != "n_themes" else 1),
                "min": round(min(values), 4),
                "max": round(max(values), 4),
                "runs": len(group),
            }
        )
    return out
