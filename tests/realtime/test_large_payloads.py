"""Publishes up to the payload limit (256 KiB by default) are read and delivered over the API's
own WebSocket route ``/mqtt``, as over TCP (tests/broker/test_acknowledged_delivery.py covers
TCP and the dedicated WebSocket port)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from config.settings import DEV_SECRET
from protocol import Role, issue_token
from protocol.topics import events_topic
from tests.broker.harness import payload_is
from tests.support.mqtt import Recorder
from tests.support.system import RunningSystem


def test_payloads_up_to_the_limit_pass_the_http_websocket_route(system: RunningSystem) -> None:
    if system.broker_kind != "embedded":
        pytest.skip("the API serves /mqtt only with its embedded broker")
    publisher, _ = issue_token(
        secret=DEV_SECRET,  # the system under test runs in dev mode
        subject="publisher",
        role=Role.PUBLISHER,
        tenant=None,
        ttl=timedelta(minutes=5),
    )
    ws = urlsplit(system.ws_url)
    topic = events_topic(system.tenant)

    def client(password: str) -> Recorder:
        return Recorder(
            ws.hostname or "",
            ws.port or 80,
            username="u",
            password=password,
            transport="websockets",
            ws_path=ws.path,
        ).connect()

    watcher, sender = client(publisher), client(publisher)
    try:
        assert watcher.subscribe(topic) == [1]
        payloads = [bytes([97 + n]) * size for n, size in enumerate((200 * 1024, 256 * 1024))]
        for payload in payloads:
            sender.publish(topic, payload)
        for payload in payloads:
            assert watcher.wait_for(payload_is(payload)).topic == topic
    finally:
        sender.close()
        watcher.close()
