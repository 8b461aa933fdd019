"""The HTTP server as ``python -m publisher_api`` runs it: uvicorn with the limits that keep one
careless or hostile client from taking the process down.

uvicorn alone holds a connection that never sends a request forever, and one that trickles
its headers or body forever too (only the gap *after* a response is timed); ~1,100 such
connections on a 1,024-file limit made even ``/healthz`` unreachable. Here:

- every request must arrive whole, headers and body, within ``http_request_timeout_s`` of its
  first byte (or of the connection, for one that sends nothing), else the connection closes;
- request line and headers are limited to ``http_max_header_bytes`` (431);
- a body over ``http_max_body_bytes`` gets 413 from here, never from the app: at once when
  ``Content-Length`` says so, as soon as a chunked body passes the limit otherwise. Reading
  stops there and the connection closes a moment later (see :attr:`GuardedHttpProtocol.linger_s`);
- sign-ins that the login limits refuse outright (address over its limit, password checks all
  busy) get their 429 from here too, and a connection refused
  :attr:`~GuardedHttpProtocol.refusals_before_close` times is closed;
- connections beyond the cap derived from the open-files limit are closed at once, with a
  log line once per interval (never an ``accept()`` failing for lack of descriptors);
- WebSocket messages (MQTT over ``/mqtt``) are limited to the MQTT payload limit before they
  are buffered (uvicorn's default is 16 MiB);
- HTTPS when a certificate and key are configured.

Why refusals are answered in the protocol rather than by the app: under a flood they are
nearly every request, and each one through the ASGI stack (a task, a dozen middlewares, a
JSON response) cost ~0.3 ms of the event loop that also serves operators and screens. Measured
with the attacker on its own core, 100 MB bodies took 80 % of the server's core (p99 36 x
quiet) and a login flood from many addresses 94 % (p99 5.8 x), see docs/benchmarks.md "Under
attack". Here a refusal is a few pre-encoded bytes written from the parser's callback. The
app keeps its own checks (:mod:`publisher_api.limits`, :class:`~publisher_api.login_gate.
LoginGate`) for what this fast path leaves to it: pipelined requests, paths spelled with
percent escapes, and servers other than this one (tests on the ASGI app).
"""

from __future__ import annotations

import asyncio
import http
import json
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

import uvicorn
from starlette.applications import Starlette
from uvicorn.middleware.proxy_headers import _TrustedHosts
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from broker.embedded import LISTEN_BACKLOG
from config import Settings
from config.faultlog import FaultLog
from config.fd_budget import connection_budget
from publisher_api.deps import TOKEN_URL
from publisher_api.errors import ApiError, PayloadTooLarge, TooManyRequests
from publisher_api.lifespan_state import running
from publisher_api.routers.mqtt_lane import MqttFrontDoor, websocket_protocol

log = logging.getLogger(__name__)

# A WebSocket message carries one MQTT packet: payload, topic (up to 64 KiB) and headers.
_WS_PACKET_OVERHEAD = 2 + 65_535 + 2 + 16


def http_response(
    status: int,
    body: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
    *,
    close: bool = True,
    extra: bytes = b"",
) -> bytes:
    """A whole HTTP/1.1 response with a JSON body, as bytes to write to the transport."""
    payload = json.dumps(body, separators=(",", ":")).encode()
    lines = [
        f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\n".encode(),
        b"content-type: application/json\r\n",
        b"content-length: %d\r\n" % len(payload),
        *(f"{name.lower()}: {value}\r\n".encode() for name, value in (headers or {}).items()),
        b"connection: close\r\n" if close else b"",
        extra,
        b"\r\n",
        payload,
    ]
    return b"".join(lines)


def _431(extra: bytes = b"") -> bytes:
    body = {"error": "headers_too_large", "message": "request line and headers are too large"}
    return http_response(431, body, extra=extra)


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a per-request deadline, header and body limits, early
    sign-in refusals and a connection cap. Configured through class attributes set by
    :func:`server_config` (uvicorn builds one instance per connection with its own
    arguments)."""

    max_connections = 10_000
    request_timeout_s = 15.0
    max_header_bytes = 16 * 1024
    max_body_bytes = 1024 * 1024
    # After a 413 the rest of the body is never read; closing at once would make the kernel
    # answer the unread bytes with a reset, which often reaches the client before it has read
    # the 413. A moment's wait lets it read the answer, and costs a flooding client that
    # moment per attempt (its sends block), at no CPU cost here.
    linger_s = 1.0
    # A refused sign-in is answered after this delay, its connection unread meanwhile: an honest
    # client was refused anyway (Retry-After says at least a second), while a flooding one gets
    # one answer per connection per delay instead of as many as this loop can write (~1,700 a
    # second from 60 client threads, measured).
    refusal_delay_s = 1.0
    # A connection whose requests keep being refused is closed: each further attempt then
    # costs the client a new connection.
    refusals_before_close = 3
    login_path = TOKEN_URL.encode()
    logins: ClassVar[AppLogins | None] = None
    trusted_proxies: ClassVar[_TrustedHosts] = _TrustedHosts("127.0.0.1")
    extra_headers = b""  # Strict-Transport-Security over HTTPS, as the app sends it
    faults = FaultLog(log)
    _encoded: ClassVar[dict[tuple[str, str, int, bool], bytes]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._in_headers = True
        self._refused = False  # over the connection cap: never served
        self._skipping = False  # the current request was answered here: its body is skipped
        self._body_bytes = 0
        self._refusals = 0
        self._linger: asyncio.TimerHandle | None = None  # a refusal's delay, or a close's
        self._close_after_refusal = False

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
        if self._linger is not None:
            self._linger.cancel()
        if self._refused:
            return
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused or self.transport.is_closing():
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
                self.transport.write(_431(self.extra_headers))
                self.transport.close()
                return
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_headers = True
        self._header_bytes = 0
        self._body_bytes = 0
        self._skipping = False
        self._arm()

    def on_headers_complete(self) -> None:
        self._in_headers = False
        if self.transport.is_closing() or self._linger is not None:
            # A request pipelined behind a refusal: not served, and the connection closes
            # once the refusal is out (answers must go out in order).
            self._skipping = True
            self._close_after_refusal = True
            return
        if self.cycle is None or self.cycle.response_complete:  # answers go out in order
            if self._declared_too_large():
                self._refuse_body()
                return
            if self.logins is not None and self._is_login():
                refusal = self.logins.early_refusal(self._client_address())
                if refusal is not None:
                    self._answer(refusal)
                    return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self._skipping:
            return
        self._body_bytes += len(body)
        if self._body_bytes > self.max_body_bytes:  # chunked, or more than it declared
            cycle = self.cycle
            if cycle.response_started or self.pipeline:
                # Too late for a 413 (an answer started, or one still owed to an earlier
                # pipelined request): only closing is left.
                self.transport.close()
                return
            # The app's receive() now sees a disconnect and its answer goes nowhere.
            cycle.disconnected = True
            cycle.message_event.set()
            self._refuse_body()
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._disarm()
        if self._skipping:
            self._skipping = False
            if self._linger is None and not self.transport.is_closing():
                self._idle()
            return
        super().on_message_complete()

    def _idle(self) -> None:
        """What uvicorn does after a response: an idle keep-alive connection times out."""
        self._unset_keepalive_if_required()
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )

    def shutdown(self) -> None:
        if self._linger is not None:  # a refusal pending, or a close after one: close now
            self._linger.cancel()
            self._linger = None
            self._close_unread()
            return
        super().shutdown()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()  # from here the WebSocket's own limits apply (MQTT's CONNECT timeout)
        super().handle_websocket_upgrade()

    # --- answers written from here ------------------------------------------------------------

    def _declared_too_large(self) -> bool:
        for name, value in self.headers:
            if name == b"content-length":
                try:
                    return int(value) > self.max_body_bytes
                except ValueError:
                    return False  # httptools has refused it already
        return False

    def _is_login(self) -> bool:
        return (
            self.url.partition(b"?")[0] == self.login_path and self.parser.get_method() == b"POST"
        )

    def _client_address(self) -> str:
        """The address the app will see: the peer's, or X-Forwarded-For's from a trusted proxy
        (the rule of uvicorn's ProxyHeadersMiddleware, which the app runs behind)."""
        peer = self.client[0] if self.client else "unknown"
        if peer not in self.trusted_proxies:
            return peer
        forwarded = [value for name, value in self.headers if name == b"x-forwarded-for"]
        if not forwarded:
            return peer
        host, _ = self.trusted_proxies.get_trusted_client_address(
            b", ".join(forwarded).decode("latin1")
        )
        return host or peer

    def _refuse_body(self) -> None:
        """413, without reading any more of the body; the connection closes after the linger."""
        self._skipping = True
        self.flow.pause_reading()
        address = self.client[0] if self.client else "?"
        self.faults.warning(
            f"body:{address}",
            "request body over %d bytes from %s refused (413)",
            self.max_body_bytes,
            address,
        )
        refusal = PayloadTooLarge(
            f"request body larger than {self.max_body_bytes} bytes", limit=self.max_body_bytes
        )
        self.transport.write(self._encode(refusal, close=True))
        self._disarm()
        self._linger = self.loop.call_later(self.linger_s, self._close_unread)

    def _answer(self, refusal: ApiError) -> None:
        """A refusal for a request whose body (if any) is then skipped, never buffered, sent
        after :attr:`refusal_delay_s` with the connection not read meanwhile."""
        self._skipping = True
        self._refusals += 1
        close = self._refusals >= self.refusals_before_close or not self.parser.should_keep_alive()
        self.flow.pause_reading()
        self._linger = self.loop.call_later(
            self.refusal_delay_s, self._send_refusal, self._encode(refusal, close=close), close
        )

    def _send_refusal(self, response: bytes, close: bool) -> None:
        self._linger = None
        if self.transport.is_closing():
            return
        self.transport.write(response)
        if close or self._close_after_refusal:
            self._close_unread()
            return
        self.flow.resume_reading()
        if not self._skipping:  # the request is whole: idle from here, as after any response
            self._idle()

    def _close_unread(self) -> None:
        """Close a connection whose reading is paused. Over TLS a close waits for the client's
        close_notify, which is never read while paused: asyncio would hold the connection (and
        a server stop) for its 30 s SSL shutdown timeout. The client has had its answer, and
        the unread bytes would make the kernel reset a plain TCP close anyway."""
        if self.transport.get_extra_info("ssl_object") is not None:
            self.transport.abort()
        else:
            self.transport.close()

    @classmethod
    def _encode(cls, refusal: ApiError, *, close: bool) -> bytes:
        """The response for ``refusal``, encoded once per distinct answer (a flood gets the
        same few answers: same message, a Retry-After of a few distinct seconds)."""
        key = (refusal.code, refusal.message, getattr(refusal, "retry_after", 0), close)
        encoded = cls._encoded.get(key)
        if encoded is None:
            if len(cls._encoded) >= 1024:
                cls._encoded.clear()
            encoded = cls._encoded[key] = http_response(
                refusal.status_code,
                refusal.body(),
                refusal.headers(),
                close=close,
                extra=cls.extra_headers,
            )
        return encoded

    # --- the request deadline ------------------------------------------------------------------

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
    values: dict[str, Any] = {
        "host": settings.http_host,
        "port": settings.http_port,
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
    proxies = values["forwarded_allow_ips"] if values.get("proxy_headers", True) else []
    extra = b""
    if settings.https:
        extra = b"strict-transport-security: max-age=%d\r\n" % settings.http_hsts_max_age_s
    faults = FaultLog(log, settings.fault_log_interval_s)
    http = type(
        "GuardedHttp",
        (GuardedHttpProtocol,),
        {
            "max_connections": budget.http,
            "request_timeout_s": settings.http_request_timeout_s,
            "max_header_bytes": settings.http_max_header_bytes,
            "max_body_bytes": settings.http_max_body_bytes,
            "logins": AppLogins(app),
            "trusted_proxies": _TrustedHosts(proxies),
            "extra_headers": extra,
            "faults": faults,
            "_encoded": {},
        },
    )
    values.setdefault("http", front_door(http, max_open=budget.http + budget.mqtt))
    return uvicorn.Config(app, **values)


def front_door(
    http: type[GuardedHttpProtocol], *, max_open: int | None = None
) -> type[MqttFrontDoor]:
    """The protocol connections start with: MQTT upgrades of ``/mqtt`` go to the broker, the
    rest to ``http``, under ``http``'s header limit and request deadline. ``max_open``: the
    whole connection budget, HTTP's and MQTT's (default: ``http``'s cap alone)."""
    return type(
        "FrontDoor",
        (MqttFrontDoor,),
        {
            "http": http,
            "max_connections": http.max_connections,
            "max_open": http.max_connections if max_open is None else max_open,
            "request_timeout_s": http.request_timeout_s,
            "max_header_bytes": http.max_header_bytes,
            "faults": http.faults,
        },
    )


class AppLogins:
    """The login limits of an app's runtime, there once its lifespan has started (none for an
    app that is not ours)."""

    def __init__(self, app: Any) -> None:
        self._app = app if isinstance(app, Starlette) else None

    def early_refusal(self, address: str) -> TooManyRequests | None:
        runtime = None if self._app is None else running(self._app)
        return None if runtime is None else runtime.logins.early_refusal(address)
