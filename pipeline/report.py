"""Report: the human-readable views of a run, ``insights.md`` and ``report.html``.

Feedback is user-written: every value is escaped for its medium (Markdown table cells, HTML), and
only PII-redacted clean text is ever shown.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipeline.summarize import RANKING_FORMULA

__all__ = ["insights_markdown", "report_html"]


def _md_cell(value: Any, limit: int = 160) -> str:
    text = " ".join(str(value).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    for ch in ("\\", "|", "*", "_", "`", "[", "]", "<", ">", "#"):
        text = text.replace(ch, "\\" + ch)
    return text


def _alerts_markdown(alerts: pd.DataFrame, top_n: int) -> list[str]:
    """The top alerts, each with its counts, growth and three verbatims."""
    lines = [
        "## Alerts",
        "",
        "Ranked by `priority = severity_weight * significance * log1p(current_count)`; all of them in "
        "`alerts.json` / `alerts.parquet`.",
        "",
    ]
    for i, (_, a) in enumerate(alerts.head(top_n).iterrows(), start=1):
        growth = "new (no baseline rows)" if not np.isfinite(a["growth"]) else f"{a['growth']:.1f}× the baseline rate"
        what = f"theme {int(a['theme_id'])}: {_md_cell(a['label'])}" if a["kind"] == "theme" else _md_cell(a["label"])
        node = f" — {_md_cell(a['category'])}" if a["kind"] != "category" and pd.notna(a["category_id"]) else ""
        where = "reports that no theme holds yet" if a["kind"] == "emerging" else "reports in the current window"
        before = "similar per bin before" if a["kind"] == "emerging" else "per bin before"
        lines.append(
            f"{i}. **[{a['severity']}] {what}**{node}: {a['current_count']} {where} vs "
            f"{a['baseline_per_bin']:.1f} {before} ({growth}); detectors: {', '.join(a['detectors'])}; "
            + ("opened in this run" if a["runs"] == 1 else f"raised in {a['runs']} runs since {a['first_seen'][:10]}")
        )
        if len(a["top_queries"]):
            lines.append(f"   - top queries: {_md_cell(', '.join(a['top_queries']))}")
        lines.extend(f"   - > {_md_cell(t, 200)}" for t in a["verbatims"])
    return [*lines, ""]


def _queries_markdown(queries: pd.DataFrame, top_n: int) -> list[str]:
    lines = [
        "## Queries behind safety reports",
        "",
        "| query | reports | safety | critical/high | top category |",
        "|---|---:|---:|---:|---|",
    ]
    for _, q in queries.head(top_n).iterrows():
        lines.append(
            f"| {_md_cell(q['query'])} | {q['rows']} | {q['safety_rows']} | {q['critical_high_rows']} | "
            f"{_md_cell(q['top_category'])} |"
        )
    return [*lines, ""]


def _categories_markdown(categories: pd.DataFrame, themes: pd.DataFrame) -> list[str]:
    """The category roll-up, most severe first, and the urgent reports hidden in other themes."""
    lines = [
        "## Categories",
        "",
        "| category | branch | severity | themes | rows | share |",
        "|---|---|---|---:|---:|---:|",
    ]
    for _, row in categories.iterrows():
        lines.append(
            f"| {_md_cell(row['path'])} | {_md_cell(row['branch'] or '—')} | {row['severity']} | {row['themes']} | "
            f"{row['rows']} | {row['share']:.1%} |"
        )
    flagged = int(themes["flagged_rows"].sum()) if "flagged_rows" in themes.columns else 0
    if flagged:
        lines += [
            "",
            f"{flagged} reports labeled critical or high sit in themes of another category "
            "(`feedback.parquet`: `severity`, `category_id`).",
        ]
    return [*lines, ""]


def insights_markdown(
    themes: pd.DataFrame,
    accounting: dict[str, Any],
    *,
    top_n: int,
    notes: list[str],
    categories: pd.DataFrame | None = None,
    alerts: pd.DataFrame | None = None,
    queries: pd.DataFrame | None = None,
) -> str:
    """Alerts first, then the row accounting, the category roll-up, the top themes and the queries."""
    lines = [
        "# Feedback insights",
        "",
        f"Rows in: {accounting['rows_in']} · themed: {accounting['themed']} · outliers: "
        f"{accounting['outliers']} · excluded: {accounting['excluded']}",
        "",
    ]
    if accounting.get("excluded_by_reason"):
        reasons = ", ".join(f"{k}: {v}" for k, v in accounting["excluded_by_reason"].items())
        lines += [f"Excluded by reason: {reasons}", ""]
    for note in notes:
        lines += [f"> Note: {_md_cell(note, 400)}", ""]
    if alerts is not None and len(alerts):
        lines += _alerts_markdown(alerts, top_n)
    if categories is not None and len(categories):
        lines += _categories_markdown(categories, themes)
    lines += [
        "## Themes",
        "",
        f"Ranked by `{RANKING_FORMULA}`.",
        "",
        "| rank | theme | label | category | severity | size | share | keywords | example |",
        "|---:|---:|---|---|---|---:|---:|---|---|",
    ]
    for _, row in themes.head(top_n).iterrows():
        example = row["representatives"][0] if len(row["representatives"]) else ""
        category = row.get("category", "")
        if row.get("category_id"):
            category = f"{category} ({row['category_confidence']:.2f})"
        lines.append(
            f"| {row['rank']} | {row['theme_id']} | {_md_cell(row['label'])} | {_md_cell(category)} | "
            f"{row.get('severity', '')} | {row['size']} | {row['share']:.1%} | "
            f"{_md_cell(', '.join(row['keywords'][:6]))} | {_md_cell(example)} |"
        )
    if queries is not None and len(queries):
        lines += ["", *_queries_markdown(queries, top_n)]
    return "\n".join(lines) + "\n"


def report_html(
    themes: pd.DataFrame, accounting: dict[str, Any], *, run_id: str, notes: list[str], **kwargs: Any
) -> str:
    """The self-contained ``report.html``; see :func:`pipeline.browse.report.report_html` for the options."""
    from pipeline.browse.report import report_html as _report_html

    return _report_html(themes, accounting, run_id=run_id, notes=notes, **kwargs)
