"""Client PUBLISHes are delivered by the reader (broker/inbound.py), never through amqtt's
delivery queue (``session.delivered_message_queue``, read by amqtt's message loop for
``_handle_message_delivery``). The broker's override of that method was unreachable since the
inbound path and is gone, with the loop's waiter on that queue (TenantBroker's own
``_client_message_loop``). These tests prove both halves: delivery at every QoS, retained
included, with that queue never used and that method never called; and a message put on the
queue anyway is not delivered (it would skip the reader's checks)."""

from __future__ import annotations

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
    called: list[object] = []

    async def spy(self: TenantBroker, session: Session, handler: Any, waiter: Any) -> bool:
        called.append(waiter.result())
        return True

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
    assert called == []  # amqtt's delivery hook is not even waited on any more


def test_a_message_on_amqtts_queue_is_not_delivered(running: BrokerThread) -> None:
    screen = running.client(token(Role.DISPLAY, "a", "disp-a")).connect()
    publisher = running.client(token(Role.PUBLISHER, None, "publisher")).connect()
    try:
        assert screen.subscribe(queue_topic("a")) == [1]

        async def sneak() -> None:  # where amqtt's own handle_publish would have put it
            for session, _ in running.broker.core.connected_handlers():
                if "publisher" in str(session.client_id):
                    message = ApplicationMessage(1, queue_topic("a"), 1, b"sneaked", False)
                    session.delivered_message_queue.put_nowait(message)
                    return
            raise AssertionError("the publisher is not connected")

        running.call(sneak())
        assert screen.drain(0.5) == []
        publisher.publish(queue_topic("a"), b"through the reader")
        assert screen.wait_for(payload_is(b"through the reader")).topic == queue_topic("a")
    finally:
        publisher.close()
        screen.close()
