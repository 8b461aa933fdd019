"""One error shape for every response: ``{"error": "<code>", "message": "<human text>", ...}``.

Services raise :class:`ApiError` subclasses (plain exceptions: this module knows nothing of the
web framework); :func:`refusal` says how each is answered, and the handlers installed by
:func:`publisher_api.http_errors.install` send that, FastAPI's validation errors, Starlette's HTTP
errors and anything unexpected in that shape, so no client ever sees a traceback or an HTML page.
"""

from __future__ import annotations

import math
from typing import Any

from publisher_api.domain import counters
from publisher_api.domain.lifecycle import IllegalTransition


class ApiError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.extra}

    def headers(self) -> dict[str, str] | None:
        return {"WWW-Authenticate": "Bearer"} if self.status_code == 401 else None


class Unauthorized(ApiError):
    status_code = 401
    code = "unauthorized"


class Forbidden(ApiError):
    status_code = 403
    code = "forbidden"


class NotFound(ApiError):
    status_code = 404
    code = "not_found"

    def __init__(self, what: str, key: object) -> None:
        super().__init__(f"{what} {key!s} not found", resource=what)


class Conflict(ApiError):
    status_code = 409
    code = "conflict"


class Invalid(ApiError):
    """Well-formed input that breaks a rule (priority on a service that does not allow it)."""

    status_code = 422
    code = "invalid"


class CounterRefused(ApiError):
    """A counter refused a command or a call (409). ``code`` names why: ``counter_closed``,
    ``counter_paused`` (with ``reason``), ``counter_held`` (with ``holder``) or ``counter_busy``
    (with ``ticket``, the document of the ticket the counter still holds)."""

    status_code = 409

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message, **extra)
        self.code = code

    @classmethod
    def of(cls, refusal: counters.CounterRefusal, **extra: Any) -> CounterRefused:
        match refusal:
            case counters.CounterBusy():
                return cls("counter_busy", str(refusal), **extra)
            case counters.CounterPaused(reason=reason):
                return cls("counter_paused", str(refusal), reason=reason, **extra)
            case counters.CounterHeld(holder=holder):
                return cls("counter_held", str(refusal), holder=holder, **extra)
        return cls("counter_closed", str(refusal), **extra)


class PayloadTooLarge(ApiError):
    status_code = 413
    code = "payload_too_large"


class TooManyRequests(ApiError):
    """A limit per client, user or device was reached; ``Retry-After`` says when to try again."""

    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after_s: float, **extra: Any) -> None:
        self.retry_after = max(1, math.ceil(retry_after_s))
        super().__init__(message, retry_after_s=self.retry_after, **extra)

    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(self.retry_after)}


def refusal(exc: ApiError | IllegalTransition) -> tuple[int, dict[str, Any], dict[str, str] | None]:
    """Status, body and headers of the answer to a refused request (one rendering for the
    exception handlers, the ticket fast lane and the ASGI middlewares)."""
    if isinstance(exc, IllegalTransition):
        body: dict[str, Any] = {
            "error": "illegal_transition",
            "message": str(exc),
            "status": exc.status.value,
            "command": exc.command.value,
        }
        return 409, body, None
    return exc.status_code, exc.body(), exc.headers()
