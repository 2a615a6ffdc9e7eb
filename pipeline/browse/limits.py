"""Request limits of ``insights serve``: what the server refuses before any route sees a request.

uvicorn's h11 parser takes a request head of any size when it arrives in one piece, and a route that
reads its body waits for as many bytes as the client declares. So every request passes this ASGI
middleware first:

    URL (path + query) over MAX_TARGET bytes           414
    over MAX_HEADERS headers or MAX_HEADER_BYTES       431
    a Content-Length that is not a number              400
    a body (declared or streamed) over MAX_BODY bytes  413, at once, without waiting for the body

Each refusal is a one-line JSON ``{"error": ...}`` with ``Connection: close``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["MAX_BODY", "MAX_HEADERS", "MAX_HEADER_BYTES", "MAX_TARGET", "RequestLimits"]

#: Largest request body of any route (the review API's answers and curation actions are far smaller).
MAX_BODY = 16 * 1024
#: Longest URL (path and query string); the longest the page builds is a search of 200 characters.
MAX_TARGET = 8 * 1024
MAX_HEADERS = 100
MAX_HEADER_BYTES = 16 * 1024

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]


class _BodyTooLarge(Exception):
    """Raised from ``receive`` when a streamed body passes MAX_BODY."""


class RequestLimits:
    """ASGI middleware: refuse oversized and malformed requests before the app reads them."""

    def __init__(self, app: ASGIApp, *, max_body: int = MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body

    @staticmethod
    def _problem(scope: Scope) -> tuple[int, str] | None:
        target = len(scope.get("raw_path") or scope["path"].encode()) + len(scope.get("query_string") or b"")
        if target > MAX_TARGET:
            return 414, f"URL of {target} bytes; the limit is {MAX_TARGET}."
        headers = scope.get("headers") or []
        size = sum(len(k) + len(v) for k, v in headers)
        if len(headers) > MAX_HEADERS or size > MAX_HEADER_BYTES:
            return 431, f"{len(headers)} headers of {size} bytes; the limits are {MAX_HEADERS} and {MAX_HEADER_BYTES}."
        return None

    async def __call__(
        self, scope: Scope, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = self._problem(scope)
        declared = next((v for k, v in scope.get("headers") or [] if k.lower() == b"content-length"), None)
        if problem is None and declared is not None:
            if not declared.strip().isdigit():
                problem = 400, f"Content-Length {declared[:20].decode('latin-1')!r} is not a number."
            elif int(declared) > self.max_body:
                problem = 413, f"request body of {int(declared)} bytes; the limit is {self.max_body}."
        if problem is not None:
            await _refuse(send, *problem)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise _BodyTooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except _BodyTooLarge:
            if not started:
                await _refuse(send, 413, f"request body over {self.max_body} bytes.")


async def _refuse(send: Callable[[Message], Awaitable[None]], status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
