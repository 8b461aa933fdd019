"""MQTT over the HTTP server's own WebSocket route (EmbeddedBroker.serve_websocket), the default
for browsers: a real uvicorn server in the broker's event loop, real paho clients."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as ws_connect

from protocol import Role
from protocol.topics import queue_topic
from tests.broker.harness import BrokerThread, broker_settings, token
from tests.support.mqtt import Recorder
from tests.support.ports import free_port, wait_for_port


class BridgeServer:
    def __init__(self) -> None:
        # No dedicated WebSocket port: the HTTP app serves /mqtt, as in the default deployment.
        self.broker = BrokerThread(broker_settings(mqtt_ws_port=None, mqtt_max_payload_bytes=2048))
        self.broker.start()

        async def mqtt(websocket: WebSocket) -> None:
            await self.broker.broker.serve_websocket(websocket)

        app = Starlette(routes=[WebSocketRoute("/mqtt", mqtt)])
        self.port = free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            ws_per_message_deflate=False,
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self.task = self.broker.run(lambda: asyncio.ensure_future(self.server.serve()))
        wait_for_port("127.0.0.1", self.port)

    def client(self, password: str, **kwargs: Any) -> Recorder:
        return Recorder(
            "127.0.0.1",
            self.port,
            username="u",
            password=password,
            transport="websockets",
            **kwargs,
        )

    def close(self) -> None:
        self.server.should_exit = True

        async def wait() -> None:
            await asyncio.wait_for(self.task, timeout=10)

        self.broker.call(wait())
        self.broker.close()


@pytest.fixture
def bridge() -> Iterator[BridgeServer]:
    server = BridgeServer()
    try:
        yield server
    finally:
        server.close()


def test_bridge_carries_mqtt_with_the_same_isolation(bridge: BridgeServer) -> None:
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


def test_bridge_refuses_a_websocket_without_the_mqtt_subprotocol(bridge: BridgeServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(f"ws://127.0.0.1:{bridge.port}/mqtt")
    assert refused.value.response.status_code == 403


def test_bridge_refuses_while_the_broker_is_stopped(bridge: BridgeServer) -> None:
    bridge.broker.stop()
    with pytest.raises(InvalidStatus):
        ws_connect(f"ws://127.0.0.1:{bridge.port}/mqtt", subprotocols=["mqtt"])  # type: ignore[list-item]
    bridge.broker.start()
    page = bridge.client(token(Role.PUBLIC, "a")).connect()
    page.close()
