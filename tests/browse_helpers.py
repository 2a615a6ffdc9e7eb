"""A small hand-built run folder for the browsing tests: every optional column, hostile text, PII.

Three themes (one per taxonomy branch), outliers and excluded rows, a time column, metadata,
alerts, and feedback rows whose redacted text carries XSS payloads that would set
``window.__xss`` if they ever ran. The raw ``text`` column holds an email address that must never
reach a page (its ``clean_text`` says ``[EMAIL]``).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.browse.view import Limits
from pipeline.report import report_html

RUN_ID = "hand-built"
RAW_EMAIL = "jane.doe@example.com"
META_EMAIL = "leaked.query@example.org"

#: Each would set window.__xss to its name if the page ever ran it.
XSS = {
    "script": "<script>window.__xss='script'</script>",
    "img": "<img src=x onerror=\"window.__xss='img'\">",
    "svg": '"><svg onload="window.__xss=\'svg\'">',
    "close": "</script><script>window.__xss='close'</script>",
}
XSS_LABEL = "Weird <b>markup</b> " + XSS["img"]
XSS_CATEGORY = "Odd " + XSS["svg"]
XSS_NOTE = "Note with " + XSS["img"]

LOGIN_ROWS = 45  # three pages of 20 in the theme view
SELF_HARM_ROWS = 8
XSS_ROWS = 6
OUTLIER_ROWS = 5
EXCLUDED_ROWS = 2


def _rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    day0 = pd.Timestamp("2026-11-01T09:00:00Z")

    def add(text: str, theme: int, status: str = "themed", **extra: Any) -> None:
        i = len(rows)
        rows.append(
            {
                "row_id": f"r{i:03d}",
                "source_file": "export.csv",
                "source_row": i + 2,
                "text": extra.pop("raw", text),
                "clean_text": text,
                "language": "en",
                "status": status,
                "exclusion_reason": extra.pop("reason", None),
                "duplicate_of": None,
                "truncated": False,
                "theme_id": theme,
                "theme_id_reassigned": theme if theme >= 0 else extra.pop("reassigned", -1),
                "x": np.nan if status == "excluded" else float(theme * 10 + (i % 7) * 0.5),
                "y": np.nan if status == "excluded" else float((i % 5) * 0.8 - theme * 3),
                "time": day0 + pd.Timedelta(days=i % 6),
                "search_query": extra.pop("query", "login help"),
                "locale": extra.pop("locale", "en-US"),
            }
        )

    for i in range(LOGIN_ROWS):
        add(
            f"Login verbatim number {i:02d}: the password reset link never arrives", 0, locale=["en-US", "de-DE"][i % 2]
        )
    # the PII row: raw text has an email, the redacted text a placeholder; its search query an email too
    add("Cannot log in, write to me at [EMAIL] please", 0, raw=f"Cannot log in, write to me at {RAW_EMAIL} please",
        query=f"contact {META_EMAIL}")  # fmt: skip
    for i in range(SELF_HARM_ROWS):
        add(f"Search for diet tips showed self harm videos ({i})", 1, query="diet tips")
    for payload in XSS.values():
        add(f"I typed {payload} into search", 2, query=payload)
    add("Another odd one with <i>italics</i> & ampersands", 2)
    add("Line separator \u2028 and paragraph \u2029 in text", 2)
    for i in range(OUTLIER_ROWS):
        add(
            f"Completely unrelated outlier remark about bananas {i}",
            -1,
            status="outlier",
            reassigned=0 if i < 2 else -1,
        )
    for _ in range(EXCLUDED_ROWS):
        add(None, -1, status="excluded", reason="empty")  # type: ignore[arg-type]
    return rows


def feedback_table() -> pd.DataFrame:
    return pd.DataFrame(_rows())


def themes_table(feedback: pd.DataFrame) -> pd.DataFrame:
    clustered = int((feedback["status"] != "excluded").sum())
    specs = [
        # theme, label, keywords, category_id, category, branch, severity, confidence, secondary, trend
        (1, "Self-harm content, diet search", ["self harm", "diet", "videos"], "safety.self_harm", "Self-harm",
         "safety", "critical", 0.91, ["search_quality.relevance"], "spike"),
        (0, "Login, password reset", ["login", "password", "reset", "link"], "product.account_access",
         "Account access", "product", "high", 0.78, [], "rising"),
        (2, XSS_LABEL, ["typed", XSS["svg"], "search"], None, XSS_CATEGORY, None, "none", 0.12, [], "steady"),
    ]  # fmt: skip
    records = []
    for rank, (tid, label, kws, cid, cat, branch, sev, conf, sec, trend) in enumerate(specs, start=1):
        rows = feedback[feedback["theme_id"] == tid]
        size = len(rows)
        daily = rows["time"].dt.strftime("%Y-%m-%d").value_counts().sort_index()
        reps = list(rows["clean_text"].head(3))
        records.append(
            {
                "rank": rank,
                "theme_id": tid,
                "label": label,
                "keywords": kws,
                "size": size,
                "share": size / clustered,
                "size_with_reassigned": size + int((feedback["theme_id_reassigned"] == tid).sum() - size),
                "unique_texts": size,
                "representatives": reps,
                "volume_score": size / clustered,
                "severity_weight": {"critical": 4.0, "high": 2.0}.get(sev, 1.0),
                "trend_weight": 1.0,
                "priority": 0.0,
                "first_seen": rows["time"].min(),
                "last_seen": rows["time"].max(),
                "daily_counts": json.dumps({str(k): int(v) for k, v in daily.items()}),
                "centroid": [0.0, 1.0],
                "category_id": cid,
                "category": cat,
                "branch": branch,
                "severity": sev,
                "category_confidence": conf,
                "secondary_categories": sec,
                "trend": trend,
            }
        )
    themes = pd.DataFrame(records)
    themes["priority"] = themes["volume_score"] * themes["severity_weight"] * themes["trend_weight"]
    return themes


def accounting(feedback: pd.DataFrame) -> dict[str, Any]:
    status = feedback["status"].value_counts()
    return {
        "rows_in": len(feedback),
        "themed": int(status.get("themed", 0)),
        "outliers": int(status.get("outlier", 0)),
        "excluded": int(status.get("excluded", 0)),
        "excluded_by_reason": {"empty": int(status.get("excluded", 0))},
        "outliers_reassigned": 2,
    }


ALERTS = [
    {
        "theme_id": 1,
        "label": "Self-harm content, diet search",
        "kind": "theme",
        "detectors": ["spike", "rise"],
        "severity": "critical",
        "current_count": 5,
        "growth": 4.25,
        "message": "Self-harm spike " + XSS["script"],
    },
]


def build_run_dir(parent: Path, *, limits: Limits | None = None, alerts: bool = True) -> Path:
    """Write ``parent/hand-built`` as `insights run` would (plus alerts.json), report.html included."""
    run_dir = parent / RUN_ID
    run_dir.mkdir(parents=True, exist_ok=True)
    feedback = feedback_table()
    themes = themes_table(feedback)
    acc = accounting(feedback)
    notes = [XSS_NOTE]
    feedback.to_parquet(run_dir / "feedback.parquet")
    themes.to_parquet(run_dir / "themes.parquet")
    manifest = {"run_id": RUN_ID, "accounting": acc, "notes": notes}
    (run_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    if alerts:
        (run_dir / "alerts.json").write_text(json.dumps(ALERTS), encoding="utf-8")
    page = report_html(
        themes,
        acc,
        run_id=RUN_ID,
        notes=notes,
        feedback=feedback,
        alerts=ALERTS if alerts else None,
        run_dir=str(run_dir),
        limits=limits,
    )
    (run_dir / "report.html").write_text(page, encoding="utf-8")
    return run_dir


@contextlib.contextmanager
def serving(run_dir: Path) -> Iterator[str]:
    """``insights serve`` over ``run_dir`` on a free loopback port, in a thread; yields its URL."""
    import pytest
    import uvicorn

    from pipeline.browse.serve import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(run_dir), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the test server did not start within 20 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
