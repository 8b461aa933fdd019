"""Realtime endpoints: MQTT credentials for pages and quick starts, the AsyncAPI document of the
MQTT contract, and MQTT over WebSocket at ``/mqtt`` on the HTTP server's own port (so browser
pages reach the broker on the same origin they were loaded from)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, WebSocket
from pydantic import BaseModel, Field

from config import Settings
from protocol import Role, issue_token
from protocol.asyncapi import asyncapi_document
from protocol.topics import public_topics
from publisher_api.deps import PublicTenant, SettingsDep, realtime_of
from publisher_api.realtime import Realtime

router = APIRouter(tags=["realtime"])

MQTT_WS_PATH = "/mqtt"


class MqttCredentials(BaseModel):
    username: str
    password: str = Field(description="A read-only `public` token; fetch a new one before expiry")
    mqtt_url: str = Field(examples=["mqtt://queue.example:1883"])
    ws_url: str | None = Field(
        description="MQTT over WebSocket; null when an external broker's WebSocket address is "
        "not configured (QUEUECAST_MQTT_PUBLIC_WS_URL)",
        examples=["ws://queue.example:8000/mqtt"],
    )
    topics: list[str] = Field(description="The filters this identity may subscribe to")
    expires_at: datetime


@router.get(
    "/api/v1/tenants/{tenant}/mqtt-credentials",
    summary="Short-lived read-only MQTT credentials for a tenant's public topics",
)
def mqtt_credentials(
    tenant: PublicTenant, request: Request, settings: SettingsDep
) -> MqttCredentials:
    token, principal = issue_token(
        secret=settings.secret_key.get_secret_value(),
        subject="public",
        role=Role.PUBLIC,
        tenant=tenant,
        ttl=timedelta(seconds=settings.public_token_ttl_s),
    )
    mqtt_url, ws_url = advertised_urls(settings, _realtime(request), request)
    return MqttCredentials(
        username=f"public-{principal.token_id[:8]}",
        password=token,
        mqtt_url=mqtt_url,
        ws_url=ws_url,
        topics=list(public_topics(tenant)),
        expires_at=principal.expires_at,
    )


@router.get("/asyncapi.json", summary="AsyncAPI description of the MQTT topics and payloads")
def asyncapi(request: Request, settings: SettingsDep) -> dict[str, Any]:
    mqtt_url, ws_url = advertised_urls(settings, _realtime(request), request)
    servers: dict[str, dict[str, Any]] = {
        "mqtt": {"url": mqtt_url, "protocol": "mqtt", "protocolVersion": "3.1.1"}
    }
    if ws_url:
        servers["websocket"] = {"url": ws_url, "protocol": "ws", "protocolVersion": "3.1.1"}
    return asyncapi_document(servers=servers)


@router.websocket(MQTT_WS_PATH)
async def mqtt_over_websocket(websocket: WebSocket) -> None:
    realtime = realtime_of(websocket.app)
    if realtime is None or realtime.broker is None:
        # External broker (or a dedicated WebSocket port): browsers are told its own URL.
        await websocket.close(code=1008, reason="MQTT is not served on this path")
        return
    await realtime.broker.serve_websocket(websocket)


def reached_base(request: Request) -> str:
    """``scheme://address[:port]`` of the socket the client's connection actually reached
    (``0.0.0.0`` binds resolve to the interface used). Unlike the Host header, the client
    cannot choose it."""
    scheme = request.url.scheme
    return f"{scheme}://{_reached_netloc(request, scheme)}"


def _reached_netloc(request: Request, scheme: str) -> str:
    server = request.scope.get("server") or ("127.0.0.1", None)
    host, port = str(server[0]), server[1]
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443, "ws": 80, "wss": 443}.get(scheme)
    return host if port is None or port == default else f"{host}:{port}"


def advertised_urls(
    settings: Settings, realtime: Realtime | None, request: Request
) -> tuple[str, str | None]:
    """Where clients reach the broker: configured URLs first; otherwise the host of
    ``QUEUECAST_PUBLIC_URL``, or the address the client's connection reached, with the embedded
    broker's ports (or the external broker's address). Never the Host header, which the client
    writes."""
    public = urlsplit(settings.public_url) if settings.public_url else None
    if public is not None and public.hostname:
        host = f"[{public.hostname}]" if ":" in public.hostname else public.hostname
        http_scheme, netloc = public.scheme, public.netloc
    else:
        http_scheme = request.url.scheme
        netloc = _reached_netloc(request, http_scheme)
        host = netloc.rsplit(":", 1)[0] if not netloc.endswith("]") else netloc
    broker = realtime.broker if realtime is not None else None
    if settings.mqtt_public_url:
        mqtt_url = settings.mqtt_public_url
    elif broker is not None:
        scheme = "mqtts" if settings.mqtt_tls_cert else "mqtt"
        mqtt_url = f"{scheme}://{host}:{broker.tcp_port}"
    elif settings.mqtt_external_url:
        external = urlsplit(settings.mqtt_external_url)
        mqtt_url = f"{external.scheme}://{external.hostname}:{external.port or 1883}"
    else:
        mqtt_url = f"mqtt://{host}:{settings.mqtt_tcp_port}"

    ws_url: str | None
    if settings.mqtt_public_ws_url:
        ws_url = settings.mqtt_public_ws_url
    elif broker is not None and broker.ws_port is not None:
        ws_url = f"ws://{host}:{broker.ws_port}{MQTT_WS_PATH}"
    elif broker is not None:
        scheme = "wss" if http_scheme == "https" else "ws"
        ws_url = f"{scheme}://{netloc}{MQTT_WS_PATH}"
    else:
        ws_url = None
    return mqtt_url, ws_url


def _realtime(request: Request) -> Realtime | None:
    return realtime_of(request.app)
