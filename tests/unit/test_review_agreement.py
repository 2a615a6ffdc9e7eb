"""Agreement statistics against published worked examples and scikit-learn."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from pipeline.review.agreement import cohen_kappa, fleiss_kappa, krippendorff_alpha, wilson_interval


@pytest.mark.parametrize("seed", range(5))
def test_cohen_kappa_equals_scikit_learn_on_random_raters(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.choice(["yes", "no", "unsure"], size=60, p=[0.6, 0.3, 0.1])
    b = np.where(rng.random(60) < 0.7, a, rng.choice(["yes", "no", "unsure"], size=60))
    assert cohen_kappa(list(a), list(b)) == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)


def test_cohen_kappa_is_one_for_identical_raters_and_undefined_for_one_shared_label() -> None:
    assert cohen_kappa(["a", "b", "a"], ["a", "b", "a"]) == pytest.approx(1.0)
    assert math.isnan(cohen_kappa(["a", "a"], ["a", "a"]))


def test_fleiss_kappa_matches_the_worked_example_of_fleiss_1971_as_given_on_wikipedia() -> None:
    # 10 subjects, 14 raters, 5 categories: kappa = 0.210 (P-bar 0.378, P-e 0.213)
    counts = np.array(
        [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
         [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    )  # fmt: skip
    assert fleiss_kappa(counts) == pytest.approx(0.210, abs=5e-4)


def test_fleiss_kappa_refuses_items_with_different_numbers_of_ratings() -> None:
    with pytest.raises(ValueError, match="same number"):
        fleiss_kappa(np.array([[2, 0], [1, 2]]))


def test_krippendorff_alpha_matches_krippendorffs_own_nominal_example_with_missing_values() -> None:
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 4 coders, 12 units, nominal alpha 0.743
    coders = [
        "1 2 3 3 2 1 4 1 2 . . .",
        "1 2 3 3 2 2 4 1 2 5 . 3",
        ". 3 3 3 2 3 4 2 2 5 1 .",
        "1 2 3 3 2 4 4 1 2 5 1 .",
    ]
    table = [row.split() for row in coders]
    units = [[row[i] for row in table if row[i] != "."] for i in range(12)]
    assert krippendorff_alpha(units) == pytest.approx(0.743, abs=5e-4)


def test_krippendorff_alpha_equals_fleiss_kappa_up_to_the_small_sample_correction() -> None:
    units = [["a", "a"], ["a", "b"], ["b", "b"], ["a", "a"], ["b", "b"], ["a", "b"]]
    counts = np.array([[u.count("a"), u.count("b")] for u in units])
    n = sum(len(u) for u in units)
    kappa = fleiss_kappa(counts)
    # for two ratings per unit: alpha = 1 - (n - 1)/n * (1 - kappa)
    assert krippendorff_alpha(units) == pytest.approx(1 - (n - 1) / n * (1 - kappa), abs=1e-9)


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [(8, 10, 0.4902, 0.9433), (0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0), (50, 100, 0.4038, 0.5962)],
)
def test_wilson_interval_matches_published_values(k: int, n: int, low: float, high: float) -> None:
    got = wilson_interval(k, n)
    assert got == (pytest.approx(low, abs=1e-4), pytest.approx(high, abs=1e-4))


def test_wilson_interval_without_trials_is_undefined_and_bad_counts_are_refused() -> None:
    assert all(math.isnan(x) for x in wilson_interval(0, 0))
    with pytest.raises(ValueError, match="0 <= successes <= trials"):
        wilson_interval(5, 3)
