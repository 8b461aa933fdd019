"""The browser security headers, added in one place to every response a browser may show.

- Every response outside the REST API gets ``X-Content-Type-Options: nosniff`` (a script, style
  or JSON file is never taken for something else).
- Every *document* — HTML, and SVG, which runs scripts when opened on its own — also gets the
  Content-Security-Policy below, ``Referrer-Policy: no-referrer`` (ticket ids in our URLs are
  capabilities: never leak them in a Referer) and ``X-Frame-Options: DENY``.
- A response that brings its own Content-Security-Policy keeps it (``/docs``: Swagger UI starts
  from an inline script, allowed there by its hash).

The REST API (``/api/``) is left as it was: its answers are JSON for programs, never rendered as
a page, and its busiest requests are answered before this middleware (the ticket lane, the
login and issuance limits) or without ASGI at all (the server's early refusals), so headers here
would be neither complete nor needed, and would cost the hot path.

A pure ASGI middleware: a response it does not touch costs one prefix check.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from starlette.types import ASGIApp, Message, Receive, Scope, Send

BrokerOrigin = Callable[[Scope], "str | None"]
"""The broker's WebSocket origin for this request when it is not our own origin, else None."""

API_PREFIX = "/api/"
_DOCUMENTS = (b"text/html", b"image/svg+xml")
_CSP = b"content-security-policy"
_NOSNIFF = (b"x-content-type-options", b"nosniff")
_DOCUMENT_HEADERS = ((b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY"))


def content_security_policy(
    *,
    connect_src: str = "'self'",
    script_src: str = "'self'",
    style_src: str = "'self'",
    img_src: str = "'self'",
) -> str:
    """Nothing from outside our own origin; no inline script or style; not frameable."""
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src {script_src}",
            f"style-src {style_src}",
            f"img-src {img_src}",
            "font-src 'self'",
            "media-src 'self'",
            # MQTT.js runs its keep-alive timers in a worker it builds from a blob: URL, so a
            # background tab's throttled timers cannot starve the pings (without it the broker
            # drops every page 1.5 keep-alives after it connects). Workers only: scripts stay
            # 'self'. 'self' for the phone page's notification service worker (Android Chrome
            # shows page notifications only through one).
            "worker-src 'self' blob:",
            f"connect-src {connect_src}",
            "manifest-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


@lru_cache(maxsize=16)
def _page_policy(broker_origin: str | None) -> bytes:
    # 'self' also covers ws:// and wss:// to our own host and port (CSP level 3), which is where
    # the broker listens by default (the HTTP server's /mqtt path).
    connect = "'self'" if broker_origin is None else f"'self' {broker_origin}"
    return content_security_policy(connect_src=connect).encode()


class SecurityHeaders:
    """ASGI middleware; ``broker_origin`` is asked once per document response."""

    def __init__(self, app: ASGIApp, *, broker_origin: BrokerOrigin) -> None:
        self.app = app
        self.broker_origin = broker_origin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = self._with_headers(scope, list(message.get("headers", ())))
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _with_headers(
        self, scope: Scope, headers: list[tuple[bytes, bytes]]
    ) -> list[tuple[bytes, bytes]]:
        present = {name.lower(): value for name, value in headers}
        added = [_NOSNIFF]
        if present.get(b"content-type", b"").startswith(_DOCUMENTS):
            added.extend(_DOCUMENT_HEADERS)
            if _CSP not in present:  # the broker's origin is asked only when it is needed
                added.append((_CSP, _page_policy(self.broker_origin(scope))))
        headers.extend(header for header in added if header[0] not in present)
        return headers
