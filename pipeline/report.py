"""Report: the human-readable views of a run, ``insights.md`` and ``report.html``.

Feedback is user-written: every value is escaped for its medium (Markdown table cells, HTML), and
only PII-redacted clean text is ever shown.
"""

from __future__ import annotations

import html
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


def insights_markdown(themes: pd.DataFrame, accounting: dict[str, Any], *, top_n: int, notes: list[str]) -> str:
    """The top themes as a Markdown table, with the row accounting above it."""
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
    lines += [
        f"Ranked by `{RANKING_FORMULA}`.",
        "",
        "| rank | theme | label | size | share | keywords | example |",
        "|---:|---:|---|---:|---:|---|---|",
    ]
    for _, row in themes.head(top_n).iterrows():
        example = row["representatives"][0] if len(row["representatives"]) else ""
        lines.append(
            f"| {row['rank']} | {row['theme_id']} | {_md_cell(row['label'])} | {row['size']} | "
            f"{row['share']:.1%} | {_md_cell(', '.join(row['keywords'][:6]))} | {_md_cell(example)} |"
        )
    return "\n".join(lines) + "\n"


_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;color:#222;padding:0 1rem}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:.4rem;vertical-align:top;
text-align:left}th{background:#f4f4f4}.num{text-align:right}.kw{color:#555}blockquote{margin:.2rem 0;
padding:.2rem .6rem;border-left:3px solid #ccc;color:#333}.note{background:#fff6d6;padding:.5rem}
"""


def report_html(themes: pd.DataFrame, accounting: dict[str, Any], *, run_id: str, notes: list[str]) -> str:
    """A self-contained, script-free HTML page of the ranked themes with their verbatims."""
    esc = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>Feedback insights — {esc(run_id)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Feedback insights</h1><p>Run <code>{esc(run_id)}</code>. Rows in: {accounting['rows_in']}, "
        f"themed: {accounting['themed']}, outliers: {accounting['outliers']}, excluded: {accounting['excluded']}.</p>",
    ]
    for note in notes:
        parts.append(f"<p class='note'>{esc(note)}</p>")
    parts.append(f"<p>Ranked by <code>{esc(RANKING_FORMULA)}</code>.</p>")
    parts.append(
        "<table><thead><tr><th class='num'>Rank</th><th>Theme</th><th class='num'>Size</th>"
        "<th class='num'>Share</th><th>Keywords and verbatims</th></tr></thead><tbody>"
    )
    for _, row in themes.iterrows():
        quotes = "".join(f"<blockquote>{esc(str(t))}</blockquote>" for t in row["representatives"])
        parts.append(
            f"<tr><td class='num'>{int(row['rank'])}</td><td><b>{esc(str(row['label']))}</b>"
            f"<br><small>theme {int(row['theme_id'])}</small></td><td class='num'>{int(row['size'])}</td>"
            f"<td class='num'>{row['share']:.1%}</td><td><div class='kw'>"
            f"{esc(', '.join(map(str, row['keywords'])))}</div>{quotes}</td></tr>"
        )
    parts.append("</tbody></table></body></html>")
    return "\n".join(parts)
