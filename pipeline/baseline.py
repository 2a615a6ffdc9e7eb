"""Memory between runs: a previous run's themes as the starting point of the next (``--baseline``).

Every run writes ``theme_model.parquet``: every theme it knows (its own, plus the baseline's that
had no rows this time) with a centroid, label, and the runs that first and last saw it. The next
run with ``--baseline <that run>``:

1. assigns each new text to the known theme whose centroid is most similar, when the cosine is at
   least ``trends.baseline_threshold``; those rows keep the theme's id;
2. clusters the remaining texts into new themes; a new cluster whose centroid is within
   ``trends.match_threshold`` of a known theme takes that id (it drifted back), the others get fresh
   ids above every id ever used, so ids never collide or get reused;
3. continues the baseline's alerts (``trends.continue_alerts``) and flags the unmatched themes as new.

A baseline made with another embedding model (its centroids live in another space) or by an
incompatible version is refused with a one-line error.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.errors import InputError

__all__ = ["THEME_MODEL", "Baseline", "assign", "load_baseline", "match_clusters", "theme_model"]

log = logging.getLogger(__name__)

#: Oldest run format a baseline may come from (the version that first wrote theme_model.parquet).
COMPATIBLE_FROM = (0, 2)

#: theme_model.parquet: every theme known after this run.
THEME_MODEL: dict[str, str] = {
    "theme_id": "int: stable across runs",
    "label": "str: the latest label",
    "centroid": "list[float]: normalized mean embedding (the latest run that had rows)",
    "first_run": "str: run id that first saw the theme",
    "last_run": "str: latest run id with rows in the theme",
    "last_size": "int: rows in that run",
}


class BaselineError(InputError):
    """A baseline run directory that cannot be used with this run."""


@dataclass
class Baseline:
    """The known themes and open alerts of a previous run."""

    run_dir: Path
    run_id: str
    model: pd.DataFrame  # columns THEME_MODEL
    centroids: np.ndarray  # (k, d) normalized, in model order
    alerts: pd.DataFrame

    @property
    def next_id(self) -> int:
        return int(self.model["theme_id"].max()) + 1 if len(self.model) else 0


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".")[:2] if p.isdigit())


def load_baseline(run_dir: str | Path, embedding_identity: str) -> Baseline:
    """Read a previous run's theme model and alerts, checking it can be matched against this run."""
    run_dir = Path(run_dir)
    manifest_path = run_dir / "manifest.json"
    if not manifest_path.is_file():
        raise BaselineError(
            f"{run_dir}: not a run folder (no manifest.json); --baseline takes a folder written by 'insights run'."
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise BaselineError(f"{manifest_path}: not valid JSON ({exc}).") from None
    version = str(manifest.get("version", "0"))
    model_path = run_dir / "theme_model.parquet"
    if manifest.get("tool") != "feedback-insights" or _version(version) < COMPATIBLE_FROM or not model_path.is_file():
        raise BaselineError(
            f"{run_dir}: written by feedback-insights {version}, which keeps no theme model; "
            f"a baseline must come from version {'.'.join(map(str, COMPATIBLE_FROM))} or later: rerun it first."
        )
    theirs = (manifest.get("models") or {}).get("embedding")
    if theirs != embedding_identity:
        raise BaselineError(
            f"{run_dir}: its themes were embedded with {theirs!r} but this run uses {embedding_identity!r}; "
            "their centroids cannot be compared. Use the same embed.model and embed.backend, or drop --baseline."
        )
    model = pd.read_parquet(model_path)
    centroids = np.array(model["centroid"].tolist(), dtype=np.float32).reshape(len(model), -1)
    alerts_path = run_dir / "alerts.parquet"
    alerts = pd.read_parquet(alerts_path) if alerts_path.is_file() else pd.DataFrame()
    log.info("Baseline %s: %d known themes, %d alerts", run_dir, len(model), len(alerts))
    return Baseline(run_dir, str(manifest.get("run_id", run_dir.name)), model, centroids, alerts)


def assign(vectors: np.ndarray, baseline: Baseline, threshold: float) -> np.ndarray:
    """Known theme id per vector (cosine to its centroid >= ``threshold``), else -1."""
    if len(vectors) == 0 or len(baseline.model) == 0:
        return np.full(len(vectors), -1, dtype=np.int64)
    ids = baseline.model["theme_id"].to_numpy(dtype=np.int64)
    out = np.full(len(vectors), -1, dtype=np.int64)
    for start in range(0, len(vectors), 8192):
        sims = vectors[start : start + 8192] @ baseline.centroids.T
        best = sims.argmax(axis=1)
        ok = sims[np.arange(len(best)), best] >= threshold
        out[start : start + 8192] = np.where(ok, ids[best], -1)
    return out


def match_clusters(
    centroids: dict[int, np.ndarray], baseline: Baseline, threshold: float
) -> tuple[dict[int, int], set[int]]:
    """Map each new cluster to the most similar known id (cosine >= ``threshold``) or a fresh id.

    Returns the mapping and the set of fresh ids (the themes that are new).
    """
    mapping: dict[int, int] = {}
    fresh: set[int] = set()
    next_id = baseline.next_id
    known = baseline.model["theme_id"].to_numpy(dtype=np.int64)
    for cluster_id in sorted(centroids):
        if len(known):
            sims = baseline.centroids @ centroids[cluster_id]
            best = int(np.argmax(sims))
            if sims[best] >= threshold:
                mapping[cluster_id] = int(known[best])
                continue
        mapping[cluster_id] = next_id
        fresh.add(next_id)
        next_id += 1
    return mapping, fresh


def theme_model(themes: pd.DataFrame, run_id: str, baseline: Baseline | None) -> pd.DataFrame:
    """This run's themes plus the baseline's themes that had no rows now, with their history."""
    before = baseline.model.set_index("theme_id") if baseline is not None else pd.DataFrame()
    records: list[dict[str, Any]] = []
    for _, t in themes.iterrows():
        tid = int(t["theme_id"])
        records.append(
            {
                "theme_id": tid,
                "label": str(t["label"]),
                "centroid": list(t["centroid"]),
                "first_run": str(before.loc[tid, "first_run"]) if tid in before.index else run_id,
                "last_run": run_id,
                "last_size": int(t["size"]),
            }
        )
    current = {r["theme_id"] for r in records}
    if baseline is not None:
        for _, t in baseline.model.iterrows():
            if int(t["theme_id"]) not in current:
                records.append({k: t[k] for k in THEME_MODEL} | {"centroid": list(t["centroid"])})
    return pd.DataFrame(records, columns=list(THEME_MODEL)).sort_values("theme_id").reset_index(drop=True)
