"""Realtime endpoints: MQTT credentials for pages and quick starts, the AsyncAPI document of the
MQTT contract, and MQTT over WebSocket at ``/mqtt`` on the HTTP server's own port (so browser
pages reach the broker on the same origin they were loaded from)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, WebSocket
from pydantic import BaseModel, Field

from config import Settings
from protocol import DEVICE_ROLES, Role, issue_token
from protocol.asyncapi import asyncapi_document
from protocol.topics import public_topics, tenant_wildcard
from publisher_api.deps import (
    STAFF_ROLES,
    PublicTenant,
    RuntimeDep,
    SettingsDep,
    authorize,
    realtime_of,
)
from publisher_api.dynsec.model import (
    DeviceGrant,
    Login,
    UserGrant,
    device_login,
    epoch_of,
    public_login,
    user_login,
)
from publisher_api.realtime import Realtime
from publisher_api.runtime import Runtime

router = APIRouter(tags=["realtime"])

MQTT_WS_PATH = "/mqtt"
SETTLE_S = 2.0
"""How long /mqtt-credentials waits for a pending broker sync (usually milliseconds)."""


class MqttCredentials(BaseModel):
    username: str
    password: str = Field(
        description="`login: token`: a read-only `public` token. `login: password`: the broker "
        "password of whoever asked (public when no bearer token was sent). Fetch a new one "
        "before `expires_at`"
    )
    login: Literal["token", "password"] = Field(
        default="token",
        description="`token`: the broker takes QueueCast tokens as passwords, so a device or "
        "user logs in with its own token (username: its id) and these are the public "
        "read-only login. `password`: the broker keeps its own accounts (Mosquitto with "
        "dynamic security); send your bearer token here and log in with this username and "
        "password (devices: the username as client id too)",
    )
    mqtt_url: str = Field(examples=["mqtt://queue.example:1883"])
    ws_url: str | None = Field(
        description="MQTT over WebSocket; null when an external broker's WebSocket address is "
        "not configured (QUEUECAST_MQTT_PUBLIC_WS_URL)",
        examples=["ws://queue.example:8000/mqtt"],
    )
    topics: list[str] = Field(description="The filters this identity may subscribe to")
    expires_at: datetime | None = Field(
        description="null: a device's or user's broker password, valid until revoked"
    )
    public_url: str = Field(
        description="Base URL of the pages phones open (a ticket's QR code is "
        "`{public_url}/t/{tenant}/ticket/{id}`): QUEUECAST_PUBLIC_URL, else the address this "
        "request reached; never the Host header",
        examples=["https://queue.example"],
    )


@router.get(
    "/api/v1/tenants/{tenant}/mqtt-credentials",
    summary="Short-lived read-only MQTT credentials for a tenant's public topics",
)
def mqtt_credentials(
    tenant: PublicTenant,
    request: Request,
    settings: SettingsDep,
    runtime: RuntimeDep,
) -> MqttCredentials:
    realtime = _realtime(request)
    mqtt_url, ws_url = advertised_urls(settings, realtime, request)
    if settings.mqtt_dynsec:
        login, topics = _broker_login(tenant, settings, runtime, _bearer_of(request))
        if realtime is not None and realtime.provisioner is not None:
            # A device or user created (or re-paired) a moment ago: its login one sync later.
            realtime.provisioner.wait_settled(SETTLE_S)
        return MqttCredentials(
            username=login.username,
            password=login.password,
            login="password",
            mqtt_url=mqtt_url,
            ws_url=ws_url,
            topics=topics,
            expires_at=login.expires_at,
            public_url=public_base(request, settings),
        )
    token, principal = issue_token(
        secret=settings.secret_key.get_secret_value(),
        subject="public",
        role=Role.PUBLIC,
        tenant=tenant,
        ttl=timedelta(seconds=settings.public_token_ttl_s),
    )
    return MqttCredentials(
        username=f"public-{principal.token_id[:8]}",
        password=token,
        mqtt_url=mqtt_url,
        ws_url=ws_url,
        topics=list(public_topics(tenant)),
        expires_at=principal.expires_at,
        public_url=public_base(request, settings),
    )


def _bearer_of(request: Request) -> str | None:
    """An optional ``Authorization: Bearer`` token, read by hand: the endpoint is public (the
    OpenAPI document lists no security for it), a token only picks whose login it returns."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _broker_login(
    tenant: str, settings: Settings, runtime: Runtime, bearer: str | None
) -> tuple[Login, list[str]]:
    """The broker login of the caller (its token verified and still active), or the tenant's
    public one for the current rotation period. Derived, never stored: see dynsec.model."""
    secret = settings.secret_key.get_secret_value()
    if not bearer:
        epoch = epoch_of(datetime.now(UTC), settings.mqtt_dynsec_public_rotation_s)
        login = public_login(
            secret, tenant, epoch=epoch, period_s=settings.mqtt_dynsec_public_rotation_s
        )
        return login, list(public_topics(tenant))
    principal = authorize(tenant, bearer, runtime, STAFF_ROLES | DEVICE_ROLES).principal
    if principal.is_device:
        device = DeviceGrant(tenant, principal.subject, principal.role, principal.token_id)
        return device_login(secret, device), [tenant_wildcard(tenant)]
    user = UserGrant(principal.subject, principal.role, principal.tenant, principal.token_version)
    return user_login(secret, user), [tenant_wildcard(tenant)]


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


def public_base(request: Request, settings: Settings) -> str:
    """Where phones reach us (QR codes, follow links): the configured public URL, else the
    address and port the connection actually reached. Never the Host header: anyone can send
    any Host, and a QR code or a cached page pointing elsewhere would send customers there."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return reached_base(request)


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
