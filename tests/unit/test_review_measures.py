"""Review measures: majority verdicts, precision with intervals, accuracy, confusion, agreement, calibration."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from pipeline.review.measures import compute_measures


def items() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": ["a", "b", "c", "d"],
            "theme_id": [0, 0, 0, 1],
            "theme_label": ["Login", "Login", "Login", "Scams"],
            "category_id": ["product.account_login", "product.account_login", None, "safety.scams"],
            "category_confidence": [0.9, 0.7, 0.1, 0.95],
        }
    )


def labels(rows: list[tuple[str, str, str | None, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"item_id": i, "reviewer": r, "theme": t, "node": n, "severity": None, "needs_met": None}
            for i, r, t, n in rows
        ]
    )


def test_theme_precision_counts_each_item_once_by_majority_and_leaves_out_unsure_and_ties() -> None:
    got = compute_measures(items(), labels([
        ("a", "ann", "yes", None), ("a", "bob", "yes", None), ("a", "cid", "no", None),  # majority yes
        ("b", "ann", "no", None), ("b", "bob", "yes", None),  # tie: no verdict
        ("c", "ann", "unsure", None),  # unsure: left out
        ("d", "ann", "no", None),
    ]))  # fmt: skip
    login = got.theme_precision.set_index("theme_id").loc[0]
    assert (login["items"], login["judged"], login["yes"], login["precision"]) == (3, 1, 1, 1.0)
    assert login["ci_low"] == pytest.approx(0.2065, abs=1e-4)
    assert got.theme_precision.set_index("theme_id").loc[1, "precision"] == 0.0


def test_node_accuracy_confusion_and_calibration_follow_the_reviewers_node() -> None:
    got = compute_measures(items(), labels([
        ("a", "ann", None, "product.account_login"),
        ("b", "ann", None, "safety.scams"),
        ("c", "ann", None, "product.bug_crash"),  # the classifier left it unmapped
        ("d", "ann", None, "safety.scams"),
    ]))  # fmt: skip
    acc = got.node_accuracy.set_index("node")
    assert acc.loc["product.account_login", ["judged", "correct"]].tolist() == [2, 1]
    assert acc.loc["unmapped", "accuracy"] == 0.0
    pairs = set(zip(got.confusion["predicted"], got.confusion["reviewed"], strict=True))
    assert ("unmapped", "product.bug_crash") in pairs and ("product.account_login", "safety.scams") in pairs
    calib = got.calibration.set_index("bin")
    assert calib.loc["0.8-1.0", "observed_accuracy"] == 1.0  # a (0.9) and d (0.95) were right
    assert calib.loc["0.0-0.2", "observed_accuracy"] == 0.0


def test_agreement_uses_only_items_rated_more_than_once() -> None:
    got = compute_measures(items(), labels([
        ("a", "ann", "yes", None), ("a", "bob", "yes", None),
        ("b", "ann", "no", None), ("b", "bob", "yes", None),
        ("c", "ann", "yes", None), ("c", "bob", "yes", None),
        ("d", "ann", "no", None),  # only one rating: not in agreement
    ]))  # fmt: skip
    theme = got.agreement.set_index("question").loc["theme"]
    assert (theme["items"], theme["ratings"]) == (3, 6)
    (pair,) = got.agreement_pairs[got.agreement_pairs["question"] == "theme"].to_dict(orient="records")
    assert (pair["items"], pair["agreement"]) == (3, pytest.approx(2 / 3))
    assert math.isfinite(theme["krippendorff_alpha"]) and math.isfinite(theme["fleiss_kappa"])
    assert got.totals["multi_rated_items"] == 3


def test_measures_without_answers_are_empty_tables_not_errors() -> None:
    got = compute_measures(items(), labels([]).reindex(columns=["item_id", "reviewer", "theme", "node", "severity",
                                                                  "needs_met"]))  # fmt: skip
    assert got.totals["rated_items"] == 0 and got.node_accuracy.empty
    assert got.to_json()["theme_precision"][0]["precision"] is None
