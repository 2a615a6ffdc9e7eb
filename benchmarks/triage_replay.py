"""The triage replay: BANKING77 intents as themes over 60 simulated days, injected events, and how the
detectors' alerts are credited to them (method: :mod:`benchmarks.triage`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

START = pd.Timestamp("2026-01-01", tz="UTC")
DAYS = 60
MORNINGS = range(45, 59)  # as_of = the end of these days
EVENTS = (("2x", 2.0), ("3x", 3.0), ("5x", 5.0), ("new", None))


@dataclass
class Event:
    kind: str
    intent: str
    onset: int
    days: int  # how long it is active (new themes: until the end)
    factor: float | None


def load_banking(data_dir: Path) -> pd.DataFrame:
    frames = [pd.read_csv(data_dir / "banking77" / f"{part}.csv") for part in ("train", "test")]
    frame = pd.concat(frames, ignore_index=True)
    return frame.rename(columns={"category": "intent"})[["text", "intent"]]


def make_replay(
    pool: pd.DataFrame, seed: int, n_themes: int, rates: tuple[float, float], *, with_events: bool
) -> tuple[pd.DataFrame, list[Event]]:
    """Rows (id, text, time, intent) over DAYS days, and the events injected into them."""
    rng = np.random.default_rng(seed)
    intents = rng.permutation(sorted(pool["intent"].unique()))
    steady, spare = list(intents[:n_themes]), list(intents[n_themes:])
    rate = dict(zip(steady, rng.uniform(*rates, size=n_themes), strict=True))
    by_intent = {k: g["text"].to_numpy() for k, g in pool.groupby("intent")}
    events: list[Event] = []
    if with_events:
        targets = rng.choice(steady, size=3, replace=False)
        onsets = rng.choice(np.arange(45, 57), size=4, replace=False)
        for (kind, factor), intent, onset in zip(EVENTS[:3], targets, onsets[:3], strict=True):
            events.append(Event(kind, str(intent), int(onset), int(rng.integers(1, 4)), factor))
        newcomer = str(spare[0])
        rate[newcomer] = float(rng.uniform(*rates))
        events.append(Event("new", newcomer, int(onsets[3]), DAYS - int(onsets[3]), None))
    records = []
    for day in range(DAYS):
        for intent, r in rate.items():
            factor = 1.0
            for e in events:
                if e.intent == intent and e.onset <= day < e.onset + e.days and e.factor:
                    factor = e.factor
                if e.kind == "new" and e.intent == intent and day < e.onset:
                    factor = 0.0
            n = rng.poisson(r * factor)
            texts = rng.choice(by_intent[intent], size=n)
            hours = rng.uniform(0, 24, size=n)
            records += [
                (t, START + pd.Timedelta(days=day, hours=float(h)), intent) for t, h in zip(texts, hours, strict=True)
            ]
    rows = pd.DataFrame(records, columns=["text", "time", "intent"])
    rows.insert(0, "id", [f"r{i}" for i in range(len(rows))])
    return rows, events


def embed_texts(texts: list[str], config: Any) -> np.ndarray:
    """The rows' vectors, from the embedding cache the run just filled (as the run's trends stage sees them)."""
    from models.embedding import make_embedder
    from pipeline.embed import CachedEmbedder
    from pipeline.store import EmbeddingCache, default_cache_dir

    embedder = make_embedder(config.embed.model, backend=config.embed.backend, cache_dir=config.embed.cache_dir)
    cache = EmbeddingCache(default_cache_dir(config.embed.cache_dir), embedder.identity)
    return CachedEmbedder(embedder, cache).encode(texts)


def credited_event(events: list[Event], day: int, intents: pd.Series, excess: float) -> int | None:
    """The event an alert is credited to: active that day, its intent at least half the alert's excess
    rows (the last such event when several are); None for a false alert."""
    hit = None
    for i, e in enumerate(events):
        if e.onset <= day < e.onset + e.days and intents.get(e.intent, 0) >= max(0.5 * excess, 1):
            hit = i
    return hit


def evaluate(result: Any, rows: pd.DataFrame, events: list[Event], config: Any) -> dict[str, Any]:
    """Run the detectors on each morning; match theme alerts to events."""
    from pipeline.trends import detect

    feedback = result.feedback.merge(rows[["id", "intent"]], left_on="row_id", right_on="id")
    clustered = feedback[feedback["status"] != "excluded"].reset_index(drop=True)
    vectors = embed_texts(clustered["clean_text"].tolist(), config)
    theme_alerts: list[tuple[int, bool]] = []  # (day, true?): theme and emerging-group alerts
    category_alerts = 0
    detected: dict[int, int] = {}
    for day in MORNINGS:
        as_of = START + pd.Timedelta(days=day + 1)
        in_past = (clustered["time"] < as_of).to_numpy()
        past = clustered[in_past]
        trends_config = config.trends.model_copy(update={"as_of": as_of.isoformat()})
        found = detect(
            past,
            result.themes,
            trends_config,
            severity_weights=config.classify.severity_weights,
            vectors=vectors[in_past],
        )
        today = past[(past["time"] >= as_of - pd.Timedelta(days=1)) & (past["theme_id"] >= 0)]
        for alert in found.alerts.itertuples():
            if alert.kind == "category":
                category_alerts += 1
                continue
            if alert.kind == "emerging":  # a group of new rows no theme holds: judged by its own rows
                intents = past["intent"].iloc[found.members[alert.alert_id]].value_counts()
                excess = alert.current_count
            else:
                intents = today.loc[today["theme_id"] == alert.theme_id, "intent"].value_counts()
                excess = alert.current_count - alert.baseline_per_bin
            hit = credited_event(events, day, intents, excess)
            theme_alerts.append((day, hit is not None))
            if hit is not None and hit not in detected:
                detected[hit] = day - events[hit].onset
    return {
        "theme_alerts": len(theme_alerts),
        "true_alerts": sum(t for *_, t in theme_alerts),
        "category_alerts": category_alerts,
        "detected": {events[i].kind: lag for i, lag in detected.items()},
        "events": [e.kind for e in events],
    }


def replay_figures(
    burst_runs: list[dict[str, Any]], quiet_runs: list[dict[str, Any]], *, categories: bool = True
) -> dict[str, float]:
    """Recall and lag per event kind, and the headline figures, over the replays' outcomes."""
    figures: dict[str, float] = {}
    for kind, _ in EVENTS:
        lags = [r["detected"][kind] for r in burst_runs if kind in r["detected"]]
        figures[f"recall_{kind}"] = len(lags) / len(burst_runs)
        figures[f"lag_{kind}"] = float(np.mean(lags)) if lags else float("nan")
    alerts = sum(r["theme_alerts"] for r in burst_runs)
    figures["precision"] = sum(r["true_alerts"] for r in burst_runs) / alerts if alerts else float("nan")
    strong = [r["detected"].get(k) for r in burst_runs for k in ("3x", "5x", "new")]
    found = [x for x in strong if x is not None]
    figures["recall"] = len(found) / len(strong)
    figures["lag_bins"] = float(np.mean(found)) if found else float("nan")
    figures["false_alerts_per_replay"] = float(np.mean([r["theme_alerts"] for r in quiet_runs]))
    if categories:
        figures["false_category_alerts_per_replay"] = float(np.mean([r["category_alerts"] for r in quiet_runs]))
    return figures


def figure_records(figures: dict[str, float], common: dict[str, Any]) -> list[dict[str, Any]]:
    """One long-form record per figure; per-kind figures get ``config = 'event <kind>'``."""
    records = []
    for metric, value in figures.items():
        event = metric.split("_", 1)[1] if metric.split("_", 1)[-1] in dict(EVENTS) else None
        name = metric.split("_", 1)[0] if event else metric
        name = "lag_bins" if name == "lag" else name
        records.append(
            {**common, "metric": name, "value": round(value, 4), "config": f"event {event}" if event else "all"}
        )
    return records
