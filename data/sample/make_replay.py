"""Build ``app_reviews_replay.csv``: the 2,000 real reviews of ``app_reviews_sample.csv`` with
**simulated** timestamps, so that the demo shows trends and alerts on its first run.

The reviews are real; only the times are made up (seed 7). Every review gets a uniformly random
time over 28 days (2026-10-29 to 2026-11-25), except the reviews that report the app breaking
(crashes, freezes, "not working", "won't open"...): 70% of those are moved to the last day, as if a
bad release had gone out that morning. Re-running this script rewrites the same file.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
START = pd.Timestamp("2026-10-29", tz="UTC")
DAYS = 28
BREAKING = re.compile(
    r"crash|freez|not work|n't work|won'?t (?:open|load|work|start)|keeps? (?:closing|stopping)", re.I
)


def main() -> None:
    reviews = pd.read_csv(HERE / "app_reviews_sample.csv")
    rng = np.random.default_rng(7)
    seconds = rng.uniform(0, DAYS * 86400, size=len(reviews))
    breaking = reviews["Content"].str.contains(BREAKING).to_numpy()
    moved = breaking & (rng.uniform(size=len(reviews)) < 0.7)
    seconds[moved] = (DAYS - 1) * 86400 + rng.uniform(0, 86400, size=int(moved.sum()))
    reviews.insert(3, "Date", (START + pd.to_timedelta(seconds, unit="s")).strftime("%Y-%m-%dT%H:%M:%SZ"))
    reviews.sort_values("Date", kind="stable").to_csv(HERE / "app_reviews_replay.csv", index=False)
    print(f"{int(breaking.sum())} breaking-app reviews, {int(moved.sum())} moved to the last day")


if __name__ == "__main__":
    main()
