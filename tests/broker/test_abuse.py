"""A misbehaving MQTT client costs the broker little and cannot speak for others (issue 12):
repeated faults are logged once per interval with a count, the connection cap stays below the
open-files limit (and says so when it refuses), and a device's presence names that device."""

from __future__ import annotations

import logging

import pytest

import config.fd_budget
from config.fd_budget import RESERVE
from protocol import DevicePresence, PresenceStatus, Role, encode
from protocol.topics import device_status_topic, queue_topic
from tests.broker.harness import BrokerThread, broker_settings, token
from tests.support.mqtt import ConnectRefused, Recorder


def _presence(tenant: str, device_id: str, role: str = "totem") -> bytes:
    return encode(
        DevicePresence(tenant=tenant, device_id=device_id, role=role, status=PresenceStatus.ONLINE)
    )


def test_repeated_refused_publishes_are_logged_once_with_a_count(
    broker: BrokerThread, clients: list[Recorder], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    public = broker.client(token(Role.PUBLIC, "a")).connect()
    clients.append(public)
    for i in range(200):
        public.publish(queue_topic("a"), f"forged-{i}".encode(), qos=1)
    assert public.client.is_connected()  # dropped, not disconnected
    lines = [r for r in caplog.records if "dropped PUBLISH" in r.getMessage()]
    assert len(lines) == 1  # 200 faults, one line (until the interval passes)


def test_a_device_cannot_publish_presence_naming_another_device(
    broker: BrokerThread, clients: list[Recorder]
) -> None:
    watcher = broker.client(token(Role.OPERATOR, "a", "op")).connect()
    totem = broker.client(token(Role.TOTEM, "a", "totem-1")).connect()
    clients.extend([watcher, totem])
    assert watcher.subscribe("tenant/a/devices/+/status") == [1]
    own_topic = device_status_topic("a", "totem-1")
    totem.publish(own_topic, _presence("a", "ghost-9"), retain=True)
    totem.publish(own_topic, _presence("b", "totem-1"), retain=True)
    totem.publish(own_topic, b'{"type": "device_presence", "status": "online"}', retain=True)
    totem.publish(own_topic, _presence("a", "totem-1"), retain=True)
    watcher.wait_for(lambda m: m.payload == _presence("a", "totem-1"))
    assert [m.payload for m in watcher.drain(0.3)] == [_presence("a", "totem-1")]


def test_a_will_naming_another_device_refuses_the_connect(broker: BrokerThread) -> None:
    topic = device_status_topic("a", "totem-1")
    forged = broker.client(
        token(Role.TOTEM, "a", "totem-1"), will=(topic, _presence("a", "ghost-9"), 1, True)
    )
    with pytest.raises(ConnectRefused, match=r"(?i)not authori[sz]ed"):
        forged.connect()
    broker.client(
        token(Role.TOTEM, "a", "totem-1"), will=(topic, _presence("a", "totem-1"), 1, True)
    ).connect().close()


def test_the_connection_cap_stays_below_the_open_files_limit(
    monkeypatch: pytest.MonkeyPatch, clients: list[Recorder], caplog: pytest.LogCaptureFixture
) -> None:
    # As if `ulimit -n` were tiny: 6 descriptors beyond the reserve for two MQTT listeners
    # and HTTP. Without the derivation the cap stayed at 20,000 and every accept() past the
    # limit failed with nothing logged.
    monkeypatch.setattr(config.fd_budget, "open_files_limit", lambda: RESERVE + 6)
    caplog.set_level(logging.WARNING)
    running = BrokerThread(broker_settings()).start()
    try:
        cap = running.broker.core._max_connections
        assert cap < 6
        for i in range(cap):
            clients.append(running.client(token(Role.DISPLAY, "a", f"d{i}")).connect())
        with pytest.raises(ConnectRefused, match=r"(?i)unavailable"):
            running.client(token(Role.DISPLAY, "a", "one-too-many")).connect()
        messages = [r.getMessage() for r in caplog.records]
        assert any("capped at" in m for m in messages)
        assert any("is full" in m for m in messages)
    finally:
        for client in clients:
            client.close()
        clients.clear()
        running.close()
