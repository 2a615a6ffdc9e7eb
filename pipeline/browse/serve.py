"""``insights serve RUN_DIR``: a local server over one run folder, for runs too large for one file.

The same page and script as ``report.html``, with the theme pages, verbatim pages and the full-text
search answered by a small JSON API over every row of ``feedback.parquet`` (read once, without the
raw ``text`` column). Starlette routes, uvicorn serves; bound to 127.0.0.1 by default, and then only
``Host: 127.0.0.1`` / ``localhost`` requests are answered (no DNS rebinding from a web page).

    GET /                                  the page (summary embedded)
    GET /static/app.js, /static/app.css    the assets (package data)
    GET /api/summary                       overview, themes, facets, map sample
    GET /api/themes/{id}                   count over time, metadata breakdowns
    GET /api/themes/{id}/verbatims         ?page=&per_page=&q=  one page of a theme's verbatims
    GET /api/search                        ?q=&page=&per_page=&theme=  full-text search over all rows
    /review, /guide, /api/review/...       the review loop (pipeline.review.web)

Oversized and malformed requests are refused before any route sees them (pipeline.browse.limits).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pipeline.browse.limits import RequestLimits
from pipeline.browse.report import SERVE_CSP, page_html
from pipeline.browse.view import Limits, RunView

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "UVICORN_OPTIONS", "create_app", "serve"]

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
#: The server can afford a denser map than the single-file report.
SERVE_LIMITS = Limits(map_points=20_000)
MAX_PER_PAGE = 200
MAX_QUERY_CHARS = 200
_LOOPBACK = ("127.0.0.1", "localhost")
#: uvicorn settings: at most this many connections and requests at once (503 beyond, so a flood of
#: idle connections cannot exhaust the process's files); idle keep-alive connections closed after 5 s.
UVICORN_OPTIONS: dict[str, Any] = {"limit_concurrency": 128, "timeout_keep_alive": 5, "access_log": False}


def _starlette() -> Any:
    try:
        import starlette
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise ImportError("insights serve needs starlette and uvicorn: pip install starlette uvicorn") from exc
    return starlette


def create_app(run_dir: str | Path, *, host: str = DEFAULT_HOST, reviewer: str | None = None) -> Any:
    """The ASGI app over ``run_dir`` (raises InputError when it is not a run folder)."""
    _starlette()
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    view = RunView.from_dir(run_dir)
    summary = view.summary(limits=SERVE_LIMITS)
    page = page_html({**summary, "mode": "server", "run_dir": str(run_dir)}, inline=False)
    log.info("serving %s: %d rows, %d themes", run_dir, view.accounting.get("rows_in", 0), len(view.themes))

    def bad(message: str, status: int = 400) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    def ints(request: Request, **defaults: int | None) -> dict[str, int | None]:
        out: dict[str, int | None] = {}
        for name, default in defaults.items():
            raw = request.query_params.get(name)
            if raw is None or raw == "":
                out[name] = default
                continue
            try:
                out[name] = int(raw)
            except ValueError:
                raise ValueError(f"query parameter {name!r} must be an integer; got {raw[:40]!r}") from None
        return out

    def paging(request: Request) -> tuple[int, int, str]:
        p = ints(request, page=1, per_page=SERVE_LIMITS.page_size)
        per_page = min(max(1, p["per_page"] or 1), MAX_PER_PAGE)
        return max(1, p["page"] or 1), per_page, request.query_params.get("q", "")[:MAX_QUERY_CHARS]

    async def index(request: Request) -> Response:
        return HTMLResponse(page)

    async def api_summary(request: Request) -> Response:
        return JSONResponse(summary)

    async def api_theme(request: Request) -> Response:
        theme_id = int(request.path_params["theme_id"])
        try:
            return JSONResponse(view.theme_detail(theme_id))
        except KeyError:
            return bad(f"no theme {theme_id} in this run", 404)

    async def api_verbatims(request: Request) -> Response:
        theme_id = int(request.path_params["theme_id"])
        if theme_id not in set(view.themes["theme_id"].astype(int)):
            return bad(f"no theme {theme_id} in this run", 404)
        try:
            page_no, per_page, query = paging(request)
        except ValueError as exc:
            return bad(str(exc))
        return JSONResponse(view.verbatims(theme_id, page=page_no, per_page=per_page, query=query))

    async def api_search(request: Request) -> Response:
        try:
            page_no, per_page, query = paging(request)
            theme = ints(request, theme=None)["theme"]
        except ValueError as exc:
            return bad(str(exc))
        return JSONResponse(view.search(query, page=page_no, per_page=per_page, theme_id=theme))

    class SecurityHeaders:
        """Every response: the page's CSP, no sniffing, no framing, no referrer; API answers not cached."""

        def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
            self.app = app

        async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
            async def send_with_headers(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    headers = list(message.get("headers", []))
                    headers += [
                        (b"content-security-policy", (SERVE_CSP + "; frame-ancestors 'none'").encode()),
                        (b"x-content-type-options", b"nosniff"),
                        (b"x-frame-options", b"DENY"),
                        (b"referrer-policy", b"no-referrer"),
                        (b"cache-control", b"no-store"),
                    ]
                    message["headers"] = headers
                await send(message)

            await self.app(scope, receive, send_with_headers)

    from pipeline.review.web import review_routes

    theme_labels = dict(zip(view.themes["theme_id"].astype(int), view.themes["label"].astype(str), strict=True))
    allowed = list(_LOOPBACK) if host in (*_LOOPBACK, "::1") else ["*"]
    return Starlette(
        routes=[
            Route("/", index),
            Route("/api/summary", api_summary),
            Route("/api/themes/{theme_id:int}", api_theme),
            Route("/api/themes/{theme_id:int}/verbatims", api_verbatims),
            Route("/api/search", api_search),
            *review_routes(run_dir, theme_labels, reviewer=reviewer),
            Mount("/static", StaticFiles(packages=[("pipeline.browse", "static")]), name="static"),
        ],
        middleware=[
            Middleware(RequestLimits),
            Middleware(TrustedHostMiddleware, allowed_hosts=allowed),
            Middleware(SecurityHeaders),
        ],
    )


def serve(
    run_dir: str | Path, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, log_level: str = "warning"
) -> None:
    """Serve ``run_dir`` until interrupted."""
    import uvicorn

    app = create_app(run_dir, host=host)
    uvicorn.run(app, host=host, port=port, log_level=log_level, **UVICORN_OPTIONS)
