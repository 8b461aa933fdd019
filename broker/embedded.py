"""The broker as the rest of QueueCast sees it: settings in, listeners up, one bridge for HTTP.

:class:`EmbeddedBroker` runs in the caller's event loop (the API's lifespan, or
``python -m broker``). It owns the listening sockets and feeds every accepted connection to
:class:`~broker.core.TenantBroker`:

- ``tcp``: MQTT on ``settings.mqtt_host:settings.mqtt_tcp_port`` (port 0 picks a free one),
  TLS when ``mqtt_tls_cert`` and ``mqtt_tls_key`` are set;
- ``ws``: MQTT over WebSocket on ``settings.mqtt_ws_port`` at path ``/mqtt`` (TLS likewise),
  only when that port is set;
- ``http-ws``: the HTTP server's own ``/mqtt`` route, so browsers reach MQTT on the same origin
  and port as the pages: :meth:`EmbeddedBroker.websocket_stream` for connections the server
  upgrades itself (the usual way), :meth:`EmbeddedBroker.serve_websocket` for the ASGI route.

Each listener refuses connections beyond ``mqtt_max_connections`` with CONNACK 3. ``stop()``
then ``start()`` works on the same ports; the retained store starts empty each time (the
publisher re-publishes state after a broker restart).
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import logging
import ssl
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from starlette.websockets import WebSocket
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from broker.auth import Authenticator, TokenActive
from broker.core import TenantBroker, grant_of
from broker.tcp import MqttTcpProtocol, TcpReader, TcpWriter
from broker.transport import (
    StarletteReader,
    StarletteWriter,
    WebSocketsReader,
    WebSocketsWriter,
)
from broker.verdicts import Verdicts
from broker.ws_stream import MqttWebSocketStream, WsReader, WsWriter
from config import Settings
from config.fd_budget import connection_budget
from protocol import Principal

logger = logging.getLogger(__name__)

WS_PATH = "/mqtt"
MQTT_SUBPROTOCOLS = ("mqtt", "mqttv3.1")
"""Offered by MQTT 3.1.1 clients (MQTT.js, paho) and by some older ones."""

TCP, WS, HTTP_WS = "tcp", "ws", "http-ws"
_PACKET_OVERHEAD = 2 + 65_535 + 2  # topic length, longest topic, packet id
_WS_FRAME_OVERHEAD = _PACKET_OVERHEAD + 16  # plus fixed header: one packet per message

LISTEN_BACKLOG = 8192
"""Connections the kernel completes and queues for accept() while the loop is busy. asyncio's
default (100) overflows in a reconnect storm: the kernel then drops the handshake's last ACK, the
client believes it is connected and retransmits its CONNECT with exponential backoff, so a screen
waits up to tens of seconds on a broker that has long been idle. The kernel caps it at
``net.core.somaxconn`` (4096 on current kernels)."""


class BrokerNotRunning(RuntimeError):
    pass


class EmbeddedBroker:
    def __init__(
        self,
        settings: Settings,
        *,
        token_active: TokenActive | None = None,
        beside_http: bool = True,
    ) -> None:
        """``beside_http``: the HTTP server shares this process (its connections count
        against the same open-files limit); ``python -m broker`` passes ``False``."""
        self._settings = settings
        self._beside_http = beside_http
        self._authenticator = Authenticator(
            settings.secret_key.get_secret_value(),
            token_active,
            verdicts=Verdicts(settings.mqtt_revocation_check_s),
        )
        self._broker: TenantBroker | None = None
        # No single read (a packet body, a CONNECT field) may exceed the payload limit plus the
        # largest topic and headers; the exact payload limit is checked once the topic is known.
        self._max_read = settings.mqtt_max_payload_bytes + _PACKET_OVERHEAD
        self._tcp_server: asyncio.Server | None = None
        self._ws_server: Server | None = None
        self.tcp_port: int = settings.mqtt_tcp_port
        self.ws_port: int | None = settings.mqtt_ws_port

    @property
    def running(self) -> bool:
        return self._broker is not None

    @property
    def core(self) -> TenantBroker:
        """The amqtt broker underneath (tests and benchmarks look at it)."""
        if self._broker is None:
            raise BrokerNotRunning("the broker is not running")
        return self._broker

    def open_connections(self) -> int:
        """MQTT connections open on every listener (each holds an open file)."""
        return 0 if self._broker is None else self._broker.open_connections()

    def publish_local(self, topic: str, payload: bytes, *, retain: bool) -> None:
        """Publish from inside the process (QoS 1), on the broker's event loop; raises
        :class:`BrokerNotRunning` when stopped."""
        self.core.publish_local(topic, payload, retain=retain)

    async def start(self) -> None:
        if self._broker is not None:
            raise RuntimeError("broker already started")
        settings = self._settings
        _quiet_library_loggers()
        tls = _tls_context(settings.mqtt_tls_cert, settings.mqtt_tls_key)
        names = (TCP, HTTP_WS) if settings.mqtt_ws_port is None else (TCP, WS, HTTP_WS)
        per_listener, in_all = mqtt_connection_caps(settings, beside_http=self._beside_http)
        broker = TenantBroker(
            authenticator=self._authenticator,
            listener_names=names,
            max_connections=per_listener,
            max_total_connections=in_all,
            max_payload_bytes=settings.mqtt_max_payload_bytes,
        )
        await broker.start()
        try:
            self._tcp_server = await asyncio.get_running_loop().create_server(
                lambda: MqttTcpProtocol(self._on_tcp, self._max_read),
                settings.mqtt_host,
                settings.mqtt_tcp_port,
                ssl=tls,
                reuse_address=True,
                backlog=LISTEN_BACKLOG,
            )
            self.tcp_port = int(self._tcp_server.sockets[0].getsockname()[1])
            if settings.mqtt_ws_port is not None:
                self._ws_server = await serve(
                    self._on_websocket,
                    settings.mqtt_host,
                    settings.mqtt_ws_port,
                    ssl=tls,
                    subprotocols=[*MQTT_SUBPROTOCOLS],  # type: ignore[list-item]
                    process_request=_only_mqtt_path,
                    max_size=settings.mqtt_max_payload_bytes + _WS_FRAME_OVERHEAD,
                    # MQTT has its own keepalive; compression would cost ~100 KB per socket.
                    ping_interval=None,
                    compression=None,
                    reuse_address=True,
                    backlog=LISTEN_BACKLOG,
                )
                self.ws_port = int(next(iter(self._ws_server.sockets)).getsockname()[1])
        except BaseException:
            await self._close_listeners(then=broker.shutdown())
            raise
        self._broker = broker
        logger.info(
            "MQTT broker listening: %s://%s:%d%s",
            "mqtts" if tls else "mqtt",
            settings.mqtt_host,
            self.tcp_port,
            f", ws{'s' if tls else ''}://{settings.mqtt_host}:{self.ws_port}{WS_PATH}"
            if self._ws_server
            else "",
        )

    async def stop(self) -> None:
        broker, self._broker = self._broker, None
        await self._close_listeners(then=broker.shutdown() if broker is not None else None)

    @property
    def verdicts(self) -> Verdicts:
        """``token_active``'s remembered answers (see :mod:`broker.revocation`)."""
        return self._authenticator.verdicts

    def connected_principals(self) -> set[Principal]:
        """Who is connected now (each identity once, however many connections it has)."""
        grants = (grant_of(session) for session, _ in self.core.connected_handlers())
        return {grant.principal for grant in grants if grant is not None}

    async def disconnect(self, predicate: Callable[[Principal], bool]) -> int:
        """Close every connection whose principal matches (e.g. a device just revoked)."""
        count = 0
        for session, handler in self.core.connected_handlers():
            grant = grant_of(session)
            if grant is not None and predicate(grant.principal):
                handler.close_now()
                count += 1
        return count

    async def serve_websocket(self, websocket: WebSocket) -> None:
        """MQTT over the HTTP app's own WebSocket route (subprotocol ``mqtt``)."""
        broker = self._broker
        offered = websocket.scope.get("subprotocols") or []
        subprotocol = next((p for p in MQTT_SUBPROTOCOLS if p in offered), None)
        if broker is None or subprotocol is None:
            # Before accept(), close() answers the handshake with HTTP 403.
            logger.info(
                "refused MQTT WebSocket (broker running: %s, subprotocols offered: %s)",
                broker is not None,
                offered,
            )
            await websocket.close(code=1013 if broker is None else 1002)
            return
        await websocket.accept(subprotocol=subprotocol)
        writer = StarletteWriter(websocket)
        reader = StarletteReader(websocket, self._max_read, _peer_text(writer.get_peer_info()))
        try:
            await broker.external_connected(reader, writer, HTTP_WS)
        finally:
            await writer.close()

    def websocket_stream(
        self, transport: asyncio.Transport, *, max_message: int
    ) -> MqttWebSocketStream:
        """MQTT over a WebSocket the HTTP server has just upgraded at ``/mqtt``, served without
        the ASGI WebSocket in between (see :mod:`broker.ws_stream`); counted, capped and
        reported as the ``http-ws`` listener like :meth:`serve_websocket`."""
        if self._broker is None:
            raise BrokerNotRunning("the broker is not running")
        return MqttWebSocketStream(
            transport, max_message=max_message, max_read=self._max_read, serve=self._on_http_ws
        )

    async def _on_http_ws(self, reader: WsReader, writer: WsWriter) -> None:
        broker = self._broker
        if broker is not None:
            await broker.external_connected(reader, writer, HTTP_WS)

    async def _on_tcp(self, reader: TcpReader, writer: TcpWriter) -> None:
        broker = self._broker
        if broker is not None:
            await broker.external_connected(reader, writer, TCP)

    async def _on_websocket(self, connection: ServerConnection) -> None:
        broker = self._broker
        if broker is None or connection.subprotocol is None:
            await connection.close(code=1002, reason="MQTT needs the 'mqtt' subprotocol")
            return
        writer = WebSocketsWriter(connection)
        reader = WebSocketsReader(connection, self._max_read, _peer_text(writer.get_peer_info()))
        try:
            await broker.external_connected(reader, writer, WS)
        finally:
            await writer.close()

    async def _close_listeners(self, *, then: Coroutine[Any, Any, None] | None) -> None:
        """Stop accepting, run ``then`` (the broker ends its sessions), wait for the servers."""
        tcp, self._tcp_server = self._tcp_server, None
        ws, self._ws_server = self._ws_server, None
        if tcp is not None:
            tcp.close()
        if ws is not None:
            ws.close(close_connections=False)  # the broker ends its sessions itself
        if then is not None:
            await then
        for server in (tcp, ws):
            if server is not None:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(server.wait_closed(), timeout=5)


def mqtt_connection_caps(settings: Settings, *, beside_http: bool = True) -> tuple[int, int]:
    """(per listener, all listeners together): ``mqtt_max_connections`` per listener, lowered
    so that the broker's connections, and the HTTP server's when it shares the process
    (``beside_http``), stay below the open-files limit (past it every accept fails and nothing
    says why). Logged when lowered."""
    listeners = 1 if settings.mqtt_ws_port is None else 2
    wanted = settings.mqtt_max_connections * listeners
    budget = connection_budget(
        http_wanted=settings.http_max_connections if beside_http else 0, mqtt_wanted=wanted
    )
    if budget.mqtt < wanted:
        logger.warning(
            "MQTT connections capped at %d in all (QUEUECAST_MQTT_MAX_CONNECTIONS is %d per "
            "listener) to stay below the open-files limit; raise `ulimit -n` (LimitNOFILE=) "
            "for more",
            budget.mqtt,
            settings.mqtt_max_connections,
        )
    return min(settings.mqtt_max_connections, budget.mqtt), budget.mqtt


def _only_mqtt_path(connection: ServerConnection, request: Request) -> Response | None:
    if request.path.split("?", 1)[0] != WS_PATH:
        return connection.respond(http.HTTPStatus.NOT_FOUND, f"MQTT is served at {WS_PATH}\n")
    return None


def _tls_context(cert: Path | None, key: Path | None) -> ssl.SSLContext | None:
    if cert is None or key is None:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"cannot load the MQTT TLS certificate {cert} / key {key}: {exc}") from exc
    return context


def _quiet_library_loggers() -> None:
    """amqtt and transitions log every connection's state changes at INFO; unless someone
    configured them, keep them at WARNING so refusals and limits stand out."""
    for name in ("amqtt", "transitions"):
        library = logging.getLogger(name)
        if library.level == logging.NOTSET:
            library.setLevel(logging.WARNING)


def _peer_text(peer: tuple[str, int] | None) -> str:
    return f"{peer[0]}:{peer[1]}" if peer else "unknown peer"
