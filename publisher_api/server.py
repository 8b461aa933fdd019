"""The HTTP server as ``python -m publisher_api`` runs it: uvicorn with the limits that keep one
careless or hostile client from taking the process down.

uvicorn alone holds a connection that never sends a request forever, and one that trickles
its headers or body forever too (only the gap *after* a response is timed); ~1,100 such
connections on a 1,024-file limit made even ``/healthz`` unreachable. Here:

- every request must arrive whole, headers and body, within ``http_request_timeout_s`` of its
  first byte (or of the connection, for one that sends nothing), else the connection closes;
- request line and headers are limited to ``http_max_header_bytes`` (431);
- connections beyond the cap derived from the open-files limit are closed at once, with a
  log line once per interval (never an ``accept()`` failing for lack of descriptors);
- WebSocket messages (MQTT over ``/mqtt``) are limited to the MQTT payload limit before they
  are buffered (uvicorn's default is 16 MiB);
- HTTPS when a certificate and key are configured.

Bodies are limited in the app (:mod:`publisher_api.limits`), where a 413 can be answered.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from broker.embedded import LISTEN_BACKLOG
from config import Settings
from config.faultlog import FaultLog
from config.fd_budget import connection_budget
from publisher_api.routers.mqtt_lane import websocket_protocol

log = logging.getLogger(__name__)

# A WebSocket message carries one MQTT packet: payload, topic (up to 64 KiB) and headers.
_WS_PACKET_OVERHEAD = 2 + 65_535 + 2 + 16


def _body_431() -> bytes:
    body = b'{"error":"headers_too_large","message":"request line and headers are too large"}'
    return (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
        b"content-type: application/json\r\nconnection: close\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a per-request deadline, a header size limit and a
    connection cap. Configured through class attributes set by :func:`server_config` (uvicorn
    builds one instance per connection with its own arguments)."""

    max_connections = 10_000
    request_timeout_s = 15.0
    max_header_bytes = 16 * 1024
    faults = FaultLog(log)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._in_headers = True
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.max_connections:
            self._refused = True
            self.transport = transport
            peer = transport.get_extra_info("peername") or ("?", 0)
            self.faults.warning(
                "http-full",
                "HTTP connection cap reached (%d, kept below the open-files limit): closing a "
                "new connection from %s",
                self.max_connections,
                peer[0],
            )
            transport.abort()
            return
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._refused:
            return
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._in_headers:
            # Only what comes before the blank line counts: the first read often carries the
            # start of the body too.
            end = data.find(b"\r\n\r\n")
            self._header_bytes += len(data) if end < 0 else end + 4
            if self._header_bytes > self.max_header_bytes:
                self._disarm()
                self.faults.warning(
                    "http-headers",
                    "request headers over %d bytes from %s: 431",
                    self.max_header_bytes,
                    self.client[0] if self.client else "?",
                )
                self.transport.write(_body_431())
                self.transport.close()
                return
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_headers = True
        self._header_bytes = 0
        self._arm()

    def on_headers_complete(self) -> None:
        self._in_headers = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()  # from here MQTT's own CONNECT timeout and keepalive apply
        super().handle_websocket_upgrade()

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.request_timeout_s, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        self.faults.warning(
            "http-slow",
            "closing a connection from %s: no whole request within %s s",
            self.client[0] if self.client else "?",
            self.request_timeout_s,
        )
        self.transport.close()


def server_config(app: Any, settings: Settings, **overrides: Any) -> uvicorn.Config:
    """uvicorn's configuration for ``app`` under ``settings`` (``overrides`` for tests)."""
    # The same split as the embedded broker's (broker.embedded.mqtt_connection_caps).
    mqtt_listeners = 1 if settings.mqtt_ws_port is None else 2
    budget = connection_budget(
        http_wanted=settings.http_max_connections,
        mqtt_wanted=settings.mqtt_max_connections * mqtt_listeners,
    )
    if budget.http < settings.http_max_connections:
        log.warning(
            "HTTP connections capped at %d (QUEUECAST_HTTP_MAX_CONNECTIONS is %d) to stay "
            "below the open-files limit; raise `ulimit -n` (LimitNOFILE=) for more",
            budget.http,
            settings.http_max_connections,
        )
    protocol = type(
        "GuardedHttp",
        (GuardedHttpProtocol,),
        {
            "max_connections": budget.http,
            "request_timeout_s": settings.http_request_timeout_s,
            "max_header_bytes": settings.http_max_header_bytes,
            "faults": FaultLog(log, settings.fault_log_interval_s),
        },
    )
    values: dict[str, Any] = {
        "host": settings.http_host,
        "port": settings.http_port,
        "http": protocol,
        "log_level": settings.log_level.lower(),
        "access_log": False,  # per-request lines cost more than the request at high rates
        "loop": settings.http_event_loop,
        "timeout_keep_alive": settings.http_keepalive_timeout_s,
        # MQTT upgrades of /mqtt are served without ASGI in between (the rest as uvicorn would).
        "ws": websocket_protocol(app),
        # One MQTT packet per WebSocket message: refuse bigger ones before buffering them.
        "ws_max_size": settings.mqtt_max_payload_bytes + _WS_PACKET_OVERHEAD,
        # MQTT payloads are small JSON; per-connection deflate state (~256 KiB of zlib window)
        # would cost more memory than the 10,000 idle screens we hold are allowed.
        "ws_per_message_deflate": False,
        # MQTT's own keepalive (enforced by the broker) already detects dead screens; WebSocket
        # pings on top would wake the process 500 times a second for 10,000 idle ones.
        "ws_ping_interval": None,
        # Screens reconnect all at once after an outage: see broker.embedded.LISTEN_BACKLOG.
        "backlog": LISTEN_BACKLOG,
        # The app owns one process's state (embedded broker, write lock): never several workers.
        "workers": 1,
        # X-Forwarded-* only from a proxy on this machine (uvicorn's default, said aloud).
        "forwarded_allow_ips": "127.0.0.1",
    }
    if settings.https:
        values["ssl_certfile"] = str(settings.http_tls_cert)
        values["ssl_keyfile"] = str(settings.http_tls_key)
    values.update(overrides)
    return uvicorn.Config(app, **values)
