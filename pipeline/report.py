"""Report: the human-readable views of a run, ``insights.md`` and ``report.html``.

Feedback is user-written: every value is escaped for its medium (Markdown table cells, HTML), and
only PII-redacted clean text is ever shown.
"""

from __future__ import annotations

from typing import Any

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
) -> str:
    """The top themes as a Markdown table, with the row accounting and the category roll-up above it."""
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
    return "\n".join(lines) + "\n"


def report_html(
    themes: pd.DataFrame, accounting: dict[str, Any], *, run_id: str, notes: list[str], **kwargs: Any
) -> str:
    """The self-contained ``report.html``; see :func:`pipeline.browse.report.report_html` for the options."""
    from pipeline.browse.report import report_html as _report_html

    return _report_html(themes, accounting, run_id=run_id, notes=notes, **kwargs)
