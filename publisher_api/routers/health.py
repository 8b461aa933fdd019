"""``/healthz`` (the process answers), ``/readyz`` (the database answers), ``/metrics``."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from publisher_api.deps import RuntimeDep
from publisher_api.errors import error_response

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
def metrics(runtime: RuntimeDep) -> Response:
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)
