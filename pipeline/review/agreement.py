"""Agreement statistics in plain numpy: Wilson intervals, Cohen's kappa, Fleiss' kappa, Krippendorff's alpha.

Written here rather than imported because the review loop needs them on a handful of items with
missing ratings, and each is a few lines that the unit tests check against published worked
examples and scikit-learn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["cohen_kappa", "fleiss_kappa", "krippendorff_alpha", "wilson_interval"]

#: Two-sided 95% normal quantile.
Z95 = 1.959963984540054


def wilson_interval(successes: int, trials: int, *, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; (nan, nan) without trials.

    Preferred to the normal interval because review samples per theme are small and precision is
    often near 0 or 1, where the normal interval leaves [0, 1].
    """
    if trials < 0 or not 0 <= successes <= trials:
        raise ValueError(f"wilson_interval needs 0 <= successes <= trials; got {successes} of {trials}.")
    if trials == 0:
        return (math.nan, math.nan)
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def cohen_kappa(a: Sequence[Any], b: Sequence[Any]) -> float:
    """Cohen's kappa of two raters over the same items (unweighted); nan when it is undefined.

    Matches ``sklearn.metrics.cohen_kappa_score``; when both raters use one and the same label on
    every item, chance agreement is 1 and kappa is undefined (nan), as in scikit-learn.
    """
    if len(a) != len(b):
        raise ValueError(f"cohen_kappa needs two equally long label lists; got {len(a)} and {len(b)}.")
    if not len(a):
        return math.nan
    labels = sorted({*map(str, a), *map(str, b)})
    index = {label: i for i, label in enumerate(labels)}
    table = np.zeros((len(labels), len(labels)))
    for x, y in zip(a, b, strict=True):
        table[index[str(x)], index[str(y)]] += 1
    n = table.sum()
    observed = np.trace(table) / n
    expected = float((table.sum(axis=1) @ table.sum(axis=0)) / (n * n))
    if expected == 1.0:
        return math.nan
    return float((observed - expected) / (1 - expected))


def fleiss_kappa(counts: np.ndarray) -> float:
    """Fleiss' kappa from an (items x categories) matrix of how many raters chose each category.

    Every item must have the same number of ratings (Fleiss' assumption); nan when undefined.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2 or not len(counts):
        return math.nan
    per_item = counts.sum(axis=1)
    if not np.all(per_item == per_item[0]) or per_item[0] < 2:
        raise ValueError(
            f"fleiss_kappa needs the same number (>= 2) of ratings per item; got {sorted(set(per_item.tolist()))}."
        )
    n_raters = per_item[0]
    p_j = counts.sum(axis=0) / counts.sum()
    p_i = (np.sum(counts * counts, axis=1) - n_raters) / (n_raters * (n_raters - 1))
    p_bar, p_e = float(p_i.mean()), float(np.sum(p_j * p_j))
    if p_e == 1.0:
        return math.nan
    return (p_bar - p_e) / (1 - p_e)


def krippendorff_alpha(units: Sequence[Sequence[Any]]) -> float:
    """Krippendorff's alpha for nominal data; ``units`` holds each item's ratings (any number, missing left out).

    Items with fewer than two ratings carry no information about agreement and are skipped, so
    raters who each saw different items can still be compared. nan when undefined.
    """
    pairable = [[str(v) for v in unit] for unit in units if len(unit) >= 2]
    if not pairable:
        return math.nan
    labels = sorted({v for unit in pairable for v in unit})
    index = {label: i for i, label in enumerate(labels)}
    coincidence = np.zeros((len(labels), len(labels)))
    for unit in pairable:
        values = np.bincount([index[v] for v in unit], minlength=len(labels)).astype(np.float64)
        coincidence += (np.outer(values, values) - np.diag(values)) / (len(unit) - 1)
    n_c = coincidence.sum(axis=1)
    n = n_c.sum()
    observed_disagreement = coincidence.sum() - np.trace(coincidence)
    expected_disagreement = (n * n - np.sum(n_c * n_c)) / (n - 1)
    if expected_disagreement == 0:
        return math.nan
    return float(1.0 - observed_disagreement / expected_disagreement)
