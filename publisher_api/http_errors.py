"""The HTTP mapping of refusals, installed once: JSON responses in the one error shape of
:mod:`publisher_api.errors`, and the exception handlers that send them for refusals, FastAPI's
validation errors, Starlette's HTTP errors and anything unexpected."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from config.faultlog import printable
from publisher_api.domain.lifecycle import IllegalTransition
from publisher_api.errors import ApiError, refusal

log = logging.getLogger(__name__)


def error_response(status_code: int, body: dict[str, Any], headers: Any = None) -> JSONResponse:
    return JSONResponse(body, status_code=status_code, headers=headers)


def refusal_response(exc: ApiError | IllegalTransition) -> JSONResponse:
    """The response for a refused request: what the exception handlers send, and what the
    ticket fast lane and the ASGI middlewares send for a refusal (one rendering for all)."""
    return error_response(*refusal(exc))


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
        code = {
            404: "not_found",
            405: "method_not_allowed",
            401: "unauthorized",
            413: "payload_too_large",
            429: "too_many_requests",
        }.get(exc.status_code, "http_error")
        return error_response(
            exc.status_code, {"error": code, "message": str(exc.detail)}, exc.headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The path is the client's: escaped, so raw control bytes never reach the log.
        log.exception("unexpected error on %s %s", request.method, printable(request.url.path))
        return error_response(
            500, {"error": "internal_error", "message": "internal error; it has been logged"}
        )
