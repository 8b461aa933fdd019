"""Byte streams between a connection and amqtt: TCP, the websockets server and Starlette.

amqtt reads packets through a ``ReaderAdapter`` and writes through a ``WriterAdapter``. Ours add
three things every transport needs:

- a size guard: a read larger than the payload limit (the payload of a PUBLISH, or any one field
  of a CONNECT) is refused before its bytes are buffered, so an oversized packet costs nothing
  and ends only its own connection (:class:`PacketTooLarge`);
- a ``write()`` that never blocks and always makes progress on its own, so the broker's fan-out
  can hand a packet to a thousand connections in one synchronous loop;
- ``pending_bytes()``, so the broker can spot a subscriber that does not read (slow consumer).

WebSocket writers queue whole packets and flush them from one task per connection at a time;
packet boundaries never interleave.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from abc import abstractmethod
from collections import deque
from collections.abc import Callable
from typing import cast

from amqtt.adapters import ReaderAdapter, WriterAdapter
from starlette.websockets import WebSocket, WebSocketState
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

logger = logging.getLogger(__name__)


class PacketTooLarge(Exception):
    """A packet field is larger than the broker accepts; the connection is closed."""


class GuardedReader(ReaderAdapter):  # type: ignore[misc]  # amqtt ships no types
    """Refuses any single read above ``max_read`` bytes, then reads exactly ``n`` bytes."""

    def __init__(self, max_read: int, peer: str) -> None:
        self._max_read = max_read
        self._peer = peer
        self.fast_lane: Callable[[int, bytes], None] | None = None
        """Set by the protocol handler: called in place for PUBACK and PINGREQ packets by
        transports that can spot them as bytes arrive (TCP); others ignore it."""
        self.pauses = 0
        """Times this connection's socket stopped being read (its buffer was full)."""

    def buffered_bytes(self) -> int:
        """Bytes received and not yet read by the broker (the connection's inbound backlog)."""
        return 0

    @property
    def paused(self) -> bool:
        """Whether the socket is not being read now because the buffer is full."""
        return False

    async def read(self, n: int = -1) -> bytes:
        if n > self._max_read:
            logger.warning(
                "refusing a %d-byte packet field from %s (limit %d bytes): closing its connection",
                n,
                self._peer,
                self._max_read,
            )
            raise PacketTooLarge(f"{n} bytes > limit {self._max_read}")
        return await self._read(n)

    @abstractmethod
    async def _read(self, n: int) -> bytes: ...

    def feed_eof(self) -> None:
        return None


class QueueWriter(WriterAdapter):  # type: ignore[misc]  # amqtt ships no types
    """Collects whole packets; one flush task at a time sends them in order."""

    def __init__(self, peer: tuple[str, int]) -> None:
        self._peer = peer
        self._pending: deque[bytes] = deque()
        self._pending_size = 0
        self._flusher: asyncio.Task[None] | None = None
        self._closed = False

    def write(self, data: bytes) -> None:
        if self._closed:
            return
        self._pending.append(bytes(data))
        self._pending_size += len(data)
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    async def drain(self) -> None:
        flusher = self._flusher
        if flusher is not None:
            await asyncio.shield(flusher)

    def pending_bytes(self) -> int:
        return self._pending_size

    def get_peer_info(self) -> tuple[str, int] | None:
        return self._peer

    def get_ssl_info(self) -> ssl.SSLObject | None:
        return None

    async def close(self) -> None:
        if self._closed:
            return
        with contextlib.suppress(Exception):  # a peer that does not read gets 2 s, no more
            await asyncio.wait_for(self.drain(), timeout=2)
        self._closed = True
        self._pending.clear()
        self._pending_size = 0
        await self._close()

    async def _flush(self) -> None:
        try:
            while self._pending:
                # Everything queued so far goes out as one frame: fewer sends under fan-out.
                chunks = list(self._pending)
                self._pending.clear()
                self._pending_size = 0
                await self._send(chunks[0] if len(chunks) == 1 else b"".join(chunks))
        except Exception as exc:  # the peer went away; the reader side ends the session
            logger.debug("send to %s failed: %r", self._peer, exc)
            self._pending.clear()
            self._pending_size = 0
            self._closed = True
        finally:
            self._flusher = None

    @abstractmethod
    async def _send(self, data: bytes) -> None: ...

    @abstractmethod
    async def _close(self) -> None: ...


# --- WebSocket on a dedicated port (websockets library) -------------------------------------


class _BufferedWsReader(GuardedReader):
    """Reads MQTT bytes out of WebSocket binary messages (a packet may span messages)."""

    def __init__(self, max_read: int, peer: str) -> None:
        super().__init__(max_read, peer)
        self._buffer = bytearray()

    async def _read(self, n: int) -> bytes:
        if n == -1:
            raise ValueError("read-to-EOF is not used by the MQTT codec")
        while len(self._buffer) < n:
            message = await self._receive()
            if message is None:  # closed: hand back what is left, amqtt treats short as EOF
                break
            self._buffer += message
        out = bytes(self._buffer[:n])
        del self._buffer[:n]
        return out

    @abstractmethod
    async def _receive(self) -> bytes | None: ...


class WebSocketsReader(_BufferedWsReader):
    def __init__(self, connection: ServerConnection, max_read: int, peer: str) -> None:
        super().__init__(max_read, peer)
        self._connection = connection

    async def _receive(self) -> bytes | None:
        try:
            message = await self._connection.recv()
        except ConnectionClosed:
            return None
        return message.encode() if isinstance(message, str) else message


class WebSocketsWriter(QueueWriter):
    def __init__(self, connection: ServerConnection) -> None:
        peer = connection.remote_address
        super().__init__((str(peer[0]), int(peer[1])))
        self._connection = connection

    async def _send(self, data: bytes) -> None:
        await self._connection.send(data)

    def get_ssl_info(self) -> ssl.SSLObject | None:
        return cast("ssl.SSLObject | None", self._connection.transport.get_extra_info("ssl_object"))

    async def _close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._connection.close(), timeout=2)


# --- WebSocket served by the HTTP app (Starlette) -------------------------------------------


class StarletteReader(_BufferedWsReader):
    def __init__(self, websocket: WebSocket, max_read: int, peer: str) -> None:
        super().__init__(max_read, peer)
        self._websocket = websocket

    async def _receive(self) -> bytes | None:
        try:
            message = await self._websocket.receive()
        except (RuntimeError, OSError):
            return None
        if message["type"] != "websocket.receive":
            return None
        data = message.get("bytes")
        if data is None:
            text = message.get("text")
            return text.encode() if text is not None else b""
        return cast(bytes, data)


class StarletteWriter(QueueWriter):
    def __init__(self, websocket: WebSocket) -> None:
        client = websocket.client
        super().__init__((client.host, client.port) if client else ("unknown", 0))
        self._websocket = websocket

    async def _send(self, data: bytes) -> None:
        await self._websocket.send_bytes(data)

    async def _close(self) -> None:
        if self._websocket.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await self._websocket.close()
