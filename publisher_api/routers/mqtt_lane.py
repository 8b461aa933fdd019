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
from typing import TYPE_CHECKING, Any, ClassVar, cast

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from uvicorn.config import Config
from uvicorn.protocols.websockets.auto import AutoWebSocketsProtocol
from uvicorn.server import ServerState

from publisher_api.deps import realtime_of
from publisher_api.routers.realtime import MQTT_WS_PATH, mqtt_over_websocket

if TYPE_CHECKING:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

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


class MqttLaneWebSocket(asyncio.Protocol):
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
        self._transport: asyncio.Transport | None = None
        self._stream: MqttWebSocketStream | None = None
        self._other: asyncio.Protocol | None = None

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
    def take_over(cls, http: HttpToolsProtocol) -> bool:
        """Answer a valid MQTT upgrade of ``/mqtt`` from the request ``http`` (uvicorn's HTTP
        protocol) has just parsed, and become its connection's protocol; ``False`` (nothing
        done) for anything else, which then takes uvicorn's usual way (:meth:`_upgrade`).

        Why: uvicorn would re-serialise the parsed request (line and headers) for this class to
        parse again (:meth:`data_received`); here the parsed headers are read as they are."""
        broker = _running_broker(cls.owner)
        if broker is None or http.scope.get("http_version") != "1.1":
            return False
        from broker.embedded import MQTT_SUBPROTOCOLS
        from broker.ws_stream import upgrade_of

        upgrade = upgrade_of(
            http.scope["method"], http.url, http.headers, MQTT_WS_PATH, MQTT_SUBPROTOCOLS
        )
        if upgrade is None:
            return False
        http.connections.discard(http)  # as uvicorn's upgrade does: no longer an HTTP connection
        lane = cls(config=http.config, server_state=http.server_state, app_state=http.app_state)
        lane.connection_made(http.transport)
        lane._accept(broker, upgrade)
        http.transport.set_protocol(lane)
        # Done with HTTP: let go of the parser, which holds six of ``http``'s bound methods.
        # That cycle (protocol, parser, flow control, scope, ~15 objects) would wait for the
        # garbage collector: in a 3,000-screen storm, a 0.1 s collection with the event loop
        # stopped, and more frequent young ones (docs/benchmarks.md, fifth pass). Without it
        # reference counting frees them as this call returns.
        http.parser = None  # type: ignore[assignment]
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


def websocket_protocol(owner: Any) -> type[MqttLaneWebSocket]:
    """The WebSocket protocol class for a server running ``owner`` (the FastAPI app)."""
    return type("MqttLaneWebSocketFor", (MqttLaneWebSocket,), {"owner": owner})


def _running_broker(owner: Any) -> EmbeddedBroker | None:
    broker = getattr(realtime_of(owner), "broker", None)
    return broker if broker is not None and broker.running else None
