"""Alerts across runs: an alert raised again keeps its first sighting, run count and peak (``--baseline``)."""

from __future__ import annotations

import pandas as pd


def continue_alerts(alerts: pd.DataFrame, previous: pd.DataFrame | None) -> pd.DataFrame:
    """Carry the history of alerts the previous run also raised: first seen, run count, peak."""
    if previous is None or previous.empty or alerts.empty:
        return alerts
    before = previous.set_index("alert_id")
    out = alerts.copy()
    for i, aid in enumerate(out["alert_id"]):
        if aid in before.index:
            prev = before.loc[aid]
            out.loc[i, "first_seen"] = prev["first_seen"]
            out.loc[i, "runs"] = int(prev["runs"]) + 1
            out.loc[i, "peak_count"] = max(int(prev["peak_count"]), int(out.loc[i, "current_count"]))
            out.loc[i, "status"] = "continuing"
    return out
