"""The review page's routes for ``insights serve``: the page, the rater guide and a small JSON API.

    GET  /review                 the review page (keyboard-first)
    GET  /guide                  the rater guide generated from the run's taxonomy
    GET  /api/review/items       the review set: items (redacted), taxonomy leaves, themes
    GET  /api/review/labels      ?reviewer=NAME  that reviewer's latest answers, to resume
    POST /api/review/labels      one answer (JSON); 404 unknown item, 422 bad value, nothing written
    GET  /api/review/measures    the measures, recomputed and written to review_measures/
    GET  /api/review/curation    curation.yaml as JSON
    POST /api/review/curation    one curation action (rename, merge, actionable, node)

A write must be a JSON request (``Content-Type: application/json``, which a page on another site
cannot send without a CORS preflight this server never grants) from the same origin when the
browser says where it comes from, and at most :data:`MAX_BODY` bytes.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from pipeline.errors import InputError
from pipeline.review.curation import CURATION_FILE, load_curation, update_curation
from pipeline.review.guide import NEEDS_MET_GUIDE, SEVERITY_GUIDE, THEME_GUIDE, rater_guide_html
from pipeline.review.labels import LabelStore, ReviewInputError, validate_answer
from pipeline.review.measures import compute_measures, write_measures
from pipeline.review.sampling import ReviewSet, load_review_set, review_dir
from pipeline.taxonomy import Taxonomy, load_taxonomy

__all__ = ["MAX_BODY", "review_routes", "run_taxonomy"]

log = logging.getLogger(__name__)

#: Largest request body accepted by a write.
MAX_BODY = 16 * 1024


def run_taxonomy(run_dir: str | Path) -> Taxonomy:
    """The taxonomy a run was classified with (its manifest's config), else the shipped default."""
    manifest_path = Path(run_dir) / "manifest.json"
    source = None
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        source = ((manifest.get("config") or {}).get("classify") or {}).get("taxonomy")
    return load_taxonomy(source)


def review_routes(run_dir: str | Path, theme_labels: dict[int, str], *, reviewer: str | None = None) -> list[Any]:
    """Starlette routes of the review loop over ``run_dir`` (its review set is read once, if it has one)."""
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, Response
    from starlette.routing import Route

    from pipeline.browse.report import SERVE_CSP, script_json

    run_dir = Path(run_dir)
    taxonomy = run_taxonomy(run_dir)
    leaves = {n.id for n in taxonomy.leaves}
    review_set: ReviewSet | None = None
    if (review_dir(run_dir) / "items.parquet").is_file():
        review_set = load_review_set(run_dir)
    store = LabelStore(run_dir)
    guide = rater_guide_html(taxonomy, inline=False)
    manifest_path = run_dir / "manifest.json"
    run_id = run_dir.name
    if manifest_path.is_file():
        run_id = str(json.loads(manifest_path.read_text(encoding="utf-8")).get("run_id", run_id))
    page_data = {
        "run_id": run_id,
        "has_review": review_set is not None,
        "reviewer": reviewer,
        "leaves": [{"id": n.id, "name": n.name, "severity": n.severity or "none"} for n in taxonomy.leaves],
        "themes": [{"id": tid, "label": label} for tid, label in theme_labels.items()],
        "scales": {"theme": THEME_GUIDE, "severity": SEVERITY_GUIDE, "needs_met": NEEDS_MET_GUIDE},
    }
    page = _page(run_id, script_json(page_data), SERVE_CSP)

    def bad(message: str, status: int = 400) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    async def body_of(request: Request) -> Any:
        """The JSON body of a write, or ReviewInputError with the status to answer."""
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            raise ReviewInputError("send the answer as JSON (Content-Type: application/json).", 415)
        origin = request.headers.get("origin")
        if origin is not None and origin != f"{request.url.scheme}://{request.headers.get('host', '')}":
            raise ReviewInputError(f"requests from {origin[:60]!r} are not accepted.", 403)
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise ReviewInputError(f"request body over {MAX_BODY} bytes.", 413)
        try:
            return json.loads(raw)
        except ValueError:
            raise ReviewInputError("the request body is not valid JSON.", 400) from None
        except RecursionError:
            raise ReviewInputError("the request body is JSON nested too deeply.", 400) from None

    def need_set() -> ReviewSet:
        if review_set is None:
            raise ReviewInputError(f"no review set in this run; draw one with 'insights review {run_dir}'.", 404)
        return review_set

    async def review_page(request: Request) -> Response:
        return HTMLResponse(page)

    async def guide_page(request: Request) -> Response:
        return HTMLResponse(guide)

    async def api_items(request: Request) -> Response:
        try:
            rs = need_set()
        except ReviewInputError as exc:
            return bad(str(exc), exc.status)
        items = rs.items.astype(object).where(rs.items.notna(), None).to_dict(orient="records")
        return JSONResponse({"items": items, "info": rs.info})

    async def api_labels(request: Request) -> Response:
        if request.method == "GET":
            who = request.query_params.get("reviewer", "")
            latest = await run_in_threadpool(store.latest)
            mine = latest[latest["reviewer"] == who]
            answers = mine.astype(object).where(mine.notna(), None).to_dict(orient="records")
            return JSONResponse({"reviewer": who, "answers": answers})
        try:
            answer = validate_answer(await body_of(request), need_set(), leaves)
        except ReviewInputError as exc:
            return bad(str(exc), exc.status)
        record = await run_in_threadpool(store.save, answer)
        return JSONResponse({"saved": record}, status_code=201)

    def measures_now() -> dict[str, Any]:
        rs = need_set()
        measures = compute_measures(rs.items, store.latest())
        write_measures(measures, run_dir)
        return measures.to_json()

    async def api_measures(request: Request) -> Response:
        try:
            return JSONResponse(await run_in_threadpool(measures_now))
        except ReviewInputError as exc:
            return bad(str(exc), exc.status)

    async def api_curation(request: Request) -> Response:
        path = run_dir / CURATION_FILE
        try:
            if request.method == "POST":
                action = await body_of(request)
                if not isinstance(action, dict):
                    raise ReviewInputError("a curation action must be a JSON object.", 400)
                curation = await run_in_threadpool(update_curation, path, action, set(theme_labels), leaves)
            else:
                curation = await run_in_threadpool(load_curation, path, leaves)
        except ReviewInputError as exc:
            return bad(str(exc), exc.status)
        except InputError as exc:
            return bad(str(exc), 422)
        themes = {str(k): v.model_dump(exclude_none=True) for k, v in sorted(curation.themes.items())}
        return JSONResponse({"themes": themes, "merges": {str(k): v for k, v in curation.merges().items()}})

    return [
        Route("/review", review_page),
        Route("/guide", guide_page),
        Route("/api/review/items", api_items),
        Route("/api/review/labels", api_labels, methods=["GET", "POST"]),
        Route("/api/review/measures", api_measures),
        Route("/api/review/curation", api_curation, methods=["GET", "POST"]),
    ]


def _page(run_id: str, data_json: str, csp: str) -> str:
    from markupsafe import escape

    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{escape(csp)}">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>Review — {escape(run_id)}</title>
<link rel="stylesheet" href="static/app.css">
<link rel="stylesheet" href="static/review.css">
</head>
<body>
<header class="top">
  <h1><a href="./">Feedback insights</a></h1>
  <p class="run">Run <code id="run-id">{escape(run_id)}</code> · review</p>
  <nav><a href="./">Overview</a> <a href="review">Review</a> <a href="guide">Rater guide</a></nav>
</header>
<main id="review-app"><p id="loading">Loading…</p></main>
<script type="application/json" id="review-data">{data_json}</script>
<script src="static/review.js"></script>
</body>
</html>
"""
