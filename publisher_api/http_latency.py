"""HTTP latency per route template, into :class:`publisher_api.metrics.Metrics`: the ASGI side
of the metrics, kept in the web layer so the metrics themselves need no web framework."""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from publisher_api.metrics import Metrics


class HttpLatencyMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware overhead). Labels by route template, never by raw path,
    so ids in URLs cannot blow up the label set."""

    def __init__(self, app: ASGIApp, metrics: Callable[[], Metrics | None]) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            metrics = self.metrics()
            if metrics is not None:
                route = scope.get("route")
                template = getattr(route, "path", None) or "unmatched"
                metrics.observe_http(
                    scope["method"], template, status, time.perf_counter() - started
                )
