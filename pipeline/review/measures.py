"""What the reviews say: per-theme precision, per-node accuracy and confusion, agreement, calibration.

Each item's verdict is the majority of its reviewers' answers (a tie, or only "unsure", gives no
verdict), so an item rated by three people counts once. Agreement is measured only on items rated
more than once: Cohen's kappa for every pair of reviewers and Krippendorff's alpha across all (it
allows any number of ratings per item); Fleiss' kappa is added where every such item has the same
number of ratings. Precision and accuracy carry Wilson 95% intervals: review samples are small.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.review.agreement import cohen_kappa, fleiss_kappa, krippendorff_alpha, wilson_interval
from pipeline.review.labels import UNMAPPED
from pipeline.store import write_csv, write_json, write_parquet

__all__ = ["QUESTIONS", "Measures", "compute_measures", "write_measures"]

#: The questions whose agreement is measured.
QUESTIONS = ("theme", "node", "severity", "needs_met")
#: Calibration bins of stated confidence.
CONFIDENCE_BINS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0000001)


@dataclass
class Measures:
    """The review measures as tables (also written to ``review_measures/``)."""

    theme_precision: pd.DataFrame
    node_accuracy: pd.DataFrame
    confusion: pd.DataFrame
    agreement_pairs: pd.DataFrame
    agreement: pd.DataFrame
    calibration: pd.DataFrame
    needs_met: pd.DataFrame
    totals: dict[str, Any] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "theme_precision": self.theme_precision,
            "node_accuracy": self.node_accuracy,
            "confusion": self.confusion,
            "agreement_pairs": self.agreement_pairs,
            "agreement": self.agreement,
            "calibration": self.calibration,
            "needs_met": self.needs_met,
        }

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: nan becomes None."""

        def clean(frame: pd.DataFrame) -> list[dict[str, Any]]:
            records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
            return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in records]

        return {"totals": self.totals, **{name: clean(frame) for name, frame in self.tables().items()}}


def _verdict(values: list[Any], *, ignore: tuple[str, ...] = ()) -> Any:
    """The majority answer, or None on a tie or when nothing counts."""
    counted = Counter(v for v in values if isinstance(v, str) and v not in ignore)
    if not counted:
        return None
    top = counted.most_common(2)
    if len(top) > 1 and top[0][1] == top[1][1]:
        return None
    return top[0][0]


def _interval(k: int, n: int) -> tuple[float, float, float]:
    low, high = wilson_interval(k, n)
    return (k / n if n else math.nan, low, high)


def compute_measures(items: pd.DataFrame, labels: pd.DataFrame) -> Measures:
    """The measures of ``labels`` (one row per reviewer and item: LabelStore.latest()) on ``items``."""
    items = items.set_index("item_id", drop=False)
    labels = labels[labels["item_id"].isin(items.index)]
    predicted = items["category_id"].where(items["category_id"].notna(), UNMAPPED).astype(str)
    grouped = {item: frame for item, frame in labels.groupby("item_id")}
    verdicts = pd.DataFrame(
        {
            "item_id": list(grouped),
            "theme": [_verdict(list(f["theme"]), ignore=("unsure",)) for f in grouped.values()],
            "node": [_verdict(list(f["node"])) for f in grouped.values()],
            "raters": [int(f["reviewer"].nunique()) for f in grouped.values()],
        }
    )
    verdicts = verdicts.merge(items.drop(columns="item_id").reset_index(), on="item_id", how="left")
    verdicts["predicted_node"] = verdicts["item_id"].map(predicted)

    # -- per theme: precision of membership
    theme_rows = []
    themed = items[items["theme_id"] >= 0]
    for theme_id, group in themed.groupby("theme_id"):
        answers = verdicts.loc[verdicts["theme_id"] == theme_id, "theme"]
        judged = answers.isin(("yes", "no"))
        yes = int((answers == "yes").sum())
        precision, low, high = _interval(yes, int(judged.sum()))
        theme_rows.append(
            {
                "theme_id": int(theme_id),
                "label": str(group["theme_label"].iloc[0]),
                "items": len(group),
                "judged": int(judged.sum()),
                "yes": yes,
                "precision": precision,
                "ci_low": low,
                "ci_high": high,
            }
        )
    theme_precision = pd.DataFrame(
        theme_rows, columns=["theme_id", "label", "items", "judged", "yes", "precision", "ci_low", "ci_high"]
    )

    # -- per node: accuracy of the classifier's node, and the confusion table
    nodes = verdicts[verdicts["node"].notna()]
    node_rows = []
    for node, group in nodes.groupby("predicted_node"):
        correct = int((group["node"] == node).sum())
        accuracy, low, high = _interval(correct, len(group))
        node_rows.append(
            {"node": node, "judged": len(group), "correct": correct, "accuracy": accuracy, "ci_low": low,
             "ci_high": high}
        )  # fmt: skip
    node_accuracy = pd.DataFrame(node_rows, columns=["node", "judged", "correct", "accuracy", "ci_low", "ci_high"])
    confusion = (
        nodes.groupby(["predicted_node", "node"]).size().rename("items").reset_index()
        .rename(columns={"predicted_node": "predicted", "node": "reviewed"})
    )  # fmt: skip

    # -- calibration: stated confidence in the node vs how often reviewers agreed with it
    calib_rows = []
    if len(nodes):
        conf = nodes["category_confidence"].astype(float).fillna(0.0).clip(0, 1)
        bins = np.digitize(conf, CONFIDENCE_BINS[1:-1])
        for b in range(len(CONFIDENCE_BINS) - 1):
            mask = bins == b
            if not mask.any():
                continue
            correct = int((nodes["node"] == nodes["predicted_node"])[mask].sum())
            observed, low, high = _interval(correct, int(mask.sum()))
            calib_rows.append(
                {"bin": f"{CONFIDENCE_BINS[b]:.1f}-{min(CONFIDENCE_BINS[b + 1], 1.0):.1f}", "items": int(mask.sum()),
                 "mean_confidence": float(conf[mask].mean()), "observed_accuracy": observed, "ci_low": low,
                 "ci_high": high}
            )  # fmt: skip
    calibration = pd.DataFrame(
        calib_rows, columns=["bin", "items", "mean_confidence", "observed_accuracy", "ci_low", "ci_high"]
    )

    # -- agreement on items rated more than once
    pair_rows, overall_rows = [], []
    reviewers = sorted(labels["reviewer"].unique())
    for question in QUESTIONS:
        rated = labels[labels[question].notna()]
        wide = rated.pivot(index="item_id", columns="reviewer", values=question)
        for a, b in itertools.combinations(reviewers, 2):
            if a not in wide or b not in wide:
                continue
            both = wide[[a, b]].dropna()
            if len(both):
                pair_rows.append(
                    {"question": question, "reviewer_a": a, "reviewer_b": b, "items": len(both),
                     "agreement": float((both[a] == both[b]).mean()),
                     "cohen_kappa": cohen_kappa(list(both[a]), list(both[b]))}
                )  # fmt: skip
        units = [list(v) for _, v in rated.groupby("item_id")[question] if len(v) >= 2]
        fleiss = math.nan
        if units and len({len(u) for u in units}) == 1:
            cats = sorted({x for u in units for x in u})
            counts = np.array([[u.count(c) for c in cats] for u in units])
            fleiss = fleiss_kappa(counts)
        overall_rows.append(
            {"question": question, "items": len(units), "ratings": int(sum(len(u) for u in units)),
             "krippendorff_alpha": krippendorff_alpha(units), "fleiss_kappa": fleiss}
        )  # fmt: skip
    agreement_pairs = pd.DataFrame(
        pair_rows, columns=["question", "reviewer_a", "reviewer_b", "items", "agreement", "cohen_kappa"]
    )
    agreement = pd.DataFrame(
        overall_rows, columns=["question", "items", "ratings", "krippendorff_alpha", "fleiss_kappa"]
    )

    # -- Needs Met: ratings per theme (each reviewer's rating counts)
    nm = labels[labels["needs_met"].notna()].merge(items[["theme_id"]].reset_index(), on="item_id")
    needs_met = (
        nm.groupby(["theme_id", "needs_met"]).size().rename("ratings").reset_index()
        if len(nm)
        else pd.DataFrame(columns=["theme_id", "needs_met", "ratings"])
    )
    totals = {
        "items": len(items),
        "rated_items": int(labels["item_id"].nunique()),
        "answers": len(labels),
        "reviewers": reviewers,
        "multi_rated_items": int((verdicts["raters"] > 1).sum()),
    }
    return Measures(
        theme_precision, node_accuracy, confusion, agreement_pairs, agreement, calibration, needs_met, totals
    )


def write_measures(measures: Measures, run_dir: str | Path) -> Path:
    """Each table as Parquet and CSV in ``<run>/review_measures/``, plus totals.json (atomic writes)."""
    folder = Path(run_dir) / "review_measures"
    for name, frame in measures.tables().items():
        write_parquet(frame, folder / f"{name}.parquet")
        write_csv(frame, folder / f"{name}.csv")
    write_json(measures.totals, folder / "totals.json")
    return folder
