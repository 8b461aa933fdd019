"""MQTT over the HTTP server's ``/mqtt`` without ASGI in between (issue 17): uvicorn with the
server's WebSocket protocol (publisher_api.routers.mqtt_lane.MqttLaneWebSocket) and a real
broker in its event loop, real paho clients and raw sockets.

The mechanism: a valid MQTT upgrade never reaches the app (the app's own ``/mqtt`` route counts
its calls and stays at zero), yet the connection is the broker's ``http-ws`` listener, with the
same frame limit and isolation; anything else still reaches the app as before."""

from __future__ import annotations

import base64
import os
import socket
import struct
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect
from websockets.typing import Subprotocol

from bench import broker_wire as wire
from broker.ws_stream import Upgrade, WsWriter, accept_response, frame, parse_upgrade
from protocol import Role
from protocol.topics import queue_topic
from publisher_api.routers.mqtt_lane import MqttFrontDoor, MqttLaneWebSocket, websocket_protocol
from publisher_api.server import GuardedHttpProtocol, front_door
from tests.broker.harness import BrokerThread, broker_settings, payload_is, token
from tests.broker.http_server import HttpServer, broker_route
from tests.support.mqtt import ConnectRefused, Recorder
from tests.support.raw_socket import recv_or_reset

MAX_PAYLOAD = 4096
MAX_MESSAGE = MAX_PAYLOAD + 2 + 65_535 + 2 + 16  # as publisher_api.server sets ws_max_size
SUBPROTOCOLS = ("mqtt", "mqttv3.1")


class LaneServer(HttpServer):
    """uvicorn as ``publisher_api.server`` configures its WebSocket side, in the broker's loop."""

    def __init__(self, *, http_cap: int = 100, mqtt_cap: int = 100) -> None:
        broker = BrokerThread(
            broker_settings(
                mqtt_ws_port=None,
                mqtt_max_payload_bytes=MAX_PAYLOAD,
                mqtt_max_connections=mqtt_cap,
            )
        ).start()
        self.route_calls: list[str] = []
        serve = broker_route(broker)

        async def mqtt(websocket: WebSocket) -> None:  # what the app would do (ASGI)
            self.route_calls.append(websocket.url.path)
            await serve(websocket)

        async def echo(websocket: WebSocket) -> None:
            self.route_calls.append(websocket.url.path)
            await websocket.accept()
            await websocket.send_text(await websocket.receive_text())
            await websocket.close()

        app = Starlette(routes=[WebSocketRoute("/mqtt", mqtt), WebSocketRoute("/echo", echo)])
        app.state.runtime = SimpleNamespace(realtime=SimpleNamespace(broker=broker.broker))
        super().__init__(
            broker,
            app,
            http=front_door(
                type("CappedHttp", (GuardedHttpProtocol,), {"max_connections": http_cap}),
                max_open=http_cap + mqtt_cap,
            ),
            ws=websocket_protocol(app),
            ws_max_size=MAX_MESSAGE,
        )

    def http_ws_connections(self) -> int:
        snapshot = self.broker.broker.core.snapshot()
        return sum(n for (listener, _), n in snapshot.connections.items() if listener == "http-ws")

    def front_door(self) -> type[MqttFrontDoor]:
        door = self.server.config.http_protocol_class
        assert isinstance(door, type)
        assert issubclass(door, MqttFrontDoor)
        return door

    def lane_connections(self) -> int:
        async def count() -> int:
            return sum(
                isinstance(c, MqttLaneWebSocket) for c in self.server.server_state.connections
            )

        return self.broker.call(count())


@pytest.fixture
def lane() -> Iterator[LaneServer]:
    server = LaneServer()
    try:
        yield server
    finally:
        server.close()


def test_mqtt_upgrades_reach_the_broker_without_the_app(lane: LaneServer) -> None:
    publisher = lane.client(token(Role.PUBLISHER, None)).connect()
    screen = lane.client(token(Role.PUBLIC, "a")).connect()
    try:
        topic = queue_topic("a")
        assert screen.subscribe(topic) == [1]
        # Small and large (multi-read, 64-bit length) packets, both directions.
        for payload in (b"q" * 10, b"r" * MAX_PAYLOAD):
            publisher.publish(topic, payload, retain=True)
            assert screen.wait_for(payload_is(payload)).topic == topic
        late = lane.client(token(Role.PUBLIC, "a")).connect()
        try:
            assert late.subscribe(topic) == [1]
            assert late.wait_for(payload_is(b"r" * MAX_PAYLOAD)).retain
            assert lane.http_ws_connections() == 3  # all three are the broker's http-ws ones
        finally:
            late.close()
        assert lane.route_calls == []  # no ASGI: the app's /mqtt route never ran
    finally:
        screen.close()
        publisher.close()


def test_upgraded_screens_count_against_the_mqtt_cap_not_the_http_one() -> None:
    """Once upgraded, a screen is an MQTT connection: the broker's http-ws cap (its share of the
    open-files budget) applies, with a CONNACK 3 past it; the HTTP cap counts HTTP connections
    only (counting screens there too booked each one twice and refused them at the HTTP share)."""
    lane = LaneServer(http_cap=2, mqtt_cap=4)
    screens: list[Recorder] = []
    try:
        for _ in range(4):  # twice the HTTP cap
            screens.append(lane.client(token(Role.PUBLIC, "a")).connect())
        assert lane.http_ws_connections() == 4
        assert lane.lane_connections() == 0
        refused = lane.client(token(Role.PUBLIC, "a"))
        with pytest.raises(ConnectRefused, match=r"(?i)unavailable"):  # CONNACK 3
            refused.connect(timeout=5)
        with httpx.Client(base_url=f"http://127.0.0.1:{lane.port}") as http:  # HTTP still served
            assert http.get("/nothing-here").status_code == 404
    finally:
        for screen in screens:
            screen.close()
        lane.close()


def test_isolation_holds_on_the_lane(lane: LaneServer) -> None:
    screen = lane.client(token(Role.PUBLIC, "a")).connect()
    try:
        assert screen.subscribe(queue_topic("b")) == [0x80]
    finally:
        screen.close()


def test_everything_else_still_reaches_the_app(lane: LaneServer) -> None:
    with ws_connect(f"ws://127.0.0.1:{lane.port}/echo") as echo:
        echo.send("hello")
        assert echo.recv(timeout=5) == "hello"
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(f"ws://127.0.0.1:{lane.port}/mqtt")  # no MQTT subprotocol: the app refuses
    assert refused.value.response.status_code == 403
    assert lane.route_calls == ["/echo", "/mqtt"]


def test_an_oversized_message_is_refused_from_its_header(lane: LaneServer) -> None:
    with ws_connect(
        f"ws://127.0.0.1:{lane.port}/mqtt", subprotocols=[Subprotocol("mqtt")], max_size=None
    ) as ws:
        ws.send(b"\x10" + b"\xff" * (MAX_MESSAGE + 1))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009  # "message too big", before the payload is read


def _raw_upgrade(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(wire.ws_handshake("127.0.0.1", port))
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def _masked(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    first = (0x80 if fin else 0) | opcode
    if len(payload) < 126:
        return bytes((first, 0x80 | len(payload))) + mask + body
    return struct.pack("!BBH", first, 0x80 | 126, len(payload)) + mask + body


def _server_frames(sock: socket.socket, until: int) -> list[tuple[int, bytes]]:
    """Unmasked frames from the server, read until ``until`` of them (or the socket closes)."""
    data, frames = b"", list[tuple[int, bytes]]()
    while len(frames) < until:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
        while len(data) >= 2 and len(data) >= 2 + (data[1] & 0x7F):
            size = data[1] & 0x7F
            assert size < 126  # all small here
            frames.append((data[0], data[2 : 2 + size]))
            data = data[2 + size :]
    return frames


def test_fragments_split_reads_and_pings(lane: LaneServer) -> None:
    sock = _raw_upgrade(lane.port)
    try:
        sock.sendall(_masked(0x9, b"are you there"))
        assert _server_frames(sock, 1) == [(0x8A, b"are you there")]  # final pong, same data
        connect = wire.connect("fragmented", password=token(Role.PUBLIC, "a"))
        frames = _masked(0x2, connect[:7], fin=False) + _masked(0x0, connect[7:])
        for i in range(0, len(frames), 5):  # a few bytes per read
            sock.sendall(frames[i : i + 5])
        assert _server_frames(sock, 1) == [(0x82, b"\x20\x02\x00\x00")]  # CONNACK, accepted
        sock.sendall(_masked(0x8, struct.pack("!H", 1000)))
        assert _server_frames(sock, 2)[:1] == [(0x88, struct.pack("!H", 1000))]  # close echoed
    finally:
        sock.close()


def test_an_unmasked_client_frame_is_a_protocol_error(lane: LaneServer) -> None:
    sock = _raw_upgrade(lane.port)
    try:
        sock.sendall(b"\x82\x02\xe0\x00")
        assert _server_frames(sock, 2)[:1] == [(0x88, struct.pack("!H", 1002))]
    finally:
        sock.close()


# --- the handshake, without a network ------------------------------------------------------

KEY = base64.b64encode(b"0123456789abcdef")


def _request(path: bytes = b"/mqtt", **headers: bytes) -> bytes:
    fields = {
        b"host": b"x",
        b"upgrade": b"websocket",
        b"connection": b"keep-alive, Upgrade",
        b"sec-websocket-key": KEY,
        b"sec-websocket-version": b"13",
        b"sec-websocket-protocol": b"mqttv3.1, mqtt",
    }
    for name, value in headers.items():
        fields[name.replace("_", "-").encode()] = value
    lines = [b"GET " + path + b" HTTP/1.1"] + [k + b": " + v for k, v in fields.items() if v]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def test_a_valid_upgrade_is_parsed_and_answered_per_rfc_6455() -> None:
    upgrade = parse_upgrade(_request(b"/mqtt?x=1"), "/mqtt", SUBPROTOCOLS)
    assert upgrade == Upgrade("/mqtt", KEY, "mqtt")  # our preference, not the client's order
    # RFC 6455 section 1.3's example key and answer.
    answer = accept_response(Upgrade("/mqtt", b"dGhlIHNhbXBsZSBub25jZQ==", "mqtt"), [])
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in answer
    assert answer.startswith(b"HTTP/1.1 101 ")


@pytest.mark.parametrize(
    "request_bytes",
    [
        _request(b"/mqtt/x"),
        _request(b"/other"),
        _request(sec_websocket_protocol=b""),
        _request(sec_websocket_protocol=b"wamp"),
        _request(sec_websocket_version=b"8"),
        _request(sec_websocket_key=b"not base64!"),
        _request(sec_websocket_key=base64.b64encode(b"short")),
        _request(upgrade=b"h2c"),
        _request(connection=b"keep-alive"),
        _request().replace(b"GET ", b"POST ", 1),
    ],
)
def test_anything_unusual_is_left_to_the_http_server(request_bytes: bytes) -> None:
    assert parse_upgrade(request_bytes, "/mqtt", SUBPROTOCOLS) is None


class _ResetLater:
    """A transport whose peer can no longer be asked once the client has reset (uvloop)."""

    def __init__(self) -> None:
        self.reset = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if self.reset:
            raise ValueError("negative file descriptor")
        return ("127.0.0.1", 5555) if name == "peername" else default


def test_the_peer_is_known_after_the_client_has_reset() -> None:
    """In a storm, screens that give up reset before their session starts; the session start
    asked the transport for the peer then, and 1,300 such connections ended in tracebacks."""
    transport = _ResetLater()
    writer = WsWriter(transport)  # type: ignore[arg-type]
    transport.reset = True
    assert writer.get_peer_info() == ("127.0.0.1", 5555)


class _Recording:
    """A transport that records each write (a ``send`` call on a real socket)."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 5555) if name == "peername" else default

    def is_closing(self) -> bool:
        return False

    def write(self, data: bytes) -> None:
        self.writes.append(data)


def test_gathered_packets_leave_as_one_write_of_frames_and_before_a_close() -> None:
    transport = _Recording()
    writer = WsWriter(transport)  # type: ignore[arg-type]
    writer.cork()
    writer.write(b"\x90\x03\x00\x01\x01")  # SUBACK
    writer.write(b"\x30\x03\x00\x01t")  # a PUBLISH
    assert transport.writes == []
    writer.uncork()
    assert transport.writes == [
        frame(0x2, b"\x90\x03\x00\x01\x01") + frame(0x2, b"\x30\x03\x00\x01t")
    ]
    writer.cork()
    writer.write(b"\xd0\x00")
    writer.send_close(b"\x03\xe8")
    assert transport.writes[1:] == [frame(0x2, b"\xd0\x00"), frame(0x8, b"\x03\xe8")]


def test_an_mqtt_upgrade_is_answered_without_building_the_http_protocol(
    lane: LaneServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The front door answers a whole MQTT upgrade from its bytes; the HTTP protocol (uvicorn's
    parser and all) is built only for what the front door hands over, which still works."""
    built: list[str] = []
    real = GuardedHttpProtocol.__init__

    def spy(self: GuardedHttpProtocol, *args: Any, **kwargs: Any) -> None:
        built.append(type(self).__name__)
        real(self, *args, **kwargs)

    monkeypatch.setattr(GuardedHttpProtocol, "__init__", spy)
    screen = lane.client(token(Role.PUBLIC, "a")).connect()
    try:
        assert screen.subscribe(queue_topic("a")) == [1]
        assert lane.http_ws_connections() == 1
    finally:
        screen.close()
    assert built == []
    with pytest.raises(InvalidStatus):  # no MQTT subprotocol: uvicorn's way, to the app
        ws_connect(f"ws://127.0.0.1:{lane.port}/mqtt")
    assert len(built) == 1
    # An upgrade split over two reads: handed over, upgraded the usual way, still MQTT.
    handshake = wire.ws_handshake("127.0.0.1", lane.port)
    with socket.create_connection(("127.0.0.1", lane.port), timeout=10) as sock:
        sock.sendall(handshake[:20])
        time.sleep(0.2)
        sock.sendall(handshake[20:])
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(4096)
        assert head.startswith(b"HTTP/1.1 101"), head
        sock.sendall(_masked(0x2, wire.connect("split", password=token(Role.PUBLIC, "a"))))
        assert _server_frames(sock, 1) == [(0x82, b"\x20\x02\x00\x00")]  # CONNACK, accepted
    assert len(built) == 2
    assert lane.route_calls == ["/mqtt"]  # only the refused one reached the app


def test_connections_not_yet_read_count_against_the_whole_budget() -> None:
    """In a storm every screen is accepted before the first is read: over HTTP's share alone
    they were refused while the process had files to spare. HTTP requests keep HTTP's cap."""
    server = LaneServer(http_cap=2, mqtt_cap=3)
    silent = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(3)]
    screens: list[socket.socket] = []
    try:
        screens.append(_raw_upgrade(server.port))  # 3 waiting > HTTP's 2: still a screen
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as request:
            request.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
            assert recv_or_reset(request) == b""  # an HTTP request over HTTP's cap: refused
        screens.append(_raw_upgrade(server.port))  # 3 waiting + 2 screens: the whole budget
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as extra:
            assert recv_or_reset(extra) == b""  # over it: refused before a byte is read
    finally:
        for sock in silent + screens:
            sock.close()
        server.close()


def test_a_connection_that_sends_nothing_is_closed_at_its_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The front door's one timer for all waiting connections closes each at its deadline,
    oldest first, and only those that still have not asked anything."""
    monkeypatch.setattr(GuardedHttpProtocol, "request_timeout_s", 0.5)
    server = LaneServer()
    try:
        assert server.front_door().request_timeout_s == 0.5
        silent = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        time.sleep(0.25)
        later = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        screen = _raw_upgrade(server.port)  # asked at once: never closed by the deadline
        try:
            started = time.monotonic()
            assert silent.recv(1) == b""
            assert later.recv(1) == b""
            assert time.monotonic() - started >= 0.15  # the second waited its own deadline
            screen.sendall(_masked(0x9, b"still here"))
            assert _server_frames(screen, 1) == [(0x8A, b"still here")]
        finally:
            for sock in (silent, later, screen):
                sock.close()
    finally:
        server.close()
