"""``/healthz`` (the process answers), ``/readyz`` (the database answers and MQTT is up: the
embedded broker serving, or the external broker connected), ``/metrics``.

Both async: the MQTT figures are read on the event loop the embedded broker runs on (never from
a worker thread while it changes them); the database work goes to a thread."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from protocol import Role
from publisher_api.deps import BearerToken, RuntimeDep, authenticate, realtime_of
from publisher_api.errors import Forbidden, Unauthorized
from publisher_api.http_errors import error_response
from publisher_api.metrics import MqttReading, mqtt_exposition
from publisher_api.runtime import Runtime

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(request: Request, runtime: RuntimeDep) -> dict[str, str] | Response:
    mqtt = mqtt_reading(request)
    mqtt_state = _mqtt_state(mqtt)
    try:
        await run_in_threadpool(runtime.database.ping)
    except SQLAlchemyError as exc:
        return error_response(
            503,
            {
                "error": "not_ready",
                "message": f"database unreachable: {type(exc).__name__}",
                "database": "unreachable",
                "mqtt": mqtt_state,
            },
        )
    if mqtt is None or not mqtt.up:
        return error_response(
            503,
            {
                "error": "not_ready",
                "message": f"MQTT broker {mqtt_state}",
                "database": "ok",
                "mqtt": mqtt_state,
            },
        )
    return {"status": "ready", "database": "ok", "mqtt": mqtt_state}


@router.get("/metrics", response_class=Response)
async def metrics(request: Request, runtime: RuntimeDep, token: BearerToken) -> Response:
    """Prometheus metrics, the embedded broker's included. They name every tenant and its queue
    length, so outside dev mode they need ``Authorization: Bearer <QUEUECAST_METRICS_TOKEN>`` or
    a superadmin's token (``QUEUECAST_METRICS_PUBLIC=true`` opens them)."""
    _check_metrics_access(runtime, token)
    mqtt = mqtt_reading(request)
    text = await run_in_threadpool(generate_latest, runtime.metrics.registry)
    if mqtt is not None:
        text += mqtt_exposition(mqtt)
    return Response(text, media_type=CONTENT_TYPE_LATEST)


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


def _mqtt_state(reading: MqttReading | None) -> str:
    if reading is None:
        return "not configured"
    if reading.mode == "embedded":
        return "serving" if reading.up else "not serving"
    return "connected" if reading.up else "disconnected"


def mqtt_reading(request: Request) -> MqttReading | None:
    """The MQTT side of the running app (None before the realtime step is up)."""
    realtime: Any = realtime_of(request.app)
    broker = getattr(realtime, "broker", None)
    if broker is not None:
        if not broker.running:
            return MqttReading(mode="embedded", up=False)
        core = broker.core
        stats, snapshot = core.stats, core.snapshot()
        return MqttReading(
            mode="embedded",
            up=True,
            connections=snapshot.connections,
            received=dict(stats.messages_in),
            sent=stats.messages_out,
            dropped=dict(stats.dropped),
            disconnects=dict(stats.disconnects),
            inbound_backlog_bytes=snapshot.inbound_backlog_bytes,
            paused_readers=snapshot.paused_readers,
            reader_pauses=stats.reader_pauses,
            sessions=snapshot.sessions,
            retained=snapshot.retained,
        )
    connection = getattr(realtime, "connection", None)
    if connection is not None:
        return MqttReading(mode="external", up=bool(connection.connected))
    return None
