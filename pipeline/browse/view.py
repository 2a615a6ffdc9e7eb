"""What the browsing views show, as plain JSON-ready dicts: one shaping for the report and the server.

A :class:`RunView` holds a run's tables (the themes, the per-row feedback without its raw ``text``
column, the accounting, notes and alerts) and answers the questions the pages ask:

* :meth:`RunView.summary`: overview, the ranked theme table, facets and a sample of map points;
* :meth:`RunView.theme_detail`: a theme's count over time and metadata breakdowns;
* :meth:`RunView.verbatims`: one page of a theme's verbatims (optionally filtered by a query);
* :meth:`RunView.search`: full-text search over every row's redacted text;
* :meth:`RunView.bundle`: all of the above for a self-contained report, within :class:`Limits`.

Only ``clean_text`` (PII-redacted) is displayed; metadata values go through the same regex redaction
(emails, URLs, phone and card numbers, handles) before they are shown. Reading a run folder lives in
:mod:`pipeline.browse.run_files`, the JSON-ready value helpers in :mod:`pipeline.browse.values`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.browse.run_files import TREND_FLAGS, read_alerts, read_run, theme_trends
from pipeline.browse.values import cut_text, py_value, stamp_text
from pipeline.clean import redact_pii
from pipeline.schemas import FEEDBACK

# TREND_FLAGS, read_alerts and theme_trends moved to pipeline.browse.run_files; importable from here too.
__all__ = ["SEVERITY_ORDER", "TREND_FLAGS", "Limits", "RunView", "read_alerts", "theme_trends"]

#: Most severe first; the order of the severity filter and of the overview.
SEVERITY_ORDER = ("critical", "high", "medium", "low", "none")
#: Columns of the taxonomy (classify) and trends stages; shown when present.
TAXONOMY_COLUMNS = ("category_id", "category", "branch", "severity", "category_confidence", "secondary_categories")
#: Per-row columns that are not metadata: the pipeline's own, plus the taxonomy's.
_NOT_METADATA = {*FEEDBACK, *TAXONOMY_COLUMNS, "trend"}
#: Metadata breakdowns: values per column, and how long a value may be.
BREAKDOWN_TOP = 5
_VALUE_CHARS = 80


@dataclass(frozen=True)
class Limits:
    """Bounds that keep a single-file report small at any run size; the server shows everything."""

    #: verbatims embedded per theme (all representatives are embedded too)
    verbatims_per_theme: int = 50
    #: map points embedded (a seeded sample when the run has more)
    map_points: int = 5000
    #: characters of a verbatim kept in the report (longer ones end with an ellipsis)
    text_chars: int = 1000
    #: characters of the hover text on the map
    hover_chars: int = 160
    #: verbatims per page in the theme view and search results
    page_size: int = 20


class RunView:
    """A run's tables, shaped for the pages. ``feedback`` may be None (themes and accounting only)."""

    def __init__(
        self,
        *,
        run_id: str,
        themes: pd.DataFrame,
        accounting: dict[str, Any],
        notes: Iterable[str] = (),
        feedback: pd.DataFrame | None = None,
        alerts: pd.DataFrame | list[dict[str, Any]] | None = None,
        trends: pd.DataFrame | None = None,
    ) -> None:
        self.run_id = run_id
        self.themes = themes.reset_index(drop=True)
        if "trend" not in self.themes.columns and trends is not None:
            self.themes["trend"] = theme_trends(self.themes["theme_id"], trends)
        self.accounting = accounting
        self.notes = [str(n) for n in notes]
        if isinstance(alerts, pd.DataFrame):
            alerts = alerts.to_dict("records")
        self.alerts: list[dict[str, Any]] = list(alerts or [])
        if feedback is not None and "text" in feedback.columns:
            feedback = feedback.drop(columns=["text"])  # the raw text is never displayed
        self.feedback = feedback.reset_index(drop=True) if feedback is not None else None
        self._rows_by_theme: dict[int, np.ndarray] = {}
        self._lower: pd.Series | None = None
        self._arrays: dict[str, np.ndarray] | None = None
        if self.feedback is not None:
            groups = self.feedback.groupby("theme_id", sort=False).indices
            self._rows_by_theme = {int(k): np.asarray(v) for k, v in groups.items()}

    # ------------------------------------------------------------------------------------------ loading

    @classmethod
    def from_dir(cls, run_dir: str | Path) -> RunView:
        """Read a run folder (``themes.parquet``, ``feedback.parquet`` without ``text``, ``manifest.json``)."""
        return cls(**read_run(run_dir))

    # ------------------------------------------------------------------------------------------ summary

    def has(self, column: str) -> bool:
        return column in self.themes.columns and bool(self.themes[column].notna().any())

    def theme_rows(self) -> list[dict[str, Any]]:
        """The ranked theme table, one dict per theme, with the optional columns when present."""
        t = self.themes
        out = []
        for i in range(len(t)):
            row = t.iloc[i]
            item: dict[str, Any] = {
                "id": int(row["theme_id"]),
                "rank": int(row["rank"]) if "rank" in t else i + 1,
                "label": str(row["label"]),
                "keywords": [str(k) for k in list(row["keywords"])[:12]] if "keywords" in t else [],
                "size": int(row["size"]),
                "share": py_value(row.get("share")),
                "priority": py_value(row.get("priority")),
                "size_with_reassigned": py_value(row.get("size_with_reassigned")),
                "first_seen": stamp_text(row.get("first_seen")),
                "last_seen": stamp_text(row.get("last_seen")),
                "reps": [str(r) for r in list(row["representatives"])] if "representatives" in t else [],
            }
            for col, key in (
                ("category", "category"),
                ("category_id", "category_id"),
                ("branch", "branch"),
                ("severity", "severity"),
                ("category_confidence", "confidence"),
                ("trend", "trend"),
            ):
                if col in t:
                    item[key] = py_value(row[col])
            if "secondary_categories" in t and row["secondary_categories"] is not None:
                item["secondary"] = [str(c) for c in list(row["secondary_categories"])]
            out.append(item)
        return out

    def overview(self) -> dict[str, Any]:
        acc = self.accounting
        out: dict[str, Any] = {
            key: py_value(acc.get(key)) for key in ("rows_in", "themed", "outliers", "excluded", "outliers_reassigned")
        }
        out["excluded_by_reason"] = {str(k): int(v) for k, v in (acc.get("excluded_by_reason") or {}).items()}
        out["themes"] = len(self.themes)
        out["notes"] = self.notes
        out["alerts"] = [{str(k): py_value(v) for k, v in a.items()} for a in self.alerts]
        t = self.themes
        if self.has("category"):
            cats = t.assign(category=t["category"].fillna("Unmapped"))
            groups = []
            for name, g in cats.groupby("category", sort=False):
                sev = [s for s in SEVERITY_ORDER if "severity" in g and s in set(g["severity"].dropna())]
                branches = g["branch"].dropna() if "branch" in g else pd.Series(dtype=object)
                groups.append(
                    {
                        "category": str(name),
                        "branch": py_value(branches.iloc[0]) if len(branches) else None,
                        "severity": sev[0] if sev else None,
                        "themes": len(g),
                        "rows": int(g["size"].sum()),
                    }
                )
            out["categories"] = sorted(groups, key=lambda c: (-c["rows"], c["category"]))
        if self.has("severity"):
            sizes = t.groupby("severity")["size"].agg(["count", "sum"])
            out["severities"] = [
                {"severity": s, "themes": int(sizes.loc[s, "count"]), "rows": int(sizes.loc[s, "sum"])}
                for s in SEVERITY_ORDER
                if s in sizes.index
            ]
        return out

    def facets(self) -> dict[str, list[str]]:
        """The values the theme table can be filtered by (only for the columns that exist)."""
        out: dict[str, list[str]] = {}
        if self.has("category"):
            out["category"] = sorted({str(c) for c in self.themes["category"].fillna("Unmapped")})
        if self.has("severity"):
            present = set(self.themes["severity"].dropna().astype(str))
            out["severity"] = [s for s in SEVERITY_ORDER if s in present] + sorted(present - set(SEVERITY_ORDER))
        if self.has("trend"):
            out["trend"] = sorted(set(self.themes["trend"].dropna().astype(str)))
        return out

    def map_points(self, limit: int, *, hover_chars: int = 160) -> dict[str, Any]:
        """Up to ``limit`` map points ``[x, y, theme_id, text]``, x and y scaled to 0..1000."""
        if self.feedback is None or not {"x", "y"} <= set(self.feedback.columns):
            return {"points": [], "total": 0}
        fb = self.feedback
        ok = np.isfinite(fb["x"].to_numpy(float)) & np.isfinite(fb["y"].to_numpy(float))
        idx = np.flatnonzero(ok)
        total = len(idx)
        if total > limit:
            idx = np.sort(np.random.default_rng(0).choice(idx, size=limit, replace=False))
        if not len(idx):
            return {"points": [], "total": 0}
        xy = fb[["x", "y"]].to_numpy(float)[idx]
        lo, span = xy.min(axis=0), np.ptp(xy, axis=0)
        span[span == 0] = 1.0
        scaled = np.rint((xy - lo) / span * 1000).astype(int)
        theme = fb["theme_id"].to_numpy()[idx]
        texts = fb["clean_text"].to_numpy()[idx]
        points = [
            [int(scaled[i, 0]), int(scaled[i, 1]), int(theme[i]), cut_text(texts[i], hover_chars)]
            for i in range(len(idx))
        ]
        return {"points": points, "total": total}

    def summary(self, *, limits: Limits) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "overview": self.overview(),
            "themes": self.theme_rows(),
            "facets": self.facets(),
            "map": self.map_points(limits.map_points, hover_chars=limits.hover_chars),
            "page_size": limits.page_size,
        }

    # ------------------------------------------------------------------------------------------ themes

    def _verbatim(self, i: int, text_chars: int) -> dict[str, Any]:
        if self._arrays is None:
            fb = self.feedback
            assert fb is not None  # callers hold feedback
            self._arrays = {
                c: fb[c].to_numpy() for c in ("row_id", "clean_text", "theme_id", "status", "time") if c in fb
            }
        a = self._arrays
        out = {
            "row_id": str(a["row_id"][i]),
            "text": cut_text(a["clean_text"][i], text_chars),
            "theme": int(a["theme_id"][i]),
            "status": str(a["status"][i]),
        }
        if "time" in a:
            out["time"] = stamp_text(a["time"][i])
        return out

    def metadata_columns(self) -> list[str]:
        if self.feedback is None:
            return []
        return [c for c in self.feedback.columns if c not in _NOT_METADATA]

    def theme_detail(self, theme_id: int) -> dict[str, Any]:
        """Count over time and metadata breakdowns (top values with counts) for one theme."""
        match = self.themes.index[self.themes["theme_id"] == theme_id]
        if not len(match):
            raise KeyError(theme_id)
        row = self.themes.loc[match[0]]
        daily: list[list[Any]] = []
        raw = row.get("daily_counts")
        if isinstance(raw, str) and raw.strip():
            try:
                daily = [[str(d), int(n)] for d, n in sorted(json.loads(raw).items())]
            except (ValueError, TypeError, AttributeError):
                daily = []
        rows = self._rows_by_theme.get(int(theme_id), np.empty(0, int))
        breakdowns = []
        if self.feedback is not None and len(rows):
            sub = self.feedback.iloc[rows]
            for col in self.metadata_columns():
                counts = sub[col].dropna().astype(str).value_counts().head(BREAKDOWN_TOP)
                if len(counts):
                    breakdowns.append(
                        {
                            "column": col,
                            "values": [[cut_text(redact_pii(v), _VALUE_CHARS), int(n)] for v, n in counts.items()],
                        }
                    )
        return {"id": int(theme_id), "daily": daily, "breakdowns": breakdowns, "verbatims_total": len(rows)}

    def verbatims(
        self, theme_id: int, *, page: int = 1, per_page: int = 20, query: str = "", text_chars: int = 5000
    ) -> dict[str, Any]:
        """One page of a theme's verbatims in input order, optionally only those matching ``query``."""
        rows = self._rows_by_theme.get(int(theme_id), np.empty(0, int))
        if query.strip():
            rows = rows[self._matches(query)[rows]]
        return self._page(rows, page=page, per_page=per_page, text_chars=text_chars)

    # ------------------------------------------------------------------------------------------ search

    def _matches(self, query: str) -> np.ndarray:
        """Rows whose redacted text contains every word of the query (case-insensitive)."""
        if self.feedback is None:
            return np.zeros(0, bool)
        if self._lower is None:
            self._lower = self.feedback["clean_text"].fillna("").astype(str).str.lower()
        hit = np.ones(len(self.feedback), bool)
        for term in query.lower().split():
            hit &= self._lower.str.contains(term, regex=False).to_numpy()
        return hit

    def search(
        self, query: str, *, page: int = 1, per_page: int = 20, theme_id: int | None = None, text_chars: int = 5000
    ) -> dict[str, Any]:
        """Every row (themed, outlier or excluded with a text) whose redacted text matches the query."""
        if not query.strip() or self.feedback is None:
            return {"total": 0, "page": 1, "pages": 1, "items": [], "query": query}
        hit = self._matches(query)
        if theme_id is not None:
            hit &= self.feedback["theme_id"].to_numpy() == theme_id
        out = self._page(np.flatnonzero(hit), page=page, per_page=per_page, text_chars=text_chars)
        out["query"] = query
        return out

    def _page(self, rows: np.ndarray, *, page: int, per_page: int, text_chars: int) -> dict[str, Any]:
        total = len(rows)
        pages = max(1, math.ceil(total / per_page))
        page = min(max(1, page), pages)
        chunk = rows[(page - 1) * per_page : page * per_page]
        return {
            "total": total,
            "page": page,
            "pages": pages,
            "items": [self._verbatim(int(i), text_chars) for i in chunk],
        }

    # ------------------------------------------------------------------------------------------ report

    def bundle(self, limits: Limits) -> dict[str, Any]:
        """Everything the self-contained report embeds: the summary plus each theme's first verbatims."""
        data = self.summary(limits=limits)
        details: dict[str, Any] = {}
        for theme in data["themes"]:
            detail = self.theme_detail(theme["id"])
            rows = self._rows_by_theme.get(theme["id"], np.empty(0, int))[: limits.verbatims_per_theme]
            detail["verbatims"] = [self._verbatim(int(i), limits.text_chars) for i in rows]
            details[str(theme["id"])] = detail
        data["details"] = details
        data["limits"] = asdict(limits)
        return data
