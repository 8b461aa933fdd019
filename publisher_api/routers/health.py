"""``/healthz`` (the process answers), ``/readyz`` (the database answers), ``/metrics``."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from protocol import Role
from publisher_api.deps import BearerToken, RuntimeDep, authenticate
from publisher_api.errors import Forbidden, Unauthorized, error_response
from publisher_api.runtime import Runtime

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
def readyz(runtime: RuntimeDep) -> dict[str, str] | Response:
    try:
        runtime.database.ping()
    except SQLAlchemyError as exc:
        return error_response(
            503, {"error": "not_ready", "message": f"database unreachable: {type(exc).__name__}"}
        )
    return {"status": "ready"}


@router.get("/metrics", response_class=Response)
def metrics(runtime: RuntimeDep, token: BearerToken) -> Response:
    """Prometheus metrics. They name every tenant and its queue length, so outside dev mode
    they need ``Authorization: Bearer <QUEUECAST_METRICS_TOKEN>`` or a superadmin's token
    (``QUEUECAST_METRICS_PUBLIC=true`` opens them)."""
    _check_metrics_access(runtime, token)
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _check_metrics_access(runtime: Runtime, token: str | None) -> None:
    settings = runtime.settings
    if settings.metrics_open:
        return
    expected = settings.metrics_token
    if token and expected and hmac.compare_digest(token, expected.get_secret_value()):
        return
    if not token:
        raise Unauthorized("/metrics needs a bearer token (QUEUECAST_METRICS_TOKEN or superadmin)")
    try:
        principal = authenticate(token, runtime)
    except (Unauthorized, Forbidden):
        raise Unauthorized("not a metrics token") from None
    if principal.role is not Role.SUPERADMIN:
        raise Forbidden("/metrics is for the metrics token or a superadmin")
