"""MQTT over a WebSocket that the HTTP server has just upgraded: frames in, MQTT bytes straight
into the broker's reader, packets out as frames straight onto the socket.

Why not the ASGI WebSocket (uvicorn's protocol, Starlette's ``WebSocket``, our queue writer):
in a reconnect storm that path cost the API process 0.9 ms of CPU per screen against 0.36 ms
for the same screen over TCP (py-spy, docs/benchmarks.md "Reconnect storms"). Most of it was
not WebSocket work: websockets re-parsing the request httptools had already parsed, the ASGI
scope and its middlewares, one ``asyncio.Queue`` item and one dict per message each way, a
flush task per write. MQTT needs none of it: a binary byte stream in each direction.

Here the upgrade is answered with one write, each incoming frame is unmasked (websockets' C
``apply_mask``) into the same :class:`~broker.tcp.TcpReader` buffer TCP uses (with its fast
lane for PUBACK and PINGREQ and its read pausing), and each outgoing packet is one unmasked
binary frame written to the transport, as TCP writes it.

The limits stay: a data message (all its fragments) larger than ``max_message`` is refused
with close code 1009 as soon as its header says so, before its payload is buffered (the same
bound uvicorn's ``ws_max_size`` gave); malformed frames close with 1002.

:func:`upgrade_of` (and :func:`parse_upgrade`, the same on the request's bytes) only accepts a
plain, valid RFC 6455 handshake offering an MQTT subprotocol; anything else is left to the HTTP
server's usual WebSocket handling.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import struct
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from websockets.speedups import apply_mask  # C; accepts any buffer, so no copy of the payload

from broker.tcp import TcpReader, TcpWriter

logger = logging.getLogger(__name__)

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_OP_CONT, _OP_TEXT, _OP_BINARY, _OP_CLOSE, _OP_PING, _OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
CLOSE_NORMAL, CLOSE_PROTOCOL_ERROR, CLOSE_TOO_BIG = 1000, 1002, 1009


@dataclass(frozen=True)
class Upgrade:
    """A valid WebSocket upgrade request for MQTT."""

    path: str
    key: bytes
    subprotocol: str


def parse_upgrade(request: bytes, path: str, subprotocols: tuple[str, ...]) -> Upgrade | None:
    """The upgrade in ``request`` (request line and headers, as the HTTP server re-serialises
    them) if it is a GET of ``path`` (any query) with a valid key, version 13 and one of
    ``subprotocols`` offered (the first of ours the client offers wins); otherwise ``None``."""
    head, _, _ = request.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[2] != b"HTTP/1.1":
        return None
    headers: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            return None
        headers.append((name.strip().lower(), value))
    return upgrade_of(parts[0].decode("latin-1"), parts[1], headers, path, subprotocols)


def upgrade_of(
    method: str,
    target: bytes,
    headers: Iterable[tuple[bytes, bytes]],
    path: str,
    subprotocols: tuple[str, ...],
) -> Upgrade | None:
    """:func:`parse_upgrade` on a request the HTTP server has parsed already (an HTTP/1.1
    request's method, target and headers, names in lower case, as uvicorn keeps them)."""
    if method != "GET" or target.partition(b"?")[0] != path.encode():
        return None
    grouped: dict[bytes, list[bytes]] = {}
    for name, value in headers:
        grouped.setdefault(name, []).append(value.strip())
    if _tokens(grouped, b"upgrade") != {"websocket"} or "upgrade" not in _tokens(
        grouped, b"connection"
    ):
        return None
    if grouped.get(b"sec-websocket-version") != [b"13"]:
        return None
    keys = grouped.get(b"sec-websocket-key", [])
    if len(keys) != 1:
        return None
    try:
        if len(base64.b64decode(keys[0], validate=True)) != 16:
            return None
    except binascii.Error:
        return None
    offered = {
        token.strip().decode("latin-1")
        for value in grouped.get(b"sec-websocket-protocol", [])
        for token in value.split(b",")
    }
    chosen = next((p for p in subprotocols if p in offered), None)
    if chosen is None:
        return None
    return Upgrade(path, keys[0], chosen)


def _tokens(headers: dict[bytes, list[bytes]], name: bytes) -> set[str]:
    return {
        token.strip().lower().decode("latin-1")
        for value in headers.get(name, [])
        for token in value.split(b",")
    }


def accept_response(upgrade: Upgrade, extra: list[tuple[bytes, bytes]]) -> bytes:
    """The ``101 Switching Protocols`` answer (``extra``: the server's own headers)."""
    accept = base64.b64encode(hashlib.sha1(upgrade.key + _GUID).digest())  # noqa: S324 - RFC 6455
    lines = [
        b"HTTP/1.1 101 Switching Protocols",
        b"Upgrade: websocket",
        b"Connection: Upgrade",
        b"Sec-WebSocket-Accept: " + accept,
        b"Sec-WebSocket-Protocol: " + upgrade.subprotocol.encode(),
        *(name + b": " + value for name, value in extra),
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def frame(opcode: int, payload: bytes) -> bytes:
    """A final, unmasked server frame."""
    size = len(payload)
    if size < 126:
        return bytes((0x80 | opcode, size)) + payload
    if size < 65_536:
        return struct.pack("!BBH", 0x80 | opcode, 126, size) + payload
    return struct.pack("!BBQ", 0x80 | opcode, 127, size) + payload


class WsReader(TcpReader):
    """The MQTT byte stream carried by a WebSocket's data frames (same buffer as TCP)."""


class WsWriter(TcpWriter):
    """Each packet one binary frame; closing says goodbye with a close frame first. Nothing
    is written after a close frame (RFC 6455 5.5.1) or to a transport already closing."""

    def __init__(self, transport: asyncio.Transport) -> None:
        super().__init__(transport)
        self._close_sent = False

    def write(self, data: bytes) -> None:
        if not (self._closed or self._close_sent or self._transport.is_closing()):
            self._send(frame(_OP_BINARY, data))

    def pong(self, payload: bytes) -> None:
        if not (self._closed or self._close_sent or self._transport.is_closing()):
            self._send(frame(_OP_PONG, payload))

    def send_close(self, payload: bytes) -> None:
        if not (self._closed or self._close_sent or self._transport.is_closing()):
            self._close_sent = True
            self.uncork()  # what was gathered goes before the close frame
            self._transport.write(frame(_OP_CLOSE, payload))

    async def close(self) -> None:
        self.send_close(struct.pack("!H", CLOSE_NORMAL))
        await super().close()


Serve = Callable[[WsReader, WsWriter], Awaitable[None]]
_running: set[asyncio.Task[None]] = set()


class MqttWebSocketStream:
    """One upgraded connection: the caller's asyncio protocol forwards its transport events
    here. ``serve`` runs the MQTT session (the broker's ``external_connected``)."""

    def __init__(
        self,
        transport: asyncio.Transport,
        *,
        max_message: int,
        max_read: int,
        serve: Serve,
    ) -> None:
        self._transport = transport
        self._max_message = max_message
        self.writer = WsWriter(transport)
        peer = self.writer.get_peer_info()
        self.peer = f"{peer[0]}:{peer[1]}" if peer else "unknown peer"
        self.reader = WsReader(transport, max_read, self.peer)
        self._pending = bytearray()  # an incomplete frame
        self._needed = 0  # bytes it takes to complete it (or to learn its length)
        self._message_size = 0  # data bytes of the message being received (across fragments)
        self._closing = False
        self.task: asyncio.Task[None] = asyncio.get_running_loop().create_task(self._run(serve))
        _running.add(self.task)  # held until done: nothing else awaits it
        self.task.add_done_callback(_running.discard)

    async def _run(self, serve: Serve) -> None:
        try:
            await serve(self.reader, self.writer)
        except Exception:  # one connection's failure must not reach the event loop's handler
            logger.exception("MQTT over WebSocket failed")
        finally:
            await self.writer.close()

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        if self._pending:
            self._pending += data
            if len(self._pending) < self._needed:
                return  # the frame is still incomplete: no re-parse per chunk
            data = bytes(self._pending)
            self._pending.clear()
        view = memoryview(data)
        offset, size = 0, len(data)
        while offset < size:
            end = self._one_frame(data, view, offset, size)
            if self._closing:
                return
            if end < 0:  # incomplete: keep the rest until ``-end`` bytes are there
                self._needed = -end
                self._pending += view[offset:]
                return
            offset = end

    def _one_frame(self, data: bytes, view: memoryview, offset: int, size: int) -> int:
        """Handle the frame at ``offset``; return where the next one starts, or, when it is not
        all there yet, minus the bytes it needs from ``offset`` (as far as is known)."""
        if offset + 2 > size:
            return -2
        first, second = data[offset], data[offset + 1]
        opcode, length = first & 0x0F, second & 0x7F
        header = 2
        if length == 126:
            if offset + 4 > size:
                return -4
            length = int.from_bytes(data[offset + 2 : offset + 4], "big")
            header = 4
        elif length == 127:
            if offset + 10 > size:
                return -10
            length = int.from_bytes(data[offset + 2 : offset + 10], "big")
            header = 10
        if first & 0x70 or not second & 0x80:  # extension bits, or a client frame unmasked
            return self._fail(CLOSE_PROTOCOL_ERROR, "malformed frame")
        if opcode >= _OP_CLOSE:
            if length > 125 or not first & 0x80 or opcode > _OP_PONG:
                return self._fail(CLOSE_PROTOCOL_ERROR, "malformed control frame")
        elif opcode > _OP_BINARY:
            return self._fail(CLOSE_PROTOCOL_ERROR, f"unknown opcode {opcode}")
        elif self._message_size + length > self._max_message:
            # Judged on the header alone: an oversized message is never buffered.
            return self._fail(CLOSE_TOO_BIG, f"message over {self._max_message} bytes")
        end = offset + header + 4 + length
        if end > size:
            return -(header + 4 + length)
        mask = data[offset + header : offset + header + 4]
        payload = apply_mask(view[offset + header + 4 : end], mask)  # type: ignore[arg-type]
        if opcode < _OP_CLOSE:
            self._message_size = 0 if first & 0x80 else self._message_size + length
            if payload:
                self.reader.feed(payload)
        elif opcode == _OP_PING:
            self.writer.pong(payload)
        elif opcode == _OP_CLOSE:
            self._closing = True
            self.writer.send_close(payload[:2])  # echo the code, as the RFC asks
            self.reader.feed_eof()
            self._transport.close()
        return end

    def _fail(self, code: int, why: str) -> int:
        logger.info("closing MQTT WebSocket from %s (%d): %s", self.peer, code, why)
        self._closing = True
        self._pending.clear()
        self.writer.send_close(struct.pack("!H", code))
        self.reader.feed_eof()
        self._transport.close()
        return 0

    def eof_received(self) -> None:
        self.reader.feed_eof()

    def connection_lost(self) -> None:
        self.reader.feed_eof()
        self.writer.connection_lost()

    def pause_writing(self) -> None:
        self.writer.pause_writing()

    def resume_writing(self) -> None:
        self.writer.resume_writing()
