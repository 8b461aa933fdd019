"""The MQTT lane: WebSocket connections to ``/mqtt`` go straight to the broker, in front of
FastAPI's middleware stack and routing.

Why: in a reconnect storm every screen opens one at the same moment, and the stack around the
route (routing, dependency analysis, the HTTP middlewares, each wrapping every ``send``) was a
fifth of the API process's CPU per connection (py-spy; 0.82 -> 0.60 ms per connection with this
lane, docs/benchmarks.md "Reconnect storms"). None of it applies to a WebSocket: the HTTP
middlewares pass WebSocket scopes through, and the route takes no dependency.

It changes no behaviour: it calls the route's own function
(:func:`publisher_api.routers.realtime.mqtt_over_websocket`) with the WebSocket FastAPI would
have built; any other scope or path goes to FastAPI untouched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeGuard, cast

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from uvicorn.config import Config
from uvicorn.protocols.websockets.auto import AutoWebSocketsProtocol
from uvicorn.server import ServerState

from config.deadlines import Deadline, deadlines
from config.faultlog import FaultLog
from publisher_api.deps import realtime_of
from publisher_api.routers.realtime import MQTT_WS_PATH, mqtt_over_websocket

if TYPE_CHECKING:
    from broker.embedded import EmbeddedBroker
    from broker.ws_stream import MqttWebSocketStream, Upgrade


class MqttLane:
    def __init__(self, app: ASGIApp, owner: ASGIApp) -> None:
        self.app = app
        self.owner = owner  # the FastAPI app: the route reads its state (the running broker)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == MQTT_WS_PATH:
            scope["app"] = self.owner
            await mqtt_over_websocket(WebSocket(scope, receive, send))
            return
        await self.app(scope, receive, send)


class _ServerProtocol(asyncio.Protocol):
    """A protocol uvicorn builds per connection: what its factory hands over, kept."""

    __slots__ = ("_app_state", "_config", "_loop", "_server_state", "_transport")

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self._config = config
        self._server_state = server_state
        self._app_state = app_state
        self._loop = _loop
        self._transport: asyncio.Transport | None = None


class MqttLaneWebSocket(_ServerProtocol):
    """uvicorn's WebSocket protocol for this server (``ws=`` in
    :func:`publisher_api.server.server_config`): a valid MQTT upgrade of ``/mqtt`` is answered
    here and its connection handed to the broker's :class:`~broker.ws_stream.MqttWebSocketStream`,
    with no ASGI in between (0.9 -> ~0.5 ms of CPU per screen in a reconnect storm,
    docs/benchmarks.md). Anything else (another path, no MQTT subprotocol, a malformed
    handshake, no embedded broker) goes to uvicorn's usual protocol, which runs the app (the
    lane above, then FastAPI) and answers exactly as before.

    Once upgraded, the connection is an MQTT connection and counts where MQTT connections do:
    against the broker's ``http-ws`` listener cap and its total, the MQTT share of the
    open-files budget (:func:`broker.embedded.mqtt_connection_caps`; beyond it, CONNACK 3). It
    leaves uvicorn's connection set, which the HTTP connection cap counts: in it, every screen
    was counted twice in that budget and the HTTP share (6,624 at a 20,000-file limit) refused
    the 6,625th screen of a 10,000-screen storm, again and again. The broker closes these
    connections when it stops (the lifespan's shutdown), as it does its TCP ones."""

    owner: ClassVar[Any] = None
    """The FastAPI app, whose state holds the running broker (set by :func:`websocket_protocol`)."""
    fallback: ClassVar[Callable[..., asyncio.Protocol] | None] = AutoWebSocketsProtocol

    _stream: MqttWebSocketStream | None = None
    """The broker's stream, once upgraded here."""
    _other: asyncio.Protocol | None = None
    """uvicorn's own WebSocket protocol, for anything not upgraded here."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._stream is not None:
            self._stream.data_received(data)
        elif self._other is not None:
            self._other.data_received(data)
        else:
            self._upgrade(data)  # the first call: uvicorn hands over the request it parsed

    def _upgrade(self, request: bytes) -> None:
        transport = self._transport
        assert transport is not None
        broker = _running_broker(self.owner)
        upgrade = None
        if broker is not None:
            # Only with the embedded broker running (and so imported): deployments on an
            # external broker never load amqtt.
            from broker.embedded import MQTT_SUBPROTOCOLS
            from broker.ws_stream import parse_upgrade

            upgrade = parse_upgrade(request, MQTT_WS_PATH, MQTT_SUBPROTOCOLS)
        if broker is None or upgrade is None:
            if self.fallback is None:
                transport.close()
                return
            other = self.fallback(
                config=self._config, server_state=self._server_state, app_state=self._app_state
            )
            self._other = other
            other.connection_made(transport)
            other.data_received(request)
            return
        self._accept(broker, upgrade)

    def _accept(self, broker: EmbeddedBroker, upgrade: Upgrade) -> None:
        from broker.ws_stream import accept_response

        transport = self._transport
        assert transport is not None
        transport.write(accept_response(upgrade, self._server_state.default_headers))
        self._stream = broker.websocket_stream(transport, max_message=self._config.ws_max_size)

    @classmethod
    def answer(
        cls,
        transport: asyncio.Transport,
        request: bytes,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
    ) -> bool:
        """Answer ``request``, a connection's first bytes, if it is a whole valid MQTT upgrade of
        ``/mqtt`` (:class:`MqttFrontDoor`), and become the connection's protocol; ``False``
        (nothing done) for anything else, which then goes to the HTTP protocol."""
        broker = _running_broker(cls.owner)
        head_end = request.find(b"\r\n\r\n")
        if broker is None or head_end < 0:
            return False
        from broker.embedded import MQTT_SUBPROTOCOLS
        from broker.ws_stream import parse_upgrade

        upgrade = parse_upgrade(request, MQTT_WS_PATH, MQTT_SUBPROTOCOLS)
        if upgrade is None:
            return False
        lane = cls(config=config, server_state=server_state, app_state=app_state)
        transport.set_protocol(lane)
        lane.connection_made(transport)
        lane._accept(broker, upgrade)
        rest = request[head_end + 4 :]
        if rest:  # a client that did not wait for the 101 (none we know of)
            lane.data_received(rest)
        return True

    def eof_received(self) -> bool | None:
        if self._stream is not None:
            self._stream.eof_received()
        elif self._other is not None:
            return self._other.eof_received()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._stream is not None:
            self._stream.connection_lost()
        elif self._other is not None:
            self._other.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._stream is not None:
            self._stream.pause_writing()
        elif self._other is not None:
            self._other.pause_writing()

    def resume_writing(self) -> None:
        if self._stream is not None:
            self._stream.resume_writing()
        elif self._other is not None:
            self._other.resume_writing()


class MqttFrontDoor(_ServerProtocol):
    """The protocol every connection to the API's port starts with (``http=`` in
    :func:`publisher_api.server.server_config`). A screen's first bytes are one whole WebSocket
    upgrade of ``/mqtt``: that is answered here (:meth:`MqttLaneWebSocket.answer`) and the
    connection handed to the broker without uvicorn's HTTP protocol ever being built for it.
    Building it, with its parser, flow control, two address lookups, two loggers and its
    request timer, then parsing the request through a dozen Python callbacks, was 15 % of the
    API process's CPU per screen in a 10,000-screen storm (py-spy, docs/benchmarks.md
    "Reconnect storms", sixth pass).

    Anything else (any other request, an upgrade split over several reads, no embedded
    broker) is handed, with the bytes read so far, to :attr:`http`, the guarded HTTP
    protocol, which serves it exactly as before, under its own connection cap. What that
    protocol enforces from the first byte holds here too: the header limit (a first read
    larger than it is handed over, to get its 431), and the deadline: a connection that sends
    nothing within :attr:`request_timeout_s` is closed, as the HTTP protocol closes one that
    sends no whole request (one timer for all such deadlines: :mod:`config.deadlines`).

    A connection that has not said what it is yet counts against the whole budget
    (:attr:`max_open`, HTTP's share and MQTT's), since it may become either; beyond it, it is
    handed over to be refused there (logged once per interval). Counted against HTTP's share
    alone, a 10,000-screen storm, whose screens are all accepted before the first is read,
    had the 9,823rd refused and retrying while the process had thousands of files to spare."""

    __slots__ = ("_deadline",)

    http: ClassVar[Callable[..., asyncio.Protocol]]
    """The guarded HTTP protocol (uvicorn's factory signature)."""
    max_connections: ClassVar[int]
    """:attr:`http`'s cap."""
    max_open: ClassVar[int]
    """The whole connection budget, HTTP's and MQTT's (:mod:`config.fd_budget`)."""
    request_timeout_s: ClassVar[float]
    max_header_bytes: ClassVar[int]
    faults: ClassVar[FaultLog]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)
        self._transport = transport
        self._deadline: Deadline | None = None  # set while it has sent nothing
        connections = self._server_state.connections
        if len(connections) >= self.max_connections and self._open_in_all() >= self.max_open:
            self._transport = None
            self._hand_over(transport, b"")  # refused there (over its cap), with its log line
            return
        connections.add(self)  # type: ignore[arg-type]  # counted, and closed at shutdown
        self._deadline = deadlines().add(self.request_timeout_s, self._expired)

    def data_received(self, data: bytes) -> None:
        transport = self._transport
        if self._deadline is None or transport is None:
            return
        self._leave()
        self._transport = None
        lane = self._config.ws_protocol_class
        if (
            len(data) <= self.max_header_bytes
            and data.startswith(b"GET ")
            and _is_lane(lane)
            and lane.answer(transport, data, self._config, self._server_state, self._app_state)
        ):
            return
        self._hand_over(transport, data)

    def eof_received(self) -> bool | None:
        self._leave()
        return None  # nothing was asked: close

    def connection_lost(self, exc: Exception | None) -> None:
        self._leave()
        self._transport = None

    def shutdown(self) -> None:
        """uvicorn's server stop: a connection that has not asked anything is closed."""
        if self._transport is not None:
            self._transport.close()

    def _expired(self) -> None:
        transport = self._transport
        self._leave()
        if transport is None:
            return
        self._transport = None
        peer = transport.get_extra_info("peername") or ("?",)
        self.faults.warning(
            "http-slow",
            "closing a connection from %s: no whole request within %s s",
            peer[0],
            self.request_timeout_s,
        )
        transport.close()

    def _open_in_all(self) -> int:
        """Connections open in this process, HTTP (waiting ones included) and MQTT."""
        lane = self._config.ws_protocol_class
        broker = _running_broker(lane.owner) if _is_lane(lane) else None
        mqtt = 0 if broker is None else broker.open_connections()
        return len(self._server_state.connections) + mqtt

    def _leave(self) -> None:
        """No longer waiting for its first bytes (asked, closed or timed out)."""
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
            self._server_state.connections.discard(self)

    def _hand_over(self, transport: asyncio.Transport, data: bytes) -> None:
        http = self.http(
            config=self._config,
            server_state=self._server_state,
            app_state=self._app_state,
            _loop=self._loop,
        )
        transport.set_protocol(http)
        http.connection_made(transport)
        if data and not transport.is_closing():
            http.data_received(data)


def _is_lane(protocol: object) -> TypeGuard[type[MqttLaneWebSocket]]:
    return isinstance(protocol, type) and issubclass(protocol, MqttLaneWebSocket)


def websocket_protocol(owner: Any) -> type[MqttLaneWebSocket]:
    """The WebSocket protocol class for a server running ``owner`` (the FastAPI app)."""
    return type("MqttLaneWebSocketFor", (MqttLaneWebSocket,), {"owner": owner})


def _running_broker(owner: Any) -> EmbeddedBroker | None:
    broker = getattr(realtime_of(owner), "broker", None)
    return broker if broker is not None and broker.running else None
