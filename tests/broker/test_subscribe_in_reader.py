"""SUBSCRIBE and UNSUBSCRIBE are handled by the connection's reader, like PUBLISH
(broker/inbound.py): no amqtt pending queue, no waiter task per connection, no task per packet.
A reconnect storm is thousands of connections that each send one SUBSCRIBE; these tests prove
the mechanism (not its speed, which ``bench/broker_storm.py`` measures): amqtt's subscribe path
is never entered, a connection leaves only its end to wait for, and the wire is what amqtt
wrote (SUBACK codes in order, then the retained messages of the granted filters; UNSUBACK)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from amqtt.adapters import BufferReader
from amqtt.mqtt.connack import ConnackPacket
from amqtt.mqtt.packet import SUBSCRIBE, MQTTFixedHeader
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.mqtt.protocol.handler import ProtocolHandler
from amqtt.mqtt.suback import SubackPacket
from amqtt.mqtt.subscribe import SubscribePacket
from amqtt.mqtt.unsuback import UnsubackPacket

from broker.core import TenantBroker
from broker.inbound import MalformedSubscription, parse_subscribe, suback, unsuback
from broker.packets import CONNACK_ACCEPTED, CONNACK_NOT_AUTHORIZED, encode_connack
from protocol import Role
from protocol.topics import queue_topic
from tests.broker.harness import BrokerThread, broker_settings, token
from tests.broker.raw_mqtt import (
    CONNACK,
    PUBLISH,
    SUBACK,
    RawClient,
    _packet,
    _string,
    connect_packet,
    subscribe_packet,
)

PINGRESP = 13

UNSUBACK = 11


@pytest.fixture
def running() -> Iterator[BrokerThread]:
    broker = BrokerThread(broker_settings()).start()
    yield broker
    broker.close()


@pytest.fixture
def amqtt_subscribe_path(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every entry into amqtt's own SUBSCRIBE/UNSUBSCRIBE handling, by name."""
    entered: list[str] = []

    def spy(name: str) -> Any:
        async def record(*args: Any, **kwargs: Any) -> None:
            entered.append(name)

        return record

    for name in ("handle_subscribe", "handle_unsubscribe"):
        monkeypatch.setattr(BrokerProtocolHandler, name, spy(name))
    for name in ("_handle_subscription", "_handle_unsubscription"):
        monkeypatch.setattr(TenantBroker, name, spy(name))
    return entered


def test_subscribe_and_unsubscribe_are_answered_by_the_reader(
    running: BrokerThread, amqtt_subscribe_path: list[str]
) -> None:
    running.run(lambda: running.broker.publish_local(queue_topic("a"), b"doc", retain=True))
    client = RawClient("127.0.0.1", running.tcp_port)
    try:
        client.connect(token(Role.DISPLAY, "a", "disp-a"), "screen")
        filters = (queue_topic("a"), 1), (queue_topic("b"), 1)  # its own tenant; another's
        body = (7).to_bytes(2, "big") + b"".join(
            _string(f.encode()) + bytes((qos,)) for f, qos in filters
        )
        client.send(_packet(0x82, body))
        acknowledged = client.read()  # SUBACK first, then the retained document (as amqtt did)
        assert (acknowledged.kind, acknowledged.packet_id) == (SUBACK, 7)
        assert list(acknowledged.body[2:]) == [1, 0x80]
        retained = client.read()
        assert retained.kind == PUBLISH
        assert retained.flags & 0x01  # retain flag set
        assert retained.body.endswith(b"doc")

        client.send(_packet(0xA2, (8).to_bytes(2, "big") + _string(queue_topic("a").encode())))
        unsubscribed = client.read()
        assert (unsubscribed.kind, unsubscribed.packet_id) == (UNSUBACK, 8)
        running.run(lambda: running.broker.publish_local(queue_topic("a"), b"later", retain=False))
        client.sock.settimeout(0.5)
        with pytest.raises(socket.timeout):  # nothing more: the subscription is gone
            client.read()
    finally:
        client.close()
    assert amqtt_subscribe_path == []


def test_a_connection_waits_only_for_its_end(running: BrokerThread) -> None:
    clients = [RawClient("127.0.0.1", running.tcp_port) for _ in range(5)]
    try:
        for number, client in enumerate(clients):
            client.connect(token(Role.PUBLIC, "a"), f"page-{number}")
            client.send(
                _packet(0x82, (1).to_bytes(2, "big") + _string(queue_topic("a").encode()) + b"\1")
            )
            assert client.read().kind == SUBACK

        async def waiting_on() -> list[str]:
            return sorted(
                name
                for task in asyncio.all_tasks()
                if "pending" in (name := task.get_coro().__qualname__)  # type: ignore[union-attr]
                or "wait_disconnect" in name
            )

        async def queues() -> int:
            return sum(
                isinstance(queue, asyncio.Queue)
                for _, handler in running.broker.core.connected_handlers()
                for queue in (handler._pending_subscriptions, handler._pending_unsubscriptions)
            )

        # No task waits on amqtt's SUBSCRIBE/UNSUBSCRIBE queues, which are not even built; and
        # none per connection for its end either: the connection's own task awaits the handler's
        # disconnect future (tests/broker/test_connect_cost.py).
        names = running.call(waiting_on())
        assert names == []
        assert running.call(queues()) == 0
    finally:
        for client in clients:
            client.close()


async def _amqtt_parse(body: bytes) -> list[tuple[str, int]]:
    header = MQTTFixedHeader(SUBSCRIBE, 0x02, len(body))
    packet = await SubscribePacket.from_stream(BufferReader(body), fixed_header=header)
    assert packet.payload is not None
    return list(packet.payload.topics)


@pytest.mark.parametrize(
    "topics_bytes",
    [
        _string(b"tenant/a/queue") + b"\1",
        _string(b"a/#") + b"\0" + _string(b"b/+/c") + b"\2",
        _string(b"a") + b"\1" + _string(b"cut sh"),  # a filter cut short ends the list
        _string(b"\xff\xfe") + b"\1",  # not UTF-8: amqtt's repr of the bytes, refused later
        _string(b"") + b"\3",
    ],
)
def test_subscribe_is_parsed_as_amqtt_parsed_it(topics_bytes: bytes) -> None:
    body = (42).to_bytes(2, "big") + topics_bytes
    assert parse_subscribe(body) == (42, asyncio.run(_amqtt_parse(body)))


def test_a_subscribe_without_its_packet_id_closes_the_connection() -> None:
    with pytest.raises(MalformedSubscription):
        parse_subscribe(b"\0")


def test_connack_and_suback_are_written_without_amqtts_packet_path(
    running: BrokerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[object] = []

    async def spy(self: ProtocolHandler[Any], packet: object) -> None:
        sent.append(packet)

    monkeypatch.setattr(ProtocolHandler, "_send_packet", spy)
    client = RawClient("127.0.0.1", running.tcp_port)
    try:
        assert client.connect(token(Role.PUBLIC, "a"), "page").body == b"\0\0"
        client.send(
            _packet(0x82, (3).to_bytes(2, "big") + _string(queue_topic("a").encode()) + b"\1")
        )
        assert client.read().body == b"\0\3\1"
    finally:
        client.close()
    assert sent == []  # no packet object, write lock or drain per CONNACK or SUBACK


@pytest.mark.parametrize("parent", [0, 1])
def test_connack_bytes_are_amqtts(parent: int) -> None:
    for code in (CONNACK_ACCEPTED, CONNACK_NOT_AUTHORIZED):
        expected = ConnackPacket.build(parent, code).to_bytes()
        assert encode_connack(code, session_present=bool(parent)) == expected


@pytest.mark.parametrize("codes", [[0], [1, 0x80], [0x80] * 200])
def test_suback_and_unsuback_bytes_are_amqtts(codes: list[int]) -> None:
    assert suback(513, codes) == SubackPacket.build(513, codes).to_bytes()
    assert unsuback(513) == UnsubackPacket.build(513).to_bytes()


class _RecordingTransport:
    """Stands between a connection's writer and its transport, noting every write."""

    def __init__(self, transport: Any) -> None:
        self._transport = transport
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def test_suback_and_retained_messages_leave_in_one_write(running: BrokerThread) -> None:
    """One ``send`` per SUBSCRIBE instead of one per packet: in a reconnect storm each write
    to an idle socket is a system call (see broker.tcp.TcpWriter)."""

    def retain_two() -> None:
        for topic in (queue_topic("a"), "tenant/a/tickets/t1"):
            running.broker.publish_local(topic, b"doc", retain=True)

    running.run(retain_two)
    client = RawClient("127.0.0.1", running.tcp_port)
    try:
        client.connect(token(Role.DISPLAY, "a", "disp-a"), "screen")

        def spy() -> _RecordingTransport:
            [(_, handler)] = running.broker.core.connected_handlers()
            recording = _RecordingTransport(handler.writer._transport)
            handler.writer._transport = recording
            return recording

        recording = running.run(spy)
        filters = (queue_topic("a"), 1), ("tenant/a/tickets/+", 1)
        body = (7).to_bytes(2, "big") + b"".join(
            _string(f.encode()) + bytes((qos,)) for f, qos in filters
        )
        client.send(_packet(0x82, body))
        assert [client.read().kind for _ in range(3)] == [SUBACK, PUBLISH, PUBLISH]
        [written] = running.run(lambda: list(recording.writes))
        assert written.startswith(bytes((0x90, 4, 0, 7, 1, 1)))
    finally:
        client.close()


def test_a_subscribe_read_while_the_session_starts_gets_its_retained_message_once(
    running: BrokerThread,
) -> None:
    """A CONNECT with its SUBSCRIBE right behind it (as a screen sends it when CONNACK comes
    back fast): the reader answers the SUBSCRIBE while the session is still starting, and the
    session's start must not deliver the retained message again for the filter just added."""
    running.run(lambda: running.broker.publish_local(queue_topic("a"), b"doc", retain=True))
    client = RawClient("127.0.0.1", running.tcp_port)
    try:
        client.send(
            connect_packet("screen", token(Role.PUBLIC, "a"))
            + subscribe_packet(1, queue_topic("a"), 1)
        )
        assert [client.read().kind for _ in range(3)] == [CONNACK, SUBACK, PUBLISH]
        client.send(b"\xc0\x00")  # PINGREQ: its answer comes after anything already written
        assert client.read().kind == PINGRESP
    finally:
        client.close()
