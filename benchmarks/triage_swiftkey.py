"""The triage benchmark on the IDEA SwiftKey reviews: weekly detectors against the app's changelog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.triage_replay import embed_texts

SWIFTKEY = Path("idea_emerging_issues") / "swiftkey_keyboard"
_STOP = {"and", "the", "of", "a", "to", "in", "for", "language", "input"}


def swiftkey(data_dir: Path, config: Any) -> tuple[dict[str, float], list[str]]:
    """Run on the SwiftKey reviews; return the loose figures and one line per alert."""
    from pipeline import run
    from pipeline.trends import detect

    lines = (data_dir / SWIFTKEY / "total_info.txt").read_text(encoding="utf-8", errors="replace").splitlines()
    fields = [line.split("******") for line in lines]
    rows = pd.DataFrame(
        {"id": [f"s{i}" for i in range(len(fields))], "text": [f[1] for f in fields], "time": [f[2] for f in fields]}
    )
    changelog = (data_dir / SWIFTKEY / "changelog_swiftkey.txt").read_text(encoding="utf-8").splitlines()
    phrases = [p.strip() for line in changelog for p in line.split(",") if p.strip()]
    words = {w for p in phrases for w in p.lower().split() if w not in _STOP and len(w) > 2}
    result = run(rows, config, write=False)
    clustered = result.feedback[result.feedback["status"] != "excluded"].reset_index(drop=True)
    vectors = embed_texts(clustered["clean_text"].tolist(), config)
    keywords = result.themes.set_index("theme_id")["keywords"]
    weekly = config.trends.model_copy(update={"bin": "7D", "baseline_bins": 8})
    alerted: dict[int, list[str]] = {}
    report: list[str] = []
    for monday in pd.date_range("2015-01-05", "2015-06-01", freq="7D", tz="UTC"):
        in_past = (clustered["time"] < monday).to_numpy()
        found = detect(
            clustered[in_past],
            result.themes,
            weekly.model_copy(update={"as_of": monday.isoformat()}),
            severity_weights=config.classify.severity_weights,
            vectors=vectors[in_past],
        )
        for alert in found.alerts.itertuples():
            if alert.kind == "theme":
                alerted.setdefault(int(alert.theme_id), list(keywords.get(alert.theme_id, [])))
            report.append(
                f"week to {monday.date()}: {alert.kind} {alert.label!r} {alert.current_count} vs "
                f"{alert.baseline_per_bin:.1f}/week ({', '.join(alert.detectors)})"
            )
    hits = [any(w in " ".join(kw).split() for w in words) for kw in alerted.values()]
    covered = [
        p for p in phrases
        if any(w in " ".join(" ".join(kw) for kw in alerted.values()).split() for w in p.lower().split() if w in words)
    ]  # fmt: skip
    figures = {
        "alerts": float(len(report)),
        "alerted_themes": float(len(alerted)),
        "keyword_precision_loose": float(np.mean(hits)) if hits else float("nan"),
        "changelog_recall_loose": len(covered) / len(phrases) if phrases else float("nan"),
        "rows": float(len(rows)),
        "themes": float(len(result.themes)),
    }
    return figures, report
