"""The API's in-process publishing path into the embedded broker: the same delivery, retained
store and tenant isolation as a PUBLISH from a network client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from broker.embedded import BrokerNotRunning
from protocol import Role
from protocol.topics import queue_topic
from tests.broker.harness import BrokerThread, broker_settings, payload_is, token

DISPLAY_A = token(Role.DISPLAY, "a", "disp-a")
DISPLAY_B = token(Role.DISPLAY, "b", "disp-b")


@pytest.fixture
def running() -> Iterator[BrokerThread]:
    broker = BrokerThread(broker_settings()).start()
    yield broker
    broker.close()


def test_local_publish_reaches_its_tenant_only_and_is_retained(running: BrokerThread) -> None:
    own = running.client(DISPLAY_A).connect()
    other = running.client(DISPLAY_B).connect()
    try:
        assert own.subscribe("tenant/a/#") == [1]
        assert other.subscribe("tenant/b/#") == [1]
        running.run(lambda: running.broker.publish_local(queue_topic("a"), b"v1", retain=True))
        live = own.wait_for(payload_is(b"v1"))
        assert not live.retain
        late = running.client(DISPLAY_A).connect()
        assert late.subscribe(queue_topic("a")) == [1]
        assert late.wait_for(payload_is(b"v1")).retain
        late.close()
        assert other.drain(0.3) == []
    finally:
        own.close()
        other.close()


def test_an_empty_local_publish_clears_the_retained_topic(running: BrokerThread) -> None:
    running.run(lambda: running.broker.publish_local(queue_topic("a"), b"v1", retain=True))
    running.run(lambda: running.broker.publish_local(queue_topic("a"), b"", retain=True))
    late = running.client(DISPLAY_A).connect()
    try:
        assert late.subscribe(queue_topic("a")) == [1]
        assert late.drain(0.5) == []
    finally:
        late.close()


@pytest.mark.parametrize("topic", ["", "tenant/+/queue", "tenant/a/#", "$SYS/x"])
def test_local_publish_refuses_anything_but_a_topic_name(running: BrokerThread, topic: str) -> None:
    with pytest.raises(ValueError, match="not a topic name"):
        running.run(lambda: running.broker.publish_local(topic, b"x", retain=False))


def test_local_publish_on_a_stopped_broker_says_so(running: BrokerThread) -> None:
    running.stop()
    with pytest.raises(BrokerNotRunning):
        running.run(lambda: running.broker.publish_local(queue_topic("a"), b"x", retain=True))
