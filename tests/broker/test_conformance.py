"""Our own MQTT 3.1.1 conformance checks for what QueueCast relies on, plus the broker's limits,
TLS and restarts. Real paho clients against a real EmbeddedBroker on free ports."""

from __future__ import annotations

import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as ws_connect
from websockets.typing import Subprotocol

from protocol import Role
from protocol.topics import device_status_topic, events_topic, queue_topic
from tests.broker.harness import BrokerThread, broker_settings, payload_is, token
from tests.support.mqtt import ConnectRefused, Recorder

# CONNECT, MQTT 3.1.1, clean session, keepalive 60, client id "x".
CONNECT_WITHOUT_PASSWORD = b"\x10\x0d\x00\x04MQTT\x04\x02\x00\x3c\x00\x01x"
PUBLISHER = token(Role.PUBLISHER, None, "publisher")
DISPLAY_A = token(Role.DISPLAY, "a", "disp-a")


def wait_until(condition: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def publisher(broker: BrokerThread) -> Iterator[Recorder]:
    client = broker.client(PUBLISHER).connect()
    yield client
    client.close()


def subscribe_fresh(broker: BrokerThread, topic_filter: str, **kwargs: object) -> Recorder:
    client = broker.client(DISPLAY_A, **kwargs).connect()  # type: ignore[arg-type]
    assert client.subscribe(topic_filter) == [1]
    return client


def test_retained_set_replace_and_clear(broker: BrokerThread, publisher: Recorder) -> None:
    topic = queue_topic("a")
    publisher.publish(topic, b"v1", retain=True)
    publisher.publish(topic, b"v2", retain=True)
    first = subscribe_fresh(broker, topic)
    assert first.wait_for(lambda m: m.retain).payload == b"v2"
    assert [m.payload for m in first.drain(0.3)] == [b"v2"]  # replaced, not accumulated

    publisher.publish(topic, b"", retain=True)  # an empty retained payload clears (§3.3.1.3)
    cleared = first.wait_for(lambda m: m.payload == b"")
    assert cleared.retain is False  # live delivery to an existing subscriber
    second = subscribe_fresh(broker, topic)
    assert second.drain(0.5) == []
    for client in (first, second):
        client.close()


def test_qos1_messages_wait_for_a_persistent_session(
    broker: BrokerThread, publisher: Recorder
) -> None:
    topic = events_topic("a")
    first = broker.client(DISPLAY_A, client_id="screen-1", clean_session=False).connect()
    assert first.session_present is False
    assert first.subscribe(topic, qos=1) == [1]
    first.close()
    publisher.publish(topic, b"qos0-while-away", qos=0)  # first: the QoS 1 acks below order it
    for n in range(3):
        publisher.publish(topic, f"while-away-{n}".encode(), qos=1)

    resumed = broker.client(DISPLAY_A, client_id="screen-1", clean_session=False).connect()
    assert resumed.session_present is True
    for n in range(3):
        assert resumed.wait_for(payload_is(f"while-away-{n}".encode())).qos == 1
    assert b"qos0-while-away" not in [m.payload for m in resumed.drain(0.3)]  # QoS 0 is not kept
    publisher.publish(topic, b"live")  # the subscription survived without re-subscribing
    resumed.wait_for(lambda m: m.payload == b"live")
    resumed.close()


def test_clean_session_forgets_subscriptions_and_messages(
    broker: BrokerThread, publisher: Recorder
) -> None:
    topic = events_topic("a")
    persistent = broker.client(DISPLAY_A, client_id="screen-2", clean_session=False).connect()
    assert persistent.subscribe(topic) == [1]
    persistent.close()
    publisher.publish(topic, b"while-away")
    clean = broker.client(DISPLAY_A, client_id="screen-2", clean_session=True).connect()
    assert clean.session_present is False
    publisher.publish(topic, b"after-clean-connect")
    assert clean.drain(0.5) == []
    clean.close()
    again = broker.client(DISPLAY_A, client_id="screen-2", clean_session=False).connect()
    assert again.session_present is False  # the clean connect discarded the old session
    again.close()


def test_will_is_published_on_abrupt_disconnect_only(
    broker: BrokerThread, publisher: Recorder
) -> None:
    watcher = subscribe_fresh(broker, "tenant/a/devices/+/status")
    status = device_status_topic("a", "totem-1")
    totem_token = token(Role.TOTEM, "a", "totem-1")
    polite = broker.client(totem_token, will=(status, b"offline-polite", 1, True)).connect()
    polite.close()  # DISCONNECT: no Will
    crashing = broker.client(totem_token, will=(status, b"offline", 1, True)).connect()
    crashing.client.loop_stop()
    sock = crashing.client.socket()
    assert sock is not None
    sock.close()
    assert watcher.wait_for(lambda m: m.topic == status).payload == b"offline"
    assert b"offline-polite" not in [m.payload for m in watcher.drain(0.2)]
    late = subscribe_fresh(broker, status)  # the Will was retained
    assert late.wait_for(lambda m: m.retain).payload == b"offline"
    for client in (watcher, late):
        client.close()


def test_keepalive_timeout_fires_the_will(broker: BrokerThread) -> None:
    watcher = subscribe_fresh(broker, "tenant/a/devices/+/status")
    status = device_status_topic("a", "disp-9")
    silent = broker.client(
        token(Role.DISPLAY, "a", "disp-9"), keepalive=1, will=(status, b"offline", 1, False)
    ).connect()
    silent.client.loop_stop()  # no PINGREQ from now on; the TCP connection stays open
    try:
        # 1.5 x keepalive (rounded up: 2 s) of silence, then the broker closes and sends the Will.
        assert watcher.wait_for(lambda m: m.topic == status, timeout=10).payload == b"offline"
    finally:
        sock = silent.client.socket()
        if sock is not None:
            sock.close()
        watcher.close()


def test_large_payload_is_refused_without_harming_others(tmp_path: Path) -> None:
    running = BrokerThread(broker_settings(mqtt_max_payload_bytes=1024)).start()
    try:
        watcher = running.client(DISPLAY_A).connect()
        assert watcher.subscribe(queue_topic("a")) == [1]
        big = running.client(PUBLISHER)
        big.client.reconnect_delay_set(60, 60)
        big.connect()
        big.client.publish(queue_topic("a"), b"x" * 1025, qos=0, retain=True)
        assert wait_until(big.disconnected.is_set)  # the offender's connection is closed
        big.close()
        small = running.client(PUBLISHER).connect()
        small.publish(queue_topic("a"), b"y" * 1024, retain=True)  # exactly the limit passes
        assert watcher.wait_for(lambda m: m.payload[:1] == b"y").payload == b"y" * 1024
        assert all(m.payload[:1] != b"x" for m in watcher.drain(0.2))
        assert not watcher.disconnected.is_set()
        for client in (watcher, small):
            client.close()
    finally:
        running.close()


def test_connections_beyond_the_listener_limit_are_refused() -> None:
    running = BrokerThread(broker_settings(mqtt_max_connections=2)).start()
    clients: list[Recorder] = []
    try:
        clients += [running.client(DISPLAY_A).connect(), running.client(DISPLAY_A).connect()]
        with pytest.raises(ConnectRefused, match=r"(?i)unavailable"):
            running.client(DISPLAY_A).connect()
        # The limit is per listener: WebSocket still has room; the TCP clients are unharmed.
        clients.append(running.client(DISPLAY_A, transport="websockets").connect())
        assert clients[0].subscribe(queue_topic("a")) == [1]
        clients.pop(0).close()
        assert wait_until(
            lambda: running.run(lambda: running.broker.core.connection_count("tcp")) == 1
        )
        clients.append(running.client(DISPLAY_A).connect())  # room again
    finally:
        for client in clients:
            client.close()
        running.close()


def test_restart_on_the_same_ports_starts_with_an_empty_retained_store(
    broker: BrokerThread,
) -> None:
    ports = (broker.tcp_port, broker.ws_port)
    first = broker.client(PUBLISHER).connect()
    first.publish(queue_topic("a"), b"before-restart", retain=True)
    broker.stop()
    assert wait_until(first.disconnected.is_set)
    first.close()
    broker.start()
    assert (broker.tcp_port, broker.ws_port) == ports
    for transport in ("tcp", "websockets"):
        subscriber = broker.client(DISPLAY_A, transport=transport).connect()
        assert subscriber.subscribe(queue_topic("a")) == [1]
        # The retained store starts empty: the publisher re-publishes state after a restart.
        assert b"before-restart" not in [m.payload for m in subscriber.drain(0.3)]
        publisher = broker.client(PUBLISHER).connect()
        publisher.publish(queue_topic("a"), f"after-{transport}".encode(), retain=True)
        subscriber.wait_for(payload_is(f"after-{transport}".encode()))
        for client in (subscriber, publisher):
            client.close()


def test_websocket_listener_serves_only_the_mqtt_path(broker: BrokerThread) -> None:
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(f"ws://127.0.0.1:{broker.ws_port}/other", subprotocols=[Subprotocol("mqtt")])
    assert refused.value.response.status_code == 404
    right = broker.client(DISPLAY_A, transport="websockets").connect()
    right.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@pytest.mark.parametrize("transport", ["tcp", "websockets"])
def test_tls_when_a_certificate_is_configured(
    certificate: tuple[Path, Path], transport: str
) -> None:
    cert, key = certificate
    running = BrokerThread(broker_settings(mqtt_tls_cert=cert, mqtt_tls_key=key)).start()
    try:
        secure = running.client(DISPLAY_A, transport=transport)
        secure.client.tls_set(ca_certs=str(cert), cert_reqs=ssl.CERT_REQUIRED)
        secure.connect()
        assert secure.subscribe(queue_topic("a")) == [1]
        secure.close()
        if transport == "tcp":  # a plaintext CONNECT to the TLS port gets no CONNACK
            with socket.create_connection(("127.0.0.1", running.tcp_port), timeout=5) as raw:
                raw.sendall(CONNECT_WITHOUT_PASSWORD)
                try:
                    answer = raw.recv(4)
                except ConnectionResetError:
                    answer = b""
                assert not answer.startswith(b"\x20\x02")  # a plaintext broker answers CONNACK
    finally:
        running.close()
