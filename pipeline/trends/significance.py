"""The statistics behind the detectors: a spike's tail probability, Benjamini-Hochberg, CUSUM, scores."""

from __future__ import annotations

import numpy as np
from scipy import stats


def spike_pvalue(current: int, baseline_counts: np.ndarray, current_bins: int) -> tuple[float, float]:
    """``P(X >= current)`` for the current window given the baseline bins; returns (p, expected)."""
    bins = max(len(baseline_counts), 1)
    mean = (float(np.sum(baseline_counts)) + 0.5) / bins
    expected = mean * current_bins
    if current <= 0:
        return 1.0, expected
    var = float(np.var(baseline_counts, ddof=1)) if len(baseline_counts) > 1 else mean
    if var > mean * 1.05:
        size = mean**2 / (var - mean)  # negative binomial r per bin; sums of bins add r
        prob = size / (size + mean)
        p = float(stats.nbinom.sf(current - 1, size * current_bins, prob))
    else:
        p = float(stats.poisson.sf(current - 1, expected))
    return min(max(p, 0.0), 1.0), expected


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """q-values controlling the false discovery rate over all tests."""
    p = np.asarray(p, dtype=float)
    n = len(p)
    if n == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(q, 1.0)
    return out


def cusum_statistic(series: np.ndarray, mean: float, sd: float, k: float) -> tuple[float, int]:
    """The one-sided CUSUM at the last bin, and the first bin of its current climb (len(series) if none)."""
    s, start = 0.0, len(series)
    for i, x in enumerate(series):
        s = max(0.0, s + (x - mean) / sd - k)
        if s == 0.0:
            start = len(series)
        elif start == len(series):
            start = i
    return s, start


def score(q: float) -> float:
    return float(min(1.0, -np.log10(max(q, 1e-300)) / 10.0))
