"""A per-device limit on ticket issuance: one kiosk token cannot flood a queue.

Any totem token could issue 100-200 tickets a second. A kiosk's customers take a ticket every
few seconds at most, so each device gets ``issue_per_device`` tickets per ``issue_window_s``
(a token bucket: bursts up to that many, refilled evenly); past it, 429 ``too_many_requests``
with ``Retry-After``, logged once per interval with a count. Staff are not limited (they are
accountable users, and a counter may issue for a line of walk-ins).

An ASGI middleware in front of the ticket routes (and their fast lane), so the ticket code
itself is untouched: it only reads the bearer token of ``POST .../tickets``, and counts only
tokens that verify as a device's (anything else goes on to the usual 401/403).
"""

from __future__ import annotations

import logging
import re

from fastapi.security.utils import get_authorization_scheme_param
from starlette.types import ASGIApp, Receive, Scope, Send

from config import Settings
from config.faultlog import FaultLog
from protocol import InvalidToken
from publisher_api.errors import TooManyRequests
from publisher_api.http_errors import refusal_response
from publisher_api.lifespan_state import running
from publisher_api.login_guard import Buckets

_ISSUE_PATH = re.compile(r"/api/v1/tenants/[^/]+/tickets/?")


class IssueLimit:
    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.buckets = Buckets(settings.issue_per_device, settings.issue_window_s)
        self.faults = FaultLog(logging.getLogger(__name__), settings.fault_log_interval_s)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and _ISSUE_PATH.fullmatch(scope["path"])
        ):
            refusal = self._refusal(scope)
            if refusal is not None:
                await refusal_response(refusal)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope) -> TooManyRequests | None:
        runtime = running(scope["app"])
        if runtime is None:
            return None
        authorization = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), ""
        )
        scheme, token = get_authorization_scheme_param(authorization)
        if scheme.lower() != "bearer" or not token:
            return None
        try:
            principal = runtime.tokens.verify(token)
        except InvalidToken:
            return None
        if not principal.is_device:
            return None
        key = f"{principal.tenant}/{principal.subject}"
        wait = self.buckets.take(key)
        if not wait:
            return None
        self.faults.warning(
            f"issue:{key}", "device %s over its ticket issuance limit: refused (429)", key
        )
        return TooManyRequests(
            "this device issues tickets faster than its limit", retry_after_s=wait
        )
