"""The triage benchmark's daily mode: each morning a real run chained to the previous one by ``--baseline``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.triage_replay import MORNINGS, START, Event, credited_event

log = logging.getLogger("benchmarks.triage")


def daily(rows: pd.DataFrame, events: list[Event], overrides: dict[str, Any], work: Path, name: str) -> dict[str, Any]:
    """Each morning a real run on the rows so far, with the previous morning's run as ``--baseline``.

    Alerts are the run's own (theme ids and alert history carried between runs). A theme alert is judged
    as in :func:`evaluate` from the run's feedback; an emerging alert by its verbatims (the run keeps
    no member list): true when an active event's intent wrote at least half of them. Theme ids are
    *stable* when a row themed in two consecutive runs keeps its id.
    """
    from pipeline import run
    from pipeline.config import load_config

    previous: Path | None = None
    before: pd.Series | None = None
    alerts, true_alerts, continuing = 0, 0, 0
    stable: list[float] = []
    detected: dict[int, int] = {}
    for day in MORNINGS:
        as_of = START + pd.Timedelta(days=day + 1)
        past = rows[rows["time"] < as_of]
        config = load_config(
            None,
            {**overrides, "output.out_dir": str(work), "output.run_id": f"{name}-day{day}", "output.force": True,
             "trends.baseline": str(previous) if previous else None},
        )  # fmt: skip
        result = run(past[["id", "text", "time"]], config)
        feedback = result.feedback.merge(past[["id", "intent"]], left_on="row_id", right_on="id")
        today = feedback[(feedback["time"] >= as_of - pd.Timedelta(days=1)) & (feedback["status"] != "excluded")]
        for alert in result.alerts.itertuples():
            if alert.kind == "category":
                continue
            if alert.kind == "emerging":
                intents = today.loc[today["clean_text"].isin(list(alert.verbatims)), "intent"].value_counts()
                excess = float(len(alert.verbatims))
            else:
                intents = today.loc[today["theme_id"] == alert.theme_id, "intent"].value_counts()
                excess = alert.current_count - alert.baseline_per_bin
            hit = credited_event(events, day, intents, excess)
            log.debug("%s day %d: %s %s %s %d vs %.1f/bin, true=%s", name, day, alert.kind, alert.theme_id,
                      list(alert.detectors), alert.current_count, alert.baseline_per_bin, hit is not None)  # fmt: skip
            alerts += 1
            true_alerts += hit is not None
            continuing += alert.status == "continuing"
            if hit is not None:
                detected.setdefault(hit, day - events[hit].onset)
        themed = feedback.loc[feedback["theme_id"] >= 0].set_index("row_id")["theme_id"]
        if before is not None:
            both = before.index.intersection(themed.index)
            stable.append(float((before.loc[both] == themed.loc[both]).mean()) if len(both) else float("nan"))
        before, previous = themed, result.run_dir
        log.info("%s day %d: %d alerts (%d true so far), stable ids %.3f", name, day, len(result.alerts),
                 true_alerts, stable[-1] if stable else float("nan"))  # fmt: skip
    return {
        "theme_alerts": alerts,
        "true_alerts": true_alerts,
        "continuing_alerts": continuing,
        "detected": {events[i].kind: lag for i, lag in detected.items()},
        "events": [e.kind for e in events],
        "stable_ids": float(np.nanmean(stable)) if stable else float("nan"),
    }
