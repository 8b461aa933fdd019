"""A connection stopped while it is starting (the broker shutting down, a take-over) ends at
once. Before the fix, a reader task cancelled before its first step left amqtt's stop() and
start() waiting for it forever: seen as a broker stop that never returned."""

from __future__ import annotations

import asyncio

from amqtt.session import Session

from broker.core import TenantProtocolHandler
from broker.transport import GuardedReader, QueueWriter


class _SilentReader(GuardedReader):
    async def _read(self, n: int) -> bytes:
        await asyncio.Event().wait()  # a client that never sends anything
        return b""


class _NullWriter(QueueWriter):
    async def _send(self, data: bytes) -> None:
        return None

    async def _close(self) -> None:
        return None


def _attached_handler() -> TenantProtocolHandler:
    """A handler attached to a session whose client never sends anything."""
    handler = TenantProtocolHandler(plugins_manager=None)
    session = Session()
    session.client_id = "screen-1"
    session.keep_alive = 0
    handler.attach(session, _SilentReader(1024, "peer"), _NullWriter(("127.0.0.1", 1)))
    return handler


async def test_a_connection_stopped_before_its_reader_ran_ends() -> None:
    handler = _attached_handler()

    async def stop_while_starting() -> None:
        starting = asyncio.create_task(handler.start())
        await asyncio.sleep(0)  # start() has made the reader task; the reader has not run yet
        assert handler._reader_task is not None
        assert not handler._reader_ready.is_set(), "the race this test is about did not happen"
        await handler.stop()  # awaited here, not in a task of its own: the reader still waits
        await starting

    await asyncio.wait_for(stop_while_starting(), timeout=5)
    # The connection's message loop waits on this: it must be over, not pending forever.
    waiter = handler._disconnect_waiter
    assert waiter is None or waiter.done()


async def test_a_running_connection_still_stops_normally() -> None:
    handler = _attached_handler()
    await asyncio.wait_for(handler.start(), timeout=5)
    assert handler._reader_ready.is_set()
    await asyncio.wait_for(handler.stop(), timeout=5)
    assert handler._reader_task is not None
    assert handler._reader_task.done()
