"""Reading a run folder for the browse views: its tables, manifest, alerts and per-theme trend labels.

:meth:`pipeline.browse.view.RunView.from_dir` builds a view from what :func:`read_run` returns; the
raw ``text`` column is never read (only ``clean_text`` is displayed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.browse.values import py_value
from pipeline.errors import InputError

__all__ = ["TREND_FLAGS", "read_alerts", "read_run", "theme_trends"]


def read_run(run_dir: str | Path) -> dict[str, Any]:
    """The keyword arguments of a RunView for a run folder; a one-line InputError when it is not one."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: no such run folder; give a folder written by 'insights run' (outputs/<run>).")
    missing = [n for n in ("themes.parquet", "feedback.parquet", "manifest.json") if not (run_dir / n).is_file()]
    if missing:
        raise InputError(f"{run_dir}: not a run folder, it lacks {missing}; give a folder written by 'insights run'.")
    try:
        manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError(f"{run_dir / 'manifest.json'}: not valid JSON ({exc}); rerun 'insights run'.") from None
    import pyarrow.parquet as pq

    columns = [c for c in pq.read_schema(run_dir / "feedback.parquet").names if c != "text"]
    feedback = pd.read_parquet(run_dir / "feedback.parquet", columns=columns)
    themes = pd.read_parquet(run_dir / "themes.parquet")
    return dict(
        run_id=str(manifest.get("run_id") or run_dir.name),
        themes=themes,
        accounting=dict(manifest.get("accounting") or {}),
        notes=manifest.get("notes") or [],
        feedback=feedback,
        alerts=read_alerts(run_dir),
        trends=pd.read_parquet(run_dir / "trends.parquet") if (run_dir / "trends.parquet").is_file() else None,
    )


#: A theme's trend label from the trends stage's detector flags, the first that fired.
TREND_FLAGS = (("new", "new"), ("spike", "spike"), ("rise", "rising"), ("escalation", "escalating"))


def theme_trends(theme_ids: pd.Series, trends: pd.DataFrame) -> pd.Series:
    """Per theme: ``new``, ``spike``, ``rising``, ``escalating`` or ``steady`` (None when not measured)."""
    if not {"kind", "key"} <= set(trends.columns):
        return pd.Series([None] * len(theme_ids), index=theme_ids.index, dtype=object)
    rows = trends[trends["kind"] == "theme"]
    labels: dict[str, str] = {}
    for record in rows.to_dict("records"):
        fired = [name for flag, name in TREND_FLAGS if bool(record.get(flag, False))]
        labels[str(record["key"])] = fired[0] if fired else "steady"
    return theme_ids.map(lambda t: labels.get(str(int(t)))).astype(object)


def read_alerts(run_dir: Path) -> list[dict[str, Any]]:
    """Alerts of a run (``alerts.json`` as a list or ``{"alerts": [...]}``, or ``alerts.parquet``), if any."""
    path = run_dir / "alerts.json"
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise InputError(f"{path}: not valid JSON ({exc}); fix or remove it.") from None
        if isinstance(data, dict):
            data = data.get("alerts", [])
        return [a for a in data if isinstance(a, dict)] if isinstance(data, list) else []
    path = run_dir / "alerts.parquet"
    if path.is_file():
        return [{str(k): py_value(v) for k, v in r.items()} for r in pd.read_parquet(path).to_dict("records")]
    return []
