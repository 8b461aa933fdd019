"""One error shape for every response: ``{"error": "<code>", "message": "<human text>", ...}``.

Services raise :class:`ApiError` subclasses; the handlers installed by :func:`install` turn them,
FastAPI's validation errors, Starlette's HTTP errors and anything unexpected into that shape, so
no client ever sees a traceback or an HTML page.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from publisher_api.domain import counters
from publisher_api.domain.lifecycle import IllegalTransition

log = logging.getLogger(__name__)


class ApiError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.extra}


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


def error_response(status_code: int, body: dict[str, Any], headers: Any = None) -> JSONResponse:
    return JSONResponse(body, status_code=status_code, headers=headers)


def refusal_response(exc: ApiError | IllegalTransition) -> JSONResponse:
    """The response for a refused request: what the exception handlers send, and what the
    ticket fast lane sends for a refusal it got from a write (one rendering for both)."""
    if isinstance(exc, IllegalTransition):
        return error_response(
            409,
            {
                "error": "illegal_transition",
                "message": str(exc),
                "status": exc.status.value,
                "command": exc.command.value,
            },
        )
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return error_response(exc.status_code, exc.body(), headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return refusal_response(exc)

    @app.exception_handler(IllegalTransition)
    async def _illegal(request: Request, exc: IllegalTransition) -> JSONResponse:
        return refusal_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
            for e in exc.errors()
        ]
        first = details[0] if details else {"loc": [], "msg": "invalid input"}
        where = ".".join(str(p) for p in first["loc"]) or "request"
        return error_response(
            422,
            {
                "error": "validation_error",
                "message": f"{where}: {first['msg']}",
                "details": details,
            },
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(
            exc.status_code, "http_error"
        )
        return error_response(
            exc.status_code, {"error": code, "message": str(exc.detail)}, exc.headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(
            500, {"error": "internal_error", "message": "internal error; it has been logged"}
        )
