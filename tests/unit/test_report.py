"""Report: user-written text is escaped for its medium, never run or rendered as markup.

report.html is tested in tests/unit/test_browse_report.py and, in a real browser, tests/browser/.
"""

from __future__ import annotations

import re

import pandas as pd

from pipeline.report import insights_markdown
from pipeline.summarize import RANKING_FORMULA

ACCOUNTING = {"rows_in": 10, "themed": 6, "outliers": 2, "excluded": 2, "excluded_by_reason": {"empty": 2}}
SCRIPT = "<script>alert('x')</script>"


def _themes(label: str = "Login, password", rep: str = "Login fails") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rank": [1, 2],
            "theme_id": [0, 1],
            "label": [label, "Search"],
            "keywords": [["login", "password"], ["search"]],
            "size": [4, 2],
            "share": [0.5, 0.25],
            "representatives": [[rep, "second quote"], []],
        }
    )


def test_markdown_escapes_pipes_so_the_table_keeps_its_columns():
    md = insights_markdown(_themes(label="A | B", rep="x|y|z"), ACCOUNTING, top_n=10, notes=[])
    rows = [line for line in md.splitlines() if line.startswith("| 1 |")]
    assert len(rows) == 1
    unescaped_pipes = re.findall(r"(?<!\\)\|", rows[0])
    header = next(line for line in md.splitlines() if line.startswith("| rank"))
    assert len(unescaped_pipes) == header.count("|")
    assert "A \\| B" in rows[0] and "x\\|y\\|z" in rows[0]


def test_markdown_neutralizes_markup_and_newlines_in_cells():
    md = insights_markdown(_themes(label="**bold** [link](http://x)", rep=f"line one\nline two {SCRIPT}"), ACCOUNTING,
                           top_n=10, notes=[])  # fmt: skip
    row = next(line for line in md.splitlines() if line.startswith("| 1 |"))
    assert "\\*\\*bold\\*\\*" in row and "\\[link\\]" in row
    assert "line one line two" in row
    assert "<script>" not in md


def test_markdown_has_accounting_reasons_notes_formula_and_top_n():
    md = insights_markdown(_themes(), ACCOUNTING, top_n=1, notes=["too few rows"])
    assert "Rows in: 10" in md and "excluded: 2" in md
    assert "Excluded by reason: empty: 2" in md
    assert "> Note: too few rows" in md
    assert RANKING_FORMULA in md
    assert sum(line.startswith("| 1 |") or line.startswith("| 2 |") for line in md.splitlines()) == 1


def test_markdown_truncates_long_cells():
    md = insights_markdown(_themes(rep="word " * 200), ACCOUNTING, top_n=10, notes=[])
    row = next(line for line in md.splitlines() if line.startswith("| 1 |"))
    assert "…" in row
    assert len(row) < 600


def test_an_emerging_alert_reads_as_new_reports_no_theme_holds_with_its_node() -> None:
    alert = {
        "kind": "emerging", "theme_id": None, "label": "new: free coins | giveaway", "category_id": "scam",
        "category": "Scams", "severity": "high", "detectors": ["new"], "current_count": 8, "baseline_per_bin": 0.5,
        "growth": 16.0, "status": "new", "runs": 1, "first_seen": "2026-01-31", "top_queries": [],
        "verbatims": ["free coins here"],
    }  # fmt: skip
    md = insights_markdown(_themes(), ACCOUNTING, top_n=5, notes=[], alerts=pd.DataFrame([alert]))
    line = next(line for line in md.splitlines() if line.startswith("1. "))
    assert "new: free coins \\| giveaway" in line and "— Scams" in line and "theme None" not in line
    assert "8 reports that no theme holds yet vs 0.5 similar per bin before" in line and "opened in this run" in line
