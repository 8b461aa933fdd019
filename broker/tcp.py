"""MQTT over TCP (optionally TLS) as an asyncio Protocol, with a fast lane for acknowledgements.

With asyncio streams every incoming packet wakes the connection's reader task, which then
awaits the fixed header byte by byte. At fan-out time that is a thousand wake-ups for the
PUBACKs of one message. Here ``data_received`` recognises PUBACK and PINGREQ at the head of the
incoming bytes and hands them to the protocol handler in place (:attr:`TcpReader.fast_lane`);
everything else is buffered for amqtt's reader as before, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import cast

from amqtt.adapters import WriterAdapter

from broker.transport import GuardedReader

logger = logging.getLogger(__name__)

_PUBACK_FIRST, _PINGREQ_FIRST = 0x40, 0xC0


class TcpReader(GuardedReader):
    def __init__(self, transport: asyncio.Transport, max_read: int, peer: str) -> None:
        super().__init__(max_read, peer)
        self._transport = transport
        self._buffer = bytearray()
        self._eof = False
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False
        # Stop reading from the socket while this much is buffered and not yet consumed.
        self._high_water = max_read + 65_536

    def feed(self, data: bytes) -> None:
        if self.fast_lane is not None and not self._buffer:
            data = self._take_acknowledgements(data)
        if data:  # only wake the reader when something is left for it
            self._buffer += data
            if len(self._buffer) > self._high_water and not self._paused:
                self._paused = True
                self.pauses += 1
                self._transport.pause_reading()
            self._wake()

    def _take_acknowledgements(self, data: bytes) -> bytes:
        """Consume whole PUBACK / PINGREQ packets at the head; return what is left."""
        fast_lane = self.fast_lane
        assert fast_lane is not None
        index, size = 0, len(data)
        while index + 2 <= size:
            first, length = data[index], data[index + 1]
            if first == _PUBACK_FIRST and length == 2 and index + 4 <= size:
                fast_lane(first, data[index + 2 : index + 4])
                index += 4
            elif first == _PINGREQ_FIRST and length == 0:
                fast_lane(first, b"")
                index += 2
            else:
                break
        return data[index:] if index else data

    def feed_eof(self) -> None:
        self._eof = True
        self._wake()

    def buffered_bytes(self) -> int:
        return len(self._buffer)

    @property
    def paused(self) -> bool:
        return self._paused

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _read(self, n: int) -> bytes:
        if n < 0:
            raise ValueError("read-to-EOF is not used by the MQTT codec")
        while len(self._buffer) < n:
            if self._eof:
                raise asyncio.IncompleteReadError(bytes(self._buffer), n)
            if self._paused:
                # More is needed than is buffered: a paused socket would never bring it. (A
                # packet larger than half the high-water mark could leave the buffer above the
                # resume mark and below the packet: that connection was never read again.)
                self._paused = False
                self._transport.resume_reading()
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        out = bytes(self._buffer[:n])
        del self._buffer[:n]
        if self._paused and len(self._buffer) < self._high_water // 2:
            self._paused = False
            self._transport.resume_reading()
        return out


class TcpWriter(WriterAdapter):  # type: ignore[misc]  # amqtt ships no types
    """``write()`` goes straight to the transport, which sends now or buffers and sends later;
    between :meth:`cork` and :meth:`uncork` writes are gathered and sent as one.

    Why gather: each transport write that finds the socket idle is a ``send`` system call, and
    on loopback the kernel delivers the segment to the peer inside that call. A SUBSCRIBE's
    answer (SUBACK, then the retained queue document) was two of them per screen in a reconnect
    storm, where writes were a seventh of the broker's CPU (py-spy, docs/benchmarks.md).

    Its two events are built when first needed (a pause in writing, a close awaiting the
    connection's end): most connections never pause, and four objects fewer per connection is
    less for every garbage collection in a storm to walk."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._closed = False
        self._gathered: list[bytes] | None = None
        self._writable: asyncio.Event | None = None  # cleared while the transport is paused
        self._lost: asyncio.Event | None = None  # set at connection_lost, once close() waits
        # Read now, while the socket is open: the session starts later, and uvloop raises
        # (ValueError, negative file descriptor) for a peer that has reset by then, as
        # screens that give up do by the thousand in a storm.
        peer = transport.get_extra_info("peername")
        self._peer = (str(peer[0]), int(peer[1])) if peer and len(peer) >= 2 else None

    def write(self, data: bytes) -> None:
        if not self._closed:
            self._send(data)

    def _send(self, data: bytes) -> None:
        if self._gathered is not None:
            self._gathered.append(data)
        else:
            self._transport.write(data)

    def cork(self) -> None:
        """Gather writes until :meth:`uncork` (call it in a ``finally``)."""
        if self._gathered is None:
            self._gathered = []

    def uncork(self) -> None:
        gathered, self._gathered = self._gathered, None
        if gathered and not self._transport.is_closing():
            self._transport.write(gathered[0] if len(gathered) == 1 else b"".join(gathered))

    async def drain(self) -> None:
        writable = self._writable
        if not self._closed and writable is not None:
            await writable.wait()

    def pending_bytes(self) -> int:
        return self._transport.get_write_buffer_size()

    def get_peer_info(self) -> tuple[str, int] | None:
        return self._peer

    def get_ssl_info(self) -> ssl.SSLObject | None:
        return cast("ssl.SSLObject | None", self._transport.get_extra_info("ssl_object"))

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        lost = self._lost = asyncio.Event()  # before the close, which may end it at once
        self._transport.close()  # flushes what is buffered, then closes
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(lost.wait(), timeout=2)

    def pause_writing(self) -> None:
        if self._writable is None:
            self._writable = asyncio.Event()
        self._writable.clear()

    def resume_writing(self) -> None:
        if self._writable is not None:
            self._writable.set()

    def connection_lost(self) -> None:
        self._closed = True
        if self._writable is not None:
            self._writable.set()
        if self._lost is not None:
            self._lost.set()


class MqttTcpProtocol(asyncio.Protocol):
    """One accepted connection; ``serve`` runs the MQTT session over its reader and writer."""

    def __init__(self, serve: Callable[[TcpReader, TcpWriter], Awaitable[None]], max_read: int):
        self._serve = serve
        self._max_read = max_read
        self._reader: TcpReader | None = None
        self._writer: TcpWriter | None = None
        self._task: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport in practice; uvloop's is one without subclassing asyncio.Transport.
        stream = cast(asyncio.Transport, transport)
        self._writer = TcpWriter(stream)
        peer = self._writer.get_peer_info()
        self._reader = TcpReader(
            stream,
            self._max_read,
            f"{peer[0]}:{peer[1]}" if peer else "unknown peer",
        )
        self._task = asyncio.get_running_loop().create_task(self._run(self._reader, self._writer))

    async def _run(self, reader: TcpReader, writer: TcpWriter) -> None:
        try:
            await self._serve(reader, writer)
        except Exception:  # one connection's failure must not reach the event loop's handler
            logger.exception("MQTT connection failed")
        finally:
            await writer.close()

    def data_received(self, data: bytes) -> None:
        if self._reader is not None:
            self._reader.feed(data)

    def eof_received(self) -> bool:
        if self._reader is not None:
            self._reader.feed_eof()
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        if self._reader is not None:
            self._reader.feed_eof()
        if self._writer is not None:
            self._writer.connection_lost()

    def pause_writing(self) -> None:
        if self._writer is not None:
            self._writer.pause_writing()

    def resume_writing(self) -> None:
        if self._writer is not None:
            self._writer.resume_writing()
