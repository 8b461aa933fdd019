"""MQTT over the HTTP server's own WebSocket route (EmbeddedBroker.serve_websocket), the default
for browsers: a real uvicorn server in the broker's event loop, real paho clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as ws_connect

from protocol import Role
from protocol.topics import queue_topic
from tests.broker.harness import BrokerThread, broker_settings, token
from tests.broker.http_server import HttpServer, broker_route


@pytest.fixture
def bridge() -> Iterator[HttpServer]:
    # No dedicated WebSocket port: the HTTP app serves /mqtt, as in the default deployment.
    broker = BrokerThread(broker_settings(mqtt_ws_port=None, mqtt_max_payload_bytes=2048)).start()
    server = HttpServer(broker, Starlette(routes=[WebSocketRoute("/mqtt", broker_route(broker))]))
    try:
        yield server
    finally:
        server.close()


def test_bridge_carries_mqtt_with_the_same_isolation(bridge: HttpServer) -> None:
    publisher = bridge.client(token(Role.PUBLISHER, None, "publisher")).connect()
    publisher.publish(queue_topic("a"), b"A", retain=True)
    publisher.publish(queue_topic("b"), b"B", retain=True)
    page = bridge.client(token(Role.PUBLIC, "a")).connect()
    assert page.subscribe("tenant/+/queue") == [0x80]
    assert page.subscribe(queue_topic("a")) == [1]
    assert page.wait_for(lambda m: m.retain).payload == b"A"
    publisher.publish(queue_topic("a"), b"A2")
    page.wait_for(lambda m: m.payload == b"A2")
    assert [m.payload for m in page.drain(0.2)] == [b"A", b"A2"]
    # The payload limit holds on this transport too, and ends only the offender.
    publisher.client.publish(queue_topic("a"), b"x" * 4096)
    assert publisher.disconnected.wait(10)
    assert not page.disconnected.is_set()
    for client in (publisher, page):
        client.close()


def test_bridge_refuses_a_websocket_without_the_mqtt_subprotocol(bridge: HttpServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(f"ws://127.0.0.1:{bridge.port}/mqtt")
    assert refused.value.response.status_code == 403


def test_bridge_refuses_while_the_broker_is_stopped(bridge: HttpServer) -> None:
    bridge.broker.stop()
    with pytest.raises(InvalidStatus):
        ws_connect(f"ws://127.0.0.1:{bridge.port}/mqtt", subprotocols=["mqtt"])  # type: ignore[list-item]
    bridge.broker.start()
    page = bridge.client(token(Role.PUBLIC, "a")).connect()
    page.close()
