"""``report.html``: one self-contained page (no network, nothing remote) with the browsing views.

The page is :file:`templates/page.html.j2` with the stylesheet and script of :mod:`pipeline.browse`
inlined, and the run's data embedded as a JSON block. A Content-Security-Policy allows exactly
that one script and that one stylesheet (by hash) and nothing else, so even text that slipped
past escaping could not run. At 100,000 rows the page stays small: each theme embeds its
representatives and its first :attr:`Limits.verbatims_per_theme` verbatims, the map a seeded
sample of :attr:`Limits.map_points` points, and the page says so and points to ``insights serve``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from importlib import resources
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from pipeline.browse.view import Limits, RunView

__all__ = ["REPORT_CSP", "page_html", "report_html", "script_json"]

#: The policy of the served pages (also sent as a header by the server).
SERVE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'"
)
#: The policy of report.html; the hashes of its own script and stylesheet are filled in.
REPORT_CSP = (
    "default-src 'none'; script-src '{script}'; style-src '{style}'; img-src data:; base-uri 'none'; form-action 'none'"
)


def script_json(data: Any) -> str:
    """JSON that is safe inside ``<script type="application/json">``: no ``<``, ``>``, ``&``, U+2028/9 left.

    Those characters only occur inside JSON strings, where their ``\\uXXXX`` escapes mean the same,
    so ``</script>`` or ``<!--`` in a verbatim cannot end or confuse the block.
    """
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for ch, esc in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


@functools.lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("pipeline.browse", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


@functools.lru_cache(maxsize=4)
def asset(name: str) -> str:
    """A file of ``pipeline/browse/static`` (shipped as package data)."""
    text = (resources.files("pipeline.browse") / "static" / name).read_text(encoding="utf-8")
    if "</script" in text.lower() or "</style" in text.lower():  # would end the inline element early
        raise RuntimeError(f"pipeline/browse/static/{name} contains a closing tag; it cannot be inlined.")
    return text


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def page_html(data: dict[str, Any], *, inline: bool) -> str:
    """The page around ``data``: assets inlined (the report) or linked from ``static/`` (the server)."""
    context: dict[str, Any] = {
        "run_id": data["run_id"],
        "themes": data["themes"],
        "inline": inline,
        "data_json": Markup(script_json(data)),
    }
    if inline:
        css, js = asset("app.css"), asset("app.js")
        context.update(css=Markup(css), js=Markup(js), csp=REPORT_CSP.format(script=_sha256(js), style=_sha256(css)))
    else:
        context["csp"] = SERVE_CSP
    return _env().get_template("page.html.j2").render(**context)


def report_html(
    themes: pd.DataFrame,
    accounting: dict[str, Any],
    *,
    run_id: str,
    notes: list[str],
    feedback: pd.DataFrame | None = None,
    alerts: pd.DataFrame | list[dict[str, Any]] | None = None,
    trends: pd.DataFrame | None = None,
    run_dir: str | None = None,
    limits: Limits | None = None,
) -> str:
    """The self-contained report of a run: overview, theme table, theme pages, map and verbatim search.

    ``feedback`` (the per-row table) feeds the verbatims, metadata breakdowns and the map; without it
    the page shows the themes, their representatives and the accounting only. ``alerts`` and ``trends``
    (the trends stage's tables) add the alerts to the overview and a trend label to each theme.
    """
    view = RunView(
        run_id=run_id,
        themes=themes,
        accounting=accounting,
        notes=notes,
        feedback=feedback,
        alerts=alerts,
        trends=trends,
    )
    data = view.bundle(limits or Limits())
    data["mode"] = "static"
    data["run_dir"] = run_dir
    return page_html(data, inline=True)
