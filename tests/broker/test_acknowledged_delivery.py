"""An acknowledged message is a delivered message (MQTT 3.1.1 §4.3, §4.5), on the embedded broker
and on ``python -m broker``: once the broker has sent PUBACK (QoS 1) or PUBCOMP (QoS 2) it owns
the message, so its publisher leaving at once (DISCONNECT or a closed socket) loses nothing.
Every PUBREL gets its PUBCOMP (§4.3.3), a QoS 2 message its publisher may not send is never kept,
and publishes up to the payload limit are read and delivered.

Raw sockets on the publishing side: the defects only show with pipelined packets and a close
right after the acknowledgements, which paho does not do on command."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator

import pytest

from protocol import Role
from protocol.topics import events_topic, queue_topic
from tests.broker.harness import token
from tests.broker.raw_mqtt import (
    DISCONNECT,
    PUBACK,
    PUBCOMP,
    PUBREC,
    CountingSubscriber,
    RawClient,
    publish_packet,
    pubrel_packet,
)
from tests.broker.standalone import RunningBroker, embedded_broker, standalone_broker
from tests.support.mqtt import Recorder

PUBLISHER = token(Role.PUBLISHER, None, "publisher")
PUBLIC_A = token(Role.PUBLIC, "a", "public")
TOPIC = events_topic("a")


@pytest.fixture(params=["embedded", "separate"], scope="module")
def running(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningBroker]:
    if request.param == "embedded":
        with embedded_broker() as broker:
            yield broker
    else:
        with standalone_broker(tmp_path_factory.mktemp("broker")) as broker:
            yield broker


@pytest.fixture
def subscriber(running: RunningBroker) -> Iterator[CountingSubscriber]:
    # A public client: ``python -m broker`` honours device tokens only if its database knows them.
    counting = CountingSubscriber(running.host, running.port, PUBLIC_A, TOPIC, qos=1)
    yield counting
    counting.close()


def _publishers(running: RunningBroker, count: int, tag: str) -> list[RawClient]:
    clients = []
    for index in range(count):
        client = RawClient(running.host, running.port)
        client.connect(PUBLISHER, f"{tag}-{index}")
        clients.append(client)
    return clients


def _end(client: RawClient, how: str) -> None:
    if how == "disconnect":
        client.send(DISCONNECT)
    client.close()


@pytest.mark.parametrize("how", ["disconnect", "tcp-close"])
def test_qos1_bursts_acknowledged_then_gone_are_all_delivered(
    running: RunningBroker, subscriber: CountingSubscriber, how: str
) -> None:
    clients = _publishers(running, 200, f"q1-{how}")
    for index, client in enumerate(clients):  # every burst is on the wire before any is acked
        client.send(
            b"".join(
                publish_packet(TOPIC, f"{index}:{n}".encode(), qos=1, packet_id=n + 1)
                for n in range(10)
            )
        )
    for client in clients:
        acks = [client.read() for _ in range(10)]
        assert [(p.kind, p.packet_id) for p in acks] == [(PUBACK, n + 1) for n in range(10)]
        _end(client, how)
    assert subscriber.wait_count(2000) == 2000
    assert sorted(subscriber.payloads) == sorted(
        f"{i}:{n}".encode() for i in range(200) for n in range(10)
    )


def test_one_connection_of_2000_acknowledged_messages_then_disconnect(
    running: RunningBroker, subscriber: CountingSubscriber
) -> None:
    client = _publishers(running, 1, "q1-single")[0]
    client.send(
        b"".join(
            publish_packet(TOPIC, str(n).encode(), qos=1, packet_id=n + 1) for n in range(2000)
        )
    )
    assert all(client.read().kind == PUBACK for _ in range(2000))
    _end(client, "disconnect")
    assert subscriber.wait_count(2000) == 2000
    assert subscriber.payloads == [str(n).encode() for n in range(2000)]  # and in order


def test_qos2_completed_then_gone_is_all_delivered(
    running: RunningBroker, subscriber: CountingSubscriber
) -> None:
    clients = _publishers(running, 200, "q2")
    for index, client in enumerate(clients):
        client.send(
            b"".join(
                publish_packet(TOPIC, f"{index}:{n}".encode(), qos=2, packet_id=n + 1)
                for n in range(10)
            )
        )
    for client in clients:
        assert [client.read().kind for _ in range(10)] == [PUBREC] * 10
        client.send(b"".join(pubrel_packet(n + 1) for n in range(10)))
    for client in clients:
        assert [client.read().kind for _ in range(10)] == [PUBCOMP] * 10
        _end(client, "disconnect")
    assert subscriber.wait_count(2000) == 2000
    assert len(set(subscriber.payloads)) == 2000


def test_qos0_sent_then_disconnect_is_all_delivered(
    running: RunningBroker, subscriber: CountingSubscriber
) -> None:
    clients = _publishers(running, 200, "q0")
    for index, client in enumerate(clients):
        client.send(
            b"".join(publish_packet(TOPIC, f"{index}:{n}".encode()) for n in range(10)) + DISCONNECT
        )
        client.close()
    assert subscriber.wait_count(2000) == 2000


def _pubrel_answer(client: RawClient, packet_id: int) -> tuple[int, int]:
    client.send(pubrel_packet(packet_id))
    client.sock.settimeout(5)
    answer = client.read()
    return answer.kind, answer.packet_id


def test_every_pubrel_gets_a_pubcomp(
    running: RunningBroker, subscriber: CountingSubscriber
) -> None:
    client = RawClient(running.host, running.port)
    client.connect(PUBLISHER, "pubrel-twice")
    client.send(publish_packet(TOPIC, b"once", qos=2, packet_id=7))
    assert client.read().kind == PUBREC
    assert _pubrel_answer(client, 7) == (PUBCOMP, 7)
    # Our PUBCOMP was "lost": the client sends its PUBREL again, on the same connection.
    assert _pubrel_answer(client, 7) == (PUBCOMP, 7)
    # A PUBREL for an id the broker never saw is still answered (§4.3.3).
    assert _pubrel_answer(client, 4242) == (PUBCOMP, 4242)
    client.close()
    assert subscriber.wait_count(1) == 1
    assert subscriber.payloads == [b"once"]


def test_pubrel_after_reconnecting_a_persistent_session(
    running: RunningBroker, subscriber: CountingSubscriber
) -> None:
    first = RawClient(running.host, running.port)
    first.connect(PUBLISHER, "pubrel-resume", clean=False)
    first.send(publish_packet(TOPIC, b"exactly-once", qos=2, packet_id=9))
    assert first.read().kind == PUBREC
    first.close()  # gone before PUBREL: the client must resend it on its next connection

    second = RawClient(running.host, running.port)
    connack = second.connect(PUBLISHER, "pubrel-resume", clean=False)
    assert connack.body[0] & 1  # session present
    # It may also resend the PUBLISH itself (DUP): acknowledged, never delivered twice.
    second.send(publish_packet(TOPIC, b"exactly-once", qos=2, packet_id=9, dup=True))
    assert second.read().kind == PUBREC
    assert _pubrel_answer(second, 9) == (PUBCOMP, 9)
    second.close()

    third = RawClient(running.host, running.port)  # the PUBCOMP was lost too: PUBREL again
    third.connect(PUBLISHER, "pubrel-resume", clean=False)
    assert _pubrel_answer(third, 9) == (PUBCOMP, 9)
    third.send(DISCONNECT)
    third.close()
    cleanup = RawClient(running.host, running.port)  # end the persistent session
    cleanup.connect(PUBLISHER, "pubrel-resume", clean=True)
    cleanup.close()

    assert subscriber.wait_count(1) == 1
    assert subscriber.wait_count(2, timeout=0.5) == 1
    assert subscriber.payloads == [b"exactly-once"]


HELD_MESSAGES = 5000
HELD_PAYLOAD = b"h" * (100 * 1024)


def test_held_qos2_from_a_client_that_may_not_publish_is_never_stored(
    running: RunningBroker, subscriber: CountingSubscriber
) -> None:
    client = RawClient(running.host, running.port)
    client.connect(PUBLIC_A, "holder")
    before = running.rss_bytes()
    for batch in range(HELD_MESSAGES // 100):  # 500 MB on the wire, never released
        client.send(
            b"".join(
                publish_packet(TOPIC, HELD_PAYLOAD, qos=2, packet_id=batch * 100 + n + 1)
                for n in range(100)
            )
        )
        assert [client.read().kind for _ in range(100)] == [PUBREC] * 100
    grown = running.rss_bytes() - before
    assert grown < 100 * 1024 * 1024, f"broker memory grew {grown / 2**20:.0f} MiB"
    client.close()
    if running.thread is not None:  # embedded: nothing is left of the connection's messages
        core = running.thread.broker.core
        held = [s.inflight_in for s, _ in core.sessions.values() if s.inflight_in]
        assert held == []
        assert core.stats.dropped["publish_refused"] >= HELD_MESSAGES  # counted, not kept
    assert subscriber.wait_count(1, timeout=0.5) == 0  # and it was never delivered


def test_unreleased_qos2_per_connection_is_capped(running: RunningBroker) -> None:
    client = RawClient(running.host, running.port)
    client.connect(PUBLISHER, "holder-with-rights")
    acknowledged = 0

    def hold_ten_thousand() -> None:  # far beyond the cap, never released
        nonlocal acknowledged
        for batch in range(100):
            client.send(
                b"".join(
                    publish_packet(TOPIC, b"x", qos=2, packet_id=batch * 100 + n + 1)
                    for n in range(100)
                )
            )
            for _ in range(100):
                assert client.read().kind == PUBREC
                acknowledged += 1

    with pytest.raises((ConnectionError, OSError)):
        hold_ten_thousand()
    assert acknowledged == 1000  # the cap (broker.inbound.MAX_UNRELEASED_QOS2), then closed
    if running.thread is not None:
        assert running.thread.broker.core.stats.disconnects["qos2_unreleased_limit"] == 1
    client.close()


@pytest.mark.parametrize("qos", [0, 1])
def test_payloads_up_to_the_limit_are_delivered_over_tcp(
    running: RunningBroker, subscriber: CountingSubscriber, qos: int
) -> None:
    client = RawClient(running.host, running.port)
    client.connect(PUBLISHER, f"large-{qos}")
    sizes = random.Random(11).sample(range(200 * 1024, 256 * 1024), 40)
    payloads = [bytes([65 + n % 26]) * size for n, size in enumerate(sizes)]
    for n, payload in enumerate(payloads):
        client.send(publish_packet(TOPIC, payload, qos=qos, packet_id=n + 1))
    if qos:
        assert [client.read().kind for _ in payloads] == [PUBACK] * len(payloads)
    assert subscriber.wait_count(len(payloads)) == len(payloads)
    assert subscriber.payloads == payloads
    client.send(DISCONNECT)
    client.close()


def test_payloads_up_to_the_limit_are_delivered_over_websocket(
    running: RunningBroker, subscriber: CountingSubscriber
) -> None:
    sender = Recorder(
        running.host, running.ws_port, username="u", password=PUBLISHER, transport="websockets"
    ).connect()
    payloads = [bytes([97 + n]) * (256 * 1024) for n in range(5)]
    try:
        for payload in payloads:
            sender.publish(TOPIC, payload)
        assert subscriber.wait_count(len(payloads)) == len(payloads)
        assert subscriber.payloads == payloads
    finally:
        sender.close()


def test_a_payload_over_the_limit_still_ends_only_its_connection(
    running: RunningBroker, subscriber: CountingSubscriber
) -> None:
    client = RawClient(running.host, running.port)
    client.connect(PUBLISHER, "too-large")
    client.send(publish_packet(TOPIC, b"z" * (256 * 1024 + 1), qos=1, packet_id=1))
    client.sock.settimeout(10)
    with pytest.raises((ConnectionError, socket.timeout, OSError)):
        client.read()
    client.close()
    small = RawClient(running.host, running.port)
    small.connect(PUBLISHER, "after-too-large")
    small.send(publish_packet(TOPIC, b"fine", qos=1, packet_id=1))
    assert small.read().kind == PUBACK
    small.close()
    assert subscriber.wait_count(1) == 1
    assert subscriber.payloads == [b"fine"]


def test_queue_topic_is_unaffected_by_held_messages(running: RunningBroker) -> None:
    """Sanity: the broker still serves ordinary retained traffic after the tests above."""
    client = RawClient(running.host, running.port)
    client.connect(PUBLISHER, "sanity")
    client.send(publish_packet(queue_topic("a"), b"ok", qos=1, packet_id=1))
    assert client.read().kind == PUBACK
    client.close()
