"""ASGI middlewares that bound what one request may cost, outermost in the app.

- :class:`BodyLimit`: a body larger than ``http_max_body_bytes`` gets 413
  ``payload_too_large`` before it is read: at once when ``Content-Length`` says so, and as soon
  as a streamed (chunked) body passes the limit. Without it a 100 MB JSON body without a token
  was read whole before the 401 (4 such requests: +670 MB). The server's HTTP protocol
  (:mod:`publisher_api.server`) answers these itself, before any ASGI call; this middleware
  is the backstop for what reaches the app anyway (a request pipelined behind another, an
  app served some other way).
- :class:`StrictTransport`: ``Strict-Transport-Security`` on every response served over HTTPS.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from config.faultlog import FaultLog


class BodyTooLarge(BaseException):
    """Raised from ``receive`` once the body passes the limit. A ``BaseException`` so that no
    ``except Exception`` on the way (FastAPI turns body errors into 400, the error handlers
    into 500) swallows it before this middleware answers 413."""


def _413(limit: int) -> tuple[Message, Message]:
    body = json.dumps(
        {
            "error": "payload_too_large",
            "message": f"request body larger than {limit} bytes",
            "limit": limit,
        }
    ).encode()
    start: Message = {
        "type": "http.response.start",
        "status": 413,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int, faults: FaultLog) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except* BodyTooLarge:
            if not started:
                await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        client = scope.get("client") or ("?", 0)
        self.faults.warning(
            f"body:{client[0]}",
            "request body over %d bytes from %s refused (413)",
            self.max_bytes,
            client[0],
        )
        start, body = _413(self.max_bytes)
        await send(start)
        await send(body)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class StrictTransport:
    def __init__(self, app: ASGIApp, *, max_age_s: int) -> None:
        self.app = app
        self.header = (b"strict-transport-security", f"max-age={max_age_s}".encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("scheme") != "https":
            await self.app(scope, receive, send)
            return

        async def with_hsts(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), self.header]
            await send(message)

        await self.app(scope, receive, with_hsts)
