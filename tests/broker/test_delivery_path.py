"""Client PUBLISHes are delivered by the reader (broker/inbound.py), never through amqtt's
delivery queue: the broker's ``_handle_message_delivery`` override lost its delivery code
(unreachable since the inbound path) and now only guards that queue. These tests prove both
halves: delivery at every QoS, retained included, with that queue never used; and a message
that did reach the queue is not delivered (it would have skipped the reader's checks)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from amqtt.session import ApplicationMessage, Session

from broker.core import TenantBroker
from protocol import Role
from protocol.topics import queue_topic
from tests.broker.harness import BrokerThread, broker_settings, payload_is, token


@pytest.fixture
def running() -> Iterator[BrokerThread]:
    broker = BrokerThread(broker_settings()).start()
    yield broker
    broker.close()


def test_publishes_at_every_qos_are_delivered_without_amqtts_queue(
    running: BrokerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed: list[object] = []
    original = TenantBroker._handle_message_delivery

    async def spy(self: TenantBroker, session: Session, handler: Any, waiter: Any) -> bool:
        handed.append(waiter.result())
        return await original(self, session, handler, waiter)

    monkeypatch.setattr(TenantBroker, "_handle_message_delivery", spy)
    topic = queue_topic("a")
    screen = running.client(token(Role.DISPLAY, "a", "disp-a")).connect()
    publisher = running.client(token(Role.PUBLISHER, None, "publisher")).connect()
    try:
        assert screen.subscribe(topic, qos=1) == [1]  # screens are granted QoS 1 at most
        for qos in (0, 1, 2):
            publisher.publish(topic, f"q{qos}".encode(), qos=qos, retain=qos == 1)
            assert screen.wait_for(payload_is(f"q{qos}".encode())).qos == min(qos, 1)
        late = running.client(token(Role.DISPLAY, "a", "disp-a2")).connect()
        try:
            assert late.subscribe(topic) == [1]
            assert late.wait_for(payload_is(b"q1")).retain
        finally:
            late.close()

        async def queued() -> int:
            sessions = running.broker.core.connected_handlers()
            return sum(s.delivered_message_queue.qsize() for s, _ in sessions)

        assert running.call(queued()) == 0
    finally:
        publisher.close()
        screen.close()
    assert [m for m in handed if m is not None] == []  # the override never saw a message


def test_a_message_on_amqtts_queue_is_refused_not_delivered(running: BrokerThread) -> None:
    async def hand_over() -> tuple[bool, int]:
        core = running.broker.core
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        future.set_result(ApplicationMessage(1, queue_topic("a"), 1, b"sneaked", False))
        session = Session()
        session.client_id = "bypass"
        result = await core._handle_message_delivery(session, None, future)
        return result, core.stats.dropped["bypassed_reader"]

    screen = running.client(token(Role.DISPLAY, "a", "disp-a")).connect()
    try:
        assert screen.subscribe(queue_topic("a")) == [1]
        assert running.call(hand_over()) == (False, 1)  # False: the connection is closed
        assert screen.drain(0.3) == []
    finally:
        screen.close()
