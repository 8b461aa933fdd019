"""The sign-in backstop in front of the app: refusals the login limits are sure of, answered
before the request's form is parsed.

An ASGI middleware, so it sits with the others above the dependency layer and reaches the
login limits through the lifespan state (:func:`publisher_api.lifespan_state.running`).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from publisher_api.http_errors import refusal_response
from publisher_api.lifespan_state import running


class LoginGate:
    """ASGI middleware: sign-ins that ``LoginGuard.early_refusal`` refuses are answered 429
    before anything else runs (body, form parsing, dependencies). The server's HTTP protocol
    asks the same question before making an ASGI call at all (see :mod:`publisher_api.server`);
    this is the backstop for what it leaves to the app."""

    def __init__(self, app: ASGIApp, *, path: str) -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == self.path:
            runtime = running(scope["app"])
            client = scope.get("client")
            if runtime is not None:
                refusal = runtime.logins.early_refusal(client[0] if client else "unknown")
                if refusal is not None:
                    await refusal_response(refusal)(scope, receive, send)
                    return
        await self.app(scope, receive, send)
