"""What a run returns: the tables as DataFrames, the manifest, and where they were written."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import RunConfig
from pipeline.review.curation import Carried

__all__ = ["RunResult", "alert_line"]


@dataclass
class RunResult:
    """What a run produced: the tables as DataFrames, the manifest, and where they were written."""

    feedback: pd.DataFrame
    themes: pd.DataFrame
    categories: pd.DataFrame
    manifest: dict[str, Any]
    config: RunConfig
    run_dir: Path | None = None
    embeddings: np.ndarray | None = field(default=None, repr=False)
    alerts: pd.DataFrame = field(default_factory=pd.DataFrame)
    trends: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    trend_counts: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    queries: pd.DataFrame | None = field(default=None, repr=False)
    theme_model: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    carried: Carried | None = field(default=None, repr=False)  # the baseline's curation and reviewed examples

    @property
    def accounting(self) -> dict[str, Any]:
        return dict(self.manifest["accounting"])

    def summary(self, top_n: int = 10) -> str:
        """A few plain lines: row accounting and the top themes."""
        acc = self.accounting
        lines = [
            f"rows in {acc['rows_in']}: themed {acc['themed']}, outliers {acc['outliers']}"
            f" ({acc['outliers_reassigned']} reassignable), excluded {acc['excluded']}",
        ]
        if acc["excluded_by_reason"]:
            lines.append("excluded by reason: " + ", ".join(f"{k} {v}" for k, v in acc["excluded_by_reason"].items()))
        lines.extend(f"note: {note}" for note in self.manifest["notes"])
        if len(self.alerts):
            lines.append(f"alerts ({len(self.alerts)}; `insights triage` shows them with verbatims):")
            lines.extend(f"  ! {alert_line(a)}" for _, a in self.alerts.head(5).iterrows())
        lines.append("themes:")
        for _, row in self.themes.head(top_n).iterrows():
            category = f" · {row['category']} ({row['severity']})" if pd.notna(row.get("category_id")) else ""
            lines.append(
                f"{int(row['rank']):>3}. [{int(row['theme_id'])}] {row['label']} — {row['size']} ({row['share']:.1%})"
                f"{category}"
            )
        if self.run_dir is not None:
            lines.append(f"written to {self.run_dir}")
            if (self.run_dir / "report.html").exists():
                lines.append(f"open the report: {(self.run_dir / 'report.html').resolve().as_uri()} (works offline)")
            lines.append(f"browse every row: insights serve {self.run_dir}  (then open http://127.0.0.1:8765/)")
        return "\n".join(lines)


def alert_line(alert: pd.Series) -> str:
    """One line per alert: what, where, how much."""
    growth = alert["growth"]
    grew = "new" if not np.isfinite(growth) else f"{growth:.1f}x"
    what = f"theme {int(alert['theme_id'])} {alert['label']}" if alert["kind"] == "theme" else alert["label"]
    node = f" · {alert['category']}" if alert["kind"] != "category" and pd.notna(alert["category_id"]) else ""
    return (
        f"[{alert['severity']}] {what}{node}: {alert['current_count']} now vs "
        f"{alert['baseline_per_bin']:.1f}/bin before ({grew}; {', '.join(alert['detectors'])}; "
        + (
            "opened now)"
            if alert["status"] == "new"
            else f"continuing since {str(alert['first_seen'])[:10]}, run {alert['runs']})"
        )
    )
