"""The broker's writer over an asyncio transport (broker.tcp.TcpWriter, also under WebSocket):
``drain`` waits while the transport is paused, ``close`` waits for the connection's end (at
most 2 s), and neither builds anything for a connection that never pauses or closes."""

from __future__ import annotations

import asyncio
from typing import Any

from broker.tcp import TcpWriter


class _Transport:
    def __init__(self, lose_on_close: TcpWriter | None = None) -> None:
        self.closed = False
        self.writer = lose_on_close

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 5555) if name == "peername" else default

    def close(self) -> None:
        self.closed = True
        if self.writer is not None:  # as a transport does: the end follows the close
            asyncio.get_running_loop().call_soon(self.writer.connection_lost)


def test_a_writer_builds_no_events_until_it_must_wait() -> None:
    """Most connections never pause: their events would only be more objects for the garbage
    collector to walk in a reconnect storm."""

    async def scenario() -> None:
        writer = TcpWriter(_Transport())  # type: ignore[arg-type]
        await writer.drain()
        assert not [v for v in vars(writer).values() if isinstance(v, asyncio.Event)]

    asyncio.run(scenario())


def test_drain_waits_while_paused_and_not_once_resumed_or_lost() -> None:
    async def scenario() -> None:
        writer = TcpWriter(_Transport())  # type: ignore[arg-type]
        writer.pause_writing()
        waiting = asyncio.ensure_future(writer.drain())
        await asyncio.sleep(0.01)
        assert not waiting.done()
        writer.resume_writing()
        await asyncio.wait_for(waiting, 1)
        await asyncio.wait_for(writer.drain(), 1)  # resumed: returns at once

        writer.pause_writing()
        waiting = asyncio.ensure_future(writer.drain())
        await asyncio.sleep(0.01)
        assert not waiting.done()
        writer.connection_lost()  # a lost connection never resumes: the drain ends
        await asyncio.wait_for(waiting, 1)

    asyncio.run(scenario())


def test_close_waits_for_the_connections_end() -> None:
    async def scenario() -> None:
        transport = _Transport()
        transport.writer = writer = TcpWriter(transport)  # type: ignore[arg-type]
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.wait_for(writer.close(), 1)
        assert transport.closed
        assert loop.time() - started < 1  # ended by connection_lost, not by the 2 s bound

        lost = TcpWriter(_Transport())  # type: ignore[arg-type]
        lost.connection_lost()
        await asyncio.wait_for(lost.close(), 0.5)  # already ended: nothing to wait for

    asyncio.run(scenario())
