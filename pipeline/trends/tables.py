"""The shapes the detectors share: the alert schema, the Trends result, the time window, per-bin counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from pipeline.config import TrendsConfig

DETECTORS = ("spike", "rise", "new", "escalation")

#: The alert table (alerts.parquet; alerts.json holds the same records): a stable schema for integrations.
ALERTS: dict[str, str] = {
    "alert_id": "str: stable across runs for the same theme or node (kind + key)",
    "kind": "str: 'theme' | 'category' | 'emerging' (a group of new reports that no theme holds yet)",
    "theme_id": "int | None: the theme (kind 'theme')",
    "label": "str: theme label, the node's name, or 'new: ' and the group's most typical report",
    "category_id": "str | None: the theme's primary node, or the node itself",
    "category": "str: node name or 'Unmapped'",
    "severity": "str: critical | high | medium | low | none",
    "detectors": "list[str]: which detectors fired (spike, rise, new, escalation)",
    "current_count": "int: rows in the current window",
    "baseline_count": "int: rows in the baseline window (emerging: baseline rows among the group's neighbours)",
    "baseline_per_bin": "float: baseline rows per bin",
    "growth": "float: current per bin / baseline per bin (inf when the baseline is empty)",
    "p_value": "float: spike tail probability (emerging: the group's novelty q-value)",
    "q_value": "float: after Benjamini-Hochberg over everything tested (emerging: over the current rows)",
    "significance": "float in [0, 1]: the largest detector score",
    "priority": "float: severity_weight * significance * log1p(current_count)",
    "window_start": "str: ISO start of the current window",
    "window_end": "str: ISO end of the current window",
    "first_seen": "str: ISO window end of the first run that raised this alert",
    "last_seen": "str: ISO window end of the latest run that raised it",
    "runs": "int: runs in which it was raised (1 = new alert)",
    "peak_count": "int: the largest current_count over those runs",
    "status": "str: 'new' | 'continuing'",
    "verbatims": "list[str]: up to three redacted reports from the current window",
    "top_queries": "list[str]: the most frequent search queries in the current window (when known)",
}


class VectorRows(Protocol):
    """Row vectors indexed by row positions: an array, or a view that builds only the rows asked for."""

    def __len__(self) -> int: ...

    def __getitem__(self, rows: np.ndarray) -> np.ndarray: ...


@dataclass
class Trends:
    """Per-bin counts, per-key statistics and the alerts of one run."""

    counts: pd.DataFrame  # long: kind, key, bin, count
    stats: pd.DataFrame  # one row per (kind, key): windows, counts, growth, p, q, flags and scores
    alerts: pd.DataFrame  # columns ALERTS, ranked by priority
    window: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: the rows (positions in the rows given to :func:`detect`) of each ``emerging`` alert
    members: dict[str, np.ndarray] = field(default_factory=dict)


def no_trends(notes: list[str]) -> Trends:
    """The empty result: no time data, or trends turned off."""
    return Trends(
        pd.DataFrame(columns=["kind", "key", "bin", "count"]),
        pd.DataFrame(),
        pd.DataFrame(columns=list(ALERTS)),
        {},
        notes,
    )


@dataclass
class Window:
    """The binning of one run: bin width, the current window and the baseline before it."""

    freq: pd.Timedelta
    end: pd.Timestamp
    current_start: pd.Timestamp
    baseline_start: pd.Timestamp

    @property
    def bins(self) -> pd.DatetimeIndex:
        return pd.date_range(self.baseline_start, self.end - self.freq, freq=self.freq)

    def describe(self, bin_width: str) -> dict[str, Any]:
        return {
            "bin": bin_width,
            "current": [self.current_start.isoformat(), self.end.isoformat()],
            "baseline": [self.baseline_start.isoformat(), self.current_start.isoformat()],
        }


def trend_window(latest: pd.Timestamp, config: TrendsConfig) -> Window:
    """The windows for data whose latest timestamp is ``latest`` (or ``config.as_of`` when set)."""
    freq = pd.Timedelta(config.bin)
    if config.as_of is not None:
        as_of = pd.Timestamp(config.as_of)
        end = (as_of.tz_localize("UTC") if as_of.tzinfo is None else as_of.tz_convert("UTC")).floor(freq)
    else:
        end = latest.floor(freq) + freq
    current_start = end - freq * config.current_bins
    return Window(freq, end, current_start, current_start - freq * config.baseline_bins)


#: The aggregate the detectors read: rows per (kind, key, bin) inside the windows.
BIN_COUNTS: dict[str, str] = {
    "kind": "str: 'theme' | 'category'",
    "key": "int theme id | str node id",
    "bin": "datetime64[UTC]: bin start",
    "count": "int: rows",
}


def bin_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """:data:`BIN_COUNTS` from in-window rows with ``bin``, ``theme_id`` and ``category_id``."""
    themes = frame.groupby(["theme_id", "bin"]).size().rename("count").reset_index()
    themes = themes[themes["theme_id"] >= 0]
    cats = frame[frame["category_id"].notna()].groupby(["category_id", "bin"]).size().rename("count").reset_index()
    return pd.concat(
        [
            pd.DataFrame({"kind": "theme", "key": themes["theme_id"].astype(object), "bin": themes["bin"]})
            .assign(count=themes["count"].to_numpy()),
            pd.DataFrame({"kind": "category", "key": cats["category_id"].astype(object), "bin": cats["bin"]})
            .assign(count=cats["count"].to_numpy()),
        ],
        ignore_index=True,
    )  # fmt: skip
